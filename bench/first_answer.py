"""The first answer after ``[p]load skynet`` vs the ones after it, each run in a fresh process
(cold imports, a new connection pool), with the local provider in its own process.

    .venv/bin/python bench/first_answer.py [--runs 3]

Per run: ``!load skynet`` and the owner's setup, a pause (the owner does not chat the instant the
cog is loaded), then ``!ai chat`` in a new channel and, after it, in another: the time from the
member's message to the first visible text of each, and the CPU of the bot's process per answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


async def child(pause: float) -> dict:
    sys.path.insert(0, str(HERE))
    from _streaming_common import provider_process, start_bot
    from discord.ext.test import backend

    proc, base_url = await provider_process(delay=0.005)
    harness = await start_bot(base_url)
    try:
        await asyncio.sleep(pause)
        out = {}
        for name in ("first", "second", "third"):
            channel = backend.make_text_channel(f"first-answer-{name}", harness.guild)
            since = len(harness.events)
            c0, asked = time.process_time(), time.monotonic()
            await harness.say("!ai chat hello there", channel=channel, wait=False)
            sent = await harness.wait_for(
                lambda e, c=channel.id: e.kind == "send" and e.channel_id == c, timeout=30, since=since
            )
            await harness.settle(timeout=30)
            out[name] = {"first_text": sent.at - asked, "cpu": time.process_time() - c0}
        return out
    finally:
        await harness.close()
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between the setup and the first answer")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.pause))))
        return
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--pause", str(args.pause)],
            capture_output=True, text=True, check=True, cwd=HERE.parent,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print(f"fresh process per run, {args.runs} runs, pause after setup {args.pause:g} s (median, min–max):")
    print("| answer | message → first text | CPU of the bot's process |")
    print("|---|---|---|")
    for name in ("first", "second", "third"):
        texts = [r[name]["first_text"] * 1000 for r in runs]
        cpus = [r[name]["cpu"] * 1000 for r in runs]
        print(
            f"| {name} after load | {statistics.median(texts):.0f} ms ({min(texts):.0f}–{max(texts):.0f}) "
            f"| {statistics.median(cpus):.0f} ms |"
        )


if __name__ == "__main__":
    main()
