"""Per-day usage series and latency histograms for charts (the web panel), in ``usage.sqlite3``.

The hot path only adds to :class:`SeriesLedger` (dict updates, no I/O); the usage store drains it
and writes it with the counters in ONE transaction per flush (:func:`write`).

Rows are per (server, dimension, key, day): dimension ``guild`` (key ``""``: the server's day),
``model``, ``channel``, ``member`` (key: user id) and ``tool``. DMs are server 0. Each row keeps the
day's values AND running totals since the key's first row (``cum_*``), so the totals of any period
for every member are two index seeks per member (total at the end minus total before the start),
not a scan of a year of daily rows: 10,000 members over a year stays fast. Retention deletes old
daily rows but keeps each key's last row before the cut, so running totals stay right.

Latency histograms are per (server, kind, day, bucket): kinds ``first`` (first text), ``complete``
(whole answer) and ``tool:<name>``.
"""

from __future__ import annotations

import bisect
import sqlite3
import time
from dataclasses import dataclass, field, fields
from typing import Dict, Optional, Tuple

DAY = 86400
DIMENSIONS = ("guild", "model", "channel", "member", "tool")
DEFAULT_RETENTION_DAYS = 400
# The panel's periods (days ending today). For each, series_keys keeps the key's tokens before the
# period as of ``base_day``, refreshed once a day by the writer: ranking 10,000 members over any
# of these periods then needs no look-up per member at all.
BASE_PERIODS = (7, 30, 90, 365)
# Upper bounds (ms) of the latency histogram's buckets; the last one is open-ended.
BUCKETS_MS: Tuple[float, ...] = (
    50,
    100,
    200,
    300,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    7500,
    10000,
    15000,
    20000,
    30000,
    60000,
    120000,
)


