"""The web panel under load.

    .venv/bin/python bench/panel.py                    # 10,000 members × 365 days; 20 loads/s
    .venv/bin/python bench/panel.py --members 1000 --renders 50

1. Usage page render (GET /g/<server>/usage, 30 and 365 days, over HTTP from a signed-in client)
   on a usage.sqlite3 holding a year of daily rows for every member (plus the server's, models',
   channels' rows): p50/p95, "cold" (the report cache emptied before every load, so every load
   runs the queries) and "warm" (the cache the panel keeps until the next usage flush).
2. Event-loop lag p99 of the bot while N replies stream (a local provider in its own process),
   without the panel and while a separate process loads the usage page 20 times a second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

from _streaming_common import LagMonitor, pct, provider_process, start_bot
from discord.ext.test import backend

from skynet.engine.usage import series
from skynet.engine.usage.series_reader import SeriesReader

GUILD_CHANNELS = 20
MODELS = ("gpt-4o-mini", "gpt-4o", "llama3:8b", "deepseek-chat")


def build_series(path: Path, guild_id: int, members: int, days: int) -> float:
    """A year of daily rows for ``members`` members (and the server, models, channels) in one file."""
    start = time.perf_counter()
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    series.create(db)
    today = series.day_of()
    first = today - days + 1
    n = len(series.VALUE_FIELDS)
    insert = f"INSERT INTO series VALUES (?, ?, ?, ?, {', '.join('?' * 2 * n)})"
    keys = f"INSERT INTO series_keys (guild_id, dim, key, first_day, last_day, {', '.join('cum_' + f for f in series.VALUE_FIELDS)}) VALUES (?, ?, ?, ?, ?, {', '.join('?' * n)})"
    db.execute("BEGIN")

    def key_rows(dim: str, key: str, values) -> None:
        cum = [0] * n
        rows = []
        for day in range(first, today + 1):
            cum = [c + v for c, v in zip(cum, values)]
            rows.append((guild_id, dim, key, day, *values, *cum))
        db.executemany(insert, rows)
        db.execute(keys, (guild_id, dim, key, first, today, *cum))

    for user in range(members):
        key_rows("member", str(10**17 + user), (2, 600, 300, 0.0012, 0, 0))
    key_rows(
        "guild",
        "",
        (2 * members, 600 * members, 300 * members, 0.0012 * members, members // 50, members // 100),
    )
    for model in MODELS:
        key_rows("model", model, (members // 2, 150 * members, 75 * members, 0.0003 * members, 0, 0))
    for channel in range(GUILD_CHANNELS):
        key_rows("channel", str(10**16 + channel), (members // 10, 30 * members, 15 * members, 0, 0, 0))
    hist = []
    for day in range(first, today + 1):
        for kind, spread in (("first", range(2, 8)), ("complete", range(6, 14))):
            hist += [(guild_id, kind, day, bucket, 50) for bucket in spread]
    db.executemany("INSERT INTO latency VALUES (?, ?, ?, ?, ?)", hist)
    refreshed = time.perf_counter()
    series.refresh_bases(db, today)  # what the first flush of each day does
    print(f"daily refresh of the period bases: {time.perf_counter() - refreshed:.2f} s", flush=True)
    db.execute("COMMIT")
    db.close()
    return time.perf_counter() - start


LOADER = r"""
import asyncio, sys, time, aiohttp
url, cookie, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
async def main():
    async with aiohttp.ClientSession(cookies={"skynet_session": cookie}) as session:
        done, start, tasks = 0, time.monotonic(), []
        async def one():
            nonlocal done
            async with session.get(url) as r:
                await r.read()
                done += r.status == 200
        i = 0
        while time.monotonic() - start < seconds:
            tasks.append(asyncio.create_task(one()))
            i += 1
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        await asyncio.gather(*tasks)
        print(done, flush=True)
