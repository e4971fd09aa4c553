"""MCP client: tools from any Model Context Protocol server become ordinary registry tools.

- :mod:`.config`: a server's settings (stdio command or streamable-HTTP URL, timeout, limits) and
  how its secrets (Red's shared API tokens ``mcp-<name>``) become environment variables or headers;
- :mod:`.naming`, :mod:`.schema`, :mod:`.results`: MCP tools and results in OpenAI's terms;
- :mod:`.connection`: one session per server, owned by its own task (connect, reconnect with
  backoff, ``tools/list_changed``, per-call timeout, cancellation and concurrency);
- :mod:`.manager`: the servers, their tools in the registry, and the bound on schemas per request.

The ``mcp`` package is imported on first use only (it is heavy, and needs Python 3.10+): without it
:func:`unavailable_reason` says why and the rest of the cog works.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Optional

from ...i18n import _


def unavailable_reason() -> Optional[str]:
    """Why MCP can't be used on this bot, or None when it can (checked without importing it)."""
    if sys.version_info < (3, 10):
        return _(
            "MCP needs Python 3.10 or newer; this bot runs Python {version}. The rest of the cog works."
        ).format(version=f"{sys.version_info[0]}.{sys.version_info[1]}")
    if importlib.util.find_spec("mcp") is None:
        return _(
            "The `mcp` package is not installed. The bot owner can install it with "
            "`[p]pipinstall mcp` (or reinstall the cog), then reload it."
        )
    return None
