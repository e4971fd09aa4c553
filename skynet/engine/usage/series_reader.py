"""Reads the usage series for the panel on a thread of its own, with its own SQLite connection.

The file is in WAL mode, so these reads neither wait for the usage store's flushes nor hold them
up, and the event loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional, TypeVar

from . import series

T = TypeVar("T")


class SeriesReader:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._thread: Optional[ThreadPoolExecutor] = None
        self._db: Optional[sqlite3.Connection] = None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        series.create(db)  # the tables exist even before the first flush
        self._db = db

    async def open(self) -> None:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skynet-series-read")
            await asyncio.get_running_loop().run_in_executor(self._thread, self._open)

    async def run(self, fn: Callable[..., T], *args) -> T:
        """``fn(connection, *args)`` on the reader's thread (e.g. ``series_queries.totals_by_key``)."""
        if self._thread is None:
            await self.open()
        return await asyncio.get_running_loop().run_in_executor(self._thread, lambda: fn(self._db, *args))

    async def close(self) -> None:
        if self._thread is None:
            return
        thread, self._thread = self._thread, None

        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(thread, close)
        thread.shutdown(wait=True)
