"""Usage counters under load: flush time at 1k/10k users, and Config writes at 50 messages/s.

    .venv/bin/python bench/flush.py [--backend json|postgres] [--old]

On a real Red bot (RedHarness, Red's JSON Config driver or its PostgreSQL driver against a local
pgserver) with skynet loaded:

1. Flush: N users (spread over 10 servers) each get one reply's usage in the ledger, then one
   ``UsageStore.flush()`` is timed -- for N = 1,000 and 10,000 new users, then 10,000 returning
   users (rows updated, 11,000 already stored). Config writes are counted by wrapping the driver's
   ``set`` (every Config write of every cog goes through it).
2. Sustained traffic: ``!ai chat`` at 50 messages/s for 10 s from a local OpenAI-compatible server;
   Config writes per second and counter-store transactions, including the flush on unload.
3. With ``--old``: the schema-1 flush (one Config value per scope) at 1,000 users, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet_dev.harness import RedHarness  # noqa: E402
from skynet_dev.mock_openai import MockOpenAI, Reply  # noqa: E402
from skynet_dev.postgres import LocalPostgres  # noqa: E402

KEY = "sk-bench-0123456789abcdef"
GUILDS = [1200000000000000000 + g for g in range(10)]


class WriteCounter:
    """Counts Config writes (driver ``set``/``clear``) and counter-store transactions."""

    def __init__(self, cog) -> None:
        self.config_writes = 0
        self.store_transactions = 0
        driver_class = type(cog.config._driver)
        self._patched = [(driver_class, "set", driver_class.set), (driver_class, "clear", driver_class.clear)]
        for owner, name, real in self._patched:
            setattr(owner, name, self._counting(real))
        db = cog.usage.counters.db
        real_add = db.add

        def add(*args, **kwargs):
            self.store_transactions += 1
            return real_add(*args, **kwargs)

        db.add = add

    def _counting(self, real):
        async def counting(driver, *args, **kwargs):
            self.config_writes += 1
            return await real(driver, *args, **kwargs)

        return counting

    def restore(self) -> None:
        for owner, name, real in self._patched:
            setattr(owner, name, real)


def record_users(cog, first_user: int, count: int) -> None:
    from_cog = sys.modules[type(cog).__module__.rsplit(".", 1)[0] + ".stores.usage"]
    events = sys.modules[type(cog).__module__.rsplit(".", 1)[0] + ".engine.events"]
    for n in range(count):
        user, guild = first_user + n, GUILDS[n % len(GUILDS)]
        scopes = [from_cog.global_scope(), from_cog.guild_scope(guild), from_cog.member_scope(guild, user)]
        cog.usage.ledger.record(scopes, events.Usage(1200, 300, cost_usd=0.0004))


async def timed_flush(cog, counter: WriteCounter) -> Dict[str, float]:
    writes, transactions = counter.config_writes, counter.store_transactions
    scopes = len(cog.usage.ledger)
    start = time.perf_counter()
    await cog.usage.flush()
    return {
        "seconds": time.perf_counter() - start,
        "scopes": scopes,
        "config_writes": counter.config_writes - writes,
        "transactions": counter.store_transactions - transactions,
    }


async def old_flush(cog, users: int) -> float:
    """Schema 1: one Config value per scope (what the flush did before the counter store)."""
    config = cog.config
    deltas = {}
    for n in range(users):
        user, guild = 10**17 + n, GUILDS[n % len(GUILDS)]
        for group in (config.guild_from_id(guild), config.member_from_ids(guild, user)):
            deltas[group] = {"requests": 1, "prompt_tokens": 1200, "completion_tokens": 300}
    deltas[config] = {"requests": users}
    start = time.perf_counter()
    for group, delta in deltas.items():
        async with group.usage() as usage:
            for key, value in delta.items():
                usage[key] = usage.get(key, 0) + value
    return time.perf_counter() - start


async def sustained(
    red: RedHarness, cog, counter: WriteCounter, rate: float, seconds: float
) -> Dict[str, float]:
    pacing = sys.modules[type(cog).__module__.rsplit(".", 1)[0] + ".discord.pacing"]
    cog.pacer = pacing.Pacer(channel_interval=0.0)  # Discord's pacing is not what is measured
    authors = [red.member, red.admin, red.owner]
    writes, transactions = counter.config_writes, counter.store_transactions
    per_second: List[int] = []
    tasks = []
    start = time.perf_counter()
    sent = 0
    while time.perf_counter() - start < seconds:
        due = int((time.perf_counter() - start) * rate) + 1
        while sent < due:
            tasks.append(asyncio.create_task(red.say(f"!ai chat question {sent}", author=authors[sent % 3])))
            sent += 1
        second = int(time.perf_counter() - start)
        while len(per_second) <= second:
            per_second.append(counter.config_writes)
        await asyncio.sleep(0.005)
    window = time.perf_counter() - start
    await asyncio.gather(*tasks)
    await red.settle(timeout=60)
    elapsed = time.perf_counter() - start
    during = counter.config_writes - writes
    replies = sum(1 for m in red.messages() if m.content.startswith("Sure, "))
    await red.say("!unload skynet", author=red.owner)
    return {
        "messages": sent,
        "window": window,
        "replies": replies,
        "seconds": elapsed,
        "config_writes": during,
        "config_writes_per_s": during / elapsed,
        "transactions_incl_unload": counter.store_transactions - transactions,
        "config_writes_incl_unload": counter.config_writes - writes,
    }


async def main(backend: str, old: bool) -> None:
    server = LocalPostgres().start() if backend == "postgres" else None
    storage = {"storage_type": "Postgres", "storage_details": server.storage_details} if server else {}
    try:
        if server:
            await server.wipe()
        with tempfile.TemporaryDirectory() as tmp:
            async with MockOpenAI(api_key=KEY, models=["gpt-test"]) as provider:
                provider.default_reply = Reply.text("Sure, " + "word " * 40)
                red = RedHarness(
                    Path(tmp) / "red", cog_paths=[REPO], background=MockOpenAI.owns_task, **storage
                )
                await red.start()
                try:
                    await run(red, provider, old)
                finally:
                    await red.close()
    finally:
        if server:
            server.stop()


async def run(red: RedHarness, provider: MockOpenAI, old: bool) -> None:
    for command in (
        "!load skynet",
        f"!set api mock api_key,{KEY}",
        f"!ai provider add mock {provider.base_url} mock",
        "!ai model set global mock:gpt-test",
    ):
        await red.say(command, author=red.owner)
    await red.settle()
    cog = red.bot.get_cog("Skynet")
    counter = WriteCounter(cog)
    try:
        print(f"Config backend: {red.storage_type}; counter store: {cog.usage.path.name} (SQLite)")
        for label, first, count in (
            ("1,000 new users", 10**17, 1_000),
            ("10,000 new users", 10**17 + 1_000, 10_000),
            ("10,000 returning users", 10**17 + 1_000, 10_000),
        ):
            record_users(cog, first, count)
            result = await timed_flush(cog, counter)
            print(
                f"flush, {label}: {result['seconds'] * 1000:.0f} ms for {result['scopes']:,} scopes, "
                f"{result['config_writes']} Config writes, {result['transactions']} store transaction(s)"
            )
        if old:
            print(
                f"old flush (schema 1, one Config value per scope), 1,000 users: {await old_flush(cog, 1000):.1f} s"
            )
        result = await sustained(red, cog, counter, rate=50, seconds=10)
        print(
            f"sustained: {result['messages']} messages sent in {result['window']:.1f} s "
            f"({result['messages'] / result['window']:.0f}/s), {result['replies']} replies done after "
            f"{result['seconds']:.1f} s; Config writes {result['config_writes']} "
            f"({result['config_writes_per_s']:.2f}/s); then [p]unload: "
            f"{result['config_writes_incl_unload'] - result['config_writes']} Config write(s) (Red saving its "
            f"loaded-cog list), {result['transactions_incl_unload']} store transaction(s) in all "
            f"(periodic flushes every 15 s + the flush on unload)"
        )
    finally:
        counter.restore()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["json", "postgres"], default="json")
    parser.add_argument("--old", action="store_true", help="also time the schema-1 flush at 1,000 users")
    args = parser.parse_args()
    asyncio.run(main(args.backend, args.old))
