"""Central recording of settings changes for the audit log (issue 15).

Why here: every setting of the cog, whichever command or store writes it (today's stores,
commands that write Config directly, and commands other areas add later), reaches Red's Config
through the cog's Config *driver*. :func:`audit_config` wraps that driver once at cog start, so
each write made while one of the cog's commands runs is diffed (old → new, leaf by leaf) and
recorded with who ran which command where. Nobody has to remember to call the log, and a command
added later is recorded the day it exists. Writes outside a command (batched counters, migrations)
are not settings changes and are not recorded; nor are members' own per-user data (USER and
MEMBER categories: incognito, own instructions, consent), which are not settings and belong to the
member (the data map covers them).

The actor comes from a context variable that a before-invoke hook sets for the cog's commands
(:func:`begin_command`); a task a command spawns inherits it, which is why counters are excluded by
key, not by context.
"""

from __future__ import annotations

import contextvars
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional

from redbot.core import Config

from ..engine.privacy.audit import MISSING, AuditEntry, diff, safe_value

log = logging.getLogger("red.skynet.audit")

NOT_SETTINGS = frozenset(
    {"schema_version", "usage", "budget_usage", "dm_budget_usage", "tool_stats", "audit_retention_days_seen"}
)
AUDITED_CATEGORIES = ("GLOBAL", "GUILD", "TEXTCHANNEL", "CHANNEL")  # Red 3.5 names channels TEXTCHANNEL


@dataclass(frozen=True)
class Actor:
    user_id: int
    guild_id: Optional[int]
    command: str


CURRENT: contextvars.ContextVar[Optional[Actor]] = contextvars.ContextVar("skynet_audit_actor", default=None)


def begin_command(user_id: int, guild_id: Optional[int], command: str) -> None:
    CURRENT.set(Actor(user_id, guild_id, command))


def end_command() -> None:
    CURRENT.set(None)


def _scope(category: str, primary_key: tuple) -> str:
    if category == "GLOBAL":
        return "global"
    label = {"GUILD": "server", "CHANNEL": "channel", "TEXTCHANNEL": "channel"}.get(category, category.lower())
    return f"{label} {primary_key[0]}" if primary_key else label


class _AuditedDriver:
    """Red's driver, with ``set``/``clear`` reporting what changed to ``record``."""

    def __init__(self, driver: Any, record: Callable[[List[AuditEntry]], Awaitable[Any]], redact: Callable[[str], str]):
        self._driver = driver
        self._record = record
        self._redact = redact

    def __getattr__(self, name: str) -> Any:
        return getattr(self._driver, name)

    def _watched(self, identifier_data: Any) -> Optional[Actor]:
        actor = CURRENT.get()
        if actor is None or identifier_data.category not in AUDITED_CATEGORIES:
            return None
        identifiers = identifier_data.identifiers
        if identifiers and identifiers[0] in NOT_SETTINGS:
            return None
        return actor

    async def _old(self, identifier_data: Any) -> Any:
        try:
            return await self._driver.get(identifier_data)
        except KeyError:
            return MISSING

    async def _report(self, actor: Actor, identifier_data: Any, old: Any, new: Any) -> None:
        category, primary_key = identifier_data.category, tuple(identifier_data.primary_key)
        changes = diff(old, new, tuple(identifier_data.identifiers))
        changes = [c for c in changes if c[0].split(".")[0] not in NOT_SETTINGS]
        if not changes:
            return
        guild_id = int(primary_key[0]) if category == "GUILD" and primary_key else None
        if category in ("CHANNEL", "TEXTCHANNEL"):
            guild_id = actor.guild_id
        now = time.time()
        entries = [
            AuditEntry(
                now,
                guild_id,
                actor.user_id,
                actor.command,
                _scope(category, primary_key),
                setting,
                safe_value(setting, before, self._redact),
                safe_value(setting, after, self._redact),
            )
            for setting, before, after in changes
        ]
        try:
            await self._record(entries)
        except Exception:  # the setting is stored; losing its audit line must not fail the command
            log.exception("Could not record %s settings change(s) in the audit log.", len(entries))

    async def set(self, identifier_data: Any, value: Any = None) -> None:
        actor = self._watched(identifier_data)
        old = await self._old(identifier_data) if actor else None
        await self._driver.set(identifier_data, value=value)
        if actor:
            await self._report(actor, identifier_data, old, value)

    async def clear(self, identifier_data: Any) -> None:
        actor = self._watched(identifier_data)
        old = await self._old(identifier_data) if actor else None
        await self._driver.clear(identifier_data)
        if actor:
            await self._report(actor, identifier_data, old, MISSING)


def audit_config(config: Config, record: Callable[[List[AuditEntry]], Awaitable[Any]], redact: Callable[[str], str]) -> None:
    """Wrap ``config``'s driver (once) so settings writes made by commands are recorded."""
    if not isinstance(config._driver, _AuditedDriver):
        config._driver = _AuditedDriver(config._driver, record, redact)


def unaudit_config(config: Config) -> None:
    if isinstance(config._driver, _AuditedDriver):
        config._driver = config._driver._driver
