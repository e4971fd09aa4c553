"""`[p]ai panel`: the owner turns the panel on and off, a taken port is refused clearly, members
get a one-time link by DM (and only a few), nothing is served while it is off."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from conftest import owner, say, text_of

pytestmark = pytest.mark.discord_bursts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def dms_of(red, member) -> str:
    channel = member.dm_channel
    return "\n".join(m.content for m in red.messages(channel)) if channel else ""


async def test_enable_login_disable(bot, cog) -> None:
    port = free_port()
    members = text_of(await say(bot, f"!ai panel enable 127.0.0.1 {port}", author=bot.admin))
    assert "Only the bot owner" in members
    off = text_of(await say(bot, "!ai panel login", author=bot.member))
    assert "The web panel is off" in off
    on = text_of(await owner(bot, f"!ai panel enable 127.0.0.1 {port}"))
    assert f"http://127.0.0.1:{port}" in on
    assert (await cog.config.panel())["enabled"] is True

    said = text_of(await say(bot, "!ai panel login", author=bot.member))
    assert "sent you a sign-in link by DM" in said and "/login/" not in said  # never in the channel
    dm = await dms_of(bot, bot.member)
    assert f"<http://127.0.0.1:{port}/login/" in dm
    link = dm.split("<", 1)[1].split(">", 1)[0]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(link) as page:
            assert page.status == 200 and "Sign in to the panel" in await page.text()
        token = link.rsplit("/", 1)[1]
        async with http.post(f"http://127.0.0.1:{port}/login", data={"token": token}) as done:
            assert done.status == 200 and "Your own data" in await done.text()

    for _ in range(2):
        await say(bot, "!ai panel login", author=bot.member)
    limited = text_of(await say(bot, "!ai panel login", author=bot.member))
    assert "3 sign-in links in the last ten minutes" in limited

    # A taken port: a clear message, and the panel that runs keeps running.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        refused = text_of(await owner(bot, f"!ai panel enable 127.0.0.1 {busy}"))
    assert f"could not listen on 127.0.0.1:{busy}" in refused and "Choose another port" in refused
    assert (await cog.config.panel())["port"] == port

    url = text_of(await owner(bot, "!ai panel url ftp://example.org"))
    assert "starting with https://" in url
    assert "https://bot.example.org/panel" in text_of(await owner(bot, "!ai panel url https://bot.example.org/panel"))

    assert "The web panel is off." in text_of(await owner(bot, "!ai panel disable"))
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"http://127.0.0.1:{port}/")
    assert (await cog.config.panel())["enabled"] is False


async def test_the_panel_comes_back_with_the_cog(bot, cog) -> None:
    port = free_port()
    await owner(bot, f"!ai panel enable 127.0.0.1 {port}")
    await owner(bot, "!reload skynet")
    reloaded = bot.bot.get_cog("Skynet")
    assert reloaded is not cog and reloaded.panel_server is not None and reloaded.panel_server.running
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/me") as page:
            assert page.status == 401  # served again; the old sessions are gone
    await owner(bot, "!ai panel disable")
