"""How fast a member gets feedback when the provider misbehaves. Run by hand; figures go in
docs/performance.md.

    .venv/bin/python bench/faults.py [--only 429_long]

For each fault of the matrix, on one endpoint and with a fallback chain, on a real Red bot over
dpytest and local OpenAI-compatible servers, with the cog's real retry policy and real time:
``first`` is the time from the member's message to the first thing they see (a status line, a
note or the answer), ``final`` the time until the reply is complete. Goal: first ≤ 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from discord.ext.test import backend  # noqa: E402

from skynet_dev.harness import RedHarness  # noqa: E402
from skynet_dev.mock_openai import MockOpenAI, Reply  # noqa: E402

KEY = "sk-bench-0123456789abcdef"
PARTIAL = "Once upon a time, there was a"
TIMEOUT = 4  # seconds: the endpoint timeout for the stall faults

FAULTS = {
    "401": [Reply.error(401, code="invalid_api_key")],
    "404": [Reply.error(404, code="model_not_found")],
    "400_echoed_key": [Reply.error(400, message=f"bad key {KEY[3:15]}")],
    "429_short (Retry-After 1)": [Reply.error(429, retry_after=1), Reply.text("ok")],
    "429_long (Retry-After 10)": [Reply.error(429, retry_after=10), Reply.text("ok")],
    "429_past_cap (Retry-After 120)": [Reply.error(429, retry_after=120)],
    "429_quota": [Reply.error(429, code="insufficient_quota")],
    "500": [Reply.error(500)] * 3,
    "502": [Reply.error(502)] * 3,
    "503": [Reply.error(503)] * 3,
    "connection_refused": [],
    "timeout_first_token": [Reply.text("late", first_delay=TIMEOUT + 2)] * 3,
    "stall_mid_stream": [Reply.text(PARTIAL, chunk_size=3, stall_after=3)],
    "cut_stream": [Reply.text(PARTIAL, chunk_size=3, cut_after=3)],
    "malformed_chunk": [Reply.text(PARTIAL, chunk_size=3, malformed_after=3)],
}


def server_sleeping(task: asyncio.Task) -> bool:
    """A local server's handler sleeping out a scripted delay (not the bot's work)."""
    return "Event.wait" in repr(task.get_coro())


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_one(harness: RedHarness, server: MockOpenAI, fault: str, chain: bool, index: int) -> str:
    owner = harness.owner

    async def setup(command: str) -> None:
        await harness.say(command, author=owner)
        await harness.settle(ignore=server_sleeping)

    timeout = TIMEOUT if ("timeout" in fault or "stall" in fault) else 60
    await setup(f"!ai provider timeout mock {timeout}")
    await setup("!ai model set global " + ("dead:x" if fault == "connection_refused" else "mock:gpt-test"))
    await setup("!ai model fallbacks global " + ("backup:backup-model" if chain else "none"))
    cog = harness.bot.get_cog("Skynet")
    for breaker in ("mock", "dead"):  # each fault starts with healthy circuits
        cog.engine.reliability.circuits.get(breaker).record_success()
    server._queue.clear()
    server.script(*FAULTS[fault])
    channel = backend.make_text_channel(f"fault-{index}", harness.guild)
    start = len(harness.events)
    asked = time.monotonic()
    await harness.say("!ai chat hello", channel=channel, wait=False)
    first = await harness.wait_for(
        lambda e: e.kind == "send" and e.channel_id == channel.id, timeout=120, since=start
    )
    await harness.settle(timeout=120, ignore=server_sleeping)
    shown = [e for e in harness.events[start:] if e.kind in ("send", "edit") and e.channel_id == channel.id]
    final = shown[-1]
    outcome = (final.content or "").replace("\n", " ")
    outcome = outcome if len(outcome) < 70 else outcome[:67] + "…"
    return (
        f"| {fault} | {'chain' if chain else 'one'} | {first.at - asked:.2f} s | {final.at - asked:.2f} s "
        f"| {outcome} |"
    )


async def main(only: List[str]) -> None:
    async with MockOpenAI(api_key=KEY) as server, MockOpenAI(models=["backup-model"]) as backup:
        harness = RedHarness(
            Path(tempfile.mkdtemp()) / "red", cog_paths=[REPO], background=MockOpenAI.owns_task
        )
        harness.limits.mode = "bodies"  # the setup commands between faults burst; replies are paced anyway
        await harness.start()
        try:
            for command in (
                "!load skynet",
                f"!set api mock api_key,{KEY}",
                f"!ai provider add mock {server.base_url} mock",
                f"!ai provider add backup {backup.base_url}",
                f"!ai provider add dead http://127.0.0.1:{unused_port()}/v1",
            ):
                await harness.say(command, author=harness.owner)
                await harness.settle()
            print("| fault | chain | first feedback | final | what the member sees at the end |")
            print("|---|---|---|---|---|")
            index = 0
            for fault in FAULTS:
                if only and not any(o in fault for o in only):
                    continue
                for chain in (False, True):
                    index += 1
                    print(await run_one(harness, server, fault, chain, index), flush=True)
        finally:
            await harness.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=[], help="substrings of fault names to run")
    asyncio.run(main(parser.parse_args().only))
