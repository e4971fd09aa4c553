"""The audit log: every settings change (who, when, which scope, which setting, old → new value,
never a secret), in its own SQLite file, kept for a configurable number of days.

Recording is central: the shell wraps the cog's Config driver (``skynet/stores/audited.py``) so
every write made while one of the cog's commands runs is diffed here, whatever command made it and
whoever wrote it later; nobody has to remember to call the log. :func:`diff` turns one write
(whole dicts) into the leaf settings that changed, :func:`safe_value` hides secrets.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..memory.persistence import open_private_db

DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 3650
HIDDEN = "[hidden]"
MISSING = None
_SECRET_NAME = re.compile(r"(?i)(api[_-]?key|token|secret|password|authorization|bearer)")
MAX_VALUE = 300

SCHEMA = """CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, guild_id INTEGER, actor_id INTEGER,
    command TEXT, scope TEXT NOT NULL, setting TEXT NOT NULL, old TEXT, new TEXT)"""


@dataclass(frozen=True)
class AuditEntry:
    at: float
    guild_id: Optional[int]
    actor_id: Optional[int]
    command: str
    scope: str  # "global", "server 123", "channel 456", "dm"
    setting: str  # dotted path, e.g. "governance.budget.member"
    old: Any
    new: Any
    id: Optional[int] = None

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)


def diff(old: Any, new: Any, path: Tuple[str, ...] = ()) -> List[Tuple[str, Any, Any]]:
    """The leaf changes between two stored values, as ``(dotted path, old, new)``."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: List[Tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            changes += diff(old.get(key, MISSING), new.get(key, MISSING), path + (str(key),))
        return changes
    if isinstance(old, dict) and new is MISSING:
        return diff(old, {}, path)
    if old is MISSING and isinstance(new, dict):
        return diff({}, new, path)
    return [] if old == new else [(".".join(path), old, new)]


def safe_value(setting: str, value: Any, redact: Optional[Callable[[str], str]] = None) -> Any:
    """The value as it may be kept: secrets hidden, long values shortened, known keys redacted."""
    if value is None:
        return None
    if _SECRET_NAME.search(setting):
        return HIDDEN
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if redact is not None:
        text = redact(text)
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 1] + "…"
    return text


class AuditLog:
    """The store. Writes and reads run in a worker thread (never on the event loop)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.retention_days = DEFAULT_RETENTION_DAYS
        self._clock = clock
        self._connection: Optional[sqlite3.Connection] = None
        self._guard = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_private_db(self.path, SCHEMA)
        return self._connection

    def _run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._guard:
            connection = self._connect()
            with connection:
                return work(connection)

    async def _call(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        return await asyncio.to_thread(self._run, work)

    def close(self) -> None:
        with self._guard:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    async def record(self, entries: Iterable[AuditEntry]) -> int:
        rows = [
            (e.at, e.guild_id, e.actor_id, e.command, e.scope, e.setting, _dump(e.old), _dump(e.new))
            for e in entries
        ]
        if not rows:
            return 0
        cutoff = self._clock() - self.retention_days * 86400

        def work(db: sqlite3.Connection) -> int:
            db.executemany(
                "INSERT INTO audit (at, guild_id, actor_id, command, scope, setting, old, new)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.execute("DELETE FROM audit WHERE at < ?", (cutoff,))
            return len(rows)

        return await self._call(work)

    async def prune(self) -> int:
        cutoff = self._clock() - self.retention_days * 86400
        return await self._call(lambda db: db.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount)

    async def query(
        self,
        *,
        guild_id: Optional[int] = None,
        all_guilds: bool = False,
        actor_id: Optional[int] = None,
        setting: Optional[str] = None,
        days: Optional[float] = None,
        limit: int = 1000,
    ) -> List[AuditEntry]:
        """Newest first. ``guild_id`` None with ``all_guilds`` False means bot-wide entries."""
        where, args = ["1=1"], []  # type: List[str], List[Any]
        if not all_guilds:
            where.append("guild_id IS ?" if guild_id is None else "guild_id = ?")
            args.append(guild_id)
        if actor_id is not None:
            where.append("actor_id = ?")
            args.append(actor_id)
        if setting:
            where.append("(setting LIKE ? ESCAPE '\\' OR setting LIKE ? ESCAPE '\\')")
            escaped = setting.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args += [f"{escaped}%", f"%.{escaped}%"]
        if days is not None:
            where.append("at >= ?")
            args.append(self._clock() - days * 86400)
        sql = (
            "SELECT id, at, guild_id, actor_id, command, scope, setting, old, new FROM audit WHERE "
            + " AND ".join(where)
            + " ORDER BY at DESC, id DESC LIMIT ?"
        )
        args.append(limit)
        rows = await self._call(lambda db: db.execute(sql, args).fetchall())
        return [
            AuditEntry(at, g, a, c or "", s, k, _load(o), _load(n), id=i)
            for i, at, g, a, c, s, k, o, n in rows
        ]

    # -- data map: entries made by a member, or naming them (their id in a path or value)

    def _about(self, user_id: int, guild_id: Optional[int]) -> Tuple[str, List[Any]]:
        uid = str(user_id)
        sql = "(actor_id = ? OR instr(setting, ?) OR instr(COALESCE(old, ''), ?) OR instr(COALESCE(new, ''), ?))"
        args: List[Any] = [user_id, uid, uid, uid]
        if guild_id is not None:
            sql += " AND guild_id = ?"
            args.append(guild_id)
        return sql, args

    async def export_user(self, user_id: int) -> Dict[str, Any]:
        sql, args = self._about(user_id, None)
        rows = await self._call(
            lambda db: db.execute(
                "SELECT at, guild_id, command, scope, setting, old, new FROM audit WHERE " + sql, args
            ).fetchall()
        )
        if not rows:
            return {}
        keys = ("at", "server", "command", "scope", "setting", "old", "new")
        return {"settings_changes": [dict(zip(keys, row)) for row in rows]}

    async def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> int:
        sql, args = self._about(user_id, guild_id)
        return await self._call(lambda db: db.execute("DELETE FROM audit WHERE " + sql, args).rowcount)


def _dump(value: Any) -> Optional[str]:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _load(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


def to_json_lines(entries: Iterable[AuditEntry]) -> str:
    return "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in entries)


__all__ = ["AuditLog", "AuditEntry", "diff", "safe_value", "to_json_lines", "DEFAULT_RETENTION_DAYS"]
