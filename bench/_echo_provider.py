"""The benches' provider, in its own process: the demo echo server (word by word, ``--delay``
seconds apart; embeddings served) without the small print the demo adds after each echo, so an
answer is exactly "echo: <the member's message>".

    python bench/_echo_provider.py --delay 0.03
    python bench/_echo_provider.py --delay 0.03 --ends /tmp/ends   # + when each stream ended

``--ends FILE``: the time (``time.monotonic()``, the machine's clock, as in the bot's process) at
which each streamed answer's last token was written, a line per answer: the benches measure from
it how long after the provider's last token an answer is complete (the finish and ``[DONE]`` are
written right after the last token, with no pause).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skynet_dev.mock_openai import demo_server  # noqa: E402


def plain_echo_server(delay: float):
    server = demo_server(0, delay)
    if hasattr(server.default_reply, "echo_context"):
        server.default_reply = replace(server.default_reply, echo_context=False)
    return server


def record_ends(server, path: str) -> None:
    stream = server._stream  # noqa: SLF001 - the bench's own server

    async def timed(*args, **kwargs):
        response = await stream(*args, **kwargs)
        with open(path, "a") as ends:
            ends.write(f"{time.monotonic()}\n")
        return response

    server._stream = timed  # noqa: SLF001


async def serve(delay: float, ends: str = "") -> None:
    server = plain_echo_server(delay)
    if ends:
        record_ends(server, ends)
    async with server:
        print(f"MockOpenAI serving at {server.base_url}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.03)
    parser.add_argument("--ends", default="", help="a file to append the end time of each stream to")
    args = parser.parse_args()
    asyncio.run(serve(args.delay, args.ends))
