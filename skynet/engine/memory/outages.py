"""The vector store failing under a memory command: one clear message, and a fresh store next time.

When the chromadb worker process dies (killed, out of memory) or the Chroma server stops answering
in the middle of ``[p]ai remember`` or any other memory command, the command ends with the
memory-unavailable message (a ``MemoryUnavailable``, rendered by the shell like every refusal),
the failure is recorded for ``[p]ai diag``, and the dead store is closed without the usual
back-off: the next command starts a new worker (or reconnects) at once.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, TypeVar

from ..reliability.services import MEMORY, explain_service_failure
from .store_access import MemoryUnavailable
from .vector import StoreError

log = logging.getLogger("red.skynet.memory")

T = TypeVar("T")


async def store_lost(service: Any, exc: BaseException) -> MemoryUnavailable:
    """Close the failed store, record the failure; returns the ``MemoryUnavailable`` to raise."""
    failure = explain_service_failure(exc, service.redactor.redact)
    assert failure is not None and failure.service == MEMORY
    log.warning("Long-term memory failed during a command: %s", failure.detail)
    service.errors.record(failure.kind, failure.message, failure.detail)
    store, service.store = service.store, None
    service._has_records = None  # unknown until the new store is opened
    if store is not None:
        try:
            await store.close()  # a dead worker is reaped; a live one is asked to exit
        except Exception as close_error:  # noqa: BLE001 - it is already broken
            log.debug("Closing the failed vector store: %s", close_error)
    return MemoryUnavailable(failure.message)


def maps_store_failures(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """A memory service method whose vector-store failures become the memory-unavailable message."""

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return await method(self, *args, **kwargs)
        except StoreError as exc:
            raise await store_lost(self, exc) from None

    return wrapper
