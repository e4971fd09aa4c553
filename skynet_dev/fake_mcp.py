"""A real MCP server for tests and benchmarks, built with the official ``mcp`` package (FastMCP).

Run it as a child process over stdio (``python skynet_dev/fake_mcp.py``) or over streamable HTTP on
127.0.0.1 (``--http PORT``). It is standalone on purpose (no skynet imports): the client spawns it
like any third-party server. Tools cover the happy path and every fault the client must survive:

- ``echo``, ``add``: plain answers; ``env``: whether an environment variable reached the server
  (its length, never its value); ``auth``: the length of the ``Authorization`` header (HTTP);
- ``sleep``: takes its time (hangs, timeouts, cancellation; writes ``cancelled`` to the marker file
  when the client cancels it), ``crash``: the process exits mid-call, ``huge``: a big result,
  ``garbage``: answers with a line that is not JSON-RPC, then hangs;
- ``busy``: reports how many of its calls ran at once (the per-server concurrency limit);
- ``fail``: raises (an ``isError`` result), ``image``: a PNG, ``link``: text plus a resource link;
- ``grow``: adds the tool ``extra`` and notifies ``tools/list_changed``;
- with ``--odd``: a tool whose input schema is not an object, one that needs repair, two names
  that sanitise to the same name, and a name over 64 characters.

``--pid-file PATH`` writes the process id (so tests can check nothing outlives the cog);
``--tools N`` adds N trivial tools (the registration benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
from typing import Any, List

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.utilities.types import Image
from mcp.types import ResourceLink, TextContent

# The smallest valid PNG (1x1 transparent pixel).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def build(args: argparse.Namespace) -> FastMCP:
    server = FastMCP("fake", host="127.0.0.1", port=args.http or 8000, log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        """Repeat the text."""
        return text

    @server.tool()
    def add(a: int, b: int) -> str:
        """Add two integers."""
        return str(a + b)

    @server.tool()
    def env(name: str) -> str:
        """Whether an environment variable is set (its length only)."""
        value = os.environ.get(name)
        return f"{name} is not set" if value is None else f"{name} is set ({len(value)} characters)"

    @server.tool()
    def auth(ctx: Context) -> str:
        """The length of the Authorization header this request came with."""
        request = ctx.request_context.request
        header = request.headers.get("authorization") if request is not None else None
        return "no authorization header" if header is None else f"authorization: {len(header)} characters"

    @server.tool()
    async def sleep(seconds: float) -> str:
        """Wait, then answer."""
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if args.marker:
                with open(args.marker, "a", encoding="utf-8") as marker:
                    marker.write("cancelled\n")
            raise
        return f"slept {seconds:g} s"

    running = {"now": 0, "peak": 0}

    @server.tool()
    async def busy(seconds: float) -> str:
        """Wait; answers the most calls of `busy` that ran at once so far."""
        running["now"] += 1
        running["peak"] = max(running["peak"], running["now"])
        try:
            await asyncio.sleep(seconds)
        finally:
            running["now"] -= 1
        return f"peak {running['peak']}"

    @server.tool()
    def crash() -> str:
        """The server process dies mid-call."""
        os._exit(3)

    @server.tool()
    def huge(chars: int) -> str:
        """A result of `chars` characters."""
        return ("0123456789" * (chars // 10 + 1))[:chars]

    @server.tool()
    async def garbage() -> str:
        """Answers with a line that is not JSON-RPC, then hangs."""
        os.write(1, b'{"jsonrpc": "2.0", "id": oops this is not json\n')
        await asyncio.sleep(3600)
        return "unreachable"

    @server.tool()
    def fail(message: str) -> str:
        """Raise an error (the client gets an isError result)."""
        raise ValueError(message)

    @server.tool()
    def image() -> Image:
        """A tiny PNG."""
        return Image(data=PNG, format="png")

    @server.tool()
    def link() -> List[Any]:
        """Text plus a link to a resource."""
        return [
            TextContent(type="text", text="Here is the report."),
            ResourceLink(
                type="resource_link", name="report", uri="file:///srv/report.txt", mimeType="text/plain"
            ),
        ]

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add the tool `extra` and tell the client the list changed."""

        def extra() -> str:
            """A tool that appeared later."""
            return "extra!"

        server.add_tool(extra)
        await ctx.session.send_tool_list_changed()
        return "grown"

    if args.odd:

        def not_an_object() -> str:
            """Its input schema is a string."""
            return "?"

        def repairable(city: str) -> str:
            """Its schema lacks a type and carries $schema and a $ref."""
            return city

        def dotted() -> str:
            """get.weather"""
            return "dotted"

        def spaced() -> str:
            """get weather"""
            return "spaced"

        def very_long() -> str:
            """A name of 70 characters."""
            return "long"

        server.add_tool(not_an_object)
        server.add_tool(repairable)
        server.add_tool(dotted, name="get.weather")
        server.add_tool(spaced, name="get weather")
        server.add_tool(very_long, name="v" * 70)
        tools = server._tool_manager._tools  # odd schemas can't be declared through FastMCP's API
        tools["not_an_object"].parameters = {"type": "string"}
        tools["repairable"].parameters = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"city": {"$ref": "#/$defs/City"}},
            "required": ["city", "ghost"],
            "$defs": {"City": {"type": "string", "maxLength": 40}},
        }

    def numbered_tool(index: int) -> Any:
        def numbered(value: str = "") -> str:
            return f"tool {index}: {value}"

        return numbered

    for index in range(args.tools):
        server.add_tool(
            numbered_tool(index),
            name=f"tool_{index:03d}",
            description=f"Tool number {index}: does thing {index} with a value (for the benchmark).",
        )
    return server


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=0, help="serve streamable HTTP on this port")
    parser.add_argument("--pid-file", default="")
    parser.add_argument("--marker", default="", help="file the server appends events to")
    parser.add_argument("--odd", action="store_true", help="add tools with odd schemas and names")
    parser.add_argument("--tools", type=int, default=0, help="add N trivial tools")
    args = parser.parse_args(argv)
    if args.pid_file:
        with open(args.pid_file, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
    server = build(args)
    server.run("streamable-http" if args.http else "stdio")


if __name__ == "__main__":
    main(sys.argv[1:])
