"""The panel in a real browser (Debian's Chromium driven by Playwright): sign in with the link
the bot DMs, see the usage chart drawn from answered chats, switch the listening mode and see
the bot answer passively, delete a memory and see it gone from recall, create a persona.

Playwright's sync API runs on one worker thread of its own, so the bot's event loop keeps
serving the panel and Discord while the browser waits.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import owner, say, text_of

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.discord_bursts,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is not installed (scripts/_venv.sh installs it as root: apt-get install chromium)",
    ),
]
DOCS = Path(__file__).resolve().parents[2] / "docs"


class Browser:
    """A headless Chromium page, driven from one thread."""

    def __init__(self) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.thread, lambda: fn(*args))

    def start(self) -> None:
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        self.page = self.browser.new_page(viewport={"width": 1200, "height": 900})

    def stop(self) -> None:
        self.browser.close()
        self.playwright.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def browser():
    driver = Browser()
    await driver.run(driver.start)
    yield driver
    await driver.run(driver.stop)
    driver.thread.shutdown(wait=True)


async def test_the_panel_in_a_browser(mem, cog, browser, tmp_path) -> None:
    red = mem
    port = free_port()
    assert "The web panel is on" in text_of(await owner(red, f"!ai panel enable 127.0.0.1 {port}"))
    for question in ("hello there", "what is the weather", "tell me a joke"):
        await say(red, f"!ai chat {question}", author=red.admin)
    await say(red, "!ai remember I love green tea", author=red.admin)
    await cog.usage.flush()
    recalled = await cog.memory_service.recall("green tea", guild_id=red.guild.id, user_id=red.admin.id)
    assert recalled and "green tea" in recalled

    await say(red, "!ai panel login", author=red.admin)
    dms = [m.content for m in red.messages(red.admin.dm_channel)] if red.admin.dm_channel else []
    link = re.search(r"<(http://127\.0\.0\.1:\d+/login/[^>]+)>", "\n".join(dms))
    assert link, dms
    page = browser.page

    # Sign in: the link shows a button (a link preview must not use the link up).
    def sign_in() -> str:
        page.goto(link.group(1))
        page.click("#sign-in")
        page.wait_for_load_state()
        return page.content()

    assert "Servers you manage" in await browser.run(sign_in)

    # The usage chart, drawn by Chart.js from the three answered chats.
    def usage() -> int:
        page.goto(f"http://127.0.0.1:{port}/g/{red.guild.id}/usage?days=7")
        page.wait_for_function("window.skynetCharts && window.skynetCharts.length > 0")
        drawn = page.evaluate("window.skynetCharts[0].data.datasets[0].data.reduce((a, b) => a + b, 0)")
        page.screenshot(path=str(tmp_path / "panel-usage.png"), full_page=True)
        return drawn

    assert await browser.run(usage) == 3
    if os.environ.get("SKYNET_PANEL_SCREENSHOTS"):  # refreshes docs/panel-usage.png
        shutil.copy(tmp_path / "panel-usage.png", DOCS / "panel-usage.png")

    # Listening mode from the settings form; then the bot answers a plain message passively.
    def listen_all() -> str:
        page.goto(f"http://127.0.0.1:{port}/g/{red.guild.id}/settings")
        form = page.locator("#listening form").first
        form.locator("select[name=mode]").select_option("all")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        return page.locator(".notice").inner_text()

    assert "Listening mode for this server set to `all`" in await browser.run(listen_all)
    assert cog.governance.rules(red.guild.id).listen.mode == "all"
    before = len(red.messages())
    await red.say("anyone around to help?", author=red.member)
    await red.settle(timeout=20)
    answers = red.messages()[before:]
    assert answers and "anyone around to help?" in answers[-1].content, [m.content for m in answers]

    # Delete the memory in the browser: gone from the list and from recall.
    def delete_memory() -> str:
        page.goto(f"http://127.0.0.1:{port}/g/{red.guild.id}/memory")
        row = page.locator("#memories tr", has_text="green tea")
        row.locator("button", has_text="Delete").click()
        page.wait_for_load_state()
        return page.content()

    after = await browser.run(delete_memory)
    assert "Forgot memory" in after and "I love green tea" not in after
    assert not await cog.memory_service.list_memories(red.guild.id, red.admin.id)
    recalled = await cog.memory_service.recall("green tea", guild_id=red.guild.id, user_id=red.admin.id)
    assert not recalled or "green tea" not in recalled

    # Create a persona on the Personas page (a textarea form, with the session's CSRF token).
    def create_persona() -> str:
        page.goto(f"http://127.0.0.1:{port}/g/{red.guild.id}/personas")
        form = page.locator("#persona-create form")
        form.locator("input[name=name]").fill("pirate")
        form.locator("textarea[name=prompt]").fill("You are a pirate.")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        return page.locator(".notice").inner_text()

    assert "Created persona `pirate` for this server" in await browser.run(create_persona)
    assert cog.personas.stored(red.guild.id)["pirate"].system_prompt == "You are a pirate."
    await owner(red, "!ai panel disable")
