"""Config writes that either land on disk or leave no trace: a failed write is rolled back.

Red's JSON driver changes its in-memory copy of the data *before* it writes the file: when that
write fails (disk full, read-only disk), memory says the new value and the disk the old one, so
the value silently comes into force at the next reload and is lost at the next restart. Red's
PostgreSQL driver writes in one statement, so a failure there changes nothing.

``install(config, on_failure)`` wraps the cog's Config driver once (every ``Value``, ``Group`` and
``set_raw`` of the cog goes through it): a write that fails puts the in-memory copy back as it was
(only if nobody changed it meanwhile) and raises :class:`StorageWriteFailed`, a ``SkynetError``,
so the member is told, in the cog's error style, that nothing changed. ``on_failure`` records it
for ``[p]ai diag``. Red's own refusals (``CannotSetSubfield``) pass through unchanged.
"""

from __future__ import annotations

import errno
import json
import logging
from typing import Any, Callable, Optional

from redbot.core import Config
from redbot.core import errors as red_errors

from ..engine.errors import SkynetError
from ..engine.i18n import _

log = logging.getLogger("red.skynet.storage")

MISSING = object()
OnFailure = Callable[[str, str], None]  # (member-facing message, detail for the log and diag)


class StorageWriteFailed(SkynetError):
    """A Config write failed; the in-memory copy was put back, so nothing changed."""

    kind = "storage_write_failed"


def reason_of(exc: BaseException) -> str:
    """A short, path-free reason: "the disk is full", "OSError: Read-only file system"..."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _("the disk is full")
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    text = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_message(exc: BaseException) -> str:
    return _(
        "I couldn't save that: the bot's storage failed to write it ({reason}). Nothing changed: "
        "the setting is as it was. Please try again; if it keeps failing, the bot owner should "
        "check the bot's disk or database (`[p]ai diag` shows the error)."
    ).format(reason=reason_of(exc))


def _keeps_memory_copy(driver: Any) -> bool:
    """Whether the driver updates an in-memory copy before its write (Red's JSON driver)."""
    return type(driver).__name__ == "JsonDriver" or hasattr(driver, "_save")


def _normal(value: Any) -> Any:
    """``value`` as the JSON driver keeps it (it stores a JSON round trip)."""
    return json.loads(json.dumps(value))


class RollbackDriver:
    """Red's Config driver, with failed ``set``/``clear`` rolled back (see the module doc)."""

    skynet_rollback = True  # survives a reload of this module (the Config object is Red's, shared)

    def __init__(self, inner: Any, on_failure: Optional[OnFailure] = None) -> None:
        self.inner = inner
        self.on_failure = on_failure

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def set(self, identifier_data: Any, value: Any = None) -> None:
        old = await self._snapshot(identifier_data)
        try:
            await self.inner.set(identifier_data, value=value)
        except red_errors.CannotSetSubfield:
            raise
        except Exception as exc:  # noqa: BLE001 - any storage failure: roll back, then say so
            await self._roll_back(identifier_data, old, written=value)
            raise self._failed(exc) from exc

    async def clear(self, identifier_data: Any) -> None:
        old = await self._snapshot(identifier_data)
        try:
            await self.inner.clear(identifier_data)
        except Exception as exc:  # noqa: BLE001
            await self._roll_back(identifier_data, old, written=MISSING)
            raise self._failed(exc) from exc

    async def _snapshot(self, identifier_data: Any) -> Any:
        if not _keeps_memory_copy(self.inner):
            return MISSING  # PostgreSQL: a failed statement changed nothing
        try:
            return await self.inner.get(identifier_data)
        except KeyError:
            return MISSING

    async def _roll_back(self, identifier_data: Any, old: Any, *, written: Any) -> None:
        if not _keeps_memory_copy(self.inner):
            return
        try:
            current = await self.inner.get(identifier_data)
        except KeyError:
            current = MISSING
        expected = MISSING if written is MISSING else _normal(written)
        if current is not MISSING and expected is not MISSING and current != expected:
            return  # another write landed meanwhile: it is the value of record now
        if current is MISSING and expected is not MISSING:
            return
        # The JSON driver puts the value back in memory first, then writes the file: even if that
        # write fails again, memory agrees with the disk (which never saw the failed value).
        try:
            if old is MISSING:
                await self.inner.clear(identifier_data)
            else:
                await self.inner.set(identifier_data, value=old)
        except Exception as exc:  # noqa: BLE001 - the disk may still be full: memory is restored
            log.debug("Rolling back a failed Config write: the file write failed again: %s", exc)

    def _failed(self, exc: BaseException) -> StorageWriteFailed:
        message = failure_message(exc)
        detail = f"Config write failed ({type(self.inner).__name__}): {reason_of(exc)}"
        log.error("%s; the in-memory copy was rolled back.", detail)
        if self.on_failure is not None:
            try:
                self.on_failure(message, detail)
            except Exception:  # noqa: BLE001 - recording must never hide the real error
                log.exception("Could not record a storage failure")
        return StorageWriteFailed(message)


def install(config: Config, on_failure: Optional[OnFailure] = None) -> RollbackDriver:
    """Wrap ``config``'s driver (once; a reloaded cog re-wraps the original with its callback)."""
    driver = config._driver  # Red keeps one driver per Config; every Group/Value is given it
    inner = driver.inner if getattr(driver, "skynet_rollback", False) else driver
    wrapped = RollbackDriver(inner, on_failure)
    config._driver = wrapped
    return wrapped
