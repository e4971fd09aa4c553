"""Usage totals: stored counters in Config plus the engine's pending deltas, flushed in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Optional

from redbot.core import Config

from .engine.accounting import Counters, ScopeKey, UsageLedger

log = logging.getLogger("red.skynet.usage")

FLUSH_INTERVAL = 15.0  # seconds between Config writes of usage counters


def global_scope() -> ScopeKey:
    return ("global",)


def guild_scope(guild_id: int) -> ScopeKey:
    return ("guild", guild_id)


def member_scope(guild_id: int, user_id: int) -> ScopeKey:
    return ("member", guild_id, user_id)


def user_scope(user_id: int) -> ScopeKey:
    return ("user", user_id)


class UsageStore:
    """Reads totals and writes the ledger's deltas to Config, off the hot path."""

    def __init__(self, config: Config, ledger: UsageLedger) -> None:
        self._config = config
        self.ledger = ledger
        self._task: Optional[asyncio.Task] = None
        self._lock = asyncio.Lock()
        self.last_flush: Optional[float] = None  # time.time() of the last completed flush

    def _group(self, scope: ScopeKey):
        kind = scope[0]
        if kind == "global":
            return self._config
        if kind == "guild":
            return self._config.guild_from_id(scope[1])
        if kind == "member":
            return self._config.member_from_ids(scope[1], scope[2])
        return self._config.user_from_id(scope[1])

    async def totals(self, scope: ScopeKey) -> Counters:
        """Stored totals plus whatever has not been flushed yet."""
        stored = Counters.from_json(await self._group(scope).usage())
        return stored.add(self.ledger.pending(scope))

    async def flush(self) -> None:
        async with self._lock:
            deltas = self.ledger.drain()
            for scope, delta in deltas.items():
                try:
                    async with self._group(scope).usage() as usage:
                        usage.update(Counters.from_json(usage).add(delta).to_json())
                except Exception:
                    # Keep the delta for the next flush rather than lose it.
                    log.exception("Could not store usage for %s; will retry.", scope[0])
                    self.ledger.restore({scope: delta})
            self.last_flush = time.time()

    def start(self, interval: float = FLUSH_INTERVAL) -> None:
        self._task = asyncio.create_task(
            self._flush_periodically(interval), name="background:skynet-usage-flush"
        )

    async def _flush_periodically(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            # Shielded: stopping mid-flush must not drop the deltas it already drained.
            await asyncio.shield(self.flush())

    async def stop(self) -> None:
        """Stop the periodic flush and store what is pending."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
