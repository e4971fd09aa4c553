"""Governance settings and budget usage: Config is the store of record, read once into memory.

Settings live in one dict per server (see :mod:`skynet.engine.governance.rules`); every write
goes to Config and rebuilds that server's parsed rules, so the message path only does dict
lookups. Budget usage is kept by the engine's ledger and written in batches, like usage counters.
The rules of DMs (scope id ``DM_SCOPE``) are stored in the global ``dm_governance`` and
``dm_budget_usage`` values.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any, Callable, Dict, List

from redbot.core import Config

from ..engine.governance.budgets import BudgetLedger
from ..engine.governance.rules import DM_SCOPE, GuildRules, parse_rules
from ..engine.periodic import PeriodicFlush

log = logging.getLogger("red.skynet.governance")

FLUSH_INTERVAL = 15.0
NO_RULES = GuildRules()


class GovernanceStore:
    def __init__(self, config: Config, ledger: BudgetLedger) -> None:
        self._config = config
        self._ledger = ledger
        self._data: Dict[int, Dict[str, Any]] = {}
        self._rules: Dict[int, GuildRules] = {}
        self._periodic = PeriodicFlush(self.flush, "skynet-budget-flush")
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        stored = list((await self._config.all_guilds()).items())
        stored.append(
            (
                DM_SCOPE,
                {
                    "governance": await self._config.dm_governance(),
                    "budget_usage": await self._config.dm_budget_usage(),
                },
            )
        )
        for scope_id, data in stored:
            governance = data.get("governance") or {}
            if governance:
                self._data[scope_id] = governance
                self._rules[scope_id] = parse_rules(governance)
            if data.get("budget_usage"):
                self._ledger.load(scope_id, data["budget_usage"])

    def _value(self, scope_id: int, name: str):
        """The Config value ``name`` of a server, or its global ``dm_`` twin for DMs."""
        if scope_id == DM_SCOPE:
            return getattr(self._config, f"dm_{name}")
        return getattr(self._config.guild_from_id(scope_id), name)

    def rules(self, guild_id: int) -> GuildRules:
        """The parsed rules of a server, or of DMs for ``DM_SCOPE`` (no I/O)."""
        return self._rules.get(guild_id, NO_RULES)

    def scopes(self) -> List[int]:
        """Every server (and ``DM_SCOPE``) with stored governance settings."""
        return list(self._data)

    def data(self, guild_id: int) -> Dict[str, Any]:
        """A deep copy of the stored dict, for commands to edit and pass to :meth:`update`."""
        return copy.deepcopy(self._data.get(guild_id, {}))

    async def update(self, guild_id: int, edit: Callable[[Dict[str, Any]], None]) -> GuildRules:
        """Apply ``edit`` to a copy, store it, then refresh the cache (Config first)."""
        data = self.data(guild_id)
        edit(data)
        rules = parse_rules(data)  # a broken shape fails here, before anything is stored
        await self._value(guild_id, "governance").set(data)
        self._data[guild_id], self._rules[guild_id] = data, rules
        return rules

    # -- budget usage, in batches

    async def flush(self) -> None:
        async with self._lock:
            dirty, self._ledger.dirty = self._ledger.dirty, set()
            for guild_id in dirty:
                try:
                    await self._value(guild_id, "budget_usage").set(self._ledger.dump(guild_id))
                except Exception:
                    log.exception("Could not store budget usage; will retry.")
                    self._ledger.dirty.add(guild_id)

    def start(self, interval: float = FLUSH_INTERVAL) -> None:
        self._periodic.start(interval)

    async def stop(self) -> None:
        await self._periodic.stop()
