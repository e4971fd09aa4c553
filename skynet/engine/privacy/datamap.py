"""The data map: one registry of every store that holds anything about a person.

Every store that keeps something about a member (Config member/user data, governance overrides,
budget ledgers, usage counters, conversation windows, vector memories and documents, personas and
own instructions, tool telemetry, consent, audit entries, and whatever later features add)
registers here once, at cog load, with two methods::

    async def export_user(user_id: int) -> dict            # what it holds about them (JSON-able)
    async def forget_user(user_id: int, guild_id: int | None = None)  # all of it, or one server's

(plain functions are accepted too). Red's data API, ``[p]ai memory purge`` and ``[p]ai history``
all go through :meth:`DataMap.export` and :meth:`DataMap.forget`, so a store that registers
cannot be missed by any of them.

A registration also says what the store *covers*: Config keys (``"GUILD.governance"``,
``"MEMBER.*"``: category then key, shell-style wildcards) and files under the cog's data path
(``"windows.sqlite3*"``, ``"chroma/*"``). Keys and files that hold nothing personal are declared
with :meth:`DataMap.not_personal` and a reason. :meth:`DataMap.uncovered` then lists what exists but
nobody declared, and a test fails on it: a new store must say what it is. See docs/privacy.md.
"""

from __future__ import annotations

import fnmatch
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple, Union

log = logging.getLogger("red.skynet.privacy")

Exporter = Callable[[int], Union[Dict[str, Any], Awaitable[Dict[str, Any]]]]
Forgetter = Callable[[int, Optional[int]], Any]


class ForgetIncomplete(Exception):
    """Some stores could not forget; the others did. ``failed`` names them (no user data)."""

    def __init__(self, failed: List[str]) -> None:
        super().__init__("could not forget in: " + ", ".join(failed))
        self.failed = failed


@dataclass
class Registration:
    name: str
    export: Optional[Exporter]
    forget: Forgetter
    config: Tuple[str, ...] = ()
    files: Tuple[str, ...] = ()


@dataclass
class NotPersonal:
    reason: str
    config: Tuple[str, ...] = ()
    files: Tuple[str, ...] = ()


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@dataclass
class DataMap:
    """The registry. Order of registration is the order of forgetting (register caches before
    the stores they flush into, so nothing is written back after it was deleted)."""

    stores: Dict[str, Registration] = field(default_factory=dict)
    declared: List[NotPersonal] = field(default_factory=list)

    def register(
        self,
        name: str,
        store: Any = None,
        *,
        export: Optional[Exporter] = None,
        forget: Optional[Forgetter] = None,
        config: Iterable[str] = (),
        files: Iterable[str] = (),
    ) -> None:
        """Register ``store`` (an object with ``export_user``/``forget_user``) or the two
        functions, under a unique ``name`` (the key of its part in an export)."""
        if name in self.stores:
            raise ValueError(f"a store named {name!r} is already registered")
        export = export or getattr(store, "export_user", None)
        forget = forget or getattr(store, "forget_user", None)
        if forget is None:
            raise TypeError(f"store {name!r} has no forget_user(user_id, guild_id=None)")
        self.stores[name] = Registration(name, export, forget, tuple(config), tuple(files))

    def unregister(self, name: str) -> None:
        self.stores.pop(name, None)

    def not_personal(self, reason: str, *, config: Iterable[str] = (), files: Iterable[str] = ()) -> None:
        """Declare Config keys or files that hold nothing about a person, and why."""
        self.declared.append(NotPersonal(reason, tuple(config), tuple(files)))

    async def export(self, user_id: int) -> Dict[str, Any]:
        """Everything every store holds about ``user_id``, by store name (empty parts left out)."""
        data: Dict[str, Any] = {}
        for reg in self.stores.values():
            if reg.export is None:
                continue
            part = await _maybe_await(reg.export(user_id))
            if part:
                data[reg.name] = part
        return data

    async def forget(self, user_id: int, guild_id: Optional[int] = None) -> Dict[str, Any]:
        """Forget ``user_id`` everywhere, or only in one server (``guild_id``; DMs are not a
        server). Every store is asked even when one fails; then :class:`ForgetIncomplete`."""
        results: Dict[str, Any] = {}
        failed: List[str] = []
        for reg in self.stores.values():
            try:
                results[reg.name] = await _maybe_await(reg.forget(user_id, guild_id))
            except Exception:
                log.exception("The %s store could not forget a user.", reg.name)
                failed.append(reg.name)
        if failed:
            raise ForgetIncomplete(failed)
        return results

    # -- coverage

    def _patterns(self, kind: str) -> List[str]:
        found = [p for reg in self.stores.values() for p in getattr(reg, kind)]
        return found + [p for d in self.declared for p in getattr(d, kind)]

    def covers_config(self, category: str, key: str) -> bool:
        name = f"{category.upper()}.{key}"
        return any(fnmatch.fnmatchcase(name, p) for p in self._patterns("config"))

    def covers_file(self, relative: str) -> bool:
        relative = relative.replace("\\", "/")
        return any(fnmatch.fnmatchcase(relative, p) for p in self._patterns("files"))

    def uncovered(
        self, config_keys: Iterable[Tuple[str, str]] = (), files: Iterable[str] = ()
    ) -> List[str]:
        """What exists (Config ``(category, key)`` pairs, data-path files) that no store and no
        ``not_personal`` declaration covers."""
        missing = [f"Config {c}.{k}" for c, k in config_keys if not self.covers_config(c, k)]
        return missing + [f"file {f}" for f in files if not self.covers_file(f)]


__all__ = ["DataMap", "ForgetIncomplete", "Registration", "NotPersonal"]
