"""Benchmarks of the tool layer. Run by hand; results go in docs/performance.md.

    .venv/bin/python bench/tools.py [--steps 200]

1. Loop overhead per tool step, without the provider: an in-process provider answers instantly
   with one tool call, then text; the time per step is what the loop itself adds (argument
   parsing, schema validation, gate, telemetry, cooldown, wrapping, message building).
2. The same over real HTTP against the local OpenAI-compatible server, compared with the same
   two requests made directly through the provider (the loop's share of a round trip).
3. Two independent 1 s tools in one step: wall time (≈1 s when they run concurrently).
4. The URL guard's DNS check: cold (a resolver taking 5 ms) vs. cached per host.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet.engine.events import TextDelta  # noqa: E402
from skynet.engine.providers.base import ChatProvider, Endpoint, Finish, TokenUsage, ToolCallRequest  # noqa: E402
from skynet.engine.providers.openai_compat import OpenAICompatibleProvider  # noqa: E402
from skynet.engine.tools.guard import UrlGuard  # noqa: E402
from skynet.engine.tools.loop import ToolLoop  # noqa: E402
from skynet.engine.tools.registry import Tool, ToolRegistry, object_schema  # noqa: E402
from skynet.engine.tools.telemetry import ToolTelemetry  # noqa: E402
from skynet_dev.mock_openai import MockOpenAI, Reply  # noqa: E402


class Request:
    user_id, guild_id, channel_id, conversation = 1, 1, 1, "channel:1"


class InstantProvider(ChatProvider):
    """Calls ``calls`` tools at once on the first request of a pair, answers on the second."""

    endpoint = Endpoint("bench", "http://127.0.0.1:1/v1")

    def __init__(self, calls: List[str]) -> None:
        self.calls = calls
        self.turn = 0

    async def stream_chat(self, model, messages, params, tools=None) -> AsyncIterator[Any]:
        self.turn += 1
        if tools and self.turn % 2 == 1:
            for index, name in enumerate(self.calls):
                yield ToolCallRequest(f"call_{index}", name, '{"text": "hello world"}')
            yield TokenUsage(50, 10)
            yield Finish("tool_calls")
        else:
            yield TextDelta("done")
            yield TokenUsage(60, 1)
            yield Finish("stop")

    async def list_models(self):
        return []

    async def embed(self, model, texts):
        return []


def make_loop(tools: List[Tool]) -> ToolLoop:
    registry = ToolRegistry()
    for tool in tools:
        registry.add(tool)
    return ToolLoop(registry.all, ToolTelemetry(), enabled=lambda request: registry.names())


SCHEMA = object_schema({"text": {"type": "string", "maxLength": 100}}, ["text"])


async def echo(args: Dict[str, Any], ctx: Any) -> str:
    return "result " * 50


async def sleeper(args: Dict[str, Any], ctx: Any) -> str:
    await asyncio.sleep(1.0)
    return "slept"


MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]


async def drain(loop: ToolLoop, provider: ChatProvider) -> None:
    async for _ in loop.stream(provider, "gpt-test", MESSAGES, {}, Request()):
        pass


async def loop_overhead(steps: int) -> None:
    loop = make_loop([Tool("echo", "echo", SCHEMA, echo)])
    provider = InstantProvider(["echo"])
    for _ in range(20):
        await drain(loop, provider)
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        await drain(loop, provider)  # one tool step + the answering request
        samples.append((time.perf_counter() - start) * 1000)
    plain = []
    for _ in range(steps):  # the same two provider streams without the loop
        start = time.perf_counter()
        for _ in range(2):
            async for _part in provider.stream_chat("m", MESSAGES, {}, tools=[{}]):
                pass
        plain.append((time.perf_counter() - start) * 1000)
    extra = statistics.median(samples) - statistics.median(plain)
    print(
        f"1. loop overhead per tool step (in-process provider): median {extra * 1000:.0f} µs "
        f"(loop {statistics.median(samples):.3f} ms vs provider alone {statistics.median(plain):.3f} ms)"
    )


async def http_overhead(runs: int) -> None:
    async with MockOpenAI(models=["gpt-test"]) as server:
        provider = OpenAICompatibleProvider(Endpoint("mock", server.base_url), "sk-bench", max_retries=0)
        loop = make_loop([Tool("echo", "echo", SCHEMA, echo)])
        looped, direct = [], []
        for index in range(runs + 5):
            server.script(Reply.call("echo", {"text": "hello world"}), Reply.text("done"))
            start = time.perf_counter()
            await drain(loop, provider)
            if index >= 5:
                looped.append((time.perf_counter() - start) * 1000)
            server.script(Reply.call("echo", {"text": "hello world"}), Reply.text("done"))
            start = time.perf_counter()
            for _ in range(2):
                stream = provider.stream_chat("gpt-test", MESSAGES, {})
                async for _part in stream:
                    pass
            if index >= 5:
                direct.append((time.perf_counter() - start) * 1000)
        await provider.aclose()
    print(
        f"2. over HTTP, one tool step + answer: loop median {statistics.median(looped):.2f} ms, "
        f"the two requests alone {statistics.median(direct):.2f} ms "
        f"(difference {statistics.median(looped) - statistics.median(direct):.2f} ms)"
    )


async def concurrent_tools() -> None:
    loop = make_loop([Tool("sleep_a", "s", SCHEMA, sleeper), Tool("sleep_b", "s", SCHEMA, sleeper)])
    start = time.perf_counter()
    await drain(loop, InstantProvider(["sleep_a", "sleep_b"]))
    print(f"3. two 1 s tools in one step: {time.perf_counter() - start:.3f} s")


async def guard_cache(runs: int) -> None:
    async def slow_dns(host: str):
        await asyncio.sleep(0.005)
        return ["93.184.216.34"], 300.0

    guard = UrlGuard(resolve=slow_dns)
    cold, warm = [], []
    for index in range(runs):
        start = time.perf_counter()
        await guard.check(f"https://host{index}.example/page")
        cold.append((time.perf_counter() - start) * 1e6)
        start = time.perf_counter()
        await guard.check(f"https://host{index}.example/other")
        warm.append((time.perf_counter() - start) * 1e6)
    print(
        f"4. guard check: cold (5 ms resolver) median {statistics.median(cold):.0f} µs, "
        f"cached median {statistics.median(warm):.0f} µs; lookups {guard.resolutions} for {2 * runs} checks"
    )


async def main(steps: int) -> None:
    await loop_overhead(steps)
    await http_overhead(min(steps, 50))
    await concurrent_tools()
    await guard_cache(min(steps, 200))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    asyncio.run(main(parser.parse_args().steps))
