"""Queries over the usage series (``series``) for the web panel and members' data: a key's days,
every key's totals over a period, latency histograms and percentiles.

Synchronous: called on the panel's reader thread (``series_reader``) or the counter store's
worker thread, never on the event loop.
"""

from __future__ import annotations

import sqlite3
from typing import Dict, List, Optional, Sequence, Tuple

from .series import BASE_PERIODS, BUCKETS_MS, TOKENS_BEFORE_SQL, VALUE_FIELDS, VALUES_SQL, SeriesCounts


def daily(
    db: sqlite3.Connection, guild_id: int, dim: str, key: str, first: int, last: int
) -> List[Tuple[int, SeriesCounts]]:
    """(day, values) of one key for the days in [first, last] that have a row."""
    rows = db.execute(
        f"SELECT day, {VALUES_SQL} FROM series WHERE guild_id = ? AND dim = ? AND key = ? "
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
    before = TOKENS_BEFORE_SQL.format(k="k", first=":first")
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
        f"SELECT guild_id, day, {VALUES_SQL} FROM series WHERE dim = 'member' AND key = ? ORDER BY guild_id, day",
        (str(int(user_id)),),
    ).fetchall()
    found: Dict[int, List[Tuple[int, SeriesCounts]]] = {}
    for guild_id, day, *values in rows:
        found.setdefault(guild_id, []).append((day, SeriesCounts(*values)))
    return found


def guilds(db: sqlite3.Connection) -> List[int]:
    return [row[0] for row in db.execute("SELECT DISTINCT guild_id FROM series_keys WHERE dim = 'guild'")]
