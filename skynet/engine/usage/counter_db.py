"""Per-scope usage totals in one SQLite file.

Red's JSON Config driver rewrites the cog's whole file on every ``set``, so one Config value per
scope made a flush of N users cost N whole-file rewrites (quadratic). Here a flush is ONE
transaction of upserts: its cost grows with the number of scopes that changed, not with the number
stored, and it is the same whatever Config backend (JSON or PostgreSQL) the bot runs on.

``CounterDB`` is the synchronous store; ``CounterStore`` runs it on one worker thread so the event
loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

from . import series as usage_series
from . import series_queries
from .accounting import Counters, ScopeKey
from .series import SeriesDeltas

T = TypeVar("T")

COUNTER_FIELDS: Tuple[str, ...] = tuple(f.name for f in fields(Counters))
_REAL_FIELDS = {"cost_usd"}

# One row per scope. Absent ids are 0 (not NULL: NULLs never conflict in a primary key).
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS usage (
    kind TEXT NOT NULL,          -- 'global' | 'guild' | 'member' | 'user'
    guild_id INTEGER NOT NULL,   -- 0 for 'global' and 'user'
    user_id INTEGER NOT NULL,    -- 0 for 'global' and 'guild'
    {", ".join(f"{name} {'REAL' if name in _REAL_FIELDS else 'INTEGER'} NOT NULL DEFAULT 0" for name in COUNTER_FIELDS)},
    PRIMARY KEY (kind, guild_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_by_user ON usage (user_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = ", ".join(COUNTER_FIELDS)
_UPSERT = (
    f"INSERT INTO usage (kind, guild_id, user_id, {_COLUMNS}) "
    f"VALUES (?, ?, ?, {', '.join('?' for _ in COUNTER_FIELDS)}) "
    f"ON CONFLICT (kind, guild_id, user_id) DO UPDATE SET "
    + ", ".join(f"{name} = {name} + excluded.{name}" for name in COUNTER_FIELDS)
)


def encode_scope(scope: ScopeKey) -> Tuple[str, int, int]:
    kind = scope[0]
    if kind == "global":
        return ("global", 0, 0)
    if kind == "guild":
        return ("guild", int(scope[1]), 0)
    if kind == "member":
        return ("member", int(scope[1]), int(scope[2]))
    if kind == "user":
        return ("user", 0, int(scope[1]))
    raise ValueError(f"unknown usage scope {scope!r}")


def decode_scope(kind: str, guild_id: int, user_id: int) -> ScopeKey:
    if kind == "global":
        return ("global",)
    if kind == "guild":
        return ("guild", guild_id)
    if kind == "member":
        return ("member", guild_id, user_id)
    return ("user", user_id)


def _row(counters: Counters) -> Tuple[float, ...]:
    return tuple(getattr(counters, name) for name in COUNTER_FIELDS)


class CounterDB:
    """Synchronous SQLite store of ``Counters`` by scope. Use from one thread at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: Optional[sqlite3.Connection] = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN ... COMMIT) below.
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        # WAL: a flush appends to the log instead of rewriting pages in place; NORMAL sync is
        # durable across an application crash (counters lost in a power cut are at most a flush).
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # The log is copied into the file every 1 MB (SQLite's default: 4 MB) and cut back to
        # that size after: without the limit a WAL file stays at its largest size for good.
        db.execute("PRAGMA wal_autocheckpoint=256")
        db.execute(f"PRAGMA journal_size_limit={1 << 20}")
        db.executescript(_SCHEMA)
        present = {row[1] for row in db.execute("PRAGMA table_info(usage)")}
        for name in COUNTER_FIELDS:  # a counter added by a later version (reasoning_tokens)
            if name not in present:
                kind = "REAL" if name in _REAL_FIELDS else "INTEGER"
                db.execute(f"ALTER TABLE usage ADD COLUMN {name} {kind} NOT NULL DEFAULT 0")
        usage_series.create(db)  # per-day series for the panel, in the same file
        self._db = db
        self._pruned_day = 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("CounterDB is not open")
        return self._db

    def add(
        self,
        deltas: Mapping[ScopeKey, Counters],
        *,
        once: Optional[str] = None,
        series: Optional[SeriesDeltas] = None,
    ) -> bool:
        """Add ``deltas`` to the stored totals in one transaction (all or nothing).

        With ``once``, the addition is made only if no earlier call used the same marker, and the
        marker is recorded in the same transaction (so an interrupted migration is not counted
        twice). Returns False if it was skipped for that reason.
        """
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if once is not None:
                if db.execute("SELECT 1 FROM meta WHERE key = ?", (once,)).fetchone():
                    db.execute("ROLLBACK")
                    return False
                db.execute("INSERT INTO meta (key, value) VALUES (?, 'done')", (once,))
            db.executemany(_UPSERT, [(*encode_scope(s), *_row(c)) for s, c in deltas.items()])
            if series:  # the per-day series: same transaction, so a flush is all or nothing
                today = usage_series.day_of()
                usage_series.write(db, series, today)
                if self._pruned_day != today:  # retention, once a day
                    usage_series.prune(db, today - usage_series.DEFAULT_RETENTION_DAYS)
                    self._pruned_day = today
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return True

    def get(self, scope: ScopeKey) -> Counters:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM usage WHERE kind = ? AND guild_id = ? AND user_id = ?",
            encode_scope(scope),
        ).fetchone()
        return Counters(**dict(zip(COUNTER_FIELDS, row))) if row else Counters()

    def of_user(self, user_id: int) -> Dict[ScopeKey, Counters]:
        """Every stored scope that belongs to ``user_id`` (their member and DM totals)."""
        rows: List[tuple] = self.db.execute(
            f"SELECT kind, guild_id, user_id, {_COLUMNS} FROM usage "
            "WHERE user_id = ? AND kind IN ('member', 'user')",
            (int(user_id),),
        ).fetchall()
        return {decode_scope(*row[:3]): Counters(**dict(zip(COUNTER_FIELDS, row[3:]))) for row in rows}

    def delete_user(self, user_id: int) -> int:
        """Remove ``user_id``'s member and DM totals (and per-day rows); returns how many scopes."""
        with self.db:
            cursor = self.db.execute(
                "DELETE FROM usage WHERE user_id = ? AND kind IN ('member', 'user')", (int(user_id),)
            )
            usage_series.delete_member(self.db, user_id)
        return cursor.rowcount

    def delete_member(self, user_id: int, guild_id: int) -> int:
        """Remove ``user_id``'s totals in one server (their member scope there)."""
        with self.db:
            cursor = self.db.execute(
                "DELETE FROM usage WHERE user_id = ? AND guild_id = ? AND kind = 'member'",
                (int(user_id), int(guild_id)),
            )
            usage_series.delete_member(self.db, user_id, guild_id)
        return cursor.rowcount

    def member_days(self, user_id: int) -> Dict[int, list]:
        """The member's per-day rows, by server (for their data export)."""
        return series_queries.member_rows(self.db, user_id)

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM usage").fetchone()[0]


