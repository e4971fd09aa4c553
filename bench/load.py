"""N concurrent streamed replies through a real Red bot (dpytest) and a local provider running in
its own process: does the bot stay inside Discord's limits, how responsive is it?

    .venv/bin/python bench/load.py                       # N = 50, 100, 200; 100-word answers
    .venv/bin/python bench/load.py --n 20 --words 300    # fewer, longer answers

Each reply streams ``--words`` words at ``--rate`` words/s, one reply per channel
(``--per-channel`` for more). Reported per N: the most sends+edits seen in any 5 s of one channel
(Discord: 5) and in any 1 s of the whole bot, without and with typing requests (Discord: 50);
event-loop lag p99 (a 10 ms sleep's lateness; overall, and after the first 0.5 s in which the N
messages all arrive at once); first visible text p50/max (from the member's
message); last token → complete answer visible p50/max; peak RSS; whether every answer is complete.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections import defaultdict
from typing import Dict, List

from _streaming_common import LagMonitor, max_in_window, median, pct, provider_process, start_bot
from discord.ext.test import backend


async def run_one(harness, n: int, words: int, per_channel: int) -> Dict[str, object]:
    reply_module = sys.modules["skynet.delivery.reply"]  # the bot's own import of the cog
    streamer_cls = reply_module.ReplyStreamer
    last_token: Dict[int, float] = {}
    original_append = streamer_cls.append

    def append(self, text: str) -> None:  # the time the last text of each reply arrived
        last_token[self._channel_id] = time.monotonic()
        original_append(self, text)

    streamer_cls.append = append
    channels = [
        backend.make_text_channel(f"load-{n}-{i}", harness.guild)
        for i in range((n + per_channel - 1) // per_channel)
    ]
    body = " ".join(f"w{i % 1000}" for i in range(words))
    expected = f"echo: member: {body}"
    start_index = len(harness.events)
    asked: Dict[int, float] = {}
    try:
        with LagMonitor() as lag:
            for i in range(n):
                channel = channels[i // per_channel]
                asked.setdefault(channel.id, time.monotonic())
                await harness.say(f"!ai chat {body}", channel=channel, wait=False)
            await asyncio.sleep(0.5)  # the burst of N incoming messages is handled
            arrived = time.monotonic()
            await harness.settle(timeout=900, ignore=lambda t: t.get_name() == "background:lag")
    finally:
        streamer_cls.append = original_append
    events = harness.events[start_index:]
    ops = [e for e in events if e.kind in ("send", "edit")]
    per_channel_ops: Dict[int, List[float]] = defaultdict(list)
    first_send: Dict[int, float] = {}
    final_op: Dict[int, float] = {}
    for e in ops:
        per_channel_ops[e.channel_id].append(e.at)
        if e.kind == "send":
            first_send.setdefault(e.channel_id, e.at)
        final_op[e.channel_id] = e.at
    complete = 0
    want = "".join(expected.split())
    for channel in channels:
        got = "".join("".join(m.content for m in harness.messages(channel)).split())
        complete += got.count(want) == per_channel and len(got) == len(want) * per_channel
    first = [first_send[c] - asked[c] for c in first_send]
    tail = [final_op[c] - last_token[c] for c in final_op if c in last_token]
    return {
        "N": n,
        "max ops/channel/5s": max(max_in_window(t, 5.0) for t in per_channel_ops.values()),
        "max ops/bot/1s": max_in_window([e.at for e in ops], 1.0),
        "  incl. typing": max_in_window([e.at for e in events if e.kind in ("send", "edit", "typing")], 1.0),
        "typing requests": sum(1 for e in events if e.kind == "typing"),
        "loop lag p99 (ms)": round(pct(lag.samples, 0.99) * 1000, 1),
        "  while streaming (after the burst of N messages)": round(pct(lag.after(arrived), 0.99) * 1000, 1),
        "first text p50/max (s)": f"{median(first):.2f} / {max(first):.2f}",
        "last token→complete p50/max (s)": f"{median(tail):.2f} / {max(tail):.2f}",
        "complete answers": f"{complete}/{len(channels)}",
        "peak RSS (MB)": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


async def main(args: argparse.Namespace) -> None:
    proc, base_url = await provider_process(delay=1.0 / args.rate)
    harness = await start_bot(base_url)
    try:
        rows = []
        for n in args.n:
            rows.append(await run_one(harness, n, args.words, args.per_channel))
            print(rows[-1], flush=True)
            await asyncio.sleep(6)  # let the windows of the previous run expire
        keys = list(rows[0])
        print("\n| | " + " | ".join(f"N={r['N']}" for r in rows) + " |")
        print("|---|" + "---|" * len(rows))
        for key in keys[1:]:
            print(f"| {key} | " + " | ".join(str(r[key]) for r in rows) + " |")
    finally:
        await harness.close()
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--words", type=int, default=100, help="answer length in words (≈ tokens)")
    parser.add_argument("--rate", type=float, default=30.0, help="words per second per answer")
    parser.add_argument("--per-channel", type=int, default=1, help="concurrent replies per channel")
    asyncio.run(main(parser.parse_args()))
