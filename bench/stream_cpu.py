"""CPU per streamed reply: skynet's stream reading vs the bare openai SDK iterator, side by side,
against the same local provider in its own process (instant answers, so only parsing is left).

    .venv/bin/python bench/stream_cpu.py [--chunks 400] [--runs 20] [--delay 0]

1. bare SDK: ``async for chunk in await client.chat.completions.create(stream=True)``;
2. skynet's provider: ``OpenAICompatibleProvider.stream_chat`` (SDK request, own SSE parsing);
3. the whole cog through a real Red bot: member's message → engine → provider → streamed reply
   (Red's command handling, typing, pacing, rendering, the fake Discord included);
4. wall time from the member's message to the complete answer visible, vs the SDK's stream time.
CPU is this process's ``time.process_time()`` (the provider runs in another process).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import List

import openai
from _streaming_common import KEY, median, provider_process, start_bot
from discord.ext.test import backend


def words(n: int) -> str:
    return " ".join(f"w{i % 1000}" for i in range(n))


async def bare_sdk(base_url: str, text: str, runs: int) -> tuple:
    client = openai.AsyncOpenAI(base_url=base_url, api_key=KEY)
    messages = [{"role": "user", "content": f"member: {text}"}]
    cpu, wall = [], []
    for _ in range(runs + 2):
        c0, w0 = time.process_time(), time.perf_counter()
        stream = await client.chat.completions.create(
            model="gpt-test", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        pieces = []
        async for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    pieces.append(choice.delta.content)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    await client.close()
    return cpu[2:], wall[2:]  # the first runs warm up connections and imports


async def skynet_provider(base_url: str, text: str, runs: int) -> List[float]:
    from skynet.engine.providers.base import Endpoint
    from skynet.engine.providers.openai_compat import OpenAICompatibleProvider

    provider = OpenAICompatibleProvider(Endpoint("mock", base_url), KEY)
    messages = [{"role": "user", "content": f"member: {text}"}]
    cpu, wall = [], []
    for _ in range(runs + 2):
        c0, w0 = time.process_time(), time.perf_counter()
        async for _part in provider.stream_chat("gpt-test", messages, {}):
            pass
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    await provider.aclose()
    return cpu[2:], wall[2:]


async def whole_cog(base_url: str, text: str, runs: int) -> tuple:
    harness = await start_bot(base_url)
    cpu, visible = [], []
    try:
        expected = "".join(f"echo: member: {text}".split())
        for i in range(runs + 2):
            channel = backend.make_text_channel(f"cpu-{i}", harness.guild)
            c0, w0 = time.process_time(), time.monotonic()
            since = len(harness.events)
            await harness.say(f"!ai chat {text}", channel=channel, wait=False)
            await harness.settle(timeout=60)
            cpu.append(time.process_time() - c0)
            shown = [e for e in harness.events[since:] if e.kind in ("send", "edit")]
            got = "".join("".join(m.content for m in harness.messages(channel)).split())
            assert got == expected, "incomplete answer"
            visible.append(shown[-1].at - w0)
    finally:
        await harness.close()
    return cpu[2:], visible[2:]


async def main(args: argparse.Namespace) -> None:
    proc, base_url = await provider_process(delay=args.delay)
    text = words(args.chunks - 3)  # "echo:", "member:" and the words: one chunk each
    try:
        sdk_cpu, sdk_wall = await bare_sdk(base_url, text, args.runs)
        ours, ours_wall = await skynet_provider(base_url, text, args.runs)
        cog_cpu, cog_visible = await whole_cog(base_url, text, args.runs)
    finally:
        proc.terminate()
        proc.wait()
    sdk, mine, cog = median(sdk_cpu) * 1000, median(ours) * 1000, median(cog_cpu) * 1000
    print(f"answer of {args.chunks} chunks {args.delay}s apart, median of {args.runs} runs, CPU of this process:")
    print(f"| bare SDK iterator | {sdk:.1f} ms |")
    print(f"| skynet provider (SDK request + own SSE parsing) | {mine:.1f} ms ({mine / sdk:.2f}× the SDK) |")
    print(f"| whole cog, member's message → complete reply | {cog:.1f} ms ({cog / sdk:.2f}× the SDK) |")
    print(
        f"| wall: SDK stream {median(sdk_wall) * 1000:.0f} ms; skynet provider stream "
        f"{median(ours_wall) * 1000:.0f} ms; cog message → complete answer visible "
        f"{median(cog_visible) * 1000:.0f} ms |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds between chunks (0: instant; >0: one network read per chunk)"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
