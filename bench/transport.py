"""CPU of a streamed answer by HTTP transport, side by side, against the same local provider in
its own process: httpx's default transport vs skynet's aiohttp transport, through the bare
``openai`` SDK iterator and through skynet's provider (SDK request + own SSE parsing).

    .venv/bin/python bench/transport.py [--chunks 400] [--delay 0.004] [--runs 5] [--concurrent 20]

Each configuration streams ``--concurrent`` answers at once, ``--runs`` times; reported: CPU of
this process per answer (median over runs), and per network read. With ``--delay`` > 0 every
chunk is its own network read, which is what a real provider's stream looks like.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Callable, List

import httpx
import openai
from _streaming_common import KEY, median, provider_process

from skynet.engine.providers.aiohttp_transport import AiohttpTransport
from skynet.engine.providers.base import Endpoint
from skynet.engine.providers.openai_compat import OpenAICompatibleProvider


def words(n: int) -> str:
    return " ".join(f"w{i % 1000}" for i in range(n))


def http_client(kind: str) -> httpx.AsyncClient:
    if kind == "httpx":
        return openai.DefaultAsyncHttpxClient()
    return openai.DefaultAsyncHttpxClient(transport=AiohttpTransport())


async def bare_sdk(client: openai.AsyncOpenAI, text: str) -> int:
    stream = await client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": f"member: {text}"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces = []
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
    return len("".join(pieces))


async def provider(client: OpenAICompatibleProvider, text: str) -> int:
    size = 0
    async for part in client.stream_chat("gpt-test", [{"role": "user", "content": f"member: {text}"}], {}):
        size += len(getattr(part, "text", ""))
    return size


async def measure(run_one: Callable, text: str, runs: int, concurrent: int) -> List[float]:
    await asyncio.gather(*(run_one(text) for _ in range(concurrent)))  # warm: connections, imports
    per_answer = []
    for _ in range(runs):
        c0 = time.process_time()
        sizes = await asyncio.gather(*(run_one(text) for _ in range(concurrent)))
        assert all(size > len(text) for size in sizes), "incomplete answer"
        per_answer.append((time.process_time() - c0) / concurrent)
    return per_answer


async def main(args: argparse.Namespace) -> None:
    proc, base_url = await provider_process(delay=args.delay)
    text = words(args.chunks - 3)
    results = {}
    try:
        for kind in ("httpx", "aiohttp"):
            http = http_client(kind)
            sdk = openai.AsyncOpenAI(base_url=base_url, api_key=KEY, http_client=http, max_retries=0)
            results[("bare SDK iterator", kind)] = await measure(
                lambda t: bare_sdk(sdk, t), text, args.runs, args.concurrent
            )
            ours = OpenAICompatibleProvider(Endpoint("mock", base_url), KEY, http_client=http)
            results[("skynet provider", kind)] = await measure(
                lambda t: provider(ours, t), text, args.runs, args.concurrent
            )
            await http.aclose()
    finally:
        proc.terminate()
        proc.wait()
    reference = median(results[("bare SDK iterator", "httpx")])
    print(
        f"{args.chunks} chunks {args.delay}s apart, {args.concurrent} concurrent, median of {args.runs} runs; "
        "CPU of this process per answer (× the bare SDK on httpx's transport):"
    )
    print("| | httpx default transport | aiohttp transport |")
    print("|---|---|---|")
    for what in ("bare SDK iterator", "skynet provider"):
        cells = []
        for kind in ("httpx", "aiohttp"):
            value = median(results[(what, kind)])
            cells.append(f"{value * 1000:.1f} ms ({value / reference:.2f}×)")
        print(f"| {what} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.004, help="seconds between chunks")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=20)
    sys.exit(asyncio.run(main(parser.parse_args())))
