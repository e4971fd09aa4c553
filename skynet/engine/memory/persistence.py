"""Write-behind persistence of conversation windows: one JSON file, written atomically off the loop.

Why a file and not Red's Config: windows change on every message, and Red's JSON driver rewrites
the cog's whole settings file on every ``set`` (tens of ms once it holds many users), blocking
settings writes behind chat traffic. A dedicated file under the cog's data path is written at
most once per ``interval`` (1 s) whatever the message rate, in a worker thread, by writing a
temporary file and renaming it over the old one, so a crash leaves either the old or the new
snapshot, never half of one. See docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional

from .windows import ConversationMemory

log = logging.getLogger("red.skynet.memory")

FORMAT_VERSION = 1


def _write_atomically(path: Path, payload: Dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read(path: Path) -> Optional[Dict[str, Any]]:
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class WindowStore:
    """Keeps ``memory`` on disk at ``path``: loaded once, then flushed whenever it changed."""

    def __init__(self, memory: ConversationMemory, path: Path, *, interval: float = 1.0) -> None:
        self.memory = memory
        self.path = Path(path)
        self.interval = interval
        self.writes = 0  # storage writes so far (the benchmark checks <= 1 per interval)
        self._saved_version = memory.version
        self._task: Optional[asyncio.Task] = None
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Restore the windows saved last time; an unreadable file is set aside, not fatal."""
        try:
            data = await asyncio.to_thread(_read, self.path)
        except (OSError, ValueError) as exc:
            log.warning("Conversation windows in %s could not be read (%s); starting empty.", self.path, exc)
            try:
                os.replace(self.path, self.path.with_suffix(".corrupt"))
            except OSError:
                pass
            return
        if data:
            self.memory.restore(data)
        self._saved_version = self.memory.version

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="background:skynet-window-store")

    async def stop(self) -> None:
        """Stop the loop and write what is pending (on unload)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()

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
        return self.memory.version != self._saved_version

    async def flush(self) -> bool:
        """Write a snapshot if anything changed since the last one; returns whether it wrote."""
        async with self._lock:
            if not self.dirty:
                return False
            version = self.memory.version
            payload = {"format": FORMAT_VERSION, **self.memory.snapshot()}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(_write_atomically, self.path, payload)
            self.writes += 1
            self._saved_version = version
            return True
