"""Steering and reply styles, measured on a real Red bot (harness, strict fake Discord) with a local
provider in this process.

    .venv/bin/python bench/steering.py [--runs 8] [--size 20000]

1. Stop-to-last-edit latency: an answer streams (20 characters every 20 ms); after a random
   0.5-2.5 s a member clicks Stop; the time from the click to the last edit of the reply (goal
   ≤ 0.5 s). Reference in the same run: end-to-last-edit when the provider itself finishes.
2. A ``--size``-character answer (prose and code blocks) in the classic style and in the
   Components V2 style: CPU seconds of the process while it streams, Discord requests (sends +
   edits) and messages, and wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet_dev.clicks import click, custom_ids  # noqa: E402
from skynet_dev.harness import RedHarness  # noqa: E402
from skynet_dev.mock_openai import MockOpenAI, Reply  # noqa: E402

KEY = "sk-bench-0123456789abcdef"


def answer(size: int) -> str:
    prose = "A sentence of a streamed answer, long enough to wrap. " * 6 + "\n\n"
    code = "```python\n" + "".join(f"value_{i} = compute({i})\n" for i in range(12)) + "```\n\n"
    unit = prose * 3 + code
    return (unit * (size // len(unit) + 1))[:size]


async def start_bot(provider: MockOpenAI) -> RedHarness:
    harness = RedHarness(Path(tempfile.mkdtemp()) / "red", cog_paths=[REPO], background=MockOpenAI.owns_task)
    await harness.start()
    for command in (
        "!load skynet",
        f"!set api mock api_key,{KEY}",
        f"!ai provider add mock {provider.base_url} mock",
        "!ai model set global mock:gpt-test",
    ):
        await harness.say(command, author=harness.owner)
        await harness.settle()
    harness.limits.reset_windows()
    return harness


def stop_button(red: RedHarness, since: int):
    for event in red.events[since:]:
        for cid in custom_ids(event.payload) if event.kind in ("send", "edit") else ():
            if cid.startswith("skynet:steer:stop:"):
                return event.message_id, cid
    return None


async def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        await asyncio.sleep(0.005)
    raise TimeoutError


async def stop_latency(red: RedHarness, provider: MockOpenAI, runs: int) -> None:
    stopped, natural = [], []
    text = answer(6000)
    for _run in range(runs):
        await asyncio.sleep(5.2)  # a fresh channel window, as between two questions
        since = len(red.events)
        provider.script(Reply.text(text, chunk_size=20, delay=0.02))
        await red.say("!ai chat go", wait=False)
        message_id, cid = await wait_for(lambda since=since: stop_button(red, since))
        await asyncio.sleep(random.uniform(0.5, 2.5))
        clicked = time.monotonic()
        await click(red, message_id, cid, author=red.member)
        await red.settle(timeout=30)
        last = max(e.at for e in red.events[since:] if e.kind in ("send", "edit"))
        stopped.append(last - clicked)
        # reference: a short answer the provider finishes by itself
        await asyncio.sleep(5.2)
        since = len(red.events)
        provider.script(Reply.text(answer(400), chunk_size=20, delay=0.02))
        await red.say("!ai chat go", wait=False)
        await wait_for(lambda since=since: stop_button(red, since))
        await red.settle(timeout=30)
        finals = [e.at for e in red.events[since:] if e.kind in ("send", "edit")]
        natural.append(max(finals) - red.events[since].at)
    print(
        f"stop -> last edit: median {statistics.median(stopped) * 1000:.0f} ms, max {max(stopped) * 1000:.0f} ms over {runs} runs"
    )
    print(
        f"reference, a 400-char answer first send -> last edit: median {statistics.median(natural) * 1000:.0f} ms"
    )


async def long_answer(red: RedHarness, provider: MockOpenAI, size: int, style: str) -> None:
    await red.say(f"!ai reply style {style}", author=red.owner)
    await red.settle()
    await asyncio.sleep(5.2)
    red.limits.reset_windows()
    since = len(red.events)
    provider.script(Reply.text(answer(size), chunk_size=40, delay=0.002))
    cpu, wall = time.process_time(), time.monotonic()
    await red.say("!ai chat go")
    await red.settle(timeout=120)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    events = [e for e in red.events[since:] if e.kind in ("send", "edit")]
    sends = sum(1 for e in events if e.kind == "send")
    print(
        f"{style:<10} {size} chars: {len(events)} Discord requests ({sends} messages), "
        f"CPU {cpu:.2f} s, wall {wall:.1f} s, 429s {len(red.limits.rate_limited)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--size", type=int, default=20000)
    args = parser.parse_args()
    async with MockOpenAI(api_key=KEY, models=["gpt-test"]) as provider:
        red = await start_bot(provider)
        try:
            await stop_latency(red, provider, args.runs)
            for style in ("classic", "components"):
                await long_answer(red, provider, args.size, style)
        finally:
            await red.close()


if __name__ == "__main__":
    asyncio.run(main())
