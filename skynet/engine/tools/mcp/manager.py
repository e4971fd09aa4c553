"""The owner's MCP servers and their tools in the registry.

Each server's tools are registered as ordinary tools named ``<server>__<tool>`` with the owner
``mcp:<server>``, so the switches, tool policies, budgets, telemetry and the untrusted-output
wrapping apply to them unchanged. The last tool list is cached in the server's settings: the
tools are listed and offered at load without starting anything; the session starts on first use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ...errors import InvalidValue
from ...i18n import _
from ..registry import Tool, ToolContext, ToolError, ToolRegistry
from . import schema as schemas
from .config import MAX_SERVERS, ServerConfig, secrets_service
from .connection import McpConnection
from .naming import registry_names
from .results import ToolText, convert

log = logging.getLogger("red.skynet.mcp")

OWNER_PREFIX = "mcp:"
DESCRIPTION_CHARS = 1024


def owner_of(server: str) -> str:
    return f"{OWNER_PREFIX}{server}"


def server_of(tool: Tool) -> Optional[str]:
    """The MCP server a tool comes from, or None for any other tool."""
    return tool.owner[len(OWNER_PREFIX) :] if tool.owner.startswith(OWNER_PREFIX) else None


@dataclass
class ToolEntry:
    """One tool of a server as ``[p]ai mcp tools`` shows it."""

    remote: str
    registered: Optional[str]
    description: str
    skipped: Optional[str] = None
    repairs: List[str] = field(default_factory=list)


@dataclass
class TestReport:
    ok: bool
    state: str
    tools: int = 0
    skipped: int = 0
    seconds: float = 0.0
    server: str = ""
    error: Optional[str] = None


class McpManager:
    """``secrets(service)`` returns the shared API tokens of a service; ``saved(config)`` is called
    when a server's cached tool list changed (the shell persists it; never once per call)."""

    def __init__(
        self,
        registry: ToolRegistry,
        secrets: Callable[[str], Mapping[str, str]],
        *,
        saved: Callable[[ServerConfig], None] = lambda config: None,
        redact: Callable[[str], str] = lambda text: text,
        connection_factory: Callable[..., McpConnection] = McpConnection,
    ) -> None:
        self.registry = registry
        self._secrets = secrets
        self._saved = saved
        self._redact = redact
        self._factory = connection_factory
        self.servers: Dict[str, ServerConfig] = {}
        self.connections: Dict[str, McpConnection] = {}
        self.entries: Dict[str, List[ToolEntry]] = {}

    # -- servers ---------------------------------------------------------------------------------------

    def load(self, configs: Sequence[ServerConfig]) -> None:
        """Register the servers and their cached tools; nothing is started."""
        for config in configs:
            self._install(config)

    def add(self, config: ServerConfig) -> None:
        if config.name in self.servers:
            raise InvalidValue(
                _(
                    "A server named `{name}` already exists; remove it first with `[p]ai mcp remove {name}`."
                ).format(name=config.name)
            )
        if len(self.servers) >= MAX_SERVERS:
            raise InvalidValue(_("At most {count} MCP servers can be registered.").format(count=MAX_SERVERS))
        taken = [
            t.name
            for t in self.registry.all()
            if t.name.startswith(config.name + "__") and server_of(t) is None
        ]
        if taken:
            raise InvalidValue(
                _(
                    "Tools named `{name}__…` already exist (from another cog); choose another server name."
                ).format(name=config.name)
            )
        self._install(config)

    def _install(self, config: ServerConfig) -> None:
        self.servers[config.name] = config
        self.connections[config.name] = self._factory(
            config,
            lambda name=config.name: self._secrets(secrets_service(name)),
            self._tools_changed,
            redact=self._redact,
        )
        self._register(config.name, config.known_tools)

    async def remove(self, name: str) -> None:
        """Close the session (calls in flight end with a message), stop the process, drop the tools."""
        config = self.get(name)
        self.servers.pop(config.name, None)
        connection = self.connections.pop(config.name, None)
        for tool in [t for t in self.registry.all() if server_of(t) == config.name]:
            self.registry.remove(tool.name)
        self.entries.pop(config.name, None)
        if connection is not None:
            await connection.close(
                _("The MCP server `{name}` was removed while the call ran.").format(name=config.name)
            )

    def get(self, name: str) -> ServerConfig:
        config = self.servers.get(name.strip().lower())
        if config is None:
            known = ", ".join(f"`{n}`" for n in sorted(self.servers)) or _("none yet")
            raise InvalidValue(
                _("There is no MCP server `{name}`. Servers: {servers}.").format(
                    name=name[:40], servers=known
                )
            )
        return config

    def update(self, config: ServerConfig) -> None:
        """Replace a server's settings (timeout…); the session keeps running."""
        self.servers[config.name] = config
        connection = self.connections.get(config.name)
        if connection is not None:
            connection.config = config
        self._register(config.name, config.known_tools)

    async def test(self, name: str) -> TestReport:
        """Connect (or reconnect) now, list the tools, and say how it went."""
        config = self.get(name)
        connection = self.connections[config.name]
        started = time.perf_counter()
        try:
            session = await connection.ready()
            await asyncio.wait_for(session.send_ping(), 10.0)
        except ToolError as exc:
            return TestReport(
                False, connection.state, error=exc.message, seconds=time.perf_counter() - started
            )
        except Exception as exc:
            return TestReport(
                False,
                connection.state,
                error=connection._describe(exc),
                seconds=time.perf_counter() - started,
            )
        entries = self.entries.get(config.name, [])
        return TestReport(
            True,
            connection.state,
            tools=sum(1 for e in entries if e.registered),
            skipped=sum(1 for e in entries if e.skipped),
            seconds=time.perf_counter() - started,
            server=connection.server_info,
        )

    async def aclose(self) -> None:
        """Close every session and stop every child process (unload, reload, shutdown)."""
        connections = list(self.connections.values())
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)

    # -- tools -----------------------------------------------------------------------------------------

    def _tools_changed(self, connection: McpConnection, tools: List[Dict[str, Any]]) -> None:
        name = connection.config.name
        config = self.servers.get(name)
        if config is None:
            return
        if [dict(t) for t in config.known_tools] != tools:
            config = config.with_tools(tools)
            self.servers[name] = config
            connection.config = config
            self._saved(config)
        self._register(name, tools)

    def _register(self, server: str, tools: Sequence[Mapping[str, Any]]) -> None:
        valid = [t for t in tools if isinstance(t.get("name"), str) and t["name"]]
        names = registry_names(server, [t["name"] for t in valid])
        entries: List[ToolEntry] = []
        wanted: Dict[str, Tool] = {}
        for raw in sorted(valid, key=lambda t: t["name"]):
            remote = raw["name"]
            description = str(raw.get("description") or raw.get("title") or remote)
            entry = ToolEntry(remote, None, description[:300])
            entries.append(entry)
            if remote in {e.remote for e in entries[:-1]}:
                entry.skipped = _("the server lists this name twice")
                continue
            parameters, repairs, reason = schemas.convert(raw.get("inputSchema", raw.get("input_schema")))
            entry.repairs = sorted(set(repairs))
            if parameters is None:
                entry.skipped = reason
                continue
            registered = names[remote]
            existing = self.registry.get(registered)
            if existing is not None and server_of(existing) != server:
                entry.skipped = _("the name `{name}` is taken by {owner}").format(
                    name=registered, owner=existing.owner
                )
                continue
            entry.registered = registered
            wanted[registered] = self._tool(server, remote, registered, description, parameters)
        for tool in [t for t in self.registry.all() if server_of(t) == server and t.name not in wanted]:
            self.registry.remove(tool.name)
        for tool in wanted.values():
            self.registry.add(tool, replace=True)
        self.entries[server] = entries

    def _tool(
        self, server: str, remote: str, registered: str, description: str, parameters: Dict[str, Any]
    ) -> Tool:
        async def handler(arguments: Dict[str, Any], context: ToolContext) -> ToolText:
            connection = self.connections.get(server)
            if connection is None:
                raise ToolError(_("The MCP server `{name}` was removed.").format(name=server), "mcp_closed")
            result = await connection.call(remote, arguments)
            return convert(result, connection.config.max_output)

        config = self.servers[server]
        return Tool(
            registered,
            description[:DESCRIPTION_CHARS],
            parameters,
            handler,
            # The call has its own timeout (the owner's); this one also covers connecting first.
            timeout=config.timeout + 25.0,
            owner=owner_of(server),
            available=lambda: server in self.servers,
            status=lambda arguments: _("🔌 Using `{tool}` on the MCP server `{server}`…").format(
                tool=remote[:60], server=server
            ),
            summary=lambda: _("From the MCP server `{server}`: {description}").format(
                server=server, description=description[:200]
            ),
        )

    def tools_of(self, server: str) -> List[Tool]:
        return [t for t in self.registry.all() if server_of(t) == server]
