"""Storage that fails like a full disk, for tests and the fault bench.

``failing_writes(config, times=1)`` makes the next ``times`` writes of a cog's Config fail the way
the real backend fails:

* Red's JSON driver: its in-memory copy is updated (as Red does, before writing), then writing
  the file raises ``OSError(ENOSPC)`` ("No space left on device") instead of writing it;
* Red's PostgreSQL driver: the write statement raises asyncpg's ``DiskFullError`` (SQLSTATE
  53100), as PostgreSQL does when it cannot extend a table file; reads still work.

Everything else about the driver is real. ``failures`` counts the writes that were made to fail.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any, Iterator

from redbot.core import Config


class FailingWrites:
    def __init__(self, times: int) -> None:
        self.left = times
        self.failures = 0

    def fail_now(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.failures += 1
        return True


def _real_driver(config: Config) -> Any:
    driver = config._driver
    return getattr(driver, "inner", driver) if getattr(driver, "skynet_rollback", False) else driver


@contextlib.contextmanager
def failing_writes(config: Config, times: int = 1) -> Iterator[FailingWrites]:
    """The next ``times`` writes of ``config``'s storage fail (see the module doc)."""
    driver = _real_driver(config)
    state = FailingWrites(times)
    if hasattr(driver, "_save"):  # Red's JSON driver: memory first, then the file
        real_save = driver._save

        async def save() -> None:
            if state.fail_now():
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            await real_save()

        driver._save = save
        try:
            yield state
        finally:
            del driver._save  # the class's method again
        return

    import asyncpg  # Red's PostgreSQL driver

    real_execute = driver._execute

    async def execute(query: str, *args: Any, **kwargs: Any) -> Any:
        writes = ("red_config.set(", "red_config.clear(")
        if any(write in query for write in writes) and state.fail_now():
            raise asyncpg.exceptions.DiskFullError("could not extend file: No space left on device")
        return await real_execute(query, *args, **kwargs)

    driver._execute = execute
    try:
        yield state
    finally:
        del driver._execute
