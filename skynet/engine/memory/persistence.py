"""Write-behind persistence of conversation windows: one SQLite file, written off the loop.

Why not Red's Config: windows change on every message, and Red's JSON driver rewrites the cog's
whole settings file on every ``set`` (tens of ms once it holds many users), blocking settings
writes behind chat traffic. Why SQLite and not one JSON file: a flush then writes only the
conversations that changed (one row each, in one transaction), so its cost follows the traffic,
not the number of conversations held (a 5000-conversation JSON snapshot was 22 MB per write).

At most one write (one transaction) per ``interval`` (1 s) whatever the message rate, plus one on
unload, in a worker thread; SQLite's journal makes each transaction all-or-nothing, and
deleted text is overwritten in the file (``secure_delete``). See
docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .windows import ConversationMemory, conversation_plain, merge_conversations

log = logging.getLogger("red.skynet.memory")

SCHEMA = "CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY, data TEXT NOT NULL)"


def open_private_db(path: Path, schema: str) -> sqlite3.Connection:
    """A SQLite file holding people's data: a rollback journal (removed after each commit) and
    secure_delete, so deleted rows are overwritten in the file, not left in free pages or a WAL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("PRAGMA secure_delete=ON")
    connection.execute(schema)
    return connection


class _Database:
    """The SQLite file, used from one worker thread at a time (the store's lock ensures it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: Optional[sqlite3.Connection] = None
        self._guard = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_private_db(self.path, SCHEMA)
        return self._connection

    def read_all(self) -> Dict[str, Dict[str, Any]]:
        with self._guard:
            rows = self._connect().execute("SELECT key, data FROM conversations").fetchall()
        return {key: json.loads(data) for key, data in rows}

    def write(self, changes: List[Tuple[str, Optional[Dict[str, Any]]]]) -> None:
        upserts = [
            (key, json.dumps(conversation_plain(refs), ensure_ascii=False, separators=(",", ":")))
            for key, refs in changes
            if refs is not None
        ]
        deletes = [(key,) for key, refs in changes if refs is None]
        with self._guard:
            connection = self._connect()
            with connection:  # one transaction
                connection.executemany(
                    "INSERT INTO conversations (key, data) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET data = excluded.data",
                    upserts,
                )
                connection.executemany("DELETE FROM conversations WHERE key = ?", deletes)

    def close(self) -> None:
        with self._guard:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class WindowStore:
    """Keeps ``memory`` on disk at ``path``: loaded once, then the changed conversations flushed."""

    def __init__(self, memory: ConversationMemory, path: Path, *, interval: float = 1.0) -> None:
        self.memory = memory
        self.path = Path(path)
        self.interval = interval
        self.writes = 0  # storage writes (transactions) so far; the benchmark checks <= 1 per interval
        self._db = _Database(self.path)
        self._task: Optional[asyncio.Task] = None
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Restore the windows saved last time; an unreadable file is set aside, not fatal."""
        try:
            rows = await asyncio.to_thread(self._db.read_all)
        except (sqlite3.Error, ValueError, OSError) as exc:
            log.warning("Conversation windows in %s could not be read (%s); starting empty.", self.path, exc)
            await asyncio.to_thread(self._db.close)
            try:
                os.replace(self.path, self.path.with_suffix(".corrupt"))
            except OSError:
                pass
            return
        if rows:
            self.memory.restore(merge_conversations(rows))
        self.memory.take_dirty()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="background:skynet-window-store")

    async def stop(self) -> None:
        """Stop the loop, write what is pending (on unload) and close the file."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()
        await asyncio.to_thread(self._db.close)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.shield(self.flush())
            except asyncio.CancelledError:
                raise
            except Exception:  # a full disk must not stop chat; try again next time
                log.exception("Could not save conversation windows to %s", self.path)

    @property
    def dirty(self) -> bool:
        return bool(self.memory.dirty)

    async def flush(self) -> bool:
        """Write the conversations changed since the last flush; returns whether it wrote."""
        async with self._lock:
            keys = self.memory.take_dirty()
            if not keys:
                return False
            # On the loop: a consistent, cheap view (shallow copies of immutable turns).
            changes = [(key, self.memory.conversation_refs(key)) for key in keys]
            try:
                await asyncio.to_thread(self._db.write, changes)
            except BaseException:
                self.memory.dirty.update(keys)  # try again at the next flush
                raise
            self.writes += 1
            return True