asyncio.run(main())
"""


async def render_times(client, path: str, count: int, usage_data, cold: bool) -> List[float]:
    times = []
    for _ in range(count):
        if cold:
            usage_data.forget()
        start = time.perf_counter()
        response = await client.get(path)
        await response.read()
        assert response.status == 200, response.status
        times.append(time.perf_counter() - start)
    return times


async def stream_lag(harness, n: int, words: int) -> float:
    channels = [
        backend.make_text_channel(f"panel-bench-{time.time_ns()}-{i}", harness.guild) for i in range(n)
    ]
    body = " ".join(f"w{i}" for i in range(words))
    with LagMonitor() as lag:
        for channel in channels:
            await harness.say(f"!ai chat {body}", channel=channel, wait=False)
        await asyncio.sleep(0.5)
        arrived = time.monotonic()
        await harness.settle(timeout=600, ignore=lambda t: t.get_name() == "background:lag")
    return pct(lag.after(arrived), 0.99) * 1000


async def main(args: argparse.Namespace) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from skynet.panel import PanelServer
    from skynet.panel.routes import make_app

    proc, base_url = await provider_process(delay=1.0 / args.rate)
    harness = await start_bot(base_url)
    cog = harness.bot.get_cog("Skynet")
    if args.series:  # a file an earlier run built (the same server id: the harness's)
        path = Path(args.series)
    else:
        path = Path(tempfile.mkdtemp()) / "usage.sqlite3"
        built = build_series(path, harness.guild.id, args.members, args.days)
        print(f"series: {args.members} members × {args.days} days built in {built:.1f} s", flush=True)
    print(f"usage.sqlite3: {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    print(f"load average before the measurements: {os.getloadavg()[0]:.1f}", flush=True)
    server = PanelServer(cog)
    server.reader = SeriesReader(path)
    server.panel.usage_data.reader = server.reader
    await server.start("127.0.0.1", 0)
    token = server.panel.links.issue(harness.owner.id)
    client = TestClient(TestServer(make_app(server.panel)))
    await client.start_server()
    try:
        done = await client.post("/login", data={"token": token}, allow_redirects=False)
        cookie = done.cookies["skynet_session"].value
        rows = []
        for days in (30, 365):
            page = f"/g/{harness.guild.id}/usage?days={days}"
            await render_times(client, page, 3, server.panel.usage_data, cold=True)  # warm the file cache
            cold = await render_times(client, page, args.renders, server.panel.usage_data, cold=True)
            warm = await render_times(client, page, args.renders, server.panel.usage_data, cold=False)
            rows.append((days, cold, warm))
        print("\n| usage page | p50 cold | p95 cold | p50 warm | p95 warm |\n|---|---|---|---|---|")
        for days, cold, warm in rows:
            print(
                f"| {args.members:,} members × {args.days} days, period {days} d | "
                + f"{pct(cold, 0.5) * 1000:.1f} ms | {pct(cold, 0.95) * 1000:.1f} ms | "
                f"{pct(warm, 0.5) * 1000:.1f} ms | {pct(warm, 0.95) * 1000:.1f} ms |",
                flush=True,
            )

        # Event-loop lag while streaming: reference (no panel traffic), then with page loads.
        await stream_lag(harness, 2, 10)  # warm-up
        without = await stream_lag(harness, args.streams, args.words)
        url = f"{server.base_url()}/g/{harness.guild.id}/usage?days=30"
        seconds = args.words / args.rate + 3
        loader = subprocess.Popen(
            [sys.executable, "-c", LOADER, url, cookie, str(args.loads), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        await asyncio.sleep(0.5)
        with_panel = await stream_lag(harness, args.streams, args.words)
        served = await asyncio.get_running_loop().run_in_executor(None, loader.communicate)
        print(
            f"\n| loop lag p99 while {args.streams} replies stream | without the panel | "
            f"with {args.loads:g} usage page loads/s |\n|---|---|---|\n"
            f"| ms | {without:.1f} | {with_panel:.1f} (pages served: {served[0].strip()}) |",
            flush=True,
        )
    finally:
        await client.close()
        await server.close()
        await harness.close()
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--renders", type=int, default=40, help="page loads per measurement")
    parser.add_argument("--streams", type=int, default=20, help="replies streaming at once")
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="words per second per answer")
    parser.add_argument("--loads", type=float, default=20.0, help="usage page loads per second")
    parser.add_argument("--series", help="reuse the usage.sqlite3 an earlier run built (printed by it)")
    asyncio.run(main(parser.parse_args()))
