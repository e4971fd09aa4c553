"""The replies being written right now, so unloading the cog can end every one of them at once.

``cancel_all`` (called first by ``cog_unload``) makes unloading a clean cut (see ``lifecycle``):
requests with nothing visible are handed over instead of answered; visible replies get their
"restarted" note within ``UNLOAD_GRACE`` seconds or are aborted, so nothing is posted later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Dict, Iterator, List, Optional

from .lifecycle import UNLOAD_GRACE, PendingAsk

log = logging.getLogger("red.skynet.inflight")

ABORT_WAIT = 1.0  # seconds for aborted replies' tasks to end (they do at once)


class InFlight:
    """Tracks the tasks writing replies and their streamers; :meth:`cancel_all` ends them."""

    def __init__(self) -> None:
        self._tasks: Dict[asyncio.Task, Optional[PendingAsk]] = {}
        self._streamers: Dict[asyncio.Task, Any] = {}
        self.handed: List[PendingAsk] = []  # requests for the next instance
        self.closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    @contextlib.contextmanager
    def track(self, ask: Optional[PendingAsk] = None) -> Iterator[None]:
        """Mark the current task as writing the reply to ``ask`` for the duration of the block."""
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._tasks[task] = ask
        try:
            yield
        finally:
            self._tasks.pop(task, None)
            self._streamers.pop(task, None)

    def watch(self, streamer: Any) -> None:
        """The current (tracked) task shows its reply with ``streamer``."""
        task = asyncio.current_task()
        if task in self._tasks:
            self._streamers[task] = streamer

    def hand_over(self, ask: PendingAsk) -> None:
        """A request that reached the cog while it is closing: the next instance answers it."""
        self.handed.append(ask)

    async def cancel_all(self, grace: float = UNLOAD_GRACE) -> List[PendingAsk]:
        """End every reply (see the module doc); returns the requests to hand over."""
        self.closed = True
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current and not task.done()]
        streamers = [s for task, s in self._streamers.items() if task is not current]
        for task in tasks:
            streamer = self._streamers.get(task)
            if streamer is None or not streamer.messages:
                # Nothing visible yet: post nothing, the next instance answers it afresh.
                if streamer is not None:
                    streamer.abort()
                ask = self._tasks.get(task)
                if ask is not None:
                    self.handed.append(ask)
            task.cancel("skynet is unloading")
        # The shielded final edits outlive their tasks: wait for the streamers themselves too.
        waiting = set(tasks) | {s.rendering for s in streamers if not s.rendering.done()}
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=grace)
            if pending:
                log.warning("%d replies did not finish within %s s of unloading: cut.", len(pending), grace)
                for streamer in streamers:
                    streamer.abort()
                await asyncio.wait(pending, timeout=ABORT_WAIT)
        for streamer in streamers:  # finished: what would follow the text (buttons) is not posted
            streamer.abort()
        return list(self.handed)
