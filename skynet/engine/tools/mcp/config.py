"""One MCP server's settings, the owner's ``add`` arguments, and its secrets.

Secrets never live here: they are Red's shared API tokens of the service ``mcp-<name>``
(``[p]set api mcp-github GITHUB_TOKEN,ghp_…``). For a stdio server every token becomes an
environment variable of the child process; for an HTTP server every token becomes a header
(``bearer,<token>`` is sent as ``Authorization: Bearer <token>``, because ``[p]set api`` splits
values at spaces).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from ...errors import InvalidValue
from ...i18n import _

STDIO, HTTP = "stdio", "http"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
DEFAULT_TIMEOUT = 30.0
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 600.0
DEFAULT_CONCURRENCY = 4
DEFAULT_OUTPUT_CHARS = 20_000
MAX_SERVERS = 50
MAX_ARGS_CHARS = 2000


def secrets_service(name: str) -> str:
    """The shared-API-token service holding the server's secrets."""
    return f"mcp-{name}"


@dataclass(frozen=True)
class ServerConfig:
    """What the owner registered. ``known_tools`` caches the last tool list (raw MCP tool
    dicts) so the tools are listed, switched and offered before the server is first contacted."""

    name: str
    transport: str
    command: str = ""
    args: Sequence[str] = ()
    url: str = ""
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    max_output: int = DEFAULT_OUTPUT_CHARS
    known_tools: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    def to_json(self) -> Dict[str, Any]:
        return {
            "transport": self.transport,
            "command": self.command,
            "args": list(self.args),
            "url": self.url,
            "timeout": self.timeout,
            "concurrency": self.concurrency,
            "max_output": self.max_output,
            "known_tools": [dict(t) for t in self.known_tools],
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> "ServerConfig":
        return cls(
            name=name,
            transport=str(data.get("transport") or STDIO),
            command=str(data.get("command") or ""),
            args=tuple(str(a) for a in data.get("args") or ()),
            url=str(data.get("url") or ""),
            timeout=float(data.get("timeout") or DEFAULT_TIMEOUT),
            concurrency=int(data.get("concurrency") or DEFAULT_CONCURRENCY),
            max_output=int(data.get("max_output") or DEFAULT_OUTPUT_CHARS),
            known_tools=tuple(dict(t) for t in data.get("known_tools") or () if isinstance(t, Mapping)),
        )

    def with_tools(self, tools: Sequence[Mapping[str, Any]]) -> "ServerConfig":
        return replace(self, known_tools=tuple(dict(t) for t in tools))

    def target(self) -> str:
        """Where the server is, as the owner may read it: the command line, or the URL without
        its query string and user info (a key pasted into a URL is not shown back)."""
        if self.transport == HTTP:
            return public_url(self.url)
        return " ".join(shlex.quote(part) for part in (self.command, *self.args))


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME_RE.match(name):
        raise InvalidValue(
            _(
                "A server name is 1-24 lower-case letters, digits or `-`, starting with a letter or digit (e.g. `time`)."
            )
        )
    return name


def public_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def parse_target(name: str, words: Sequence[str]) -> ServerConfig:
    """``add <name> <url | command [args…]>``: an http(s) URL is a streamable-HTTP server,
    anything else a command to run (stdio). Quotes group an argument with spaces."""
    name = check_name(name)
    if not words:
        raise InvalidValue(
            _(
                "Give the server's URL or the command that starts it, e.g. `[p]ai mcp add time uvx mcp-server-time`."
            )
        )
    first = words[0]
    if re.match(r"(?i)^https?://", first):
        if len(words) > 1:
            raise InvalidValue(
                _("An HTTP server takes only its URL; put headers in `[p]set api mcp-{name} …`.").format(
                    name=name
                )
            )
        parts = urlsplit(first)
        if not parts.hostname or len(first) > 2000:
            raise InvalidValue(_("That URL has no host name."))
        if parts.username or parts.password:
            raise InvalidValue(
                _(
                    "Don't put credentials in the URL: set them with `[p]set api mcp-{name} bearer,<token>`."
                ).format(name=name)
            )
        return ServerConfig(name=name, transport=HTTP, url=first)
    if sum(len(w) for w in words) > MAX_ARGS_CHARS:
        raise InvalidValue(
            _("That command line is too long (over {limit} characters).").format(limit=MAX_ARGS_CHARS)
        )
    if any("\x00" in w or "\n" in w for w in words):
        raise InvalidValue(_("The command line can't contain line breaks."))
    return ServerConfig(name=name, transport=STDIO, command=first, args=tuple(words[1:]))


def check_timeout(seconds: float) -> float:
    if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise InvalidValue(
            _("The timeout must be between {low:g} and {high:g} seconds.").format(
                low=MIN_TIMEOUT, high=MAX_TIMEOUT
            )
        )
    return float(seconds)


ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
HEADER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def environment(tokens: Mapping[str, str]) -> Dict[str, str]:
    """The child's extra environment: every token whose key is a valid variable name."""
    return {k: str(v) for k, v in tokens.items() if ENV_NAME_RE.match(k) and v is not None}


def headers(tokens: Mapping[str, str]) -> Dict[str, str]:
    """HTTP headers from the tokens; ``bearer``/``token`` become ``Authorization: Bearer …``."""
    result: Dict[str, str] = {}
    for key, value in tokens.items():
        if value is None or not HEADER_RE.match(key):
            continue
        if key.lower() in ("bearer", "token", "api_key"):
            result["Authorization"] = f"Bearer {value}"
        else:
            result[key] = str(value)
    return result


def secret_values(tokens: Mapping[str, str]) -> List[str]:
    """Every value to redact from output and logs."""
    return [str(v) for v in tokens.values() if v]
