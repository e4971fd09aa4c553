"""Usage totals: a counter store under the cog's data folder plus the engine's pending deltas.

The hot path only adds to in-memory deltas (``UsageLedger``); every ``FLUSH_INTERVAL`` seconds and
on unload they are written to ``usage.sqlite3`` in ONE transaction, so a flush costs what changed
(not what is stored) and a thousand users are one write, not a thousand Config rewrites. Before
schema 2 the totals were Config values; ``move_usage_out_of_config`` carries them over once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Dict, Optional

from redbot.core import Config
from redbot.core.data_manager import cog_data_path

from ..engine.periodic import PeriodicFlush
from ..engine.usage import CounterStore
from ..engine.usage.accounting import Counters, ScopeKey, UsageLedger
from ..engine.usage.series import SeriesLedger

log = logging.getLogger("red.skynet.usage")

FLUSH_INTERVAL = 15.0  # seconds between writes of usage counters
DB_FILENAME = "usage.sqlite3"


def global_scope() -> ScopeKey:
    return ("global",)


def guild_scope(guild_id: int) -> ScopeKey:
    return ("guild", guild_id)


def member_scope(guild_id: int, user_id: int) -> ScopeKey:
    return ("member", guild_id, user_id)


def user_scope(user_id: int) -> ScopeKey:
    return ("user", user_id)


class UsageStore:
    """Reads totals (stored + pending) and writes the ledger's deltas in batches, off the hot path."""

    def __init__(self, config: Optional[Config], ledger: UsageLedger, path: Optional[Path] = None) -> None:
        """``path`` defaults to ``usage.sqlite3`` in the data folder of ``config``'s cog."""
        self.ledger = ledger
        self.series = SeriesLedger()  # per-day rows for the panel's charts, flushed with the totals
        # Red gives every cog a data folder, whatever the Config backend (JSON or PostgreSQL).
        if path is None:
            if config is None:
                raise ValueError("UsageStore needs a Config (for its cog's data folder) or a path")
            path = cog_data_path(raw_name=config.cog_name) / DB_FILENAME
        self.path = Path(path)
        self.counters = CounterStore(self.path)
        self._periodic = PeriodicFlush(self.flush, "skynet-usage-flush")
        # Serialises flushes and deletions: a deletion waits for an in-flight flush, so deltas a
        # flush already drained cannot be written back after the user's rows were removed.
        self._lock = asyncio.Lock()
        self.last_flush: Optional[float] = None  # time.time() of the last successful flush
        self.last_flush_scopes = 0
        self.generation = 0  # grows whenever what is stored changes (the panel's cache key)

    async def open(self) -> None:
        await self.counters.open()

    async def totals(self, scope: ScopeKey) -> Counters:
        """Stored totals plus whatever has not been flushed yet."""
        stored = await self.counters.get(scope)
        return stored.add(self.ledger.pending(scope))

    async def of_user(self, user_id: int) -> Dict[ScopeKey, Counters]:
        """Everything counted for ``user_id`` (member and DM scopes), flushed or not."""
        found = await self.counters.of_user(user_id)
        for scope, delta in self.ledger.pending_of_user(user_id).items():
            found.setdefault(scope, Counters()).add(delta)
        return found

    async def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        """Delete ``user_id``'s counters, stored and pending: everywhere, or in one server."""
        async with self._lock:
            self.ledger.discard_user(user_id, guild_id)
            self.series.discard_user(user_id, guild_id)  # pending per-day counts (flushed ones: below)
            if guild_id is None:
                await self.counters.delete_user(user_id)
            else:
                await self.counters.delete_member(user_id, guild_id)
            self.generation += 1

    async def flush(self) -> None:
        """Write every pending delta in one transaction; on failure keep them for the next flush."""
        async with self._lock:
            deltas = self.ledger.drain()
            series = self.series.drain()
            if not deltas and not series:  # nothing new: what is stored is up to date as of now
                self.last_flush, self.last_flush_scopes = time.time(), 0
                return
            try:
                await self.counters.add(deltas, series=series)
            except Exception:
                log.exception("Could not store usage for %d scopes; will retry.", len(deltas))
                self.ledger.restore(deltas)
                self.series.restore(series)
                return
            self.last_flush, self.last_flush_scopes = time.time(), len(deltas)
            self.generation += 1

    def start(self, interval: float = FLUSH_INTERVAL) -> None:
        self._periodic.start(interval)

    async def stop(self) -> None:
        """Stop the periodic flush, store what is pending, close the file."""
        await self._periodic.stop()
        await self.counters.close()


# ---------------------------------------------------------------------------------------------
# schema 1 -> 2: counters were Config values (global, per guild, per member, per DM user)
# ---------------------------------------------------------------------------------------------

LEGACY_IMPORT_MARKER = "imported-config-usage-schema-1"


async def move_usage_out_of_config(config: Config, usage: UsageStore) -> int:
    """Move schema-1 usage values from Config into the counter store; returns how many scopes.

    Safe to interrupt: the import and its marker are one transaction (a rerun adds nothing twice),
    and the Config values are removed only afterwards, one write per Config category.
    """
    deltas: Dict[ScopeKey, Counters] = {}
    glob = await config.get_raw("usage", default={})
    if glob:
        deltas[global_scope()] = Counters.from_json(glob)
    # Raw category reads: whole categories in one driver call each (cheap on every backend).
    categories = {
        Config.GUILD: lambda ids: guild_scope(int(ids[0])),
        Config.USER: lambda ids: user_scope(int(ids[0])),
        Config.MEMBER: lambda ids: member_scope(int(ids[0]), int(ids[1])),
    }
    raw: Dict[str, dict] = {}
    for category, scope_of in categories.items():
        raw[category] = await _raw_category(config, category)
        depth = 2 if category == Config.MEMBER else 1
        for ids, data in _documents(raw[category], depth):
            if isinstance(data, dict) and data.get("usage"):
                deltas[scope_of(ids)] = Counters.from_json(data["usage"])
    if deltas:
        added = await usage.counters.add(deltas, once=LEGACY_IMPORT_MARKER)
        if added:
            log.info("Moved usage counters of %d scopes from Config to %s.", len(deltas), usage.path.name)
    # Remove the old values (also after an interrupted earlier run whose import already happened).
    if glob:
        await config.clear_raw("usage")
    for category, data in raw.items():
        depth = 2 if category == Config.MEMBER else 1
        if any("usage" in doc for _, doc in _documents(data, depth) if isinstance(doc, dict)):
            await _write_raw_category(config, category, _without_usage(data, depth))
    return len(deltas)


def _documents(data: dict, depth: int):
    """(ids, document) pairs of a raw Config category ``depth`` primary keys deep."""
    if depth == 1:
        for key, doc in data.items():
            yield (key,), doc
        return
    for key, sub in data.items():
        if isinstance(sub, dict):
            for ids, doc in _documents(sub, depth - 1):
                yield (key, *ids), doc


def _without_usage(data: dict, depth: int) -> dict:
    cleaned = {}
    for key, value in data.items():
        if not isinstance(value, dict):
            cleaned[key] = value
            continue
        value = (
            _without_usage(value, depth - 1)
            if depth > 1
            else {k: v for k, v in value.items() if k != "usage"}
        )
        if value:
            cleaned[key] = value
    return cleaned


async def _raw_category(config: Config, category: str) -> dict:
    # Config has no public "whole category, raw" read; all_members() etc. are built on this one.
    return await config._get_base_group(category).all()


async def _write_raw_category(config: Config, category: str, data: dict) -> None:
    group = config._get_base_group(category)
    if data:
        await group.set(data)
    else:
        await group.clear()
