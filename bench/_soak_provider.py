"""The soak's provider, in its own process: the demo echo server (word by word, embeddings served),
plus a tool call when a member asks to calculate and the request offers the calculator.

    python bench/_soak_provider.py --delay 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiohttp import web  # noqa: E402

from _echo_provider import plain_echo_server  # noqa: E402
from skynet_dev.mock_openai import Reply  # noqa: E402


def install_tool_calls(server) -> None:
    chat = server._chat  # noqa: SLF001 - wrap the echo with one decision

    async def with_tools(request: web.Request) -> web.StreamResponse:
        body = await request.json()  # aiohttp keeps the body: the echo reads it again
        if len(server.requests) > 1000:
            server.requests.clear()  # the soak runs for long: keep this process small too
        messages = body.get("messages") or []
        offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
        last = messages[-1] if messages else {}
        if "calculator" in offered and last.get("role") == "user" and "calculate" in str(last.get("content")):
            server.script(Reply.call("calculator", {"expression": "6*7"}))
        return await chat(request)

    server._chat = with_tools  # noqa: SLF001


async def serve(delay: float) -> None:
    server = plain_echo_server(delay)
    install_tool_calls(server)  # before start(): the route takes the bound method then
    async with server:
        print(f"MockOpenAI serving at {server.base_url}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.02)
    asyncio.run(serve(parser.parse_args().delay))
