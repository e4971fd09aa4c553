"""The offline console: talk to the real skynet cog as a member of a simulated server.

A real Red bot (``RedHarness``: real Config under ``.skynet-data/console``, dpytest's simulated
guild) loads this checkout's cog. Each line you type is sent as a message in #general; the
bot's messages are printed as they appear, and streamed edits as they grow.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Dict, Optional, TextIO

from .harness import BotEvent, RedHarness

REPO = Path(__file__).resolve().parents[1]
LOCAL_ENDPOINT = "local"
PROVIDER_HELP = """\
No AI provider is reachable, so questions will get an error instead of an answer.
Set one when starting the console:
  OPENAI_API_KEY=sk-...  ./scripts/start.sh                          (OpenAI)
  SKYNET_BASE_URL=http://localhost:11434/v1 ./scripts/start.sh       (Ollama, LM Studio, vLLM...)
  optional: SKYNET_MODEL=<model>, SKYNET_API_KEY=<key for SKYNET_BASE_URL>
No model at hand? Run `.venv/bin/python -m skynet_dev.mock_openai --port 8000` in another
terminal and use SKYNET_BASE_URL=http://127.0.0.1:8000/v1 (it echoes what you say).
You can also configure providers from here: `:as owner`, then `!ai provider add ...`."""


class StreamPrinter:
    """Prints the bot's messages, and each edit as the text it adds."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._shown: Dict[int, str] = {}
        self._current: Optional[int] = None

    def __call__(self, event: BotEvent) -> None:
        if event.kind not in ("send", "edit") or event.content is None or event.message_id is None:
            return
        before = self._shown.get(event.message_id)
        if before is None or event.message_id != self._current:
            prefix = "\nskynet › " if before is None else "\nskynet (edited) › "
            self._write(prefix + event.content)
        elif event.content.startswith(before):
            self._write(event.content[len(before) :])
        else:  # rewritten rather than extended (rare: a note replaced the tail)
            self._write("\nskynet (edited) › " + event.content)
        self._shown[event.message_id] = event.content
        self._current = event.message_id

    def end_turn(self) -> None:
        if self._current is not None:
            self._write("\n")
        self._current = None

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


async def configure_provider(harness: RedHarness) -> Optional[str]:
    """Apply the provider from the environment; return the endpoint to check, if any."""
    bot, cog = harness.bot, harness.bot.get_cog("Skynet")
    base_url = os.environ.get("SKYNET_BASE_URL", "").strip()
    model = os.environ.get("SKYNET_MODEL", "").strip()
    if base_url:
        service = LOCAL_ENDPOINT if os.environ.get("SKYNET_API_KEY") else None
        if service:  # straight into Red's shared tokens: a typed command would echo the key
            await bot.set_shared_api_tokens(service, api_key=os.environ["SKYNET_API_KEY"].strip())
        await run_as(
            harness, harness.owner, f"!ai provider add {LOCAL_ENDPOINT} {base_url} {service or ''}".strip()
        )
        endpoint = LOCAL_ENDPOINT
    elif os.environ.get("OPENAI_API_KEY"):
        await bot.set_shared_api_tokens("openai", api_key=os.environ["OPENAI_API_KEY"].strip())
        endpoint = "openai"
    else:
        endpoint = cog.settings.resolve(harness.guild.id, harness.channel.id).model.endpoint
        if endpoint == "openai" and not (await bot.get_shared_api_tokens("openai")).get("api_key"):
            return None  # nothing configured, now or in an earlier session
    if not model and base_url:
        try:
            models = await asyncio.wait_for(cog.catalog.models(endpoint), 30)
        except Exception:
            models = []  # check_provider explains why
        model = models[0] if models else ""
    if model:
        await run_as(harness, harness.owner, f"!ai model set global {endpoint}:{model}")
    return endpoint


async def run_as(harness: RedHarness, author, content: str) -> None:
    await harness.say(content, author=author, wait=False)
    await harness.settle(timeout=600)


async def check_provider(harness: RedHarness, endpoint: Optional[str], out: TextIO) -> None:
    cog = harness.bot.get_cog("Skynet")
    if endpoint is None:
        out.write(PROVIDER_HELP + "\n")
        return
    try:
        models = await asyncio.wait_for(cog.catalog.models(endpoint, refresh=True), 30)
    except Exception as exc:  # any failure: explain it the way the cog explains it to users
        message = cog.providers.explain(exc, endpoint).message
        out.write(f"Provider check failed: {message.replace('[p]', '!')}\n\n{PROVIDER_HELP}\n")
        return
    model = cog.settings.resolve(harness.guild.id, harness.channel.id).model
    out.write(f"Provider **{endpoint}** is reachable ({len(models)} models); answering with `{model}`.\n")


async def main(stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    # Provider failures are shown in the replies; only real errors belong on the terminal.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    harness = RedHarness(Path.cwd() / ".skynet-data" / "console", cog_paths=[REPO])
    await harness.start()
    printer = StreamPrinter(out)
    try:
        await run_as(harness, harness.owner, "!load skynet")
        if harness.bot.get_cog("Skynet") is None:
            out.write(f"skynet failed to load: {harness.last_error!r}\n")
            return 1
        await check_provider(harness, await configure_provider(harness), out)
        harness.listeners.append(printer)
        authors = {"owner": harness.owner, "admin": harness.admin, "member": harness.member}
        author = "member"
        out.write(
            "\nskynet offline console: you are `member` in #general of Test Guild (prefix !).\n"
            "Try `!ai chat hello`, `!help ai`, `!ai params show`. `:as owner|admin|member` switches who "
            "you are; `:quit` or Ctrl-D leaves.\n"
        )
        while True:
            out.write(f"\n[{author}] > ")
            out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.strip()
            if line in (":quit", ":q", ":exit"):
                break
            if line.startswith(":as"):
                choice = line[3:].strip()
                if choice in authors:
                    author = choice
                else:
                    out.write("Use `:as owner`, `:as admin` or `:as member`.\n")
                continue
            if line:
                await run_as(harness, authors[author], line)
                printer.end_turn()
        return 0
    finally:
        out.write("\n")
        await harness.close()
