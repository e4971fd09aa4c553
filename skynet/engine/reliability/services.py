"""Which backing service failed under a command, and the one clear message members get for it.

A command can fail because something behind it failed: the chromadb worker or server (long-term
memory), one of the cog's SQLite files (usage counters, conversation windows), the provider, a
search or page service, an MCP server. Each of those reaches the member as the same short message
for that service (what failed, that nothing was changed, what to do), never Red's generic "Error in
command"; the shell records it for ``[p]ai diag`` under ``service_<name>``.

The service is found from the exception's type and from where it was raised (the traceback's
module files), so a ``sqlite3.Error`` from the usage counters and one from the conversation
windows get their own message. Anything not recognised returns None: a bug, handled as one.
"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import traceback
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from ..i18n import _

# Services, each with the module paths (as in a traceback) whose failures belong to it.
MEMORY, USAGE_DB, WINDOWS_DB, PROVIDER, SEARCH, MCP = (
    "memory",
    "usage_db",
    "windows_db",
    "provider",
    "search",
    "mcp",
)
_WHERE: Tuple[Tuple[str, str], ...] = (
    (MCP, "/engine/tools/mcp/"),
    (SEARCH, "/engine/tools/backends/"),
    (MEMORY, "/engine/memory/vector.py"),
    (MEMORY, "/engine/memory/chroma_worker.py"),
    (USAGE_DB, "/engine/usage/counter_db.py"),
    (WINDOWS_DB, "/engine/memory/persistence.py"),
    (PROVIDER, "/engine/providers/"),
)


@dataclass(frozen=True)
class ServiceFailure:
    """``service`` failed under a command: ``message`` for the member, ``detail`` for the log."""

    service: str
    message: str
    detail: str

    @property
    def kind(self) -> str:
        return f"service_{self.service}"


def _messages() -> Dict[str, Callable[[str], str]]:
    """The member-facing message per service (a function: translated when shown)."""
    return {
        MEMORY: lambda reason: _(
            "Long-term memory stopped working while doing that ({reason}), so nothing was stored or "
            "changed. Please try again: a new memory store is started at the next use. If it keeps "
            "failing, the bot owner can check `[p]ai memory backend show` and `[p]ai diag`."
        ).format(reason=reason),
        USAGE_DB: lambda reason: _(
            "The usage counters' database (`usage.sqlite3` in the cog's data folder) failed ({reason}), "
            "so I can't show or change usage right now. Chat still works. The bot owner can check "
            "the disk and `[p]ai diag`."
        ).format(reason=reason),
        WINDOWS_DB: lambda reason: _(
            "The conversation memory's database (`windows.sqlite3` in the cog's data folder) failed "
            "({reason}). Chat still works; recent turns are kept in memory meanwhile. The bot owner "
            "can check the disk and `[p]ai diag`."
        ).format(reason=reason),
        PROVIDER: lambda reason: _(
            "The AI provider failed while doing that ({reason}). Nothing was changed. Please try "
            "again; the bot owner can check `[p]ai provider test` and `[p]ai diag`."
        ).format(reason=reason),
        SEARCH: lambda reason: _(
            "The search or page service failed while doing that ({reason}). Nothing was changed. "
            "Please try again later; the bot owner can check `[p]ai tools` and `[p]ai diag`."
        ).format(reason=reason),
        MCP: lambda reason: _(
            "An MCP server failed while doing that ({reason}). Nothing was changed. Please try again "
            "later; the bot owner can check its MCP servers and `[p]ai diag`."
        ).format(reason=reason),
    }


def short_reason(exc: BaseException) -> str:
    """One line, no paths: the exception's type and the start of its text."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _("the disk is full")
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    if isinstance(exc, asyncio.TimeoutError):
        return _("it took too long")
    text = " ".join(str(exc).split())[:100].replace("`", "'")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _frames(exc: BaseException) -> List[str]:
    """The files of ``exc``'s traceback and of the exceptions it came from, innermost last."""
    files: List[str] = []
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        files = [f.filename.replace("\\", "/") for f in traceback.extract_tb(current.__traceback__)] + files
        current = current.__cause__ or current.__context__
    return files


def service_of(exc: BaseException) -> Optional[str]:
    """The backing service ``exc`` came from, or None when it is not a service's failure."""
    module = type(exc).__module__ or ""
    if module.startswith("chromadb") or type(exc).__name__ == "StoreError":
        return MEMORY
    if module.startswith("mcp"):
        return MCP
    files = _frames(exc)
    for path in reversed(files):  # the innermost frame that belongs to a service decides
        for service, marker in _WHERE:
            if marker in path:
                if service in (USAGE_DB, WINDOWS_DB) and not isinstance(exc, (sqlite3.Error, OSError)):
                    continue  # a bug in our own code there, not the database failing
                return service
    if isinstance(exc, sqlite3.Error):
        return USAGE_DB if any("usage" in path for path in files) else WINDOWS_DB
    if module.startswith(("openai", "httpx")):
        return PROVIDER
    return None  # e.g. an aiohttp error elsewhere (a webhook, an avatar): not a named service


def explain_service_failure(exc: BaseException, redact: Callable[[str], str] = str) -> Optional[ServiceFailure]:
    """The member's message for a backing service's failure, or None if ``exc`` is not one."""
    service = service_of(exc)
    if service is None:
        return None
    reason = redact(short_reason(exc))
    detail = redact(f"{type(exc).__name__}: {str(exc)[:300]}")
    return ServiceFailure(service, _messages()[service](reason), detail)
