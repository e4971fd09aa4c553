"""Per-day usage series: what the panel's charts and tables show, after flushes, late deltas,
retention and a member's deletion."""

from __future__ import annotations

import sqlite3

import pytest

from skynet.engine.usage import series, series_queries
from skynet.engine.usage.series import DAY, SeriesCounts, SeriesLedger

GUILD = 111
T0 = 20_000 * DAY + 3600  # some day, 01:00 UTC


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    series.create(connection)
    return connection


def flush(db: sqlite3.Connection, ledger: SeriesLedger) -> None:
    db.execute("BEGIN")
    series.write(db, ledger.drain())
    db.execute("COMMIT")


def chat(
    ledger: SeriesLedger, user: int, tokens: int = 10, *, channel: int = 5, model: str = "gpt-test"
) -> None:
    ledger.answered(
        guild_id=GUILD,
        channel_id=channel,
        user_id=user,
        model=model,
        prompt_tokens=tokens,
        completion_tokens=tokens,
        cost_usd=0.01,
        first_text=0.4,
        complete=1.2,
    )


def totals(db, dim: str, first: int, last: int) -> dict:
    return {key: counts for key, counts in series_queries.totals_by_key(db, GUILD, dim, first, last)}


def test_days_members_models_channels_and_periods(db) -> None:
    clock = Clock(T0)
    ledger = SeriesLedger(clock)
    day0 = series.day_of(T0)
    for day in range(10):
        clock.now = T0 + day * DAY
        chat(ledger, 1)
        if day % 2 == 0:
            chat(ledger, 2, tokens=100, model="gpt-other", channel=6)
        if day in (3, 7):
            flush(db, ledger)  # several flushes, some days written over two flushes
    flush(db, ledger)

    days = dict(series_queries.daily(db, GUILD, "guild", "", day0, day0 + 9))
    assert days[day0].requests == 2 and days[day0 + 1].requests == 1
    assert sum(c.requests for c in days.values()) == 15

    whole = totals(db, "member", day0, day0 + 9)
    assert whole["1"].requests == 10 and whole["2"].requests == 5
    assert list(whole) == ["2", "1"]  # most tokens first
    middle = totals(db, "member", day0 + 2, day0 + 4)  # a period that does not end today
    assert middle["1"].requests == 3 and middle["2"].requests == 2 and middle["2"].total_tokens == 400
    assert totals(db, "model", day0, day0 + 9)["gpt-other"].requests == 5
    assert totals(db, "channel", day0 + 9, day0 + 9)["5"].requests == 1
    assert "6" not in totals(db, "channel", day0 + 9, day0 + 9)
    assert series_queries.totals_by_key(db, GUILD, "member", day0, day0 + 9, limit=1)[0][0] == "2"


def test_a_late_delta_for_an_earlier_day_keeps_later_totals_right(db) -> None:
    clock = Clock(T0 + 5 * DAY)
    ledger = SeriesLedger(clock)
    day0 = series.day_of(T0)
    chat(ledger, 1)
    flush(db, ledger)
    clock.now = T0  # counted before midnight, flushed after (e.g. a failed flush restored)
    chat(ledger, 1)
    flush(db, ledger)
    assert totals(db, "member", day0, day0)["1"].requests == 1
    assert totals(db, "member", day0 + 1, day0 + 5)["1"].requests == 1
    assert totals(db, "member", day0, day0 + 5)["1"].requests == 2


def test_retention_drops_old_days_but_not_the_totals_of_later_periods(db) -> None:
    clock = Clock(T0)
    ledger = SeriesLedger(clock)
    day0 = series.day_of(T0)
    for day in range(30):
        clock.now = T0 + day * DAY
        chat(ledger, 1)
    flush(db, ledger)
    db.execute("BEGIN")
    assert series.prune(db, day0 + 20) > 0
    db.execute("COMMIT")
    assert series_queries.daily(db, GUILD, "guild", "", day0, day0 + 18) == []
    assert totals(db, "member", day0 + 20, day0 + 29)["1"].requests == 10
    assert totals(db, "member", day0 + 25, day0 + 26)["1"].requests == 2


def test_deleting_a_member_removes_their_rows_only(db) -> None:
    ledger = SeriesLedger(Clock(T0))
    chat(ledger, 1)
    chat(ledger, 2)
    ledger.answered(
        guild_id=222, channel_id=9, user_id=1, model="m", prompt_tokens=1, completion_tokens=1, cost_usd=None
    )
    flush(db, ledger)
    day = series.day_of(T0)
    db.execute("BEGIN")
    series.delete_member(db, 1, GUILD)
    db.execute("COMMIT")
    assert set(totals(db, "member", day, day)) == {"2"}
    assert set(series_queries.member_rows(db, 1)) == {222}  # the other server kept
    assert totals(db, "guild", day, day)[""].requests == 2  # the server's total is not personal
    series.delete_member(db, 1)
    assert series_queries.member_rows(db, 1) == {}


