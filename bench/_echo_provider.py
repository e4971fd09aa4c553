"""The benches' provider, in its own process: the demo echo server (word by word, ``--delay``
seconds apart; embeddings served) without the small print the demo adds after each echo, so an
answer is exactly "echo: <the member's message>".

    python bench/_echo_provider.py --delay 0.03
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skynet_dev.mock_openai import demo_server  # noqa: E402


def plain_echo_server(delay: float):
    server = demo_server(0, delay)
    if hasattr(server.default_reply, "echo_context"):
        server.default_reply = replace(server.default_reply, echo_context=False)
    return server


async def serve(delay: float) -> None:
    async with plain_echo_server(delay) as server:
        print(f"MockOpenAI serving at {server.base_url}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.03)
    asyncio.run(serve(parser.parse_args().delay))
