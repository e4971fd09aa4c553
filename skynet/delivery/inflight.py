"""The replies being written right now, so unloading the cog can end every one of them at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Iterator, Set

log = logging.getLogger("red.skynet.inflight")

UNLOAD_GRACE = 5.0  # seconds for cancelled replies to post their "restarted" note


class InFlight:
    """Tracks the tasks writing replies; :meth:`cancel_all` ends them (their note says why)."""

    def __init__(self) -> None:
        self._tasks: Set[asyncio.Task] = set()
        self.closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Mark the current task as writing a reply for the duration of the block."""
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def cancel_all(self, grace: float = UNLOAD_GRACE) -> None:
        """Cancel every reply; wait (up to ``grace``) until each has shown its final note."""
        self.closed = True
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current and not task.done()]
        for task in tasks:
            task.cancel("skynet is unloading")
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                log.warning("%d replies did not finish within %s s of unloading.", len(pending), grace)