def test_incognito_requests_count_for_the_server_but_not_the_member(db) -> None:
    ledger = SeriesLedger(Clock(T0))
    ledger.answered(
        guild_id=GUILD,
        channel_id=5,
        user_id=None,
        model="m",
        prompt_tokens=3,
        completion_tokens=4,
        cost_usd=None,
    )
    flush(db, ledger)
    day = series.day_of(T0)
    assert totals(db, "member", day, day) == {}
    assert totals(db, "guild", day, day)[""].total_tokens == 7


def test_latency_percentiles_refusals_and_tools(db) -> None:
    ledger = SeriesLedger(Clock(T0))
    for _ in range(90):
        ledger.answered(
            guild_id=GUILD,
            channel_id=5,
            user_id=1,
            model="m",
            prompt_tokens=1,
            completion_tokens=1,
            cost_usd=0,
            first_text=0.08,
            complete=0.9,
        )
    for _ in range(10):
        ledger.answered(
            guild_id=GUILD,
            channel_id=5,
            user_id=1,
            model="m",
            prompt_tokens=1,
            completion_tokens=1,
            cost_usd=0,
            first_text=4.0,
            complete=9.0,
        )
    ledger.answered(
        guild_id=GUILD,
        channel_id=5,
        user_id=1,
        model="m",
        prompt_tokens=1,
        completion_tokens=0,
        cost_usd=0,
        failed=True,
    )
    ledger.refused(guild_id=GUILD, user_id=1)
    ledger.tool(guild_id=GUILD, name="web_search", seconds=0.3, ok=True)
    ledger.tool(guild_id=GUILD, name="web_search", seconds=2.0, ok=False)
    flush(db, ledger)
    day = series.day_of(T0)
    first = series_queries.histogram(db, GUILD, "first", day, day)
    assert sum(first) == 100  # the failed request has no latency
    assert 50 <= series_queries.percentile(first, 0.5) <= 100
    assert 3000 <= series_queries.percentile(first, 0.95) <= 5000
    assert series_queries.percentile(series_queries.histogram(db, 999, "first", day, day), 0.5) is None
    server = totals(db, "guild", day, day)[""]
    assert server.requests == 101 and server.errors == 1 and server.refusals == 1
    tool = totals(db, "tool", day, day)["web_search"]
    assert tool.requests == 2 and tool.errors == 1
    assert series_queries.tool_kinds(db, GUILD, day, day) == ["tool:web_search"]


def test_a_restored_drain_is_written_once(db) -> None:
    ledger = SeriesLedger(Clock(T0))
    chat(ledger, 1)
    ledger.restore(ledger.drain())  # a failed flush gives its deltas back
    flush(db, ledger)
    day = series.day_of(T0)
    assert totals(db, "member", day, day)["1"].requests == 1
    assert SeriesCounts(1, 2).minus(SeriesCounts(1, 1)).prompt_tokens == 1


def test_the_daily_bases_give_the_same_totals_as_looking_each_key_up(db) -> None:
    clock = Clock(T0)
    ledger = SeriesLedger(clock)
    day0 = series.day_of(T0)
    for day in range(40):
        clock.now = T0 + day * DAY
        chat(ledger, 1, tokens=day + 1)
        if day % 3 == 0:
            chat(ledger, 2, tokens=5)
    today = day0 + 39
    db.execute("BEGIN")
    series.write(db, ledger.drain(), today=today)
    db.execute("COMMIT")
    for period in (7, 30):
        first = today - period + 1
        with_bases = series_queries.totals_by_key(db, GUILD, "member", first, today, limit=10)
        db.execute("UPDATE series_keys SET base_day = 0")  # as if not refreshed today
        looked_up = series_queries.totals_by_key(db, GUILD, "member", first, today, limit=10)
        series.refresh_bases(db, today)
        assert with_bases == looked_up
        assert dict(with_bases)["1"].prompt_tokens == sum(range(40 - period + 1, 41))
    # a late delta before the 7-day period moves its base too
    clock.now = T0 + 30 * DAY
    chat(ledger, 2, tokens=1000)
    db.execute("BEGIN")
    series.write(db, ledger.drain(), today=today)
    db.execute("COMMIT")
    assert (
        dict(series_queries.totals_by_key(db, GUILD, "member", today - 6, today, limit=10))["2"].prompt_tokens == 15
    )  # days 33, 36, 39
