"""Benchmark of passive listening and governance. Run by hand; results go in docs/performance.md.

    .venv/bin/python bench/listen.py [--members 10000] [--rate 1000] [--seconds 2]

Takes about five minutes on 2 cores (answering 2,000 messages in modes keyword and all is
bounded by Discord's bot-wide rate budget that the pacer enforces, ~50 requests/s).

1. The "ignore" decision: ``on_message_without_command`` for messages the listener does not
   answer (mode off; mention mode without a mention; keyword mode without a keyword), with a
   server of ``--members`` members, each with a budget and a tool rule, and 200 roles with both.
2. The "answer" checks for a message that will be answered: listening decision + tool policy +
   rate-limit buckets + budget reservation and settlement (token counting reported apart).
3. ``--rate`` messages/s for ``--seconds`` through Red's real ``on_message`` (dpytest gateway
   events), modes off, keyword and all, the provider a local mock in another process; event
   loop lag (p50/p99/max) sampled every 5 ms, messages answered, and the rate reached.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import discord  # noqa: E402
from discord.ext.test import backend as dpy_backend  # noqa: E402
from discord.ext.test import factories as dpy_factories  # noqa: E402

from skynet.engine.events import Usage  # noqa: E402
from skynet.engine.governance.governor import Admission  # noqa: E402
from skynet.engine.governance.listening import Heard  # noqa: E402
from skynet.engine.governance.policy import decide_tool  # noqa: E402
from skynet_dev.harness import RedHarness  # noqa: E402

KEY = "sk-bench-0123456789abcdef"


def pct(samples: List[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def describe_us(samples_ns: List[int]) -> str:
    us = [s / 1000 for s in samples_ns]
    return f"median {statistics.median(us):.1f} µs, p99 {pct(us, 0.99):.1f} µs (n={len(us)})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def governance_data(members: List[int], roles: List[int], channel_ids: List[int], mode: str) -> dict:
    """A big server: every member has a budget and a tool rule; 200 roles have budgets."""
    return {
        "listen": {
            "mode": mode,
            "keywords": ["skynet", "robot", "assistant", "bot"] + [f"kw{i}" for i in range(40)],
        },
        "budget": {
            "member": 50_000,
            "roles": {str(r): 10**9 for r in roles},
            "members": {str(m): 10**9 for m in members},
        },
        "ratelimit": {"user": [10000, 60], "server": [10**6, 60]},
        "tools": {
            "server": {"web_search": "allow"},
            "channels": {str(c): {"scrape": "deny"} for c in channel_ids},
            "roles": {str(r): {"crawl": "allow"} for r in roles},
            "members": {str(m): {"ping": "deny"} for m in members},
        },
    }


def make_message(channel: discord.TextChannel, author: discord.Member, content: str) -> discord.Message:
    data = dpy_factories.make_message_dict(channel, author, content=content, guild_id=channel.guild.id)
    return discord.Message(state=dpy_backend.get_state(), channel=channel, data=data)


async def time_listener(cog, messages: List[discord.Message]) -> List[int]:
    samples = []
    for message in messages:
        start = time.perf_counter_ns()
        await cog.on_message_without_command(message)
        samples.append(time.perf_counter_ns() - start)
    return samples


async def loop_lag(stop: asyncio.Event, samples: List[float], every: float = 0.005) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(every)
        samples.append((loop.time() - start - every) * 1000)


async def flood(harness: RedHarness, channels, authors, rate: int, seconds: float, text: str) -> dict:
    """Post ``rate`` messages/s through the gateway for ``seconds``; measure loop lag meanwhile."""
    lag: List[float] = []
    stop = asyncio.Event()
    monitor = asyncio.create_task(loop_lag(stop, lag))
    total = int(rate * seconds)
    sends_before = sum(1 for e in harness.events if e.kind == "send")
    loop = asyncio.get_running_loop()
    start = loop.time()
    batch = max(1, rate // 200)  # post in batches every 5 ms
    for i in range(0, total, batch):
        for j in range(i, min(total, i + batch)):
            dpy_backend.make_message(f"{text} {j}", authors[j % len(authors)], channels[j % len(channels)])
        delay = start + (i + batch) / rate - loop.time()
        await asyncio.sleep(max(0.0, delay))
    posted_in = loop.time() - start
    await harness.settle(timeout=300, ignore=lambda t: t is monitor)
    drained_in = loop.time() - start
    stop.set()
    await monitor
    sends = [e for e in harness.events if e.kind == "send"][sends_before:]
    notices = sum(1 for e in sends if (e.content or "").startswith("⏳"))
    return {
        "posted": total,
        "rate": total / posted_in,
        "drained_s": drained_in,
        "answered": len(sends) - notices,
        "notices": notices,
        "lag_p50": statistics.median(lag),
        "lag_p99": pct(lag, 0.99),
        "lag_max": max(lag),
    }


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    mock = subprocess.Popen(
        [sys.executable, "-m", "skynet_dev.mock_openai", "--port", str(port), "--delay", "0.02"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    harness = RedHarness(Path(tempfile.mkdtemp()) / "red", cog_paths=[REPO])
    try:
        await harness.start()
        for command in (
            "!load skynet",
            f"!set api mock api_key,{KEY}",
            f"!ai provider add mock http://127.0.0.1:{port}/v1 mock",
            "!ai model set global mock:gpt-test",
        ):
            await harness.say(command, author=harness.owner)
            await harness.settle()
        cog = harness.bot.get_cog("Skynet")
        guild = harness.guild
        roles = [dpy_backend.make_role(f"r{i}", guild) for i in range(200)]
        channels = [dpy_backend.make_text_channel(f"bench-{i}", guild) for i in range(100)]
        started = time.perf_counter()
        authors = [
            dpy_backend.make_member(
                dpy_backend.make_user(f"u{i}", "0001"), guild, roles=roles[i % 200 : i % 200 + 3]
            )
            for i in range(args.members)
        ]
        print(
            f"{args.members} members (3 roles each) created in {time.perf_counter() - started:.1f} s; each has a "
            f"budget and a tool rule of their own, and {len(roles)} roles have budgets and tool rules"
        )
        member_ids = [a.id for a in authors]
        role_ids = [r.id for r in roles]
        channel_ids = [c.id for c in channels]

        async def use(mode: str) -> None:
            data = governance_data(member_ids, role_ids, channel_ids, mode)
            await cog.governance.update(guild.id, lambda d: (d.clear(), d.update(data)))

        # 1. the "ignore" decision
        print("\n1. ignore decision (on_message_without_command, message not answered)")
        gc.disable()
        for mode, text in (
            ("off", "just chatting about the weather today"),
            ("mention", "just chatting about the weather today"),
            ("keyword", "just chatting about the weather today with nothing special in it"),
        ):
            await use(mode)
            messages = [
                make_message(channels[i % 100], authors[i % len(authors)], text) for i in range(20_000)
            ]
            samples = await time_listener(cog, messages)
            print(f"   mode {mode:<8} {describe_us(samples)}")
        gc.enable()

        # 2. the "answer" checks: listening + policy + buckets + budget reservation/settlement
        print("\n2. answer checks (listen decision + tool policy + rate buckets + budget reserve/settle)")
        await use("all")
        rules = cog.governance.rules(guild.id)
        governor, listener = cog.governor, cog.listener
        samples = []
        gc.disable()
        for i in range(20_000):
            author = authors[i % len(authors)]
            role_tuple = tuple(r.id for r in author.roles)
            heard = Heard(i, guild.id, channel_ids[i % 100], author.id, "hello there", True, False)
            start = time.perf_counter_ns()
            listener.decide(rules.listen, heard)
            decide_tool(
                rules.tools, "web_search", user_id=author.id, role_ids=role_tuple, channel_id=heard.channel_id
            )
            ticket = governor.admit(rules, Admission(guild.id, author.id, role_tuple, "gpt-test", 300, 500))
            ticket.settle(Usage(300, 200))
            samples.append(time.perf_counter_ns() - start)
        gc.enable()
        print(f"   {describe_us(samples)}")
        for i in range(20):  # a realistic window for the token count of the prompt
            cog.memory.add(
                f"channel:{channels[0].id}", "user", f"question {i} " * 20, user_id=1, name="someone"
            )
        request = cog.chat_request(authors[0], channels[0], "what is the weather like on mars?")
        samples = []
        for _ in range(2000):
            start = time.perf_counter_ns()
            cog.admit(authors[0], channels[0], request).settle(None)
            samples.append(time.perf_counter_ns() - start)
        print(
            f"   the cog's admit() incl. counting the prompt's tokens (20-turn window): {describe_us(samples)}"
        )
        cog.governor.ledger.dirty.clear()

        # 3. messages/s through Red's on_message
        print(
            f"\n3. {args.rate} messages/s for {args.seconds} s through on_message "
            "(100 channels, provider: local mock in another process)"
        )
        scenarios = (
            ("off", "just chatting", None),
            ("keyword", "hey skynet what time is it", None),
            ("all", "hello", None),
            ("all", "hello", [20, 1]),  # the same, with a server rate limit of 20 requests/s
        )
        for mode, text, server_rate in scenarios:
            await use(mode)

            def limits(d: dict, server_rate=server_rate) -> None:
                d.pop("budget", None)
                d["ratelimit"] = {"server": server_rate} if server_rate else {}

            await cog.governance.update(guild.id, limits)
            r = await flood(harness, channels, authors, args.rate, args.seconds, text)
            label = mode + (f" + server limit {server_rate[0]}/s" if server_rate else "")
            print(
                f"   mode {label:<8} posted {r['posted']} at {r['rate']:.0f}/s, answered {r['answered']}, notices {r['notices']}, "
                f"all done after {r['drained_s']:.1f} s; loop lag p50 {r['lag_p50']:.1f} ms, "
                f"p99 {r['lag_p99']:.1f} ms, max {r['lag_max']:.0f} ms"
            )
    finally:
        await harness.close()
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000, help="members, each with overrides")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0)
    asyncio.run(main(parser.parse_args()))
