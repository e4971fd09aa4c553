"""A background task that runs a flush every few seconds, and once more when stopped."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Awaitable, Callable, Optional


class PeriodicFlush:
    """Calls ``flush`` every ``interval`` seconds in a task named ``background:<name>``.

    The ``background:`` prefix lets the test harness's ``settle()`` ignore the never-ending loop.
    ``flush`` handles (logs and retries) its own storage errors, unless ``on_error`` is given: then
    the loop calls it inside the ``except`` block (e.g. ``log.exception``) and tries again next time.
    """

    def __init__(
        self,
        flush: Callable[[], Awaitable[None]],
        name: str,
        on_error: Optional[Callable[[], None]] = None,
    ) -> None:
        self._flush = flush
        self._on_error = on_error
        self._name = f"background:{name}"
        self._task: Optional[asyncio.Task] = None

    def start(self, interval: float) -> None:
        self._task = asyncio.create_task(self._run(interval), name=self._name)

    async def _run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            # Shielded: stopping mid-flush must not drop what the flush already drained.
            if self._on_error is None:
                await asyncio.shield(self._flush())
                continue
            try:
                await asyncio.shield(self._flush())
            except Exception:
                self._on_error()

    async def stop(self) -> None:
        """Stop the loop, then flush once more so nothing pending is lost."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._flush()
