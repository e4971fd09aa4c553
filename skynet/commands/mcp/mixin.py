"""``[p]ai mcp …``: the owner's MCP servers, and admins switching their tools on.

The engine (``skynet/engine/tools/mcp/``) does the work; this is the thin shell: Config, shared
API tokens, lifecycle (``load_mcp``/``unload_mcp`` from the cog) and the commands.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from typing import Any, Dict, List, Mapping, Optional, Set

from redbot.core import commands
from redbot.core.utils.chat_formatting import pagify

from ...abc import MixinMeta
from ...engine.attachments.vision import supports_vision
from ...engine.errors import InvalidValue
from ...engine.tools.mcp import unavailable_reason
from ...engine.tools.mcp.bound import DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOOLS, SchemaBound
from ...engine.tools.mcp.config import (
    HTTP,
    ServerConfig,
    check_timeout,
    parse_target,
    secret_values,
    secrets_service,
)
from ...engine.tools.mcp.manager import McpManager, owner_of, server_of
from ...i18n import _
from ..common import ScopeChoice, reply, scope_label, writable_scope
from ..group import AIGroup

log = logging.getLogger("red.skynet.mcp")

SERVICE_PREFIX = "mcp-"


def _state_label(state: str) -> str:
    labels = {
        "idle": _("not started (connects on first use)"),
        "connecting": _("connecting"),
        "ready": _("connected"),
        "failed": _("disconnected"),
        "closed": _("closed"),
    }
    return labels.get(state, state)


class McpMixin(MixinMeta):
    mcp: McpManager
    mcp_bound: SchemaBound

    # -- lifecycle (called from cog.py) ----------------------------------------------------------

    def init_mcp(self) -> None:
        self._mcp_tokens: Dict[str, Mapping[str, str]] = {}
        self._mcp_writes: Set[asyncio.Task] = set()
        self.mcp = McpManager(
            self.tool_service.registry,
            lambda service: self._mcp_tokens.get(service, {}),
            saved=self._mcp_saved,
            redact=self.redactor.redact,
        )
        self.mcp_bound = SchemaBound(lambda text: self.engine.counter.count(text))
        self.tool_loop.select = self._select_tools
        # Images an MCP tool returns are shown to the model only if it is known to take images.
        self.tool_loop.sees_images = lambda provider, model: (
            supports_vision(provider.endpoint.name, model, self.engine.vision_overrides) is True
        )

    async def load_mcp(self) -> None:
        """Register the servers and their cached tools; no process starts until a tool is used."""
        limits = await self.config.mcp_limits()
        self.mcp_bound.max_tools = int(limits.get("max_tools", DEFAULT_MAX_TOOLS))
        self.mcp_bound.max_tokens = int(limits.get("max_tokens", DEFAULT_MAX_TOKENS))
        servers = await self.config.mcp_servers()
        if not servers or unavailable_reason() is not None:
            return
        for service, tokens in (await self.bot.get_shared_api_tokens()).items():
            self.mcp_tokens_changed(service, tokens)
        configs = []
        for name, data in servers.items():
            try:
                configs.append(ServerConfig.from_json(name, data))
            except (TypeError, ValueError):
                log.warning("Skipping the MCP server %s: its settings can't be read.", name)
        self.mcp.load(configs)

    async def unload_mcp(self) -> None:
        """Close every session and stop every child process; finish the pending settings writes."""
        await self.mcp.aclose()
        if self._mcp_writes:
            await asyncio.gather(*self._mcp_writes, return_exceptions=True)

    def mcp_tokens_changed(self, service: str, tokens: Mapping[str, str]) -> None:
        """Red's ``on_red_api_tokens_update``: secrets are used at the next (re)connection."""
        if service.startswith(SERVICE_PREFIX):
            self._mcp_tokens[service] = dict(tokens)
            for value in secret_values(tokens):
                self.redactor.add(value)

    def _mcp_saved(self, config: ServerConfig) -> None:
        """The server's tool list changed: store it (a rare write, never once per call)."""
        task = asyncio.get_running_loop().create_task(self._store_server(config))
        self._mcp_writes.add(task)
        task.add_done_callback(self._mcp_writes.discard)

    async def _store_server(self, config: ServerConfig) -> None:
        async with self.config.mcp_servers() as servers:
            if config.name in servers:
                servers[config.name] = config.to_json()

    def _select_tools(self, tools: List[Any], request: Any) -> List[Any]:
        """The bound on schemas per request: MCP tools most relevant to the message first."""
        return self.mcp_bound.select(tools, str(getattr(request, "text", "") or ""))

    # -- commands ---------------------------------------------------------------------------------

    def _mcp_ready(self) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise InvalidValue(reason)

    @AIGroup.ai.group(name="mcp", with_app_command=False)
    async def ai_mcp(self, ctx: commands.Context) -> None:
        """Tools from MCP servers (Model Context Protocol): GitHub, files, databases, your own…"""

    @ai_mcp.command(name="add", with_app_command=False)
    @commands.is_owner()
    async def ai_mcp_add(self, ctx: commands.Context, name: str, *, target: str) -> None:
        """Register an MCP server: a URL (streamable HTTP) or the command that starts it (stdio). Owner.

        Secrets go in Red's API tokens, never here: `[p]set api mcp-<name> KEY,value` (environment
        variables of the command; for a URL, headers: `bearer,<token>` sends `Authorization: Bearer`).
        Example: `[p]ai mcp add time uvx mcp-server-time`
        """
        self._mcp_ready()
        try:
            words = shlex.split(target)
        except ValueError:
            raise InvalidValue(_("The command line has an unclosed quote.")) from None
        config = parse_target(name, words)
        self.mcp.add(config)
        async with self.config.mcp_servers() as servers:
            servers[config.name] = config.to_json()
        async with ctx.typing():
            report = await self.mcp.test(config.name)
        kind = _("streamable HTTP") if config.transport == HTTP else _("stdio")
        text = _("Added the MCP server `{name}` ({kind}: `{target}`).").format(
            name=config.name, kind=kind, target=config.target()[:300]
        )
        if report.ok:
            tools = ", ".join(f"`{t.name}`" for t in self.mcp.tools_of(config.name)[:15])
            text += "\n" + _("Connected: {count} tool(s): {tools}.").format(count=report.tools, tools=tools)
            text += "\n" + _("They are off until an admin runs `[p]ai mcp enable {name}`.").format(
                name=config.name
            )
        else:
            text += "\n" + _(
                "It can't be reached yet: {error}\nCheck it with `[p]ai mcp test {name}`."
            ).format(error=report.error, name=config.name)
        text += "\n" + _("Secrets: `[p]set api {service} KEY,value` (used at the next connection).").format(
            service=secrets_service(config.name)
        )
        await reply(ctx, text.replace("[p]", ctx.clean_prefix))

    @ai_mcp.command(name="remove", with_app_command=False)
    @commands.is_owner()
    async def ai_mcp_remove(self, ctx: commands.Context, name: str) -> None:
        """Remove an MCP server: its session ends, its process stops, its tools go. Owner."""
        config = self.mcp.get(name)
        await self.mcp.remove(config.name)
        async with self.config.mcp_servers() as servers:
            servers.pop(config.name, None)
        await reply(ctx, _("Removed the MCP server `{name}`.").format(name=config.name))

    @ai_mcp.command(name="list", with_app_command=False)
    @commands.is_owner()
    async def ai_mcp_list(self, ctx: commands.Context) -> None:
        """The MCP servers: state, tools, last error, latency. Owner."""
        self._mcp_ready()
        if not self.mcp.servers:
            await reply(
                ctx,
                _("No MCP server yet. Add one with `[p]ai mcp add <name> <url | command>`.").replace(
                    "[p]", ctx.clean_prefix
                ),
            )
            return
        lines = []
        for name, config in sorted(self.mcp.servers.items()):
            connection = self.mcp.connections[name]
            entries = self.mcp.entries.get(name, [])
            tools = sum(1 for e in entries if e.registered)
            skipped = sum(1 for e in entries if e.skipped)
            latency = connection.latency()
            line = _("**{name}** — {state}; {tools} tool(s)").format(
                name=name, state=_state_label(connection.state), tools=tools
            )
            if skipped:
                line += _(", {count} skipped").format(count=skipped)
            if latency is not None:
                line += _("; median call {ms} ms").format(ms=f"{latency * 1000:.0f}")
            line += _("; timeout {seconds:g} s").format(seconds=config.timeout)
            line += f"\n  `{config.target()[:200]}`"
            if connection.last_error:
                line += "\n  " + _("Last error: {error}").format(
                    error=self.redactor.redact(connection.last_error)[:300]
                )
            lines.append(line)
        for page in pagify("\n".join(lines), page_length=1900):
            await reply(ctx, page)

    @ai_mcp.command(name="tools", with_app_command=False)
    @commands.is_owner()
    async def ai_mcp_tools(self, ctx: commands.Context, name: str) -> None:
        """The tools of one MCP server, their names here, and why a tool was skipped. Owner."""
        config = self.mcp.get(name)
        if not self.mcp.entries.get(config.name):
            async with ctx.typing():
                await self.mcp.test(config.name)
        guild_id = ctx.guild.id if ctx.guild else None
        channel_id = getattr(ctx.channel, "parent_id", None) or ctx.channel.id if ctx.guild else None
        lines = [_("Tools of `{name}`:").format(name=config.name)]
        for entry in self.mcp.entries.get(config.name, []):
            if entry.skipped:
                lines.append(
                    _("- `{tool}` ⚠️ skipped: {reason}").format(tool=entry.remote[:80], reason=entry.skipped)
                )
                continue
            tool = self.tool_service.registry.get(entry.registered)
            on, source = self.switched_on(tool, guild_id, channel_id) if tool else (False, "")
            state = _("✅ on") if on else _("⛔ off")
            line = f"- `{entry.registered}` {state} ({source}): {entry.description[:120]}"
            if entry.repairs:
                line += " " + _("(schema repaired)")
            lines.append(line)
        if len(lines) == 1:
            lines.append(
                _("None known yet: the server hasn't been reached. Try `[p]ai mcp test {name}`.").format(
                    name=config.name
                )
            )
        for page in pagify("\n".join(lines).replace("[p]", ctx.clean_prefix), page_length=1900):
            await reply(ctx, page)

    @ai_mcp.command(name="test", with_app_command=False)
    @commands.is_owner()
    async def ai_mcp_test(self, ctx: commands.Context, name: str) -> None:
        """Connect to an MCP server now, list its tools and report. Owner."""
        config = self.mcp.get(name)
        async with ctx.typing():
            report = await self.mcp.test(config.name)
        if report.ok:
            text = _(
                "✅ `{name}` answers ({server}): {tools} tool(s), {skipped} skipped, in {ms} ms."
            ).format(
                name=config.name,
                server=report.server or "?",
                tools=report.tools,
                skipped=report.skipped,
                ms=f"{report.seconds * 1000:.0f}",
            )
        else:
            text = _("❌ {error}").format(error=self.redactor.redact(report.error or ""))
        await reply(ctx, text)

    @ai_mcp.command(name="timeout", with_app_command=False)
    @commands.is_owner()
    async def ai_mcp_timeout(self, ctx: commands.Context, name: str, seconds: float) -> None:
        """Set how long one call to this server may take (1-600 s, default 30). Owner."""
        config = self.mcp.get(name)
        updated = ServerConfig.from_json(config.name, {**config.to_json(), "timeout": check_timeout(seconds)})
        self.mcp.update(updated)
        await self._store_server(updated)
        await reply(
            ctx,
            _("Calls to `{name}` may now take up to {seconds:g} s.").format(
                name=config.name, seconds=updated.timeout
            ),
        )

    @ai_mcp.command(name="bound", with_app_command=False)
    @commands.is_owner()
    async def ai_mcp_bound(self, ctx: commands.Context, tools: int, tokens: int = DEFAULT_MAX_TOKENS) -> None:
        """Offer at most `tools` tool schemas and `tokens` tokens of MCP schemas per request. Owner.

        The MCP tools closest to the member's message are chosen among those enabled there.
        """
        if not 1 <= tools <= 128 or not 200 <= tokens <= 100_000:
            raise InvalidValue(_("Choose 1-128 tools and 200-100000 tokens, e.g. `[p]ai mcp bound 24 3000`."))
        self.mcp_bound.max_tools, self.mcp_bound.max_tokens = tools, tokens
        await self.config.mcp_limits.set({"max_tools": tools, "max_tokens": tokens})
        await reply(
            ctx,
            _("Each request now offers at most {tools} tools and {tokens} tokens of MCP schemas.").format(
                tools=tools, tokens=tokens
            ),
        )

    async def _mcp_switch(self, ctx: commands.Context, scope: Optional[str], target: str, on: bool) -> None:
        server, _sep, tool = target.strip().partition(":")
        config = self.mcp.get(server)
        if tool:
            found = self._mcp_tool(config.name, tool.strip())
            key, label = found, f"`{found}`"
        else:
            key, label = owner_of(config.name), _("every tool of `{name}`").format(name=config.name)
        where = await writable_scope(ctx, scope)
        await self.settings.set_tool_switch(where, key, on)
        if on:
            self.mcp.connections[config.name].start()  # connect now: its tool list may have changed
        done = _("{what} is now on for {scope}.") if on else _("{what} is now off for {scope}.")
        await reply(ctx, done.format(what=label, scope=scope_label(where.kind)))

    def _mcp_tool(self, server: str, tool: str) -> str:
        """The registered name of ``tool`` (its name on the server, or here) of ``server``."""
        for entry in self.mcp.entries.get(server, []):
            if tool in (entry.remote, entry.registered) and entry.registered:
                return entry.registered
        names = ", ".join(f"`{t.name}`" for t in self.mcp.tools_of(server)[:20]) or _("none known yet")
        raise InvalidValue(
            _("`{server}` has no tool `{tool}`. Its tools: {tools}.").format(
                server=server, tool=tool[:80], tools=names
            )
        )

    @ai_mcp.command(name="enable", with_app_command=False)
    async def ai_mcp_enable(self, ctx: commands.Context, scope: Optional[ScopeChoice], target: str) -> None:
        """Let the assistant use an MCP server's tools here (`name`, or one tool: `name:tool`). Admins."""
        await self._mcp_switch(ctx, scope, target, True)

    @ai_mcp.command(name="disable", with_app_command=False)
    async def ai_mcp_disable(self, ctx: commands.Context, scope: Optional[ScopeChoice], target: str) -> None:
        """Stop the assistant from using an MCP server's tools here (`name` or `name:tool`). Admins."""
        await self._mcp_switch(ctx, scope, target, False)


__all__ = ["McpMixin", "server_of"]