def day_of(timestamp: Optional[float] = None) -> int:
    """Days since 1970-01-01 UTC."""
    return int((time.time() if timestamp is None else timestamp) // DAY)


@dataclass
class SeriesCounts:
    """One row's values. For ``tool`` rows, requests are calls and errors are failed calls."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    errors: int = 0
    refusals: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: "SeriesCounts") -> "SeriesCounts":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def minus(self, other: "SeriesCounts") -> "SeriesCounts":
        return SeriesCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def as_tuple(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))


VALUE_FIELDS: Tuple[str, ...] = tuple(f.name for f in fields(SeriesCounts))
VALUES_SQL = ", ".join(VALUE_FIELDS)
_CUMS = ", ".join(f"cum_{n}" for n in VALUE_FIELDS)

SeriesKey = Tuple[int, int, str, str]  # (day, guild_id, dimension, key)
HistKey = Tuple[int, int, str, int]  # (day, guild_id, kind, bucket index)


def bucket_of(ms: float) -> int:
    return bisect.bisect_left(BUCKETS_MS, ms)


@dataclass
class SeriesDeltas:
    """What a flush writes: row deltas and histogram counts."""

    rows: Dict[SeriesKey, SeriesCounts] = field(default_factory=dict)
    hist: Dict[HistKey, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rows or self.hist)

    def merge(self, other: "SeriesDeltas") -> None:
        for key, counts in other.rows.items():
            self.rows.setdefault(key, SeriesCounts()).add(counts)
        for key, count in other.hist.items():
            self.hist[key] = self.hist.get(key, 0) + count


class SeriesLedger:
    """Pending series deltas, filled on the hot path (dict updates only), drained by the store."""

    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self._pending = SeriesDeltas()

    def _add(self, day: int, guild_id: int, dim: str, key: str, counts: SeriesCounts) -> None:
        self._pending.rows.setdefault((day, guild_id, dim, key), SeriesCounts()).add(counts)

    def _hist(self, day: int, guild_id: int, kind: str, seconds: Optional[float]) -> None:
        if seconds is None:
            return
        key = (day, guild_id, kind, bucket_of(seconds * 1000))
        self._pending.hist[key] = self._pending.hist.get(key, 0) + 1

    def answered(
        self,
        *,
        guild_id: Optional[int],
        channel_id: Optional[int],
        user_id: Optional[int],
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: Optional[float],
        first_text: Optional[float] = None,
        complete: Optional[float] = None,
        failed: bool = False,
    ) -> None:
        """One request that reached the provider. ``user_id`` None: not stored per member
        (incognito or not consenting). Latencies in seconds; ``failed``: it ended in an error."""
        day, guild = day_of(self.clock()), guild_id or 0
        counts = SeriesCounts(1, prompt_tokens, completion_tokens, cost_usd or 0.0, int(failed), 0)
        self._add(day, guild, "guild", "", counts)
        self._add(day, guild, "model", model[:100], counts)
        if channel_id:
            self._add(day, guild, "channel", str(channel_id), counts)
        if user_id:
            self._add(day, guild, "member", str(user_id), counts)
        if not failed:
            self._hist(day, guild, "first", first_text)
            self._hist(day, guild, "complete", complete)

    def refused(self, *, guild_id: Optional[int], user_id: Optional[int] = None) -> None:
        """A request that a budget, rate limit or check refused before any provider call."""
        day, guild = day_of(self.clock()), guild_id or 0
        self._add(day, guild, "guild", "", SeriesCounts(refusals=1))
        if user_id:
            self._add(day, guild, "member", str(user_id), SeriesCounts(refusals=1))

    def tool(self, *, guild_id: Optional[int], name: str, seconds: float, ok: bool) -> None:
        day, guild = day_of(self.clock()), guild_id or 0
        self._add(day, guild, "tool", name[:64], SeriesCounts(requests=1, errors=int(not ok)))
        self._hist(day, guild, f"tool:{name[:64]}", seconds)

    def drain(self) -> SeriesDeltas:
        pending, self._pending = self._pending, SeriesDeltas()
        return pending

    def restore(self, deltas: SeriesDeltas) -> None:
        self._pending.merge(deltas)

    def pending(self) -> SeriesDeltas:
        return self._pending

    def discard_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        key = str(user_id)
        for row in [
            k for k in self._pending.rows if k[2] == "member" and k[3] == key and guild_id in (None, k[1])
        ]:
            del self._pending.rows[row]


# ---------------------------------------------------------------------------------------------
# storage (synchronous; called by CounterDB on its worker thread, inside its transaction)
# ---------------------------------------------------------------------------------------------

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS series (
    guild_id INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL, day INTEGER NOT NULL,
    {", ".join(f"{n} {'REAL' if n == 'cost_usd' else 'INTEGER'} NOT NULL DEFAULT 0" for n in VALUE_FIELDS)},
    {", ".join(f"cum_{n} {'REAL' if n == 'cost_usd' else 'INTEGER'} NOT NULL DEFAULT 0" for n in VALUE_FIELDS)},
    PRIMARY KEY (guild_id, dim, key, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series_keys (
    guild_id INTEGER NOT NULL, dim TEXT NOT NULL, key TEXT NOT NULL,
    first_day INTEGER NOT NULL, last_day INTEGER NOT NULL,
    {", ".join(f"cum_{n} {'REAL' if n == 'cost_usd' else 'INTEGER'} NOT NULL DEFAULT 0" for n in VALUE_FIELDS)},
    base_day INTEGER NOT NULL DEFAULT 0,
    {", ".join(f"base{p} INTEGER NOT NULL DEFAULT 0" for p in BASE_PERIODS)},
    PRIMARY KEY (guild_id, dim, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latency (
    guild_id INTEGER NOT NULL, kind TEXT NOT NULL, day INTEGER NOT NULL, bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (guild_id, kind, day, bucket)
) WITHOUT ROWID;
"""

_BEFORE = (
    f"SELECT {_CUMS} FROM series WHERE guild_id = ? AND dim = ? AND key = ? AND day < ? "
    "ORDER BY day DESC LIMIT 1"
)
_INSERT = (
    f"INSERT INTO series (guild_id, dim, key, day, {VALUES_SQL}, {_CUMS}) "
    f"VALUES (?, ?, ?, ?, {', '.join('?' * 2 * len(VALUE_FIELDS))}) "
    "ON CONFLICT (guild_id, dim, key, day) DO UPDATE SET "
    + ", ".join(f"{n} = {n} + excluded.{n}, cum_{n} = cum_{n} + excluded.{n}" for n in VALUE_FIELDS)
)
_LATER = (
    "UPDATE series SET "
    + ", ".join(f"cum_{n} = cum_{n} + ?" for n in VALUE_FIELDS)
    + " WHERE guild_id = ? AND dim = ? AND key = ? AND day > ?"
)
# The key's running totals up to its newest row: a period ending today needs no seek for its end.
_KEYS = (
    f"INSERT INTO series_keys (guild_id, dim, key, first_day, last_day, {_CUMS}, base_day) "
    f"VALUES (?, ?, ?, ?, ?, {', '.join('?' * len(VALUE_FIELDS))}, ?) "
    "ON CONFLICT (guild_id, dim, key) DO UPDATE SET first_day = min(first_day, excluded.first_day), "
    "last_day = max(last_day, excluded.last_day), "
    + ", ".join(f"cum_{n} = cum_{n} + excluded.cum_{n}" for n in VALUE_FIELDS)
    # a (rare) late delta for a day before a period moves that period's base too
    + "".join(
        f", base{p} = base{p} + CASE WHEN excluded.first_day <= base_day - {p} "
        "THEN excluded.cum_prompt_tokens + excluded.cum_completion_tokens ELSE 0 END"
        for p in BASE_PERIODS
    )
)
TOKENS_BEFORE_SQL = (
    "coalesce((SELECT b.cum_prompt_tokens + b.cum_completion_tokens FROM series b "
    "WHERE b.guild_id = {k}.guild_id AND b.dim = {k}.dim AND b.key = {k}.key AND b.day < {first} "
    "ORDER BY b.day DESC LIMIT 1), 0)"
)
_HIST = (
    "INSERT INTO latency (guild_id, kind, day, bucket, count) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (guild_id, kind, day, bucket) DO UPDATE SET count = count + excluded.count"
)


def create(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def write(db: sqlite3.Connection, deltas: SeriesDeltas, today: Optional[int] = None) -> None:
    """Add ``deltas``; the caller holds the transaction. Rows are written oldest day first."""
    today = day_of() if today is None else today
    for (day, guild, dim, key), counts in sorted(deltas.rows.items(), key=lambda item: item[0][0]):
        values = counts.as_tuple()
        exists = db.execute(
            "SELECT 1 FROM series WHERE guild_id = ? AND dim = ? AND key = ? AND day = ?",
            (guild, dim, key, day),
        ).fetchone()
        if exists:
            base = (0,) * len(values)  # the upsert adds the delta to the stored running total
        else:
            base = db.execute(_BEFORE, (guild, dim, key, day)).fetchone() or (0,) * len(values)
        db.execute(_INSERT, (guild, dim, key, day, *values, *(b + v for b, v in zip(base, values))))
        db.execute(_LATER, (*values, guild, dim, key, day))  # a late delta: later totals grow too
        db.execute(_KEYS, (guild, dim, key, day, day, *values, today))
    db.executemany(_HIST, [(g, kind, day, b, n) for (day, g, kind, b), n in deltas.hist.items()])
    refresh_bases(db, today)


def refresh_bases(db: sqlite3.Connection, today: int) -> int:
    """Recompute the period bases of keys last computed on another day (the first flush of a
    day does it for every key: a few index look-ups per key, on the writer's thread)."""
    if not db.execute("SELECT 1 FROM series_keys WHERE base_day != ? LIMIT 1", (today,)).fetchone():
        return 0
    sets = ", ".join(
        f"base{p} = " + TOKENS_BEFORE_SQL.format(k="series_keys", first=f"{today - p + 1}") for p in BASE_PERIODS
    )
    return db.execute(
        f"UPDATE series_keys SET base_day = ?, {sets} WHERE base_day != ?", (today, today)
    ).rowcount


def prune(db: sqlite3.Connection, before_day: int) -> int:
    """Delete daily rows and histograms older than ``before_day``, keeping each key's last row
    before it (the base of its running totals). The caller holds the transaction."""
    removed = db.execute(
        "DELETE FROM series WHERE day < ? AND day < ("
        "SELECT max(day) FROM series AS s2 WHERE s2.guild_id = series.guild_id AND s2.dim = series.dim "
        "AND s2.key = series.key AND s2.day < ?)",
        (before_day, before_day),
    ).rowcount
    removed += db.execute("DELETE FROM latency WHERE day < ?", (before_day,)).rowcount
    return removed


def delete_member(db: sqlite3.Connection, user_id: int, guild_id: Optional[int] = None) -> int:
    """Remove a member's rows (everywhere, or in one server)."""
    where, args = "dim = 'member' AND key = ?", [str(int(user_id))]
    if guild_id is not None:
        where, args = where + " AND guild_id = ?", args + [int(guild_id)]
    removed = db.execute(f"DELETE FROM series WHERE {where}", args).rowcount
    db.execute(f"DELETE FROM series_keys WHERE {where}", args)
    return removed
