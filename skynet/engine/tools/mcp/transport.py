"""How skynet reaches an MCP server, and how a failure to reach it is told.

The transports are the ``mcp`` SDK's own (stdio child process, streamable HTTP); this module picks
one for a server's configuration and turns the SDK's and the system's exceptions into one short
sentence a server admin can act on.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Dict, Optional

from ...i18n import _
from ..registry import ToolError
from .config import HTTP, ServerConfig, environment, headers


def open_transport(config: ServerConfig, tokens: Dict[str, str], connect_timeout: float, stderr: Any) -> Any:
    """The ``mcp`` SDK's client transport for ``config`` (stdio child process or streamable HTTP)."""
    if config.transport == HTTP:
        import httpx
        from mcp.client import streamable_http

        timeout = httpx.Timeout(connect_timeout, read=max(config.timeout, 60.0) + 5)
        new_api = getattr(streamable_http, "streamable_http_client", None)
        if new_api is not None:
            client = httpx.AsyncClient(headers=headers(tokens), timeout=timeout, follow_redirects=True)
            return _owning(client, new_api(config.url, http_client=client))
        return streamable_http.streamablehttp_client(config.url, headers=headers(tokens))
    from mcp.client.stdio import StdioServerParameters, stdio_client

    parameters = StdioServerParameters(
        command=config.command, args=list(config.args), env=environment(tokens) or None
    )
    return stdio_client(parameters, errlog=stderr)


def describe_failure(exc: BaseException, command: str) -> str:
    """A short sentence about a failure (exception groups unwrapped); the caller redacts it."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:  # noqa: F821 (3.11+, backport below)
        exc = exc.exceptions[0]
    if isinstance(exc, ToolError):
        text = exc.message
    elif isinstance(exc, FileNotFoundError):
        text = _("the command `{command}` was not found").format(command=command[:100])
    elif isinstance(exc, PermissionError):
        text = _("the command `{command}` can't be run (permission denied)").format(command=command[:100])
    else:
        name = type(exc).__name__
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status is not None:
            text = _(
                "the address answered HTTP {status}: it is not an MCP endpoint, or it refused the request"
            ).format(status=status)
        elif name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError"):
            text = _("the address did not answer ({error})").format(error=name)
        elif getattr(exc, "error", None) is not None:
            text = str(getattr(exc.error, "message", "") or name)[:300]  # type: ignore[attr-defined]
        else:
            text = f"{name}: {str(exc)[:300]}" if str(exc) else name
    return text


def stderr_tail(stderr: Any) -> Optional[str]:
    """The last line the child process wrote on stderr (why it failed to start, usually)."""
    with contextlib.suppress(Exception):
        stderr.flush()
        stderr.seek(0, os.SEEK_END)
        stderr.seek(max(0, stderr.tell() - 2000))
        lines = [line.strip() for line in stderr.read().splitlines() if line.strip()]
        return lines[-1][:300] if lines else None
    return None


@contextlib.asynccontextmanager
async def _owning(client: Any, transport: Any) -> Any:
    """The HTTP transport, closing our own ``httpx`` client after it."""
    async with client:
        async with transport as streams:
            yield streams[0], streams[1]


if sys.version_info < (3, 11):  # pragma: no cover - the backport anyio installs
    from exceptiongroup import BaseExceptionGroup  # type: ignore[no-redef]  # noqa: F401
