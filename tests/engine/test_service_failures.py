"""Backing-service failures are recognised by where they were raised and get their service's message."""

from __future__ import annotations

import asyncio
import errno
import sqlite3

import aiohttp
import pytest

from skynet.engine.memory.vector import StoreError
from skynet.engine.reliability.services import (
    MEMORY,
    PROVIDER,
    SEARCH,
    USAGE_DB,
    WINDOWS_DB,
    explain_service_failure,
    service_of,
)
from skynet.engine.usage.counter_db import CounterDB


def test_a_dead_chromadb_worker_is_long_term_memory():
    failure = explain_service_failure(StoreError("the chromadb worker process stopped (IncompleteReadError)"))
    assert failure is not None and failure.service == MEMORY and failure.kind == "service_memory"
    assert "Long-term memory stopped working" in failure.message and "nothing was stored" in failure.message


def test_a_broken_usage_database_file_is_named_as_such(tmp_path):
    path = tmp_path / "usage.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    db = CounterDB(path)
    with pytest.raises(sqlite3.DatabaseError) as raised:
        db.open()
        db.get(("global",))
    failure = explain_service_failure(raised.value)
    assert failure is not None and failure.service == USAGE_DB, failure
    assert "usage.sqlite3" in failure.message and str(tmp_path) not in failure.message


def test_an_os_error_outside_a_service_is_not_claimed_and_reasons_carry_no_path():
    error = OSError(errno.ENOSPC, "No space left on device", "/srv/red/data/windows.sqlite3")
    assert service_of(error) is None  # raised by our own code, not a service: a bug
    failure = explain_service_failure(sqlite3.OperationalError("database or disk is full"))
    assert failure is not None and failure.service == WINDOWS_DB
    assert "/srv" not in failure.message


def raised_in(path: str, exc: BaseException) -> BaseException:
    """``exc`` as raised by code in ``path`` (what the traceback of a real failure there shows)."""
    try:
        exec(compile("raise exc", path, "exec"), {"exc": exc})
    except BaseException as raised:  # noqa: BLE001
        return raised
    raise AssertionError("not raised")


def test_search_and_provider_transport_errors():
    search = raised_in("/bot/cogs/skynet/engine/tools/backends/searxng.py", aiohttp.ClientConnectionError("down"))
    assert service_of(search) == SEARCH
    assert service_of(aiohttp.ClientConnectionError("down")) is None  # elsewhere: not a search failure
    import httpx

    assert service_of(httpx.ConnectError("refused")) == PROVIDER


def test_a_bug_is_not_a_service_failure():
    assert explain_service_failure(KeyError("oops")) is None
    assert explain_service_failure(asyncio.TimeoutError()) is None


def test_secrets_are_redacted_from_the_reason():
    failure = explain_service_failure(StoreError("token sk-abcdefghijklmnop refused"), lambda s: s.replace("sk-abcdefghijklmnop", "[redacted]"))
    assert "sk-abc" not in failure.message and "sk-abc" not in failure.detail
