"""Benchmarks of the hot path: message in, first edit out. Run by hand; results go in
docs/performance.md.

    .venv/bin/python bench/hot_path.py [--runs 30]

1. Cog overhead per message, without I/O: settings resolution + request + context building.
2. Splitting a long answer (done on every render of a streaming reply).
3. End to end on a real Red bot over dpytest and a local OpenAI-compatible server: from the
   user's message to the bot's first visible text, compared with the same server's time to first
   token seen directly through the openai SDK (the provider's share).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import openai

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet.delivery.split import split_message  # noqa: E402
from skynet_dev.harness import RedHarness  # noqa: E402
from skynet_dev.mock_openai import MockOpenAI  # noqa: E402

KEY = "sk-bench-0123456789abcdef"


def per_call_us(func: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - start) / number * 1e6


def summary(samples_ms: List[float]) -> str:
    samples = sorted(samples_ms)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms, n={len(samples)}"


async def direct_first_token(server: MockOpenAI, runs: int) -> List[float]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                samples.append((time.perf_counter() - start) * 1000)
                break
        await stream.close()
    await client.close()
    return samples


async def main(runs: int) -> None:
    async with MockOpenAI(api_key=KEY) as server:
        harness = RedHarness(
            Path(tempfile.mkdtemp()) / "red", cog_paths=[REPO], background=MockOpenAI.owns_task
        )
        await harness.start()
        try:
            for command in (
                "!load skynet",
                f"!set api mock api_key,{KEY}",
                f"!ai provider add mock {server.base_url} mock",
                "!ai model set global mock:gpt-test",
            ):
                await harness.say(command, author=harness.owner)
                await harness.settle()
            cog = harness.bot.get_cog("Skynet")

            # 1. Per-message work of the cog before any network call.
            for i in range(10):  # a realistic window: 20 turns of earlier conversation
                cog.memory.add("channel:1", "user", f"question {i} " * 20, user_id=1, name="someone")
                cog.memory.add("channel:1", "assistant", f"answer {i} " * 60, user_id=1, name="assistant")
            channel = harness.channel

            def prepare() -> None:
                request = cog.chat_request(harness.member, channel, "what is the weather like on mars?")
                cog.engine.build_messages(request)

            print(f"request + context (20-turn window): {per_call_us(prepare, 2000):.1f} µs per message")

            # 2. Re-splitting a long answer on each render.
            answer = ("A paragraph of text that goes on for a while. " * 8 + "\n\n") * 40
            answer += "```python\n" + "print('x')\n" * 300 + "```\n"
            print(
                f"split_message({len(answer)} chars): {per_call_us(lambda: split_message(answer), 200):.1f} µs"
            )

            # 3. End to end: user message → first visible text, each run in a fresh channel so the
            #    pacer's per-channel slot (1/s) doesn't add waiting between runs.
            from discord.ext.test import backend

            direct = await direct_first_token(server, runs)
            cog_samples = []
            for i in range(runs):
                channel = backend.make_text_channel(f"bench-{i}", harness.guild)
                start = time.monotonic()
                await harness.say("!ai chat hi", channel=channel, wait=False)
                event = await harness.wait_for(
                    lambda e, c=channel.id: e.kind == "send" and e.channel_id == c,
                    timeout=10,
                    since=len(harness.events),
                )
                cog_samples.append((event.at - start) * 1000)
                await harness.settle()
            print(f"provider alone, time to first token (SDK direct): {summary(direct)}")
            print(f"cog, user message → first visible text:          {summary(cog_samples)}")
        finally:
            await harness.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
