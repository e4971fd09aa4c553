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
from typing import Dict, List, Optional, Sequence, Tuple

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
_VALUES = ", ".join(VALUE_FIELDS)
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
    f"INSERT INTO series (guild_id, dim, key, day, {_VALUES}, {_CUMS}) "
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
_TOKENS_BEFORE = (
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
        f"base{p} = " + _TOKENS_BEFORE.format(k="series_keys", first=f"{today - p + 1}") for p in BASE_PERIODS
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


# -- reading ----------------------------------------------------------------------------------


def daily(
    db: sqlite3.Connection, guild_id: int, dim: str, key: str, first: int, last: int
) -> List[Tuple[int, SeriesCounts]]:
    """(day, values) of one key for the days in [first, last] that have a row."""
    rows = db.execute(
        f"SELECT day, {_VALUES} FROM series WHERE guild_id = ? AND dim = ? AND key = ? "
        "AND day BETWEEN ? AND ? ORDER BY day",
        (guild_id, dim, key, first, last),
    ).fetchall()
    return [(row[0], SeriesCounts(*row[1:])) for row in rows]


def totals_by_key(
    db: sqlite3.Connection,
    guild_id: int,
    dim: str,
    first: int,
    last: int,
    *,
    limit: Optional[int] = None,
    keys: Optional[Sequence[str]] = None,
) -> List[Tuple[str, SeriesCounts]]:
    """Keys with their totals over [first, last], most tokens first (the ``limit`` first).

    Running total at ``last`` minus the one before ``first``: index seeks per key, whatever the
    length of the period; a period that ends today takes the end from ``series_keys``."""
    fast = last >= _newest_day(db, guild_id, dim)
    if fast and limit is not None and keys is None:
        # The top ``limit`` by tokens first (one seek per key, none for a key younger than the
        # period), then the full totals of those few only.
        keys = _top_by_tokens(db, guild_id, dim, first, last, limit)
        if not keys:
            return []
    end = "k" if fast else "e"
    values = ", ".join(f"{end}.cum_{n} - coalesce(b.cum_{n}, 0)" for n in VALUE_FIELDS)
    order = (
        f"({end}.cum_prompt_tokens + {end}.cum_completion_tokens"
        " - coalesce(b.cum_prompt_tokens, 0) - coalesce(b.cum_completion_tokens, 0)) DESC, "
        f"({end}.cum_requests - coalesce(b.cum_requests, 0)) DESC, k.key"
    )
    end_join = (
        ""
        if fast
        else (
            "JOIN series e ON e.guild_id = k.guild_id AND e.dim = k.dim AND e.key = k.key AND e.day = "
            "(SELECT max(day) FROM series x WHERE x.guild_id = k.guild_id AND x.dim = k.dim AND x.key = k.key "
            "AND x.day <= :last) "
        )
    )
    only = ""
    params: Dict[str, object] = {"guild": guild_id, "dim": dim, "first": first, "last": last}
    if keys is not None:
        names = [f":k{i}" for i in range(len(keys))]
        params.update({name[1:]: key for name, key in zip(names, keys)})
        only = f" AND k.key IN ({', '.join(names) or 'NULL'})"
    sql = (
        f"SELECT k.key, {values} FROM series_keys k {end_join}"
        "LEFT JOIN series b ON b.guild_id = k.guild_id AND b.dim = k.dim AND b.key = k.key AND b.day = "
        "(SELECT max(day) FROM series y WHERE y.guild_id = k.guild_id AND y.dim = k.dim AND y.key = k.key "
        "AND y.day < :first) "
        f"WHERE k.guild_id = :guild AND k.dim = :dim AND k.last_day >= :first AND k.first_day <= :last{only} "
        f"ORDER BY {order}"
    )
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    found: List[Tuple[str, SeriesCounts]] = []
    for key, *row in db.execute(sql, params):
        counts = SeriesCounts(*row)
        if counts.requests or counts.refusals or counts.total_tokens:
            found.append((key, counts))
    return found


def _top_by_tokens(
    db: sqlite3.Connection, guild_id: int, dim: str, first: int, last: int, limit: int
) -> List[str]:
    period = last - first + 1
    before = _TOKENS_BEFORE.format(k="k", first=":first")
    if period in BASE_PERIODS:  # the base kept for this period, when it is today's
        before = f"CASE WHEN k.base_day = :last THEN k.base{period} ELSE {before} END"
    rows = db.execute(
        "SELECT k.key, (k.cum_prompt_tokens + k.cum_completion_tokens) - CASE WHEN k.first_day >= :first THEN 0 "
        f"ELSE {before} END AS tokens "
        "FROM series_keys k WHERE k.guild_id = :guild AND k.dim = :dim AND k.last_day >= :first "
        "AND k.first_day <= :last ORDER BY tokens DESC, k.key LIMIT :limit",
        {"guild": guild_id, "dim": dim, "first": first, "last": last, "limit": int(limit)},
    ).fetchall()
    return [key for key, _tokens in rows]


def _newest_day(db: sqlite3.Connection, guild_id: int, dim: str) -> int:
    row = db.execute(
        "SELECT max(last_day) FROM series_keys WHERE guild_id = ? AND dim = ?", (guild_id, dim)
    ).fetchone()
    return row[0] if row and row[0] is not None else 0


def count_keys(db: sqlite3.Connection, guild_id: int, dim: str, first: int, last: int) -> int:
    """How many keys have rows in [first, last] (at most; a key may have had none in between)."""
    return db.execute(
        "SELECT count(*) FROM series_keys WHERE guild_id = ? AND dim = ? AND last_day >= ? AND first_day <= ?",
        (guild_id, dim, first, last),
    ).fetchone()[0]


def histogram(db: sqlite3.Connection, guild_id: Optional[int], kind: str, first: int, last: int) -> List[int]:
    """Counts per bucket (len(BUCKETS_MS) + 1) over [first, last]; ``guild_id`` None: every server."""
    where, params = "kind = ? AND day BETWEEN ? AND ?", [kind, first, last]
    if guild_id is not None:
        where, params = "guild_id = ? AND " + where, [guild_id, *params]
    counts = [0] * (len(BUCKETS_MS) + 1)
    for bucket, count in db.execute(
        f"SELECT bucket, sum(count) FROM latency WHERE {where} GROUP BY bucket", params
    ):
        counts[min(int(bucket), len(BUCKETS_MS))] += int(count)
    return counts


def tool_kinds(db: sqlite3.Connection, guild_id: Optional[int], first: int, last: int) -> List[str]:
    where, params = "kind LIKE 'tool:%' AND day BETWEEN ? AND ?", [first, last]
    if guild_id is not None:
        where, params = "guild_id = ? AND " + where, [guild_id, *params]
    return [row[0] for row in db.execute(f"SELECT DISTINCT kind FROM latency WHERE {where}", params)]


def percentile(counts: Sequence[int], q: float) -> Optional[float]:
    """The ``q`` quantile (0..1) in ms, interpolated inside its bucket; None without data."""
    total = sum(counts)
    if not total:
        return None
    wanted, seen = q * total, 0
    for index, count in enumerate(counts):
        if count and seen + count >= wanted:
            low = BUCKETS_MS[index - 1] if index > 0 else 0.0
            high = BUCKETS_MS[index] if index < len(BUCKETS_MS) else BUCKETS_MS[-1] * 2
            return low + (high - low) * ((wanted - seen) / count)
        seen += count
    return float(BUCKETS_MS[-1])


def member_rows(db: sqlite3.Connection, user_id: int) -> Dict[int, List[Tuple[int, SeriesCounts]]]:
    """Every stored day of one member, by server (for data exports)."""
    rows = db.execute(
        f"SELECT guild_id, day, {_VALUES} FROM series WHERE dim = 'member' AND key = ? ORDER BY guild_id, day",
        (str(int(user_id)),),
    ).fetchall()
    found: Dict[int, List[Tuple[int, SeriesCounts]]] = {}
    for guild_id, day, *values in rows:
        found.setdefault(guild_id, []).append((day, SeriesCounts(*values)))
    return found


def guilds(db: sqlite3.Connection) -> List[int]:
    return [row[0] for row in db.execute("SELECT DISTINCT guild_id FROM series_keys WHERE dim = 'guild'")]
