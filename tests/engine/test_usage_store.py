"""Usage counters at scale: thousands of scopes per flush, one transaction, exact totals,
export and deletion (pending counters included), and the flush/deletion race."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Dict

import pytest

from skynet.engine.events import Usage
from skynet.engine.usage import CounterDB
from skynet.engine.usage.accounting import Counters, ScopeKey, UsageLedger
from skynet.stores.usage import UsageStore, global_scope, guild_scope, member_scope, user_scope

GUILDS = [1100 + g for g in range(7)]


def scopes_of(guild_id, user_id):
    if guild_id is None:
        return [global_scope(), user_scope(user_id)]
    return [global_scope(), guild_scope(guild_id), member_scope(guild_id, user_id)]


def record_traffic(ledger: UsageLedger, expected: Dict[ScopeKey, Counters], rng: random.Random, n: int):
    """``n`` replies by random users in random servers (or DMs); ``expected`` keeps its own tally."""
    for _ in range(n):
        user = rng.randrange(10**17, 10**17 + 4000)
        guild = rng.choice(GUILDS + [None])
        usage = Usage(
            rng.randrange(1, 5000),
            rng.randrange(1, 800),
            estimated=rng.random() < 0.1,
            cost_usd=None if rng.random() < 0.2 else rng.randrange(0, 1000) / 1e6,
        )
        scopes = scopes_of(guild, user)
        ledger.record(scopes, usage)
        for scope in scopes:
            expected.setdefault(scope, Counters()).add(Counters.of(usage))


@pytest.fixture
async def store(tmp_path: Path):
    usage = UsageStore(None, UsageLedger(), tmp_path / "usage.sqlite3")
    await usage.open()
    yield usage
    await usage.stop()


def assert_same(actual: Counters, expected: Counters) -> None:
    assert actual.requests == expected.requests
    assert actual.prompt_tokens == expected.prompt_tokens
    assert actual.completion_tokens == expected.completion_tokens
    assert actual.estimated_requests == expected.estimated_requests
    assert actual.unpriced_requests == expected.unpriced_requests
    assert actual.cost_usd == pytest.approx(expected.cost_usd, rel=1e-9, abs=1e-12)


async def test_thousands_of_scopes_flush_in_one_transaction_with_exact_totals(store):
    rng = random.Random(9)
    expected: Dict[ScopeKey, Counters] = {}
    transactions = []
    real_add = store.counters.db.add
    store.counters.db.add = lambda deltas, **kw: transactions.append(len(deltas)) or real_add(deltas, **kw)

    for _ in range(3):  # three flush periods, the same users coming back
        record_traffic(store.ledger, expected, rng, 4000)
        await store.flush()
    assert len(store.ledger) == 0
    assert len(transactions) == 3 and transactions[0] > 3000  # one write per flush, whatever the users
    assert len(expected) > 5000

    for scope, counters in expected.items():
        assert_same(await store.totals(scope), counters)
    assert store.counters.db.count() == len(expected)
    # Nothing changed: a flush writes nothing.
    await store.flush()
    assert len(transactions) == 3


async def test_totals_add_pending_to_stored(store):
    rng = random.Random(1)
    expected: Dict[ScopeKey, Counters] = {}
    record_traffic(store.ledger, expected, rng, 500)
    await store.flush()
    record_traffic(store.ledger, expected, rng, 500)  # not flushed
    for scope in rng.sample(sorted(expected, key=str), 200):
        assert_same(await store.totals(scope), expected[scope])


async def test_export_and_delete_a_user_among_thousands(store):
    rng = random.Random(2)
    expected: Dict[ScopeKey, Counters] = {}
    record_traffic(store.ledger, expected, rng, 3000)
    target = 10**17 + 4242
    store.ledger.record(scopes_of(GUILDS[0], target), Usage(10, 1))
    store.ledger.record(scopes_of(None, target), Usage(20, 2))
    await store.flush()
    store.ledger.record(scopes_of(GUILDS[1], target), Usage(30, 3))  # pending only
    store.ledger.record(scopes_of(GUILDS[0], target), Usage(40, 4))  # stored and pending

    mine = await store.of_user(target)
    assert {scope: c.prompt_tokens for scope, c in mine.items()} == {
        member_scope(GUILDS[0], target): 50,
        user_scope(target): 20,
        member_scope(GUILDS[1], target): 30,
    }

    others_before = store.counters.db.count() - 2
    await store.forget_user(target)
    assert await store.of_user(target) == {}
    await store.flush()  # the pending deltas were dropped, not written back
    assert await store.of_user(target) == {}
    assert (await store.totals(member_scope(GUILDS[1], target))).requests == 0
    # Everyone else, and the server/global totals, are untouched.
    assert store.counters.db.count() == others_before  # only their two stored rows went
    for scope, counters in expected.items():
        if scope[0] in ("member", "user"):
            assert_same(await store.totals(scope), counters)


async def test_a_deletion_waits_for_an_in_flight_flush_so_drained_counters_are_not_written_back(store):
    user = 10**17 + 7
    store.ledger.record(scopes_of(GUILDS[0], user), Usage(100, 10))
    release = asyncio.Event()
    real_add = store.counters.add

    async def slow_add(deltas, **kwargs):
        await release.wait()
        return await real_add(deltas, **kwargs)

    store.counters.add = slow_add
    flushing = asyncio.create_task(store.flush())
    await asyncio.sleep(0)  # the flush has drained the ledger and waits to write
    assert len(store.ledger) == 0
    deleting = asyncio.create_task(store.forget_user(user))
    await asyncio.sleep(0.01)
    assert not deleting.done()
    release.set()
    await asyncio.gather(flushing, deleting)
    assert await store.of_user(user) == {}
    assert (await store.totals(guild_scope(GUILDS[0]))).requests == 1  # not personal: kept


async def test_a_failed_write_keeps_the_counters_for_the_next_flush(store):
    store.ledger.record([global_scope()], Usage(5, 5))

    async def broken(deltas, **kwargs):
        raise OSError("disk full")

    real_add, store.counters.add = store.counters.add, broken
    await store.flush()
    assert store.last_flush is None and len(store.ledger) == 1
    store.counters.add = real_add
    await store.flush()
    assert (await store.counters.get(global_scope())).requests == 1 and len(store.ledger) == 0


def test_an_import_marked_once_is_not_added_twice(tmp_path):
    db = CounterDB(tmp_path / "usage.sqlite3")
    db.open()
    try:
        assert db.add({global_scope(): Counters(requests=3)}, once="import")
        assert not db.add({global_scope(): Counters(requests=3)}, once="import")
        assert db.get(global_scope()).requests == 3
    finally:
        db.close()


def test_counters_survive_reopening(tmp_path):
    db = CounterDB(tmp_path / "usage.sqlite3")
    db.open()
    db.add({member_scope(1, 2): Counters(requests=1, cost_usd=0.5)})
    db.close()
    db.open()
    try:
        assert db.get(member_scope(1, 2)).to_json() == Counters(requests=1, cost_usd=0.5).to_json()
    finally:
        db.close()
