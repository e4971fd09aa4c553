"""Benchmarks of the MCP client. Run by hand; results go in docs/performance.md.

    .venv/bin/python bench/mcp.py [--calls 300]

1. Per-call overhead over stdio and streamable HTTP beyond the server's own time: the same
   ``echo`` call on the same server, made (a) straight through the SDK's ``ClientSession.call_tool``
   (the reference: transport + server) and (b) through the cog's path — the tool loop's
   ``execute`` (gate, JSON, schema validation, telemetry) → the registry tool → the connection
   (concurrency slot, timeout race, cancel bookkeeping) → result conversion. The difference of
   the medians is what the cog adds.
2. Registering 10 servers × 50 tools (names, schema repair, registry) from their tool lists,
   and, as a reference, connecting 10 real stdio servers with 50 tools each concurrently.
3. Tokens of tool schemas in one request with 10 × 50 tools enabled: all of them, and with the
   default bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, List

REPO = Path(__file__).resolve().parents[1]
# This file is named like the `mcp` package: keep its folder off the path so `import mcp` finds
# the package, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from skynet.engine.providers.base import ToolCallRequest  # noqa: E402
from skynet.engine.tools.loop import ToolLoop  # noqa: E402
from skynet.engine.tools.mcp.bound import SchemaBound  # noqa: E402
from skynet.engine.tools.mcp.config import parse_target  # noqa: E402
from skynet.engine.tools.mcp.manager import McpManager  # noqa: E402
from skynet.engine.tools.registry import ToolRegistry  # noqa: E402
from skynet.engine.tools.telemetry import ToolTelemetry  # noqa: E402
from skynet.engine.usage.tokens import default_counter  # noqa: E402
from skynet_dev.mcp_servers import HttpFakeServer, fake_command  # noqa: E402


class Request:
    user_id, guild_id, channel_id, conversation, text = 1, 1, 1, "channel:1", ""


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> List[float]:
    for _ in range(20):  # warm up
        await call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def pct(samples: List[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def overhead(label: str, words: List[str], calls: int) -> None:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    registry, telemetry = ToolRegistry(), ToolTelemetry()
    manager = McpManager(registry, lambda service: {})
    manager.load([parse_target("bench", words)])
    loop = ToolLoop(registry.all, telemetry, enabled=lambda request: registry.names())
    assert (await manager.test("bench")).ok
    offered = {t.name: t for t in registry.all()}
    call = ToolCallRequest(id="1", name="bench__echo", arguments=json.dumps({"text": "hello"}))

    async def ours() -> None:
        result = await loop.execute(call, offered, Request())
        assert result.ok, result.content

    if words[0].startswith("http"):
        transport = streamable_http_client(words[0])
    else:
        transport = stdio_client(StdioServerParameters(command=words[0], args=words[1:]))
    async with transport as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()

            async def raw() -> None:
                await session.call_tool("echo", {"text": "hello"})

            # Interleave the two so drift (CPU frequency, other load) hits both alike.
            ref, mine = [], []
            for _ in range(4):
                ref += await timed(calls // 4, raw)
                mine += await timed(calls // 4, ours)
    await manager.aclose()
    p50r, p50m = statistics.median(ref), statistics.median(mine)
    print(
        f"{label:<6} SDK call_tool p50 {p50r:6.2f} ms p95 {pct(ref, 0.95):6.2f} | cog path p50 {p50m:6.2f} ms "
        f"p95 {pct(mine, 0.95):6.2f} | overhead p50 {p50m - p50r:+.2f} ms"
    )


async def in_process(calls: int) -> None:
    """The cog's own share without any transport: a session object that answers at once."""
    from mcp import types

    class InstantSession:
        _request_id = 0

        async def call_tool(self, name: str, arguments: Any) -> Any:
            self._request_id += 1
            return types.CallToolResult(content=[types.TextContent(type="text", text=arguments["text"])])

    registry, telemetry = ToolRegistry(), ToolTelemetry()
    manager = McpManager(registry, lambda service: {})
    manager.load(
        [
            parse_target("bench", fake_command()).with_tools(
                tool_list(0)
                + [
                    {
                        "name": "echo",
                        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
                    }
                ]
            )
        ]
    )
    connection = manager.connections["bench"]
    connection._session = InstantSession()
    connection._broken = asyncio.get_running_loop().create_future()
    connection.state = "ready"
    loop = ToolLoop(registry.all, telemetry, enabled=lambda request: registry.names())
    offered = {t.name: t for t in registry.all()}
    call = ToolCallRequest(id="1", name="bench__echo", arguments=json.dumps({"text": "hello"}))
    samples = await timed(calls * 10, lambda: loop.execute(call, offered, Request()))
    print(
        f"cog path with an instant in-process session: p50 {statistics.median(samples) * 1000:.0f} µs "
        f"p95 {pct(samples, 0.95) * 1000:.0f} µs"
    )


def tool_list(count: int) -> List[dict]:
    return [
        {
            "name": f"tool_{i:03d}",
            "description": f"Tool number {i}: does thing {i} with a value (for the benchmark).",
            "inputSchema": {
                "type": "object",
                "properties": {"value": {"type": "string", "title": "Value", "default": ""}},
                "title": f"tool_{i:03d}Arguments",
            },
        }
        for i in range(count)
    ]


async def registration(spawn: bool) -> None:
    configs = [parse_target(f"srv{s}", fake_command()).with_tools(tool_list(50)) for s in range(10)]
    times = []
    for _ in range(5):
        registry = ToolRegistry()
        manager = McpManager(registry, lambda service: {})
        start = time.perf_counter()
        manager.load(configs)
        times.append((time.perf_counter() - start) * 1000)
        assert len(registry.names()) == 500
    print(
        f"register 10 servers x 50 tools from their lists: median {statistics.median(times):.1f} ms (5 runs)"
    )
    if spawn:
        registry = ToolRegistry()
        manager = McpManager(registry, lambda service: {})
        manager.load([parse_target(f"srv{s}", fake_command("--tools", "50")) for s in range(10)])
        start = time.perf_counter()
        reports = await asyncio.gather(*(manager.test(f"srv{s}") for s in range(10)))
        took = time.perf_counter() - start
        assert all(r.ok for r in reports), reports
        print(
            f"reference: start + connect + list 10 real stdio servers concurrently: {took:.2f} s "
            f"({len(registry.names())} tools registered)"
        )
        await manager.aclose()


def schema_tokens() -> None:
    counter = default_counter()
    registry = ToolRegistry()
    manager = McpManager(registry, lambda service: {})
    manager.load([parse_target(f"srv{s}", fake_command()).with_tools(tool_list(50)) for s in range(10)])
    tools = registry.all()
    everything = counter.count(json.dumps([t.openai_schema() for t in tools]))
    bound = SchemaBound(counter.count)
    chosen = bound.select(tools, "please run tool number 7 with the value 3")
    bounded = counter.count(json.dumps([t.openai_schema() for t in chosen]))
    print(
        f"schema tokens per request, 500 MCP tools enabled: all {everything:,} tokens ({len(tools)} tools); "
        f"with the default bound ({bound.max_tools} tools / {bound.max_tokens} tokens): {bounded:,} tokens "
        f"({len(chosen)} tools)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--no-spawn", action="store_true", help="skip starting 10 real servers")
    args = parser.parse_args()
    await in_process(args.calls)
    await overhead("stdio", fake_command(), args.calls)
    with HttpFakeServer() as server:
        await overhead("http", [server.url], args.calls)
    await registration(not args.no_spawn)
    schema_tokens()


if __name__ == "__main__":
    asyncio.run(main())