class CounterStore:
    """``CounterDB`` behind one worker thread: every call is awaitable and never blocks the loop.

    One thread means calls run in the order they were made, and SQLite is only used from it.
    """

    def __init__(self, path: Path) -> None:
        self.db = CounterDB(path)
        self._thread: Optional[ThreadPoolExecutor] = None

    async def _run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        if self._thread is None:
            raise RuntimeError("CounterStore is not open")
        return await asyncio.get_running_loop().run_in_executor(self._thread, lambda: fn(*args, **kwargs))

    async def open(self) -> None:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skynet-usage-db")
        await self._run(self.db.open)

    async def close(self) -> None:
        if self._thread is None:
            return
        await self._run(self.db.close)
        self._thread.shutdown(wait=True)
        self._thread = None

    async def add(
        self,
        deltas: Mapping[ScopeKey, Counters],
        *,
        once: Optional[str] = None,
        series: Optional[SeriesDeltas] = None,
    ) -> bool:
        return await self._run(self.db.add, dict(deltas), once=once, series=series)

    async def get(self, scope: ScopeKey) -> Counters:
        return await self._run(self.db.get, scope)

    async def of_user(self, user_id: int) -> Dict[ScopeKey, Counters]:
        return await self._run(self.db.of_user, user_id)

    async def delete_user(self, user_id: int) -> int:
        return await self._run(self.db.delete_user, user_id)

    async def delete_member(self, user_id: int, guild_id: int) -> int:
        return await self._run(self.db.delete_member, user_id, guild_id)

    async def member_days(self, user_id: int) -> Dict[int, list]:
        return await self._run(self.db.member_days, user_id)
