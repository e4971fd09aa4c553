"""``/ai tools …`` and ``/ai search | scrape | crawl | autosearch``: the assistant's tools.

Also the public API other cogs use to add tools (``register_tool`` / ``unregister_tool``),
documented in docs/tools.md.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import box, pagify

from ..abc import MixinMeta
from ..engine.errors import InvalidValue
from ..engine.periodic import PeriodicFlush
from ..engine.tools.builtins import builtin_tools, for_members
from ..engine.tools.guard import UrlGuard
from ..engine.tools.loop import DEFAULT_STEPS, MAX_STEPS, ToolLoop, run_direct
from ..engine.tools.registry import Handler, Tool, ToolContext, namespaced
from ..engine.tools.service import SERVICES, ToolService
from ..engine.tools.switches import ALL, enabled_names, is_enabled
from ..i18n import _
from .common import ScopeChoice, reply, scope_label, settings_channel_id, writable_scope
from .group import AIGroup

log = logging.getLogger("red.skynet.tools")

STATS_FLUSH = 30.0  # seconds between telemetry writes (only when something changed)
SWITCH_SCOPES = ("channel", "guild", "global")


def _links(text: str) -> str:
    """Bare URLs on their own line become <url> so Discord doesn't unfurl ten previews."""
    return re.sub(r"(?m)^(https?://\S+)$", r"<\1>", text)


async def _pages(ctx: commands.Context, text: str, *, limit: int = 6) -> None:
    pages = list(pagify(text, page_length=1900, shorten_by=0))
    for _index, page in enumerate(pages[:limit]):
        await reply(ctx, page)
    if len(pages) > limit:
        await reply(ctx, _("*(…{count} more page(s) not shown.)*").format(count=len(pages) - limit))


class ToolsMixin(MixinMeta):
    tool_service: ToolService
    tool_loop: ToolLoop

    # -- lifecycle (called from cog.py) ----------------------------------------------------------

    def init_tools(self) -> None:
        self.tool_service = ToolService(UrlGuard())
        for tool in builtin_tools(self.tool_service):
            self.tool_service.registry.add(tool)
        self.tool_loop = ToolLoop(
            self.tool_service.registry.all,
            self.tool_service.telemetry,
            enabled=self._enabled_tools,
            gate=self._tool_gate,
            redactor=self.redactor,
            count_tokens=lambda text: self.engine.counter.count(text),
            max_steps=lambda: int(self.settings.tool_config.get("steps", DEFAULT_STEPS)),
        )
        self.engine.tools = self.tool_loop
        self._tool_stats_flush = PeriodicFlush(
            self.flush_tool_stats,
            "skynet-tool-stats",
            on_error=lambda: log.exception("Could not store tool telemetry; will retry."),
        )

    async def load_tools(self) -> None:
        config = self.settings.tool_config
        self.tool_service.choice = {"search": config.get("search"), "scrape": config.get("scrape")}
        self.tool_service.guard.allow = tuple(config.get("allow") or ())
        for service in SERVICES:
            self._tool_tokens(service, await self.bot.get_shared_api_tokens(service))
        self.tool_service.telemetry.restore(await self.config.tool_stats())
        self._tool_stats_flush.start(STATS_FLUSH)

    async def unload_tools(self) -> None:
        await self._tool_stats_flush.stop()
        await self.tool_service.aclose()

    def _tool_tokens(self, service: str, tokens: Mapping[str, str]) -> None:
        if service in SERVICES:
            self.tool_service.set_tokens(service, tokens)
            self.redactor.add(tokens.get("api_key"))
            self.redactor.add(tokens.get("api_url"))  # service addresses never appear in output

    async def flush_tool_stats(self) -> None:
        if self.tool_service.telemetry.dirty:
            await self.config.tool_stats.set(self.tool_service.telemetry.snapshot())

    # -- what is on, and the gate ---------------------------------------------------------------

    def _switch_layers(self, request: Any) -> List[Mapping[str, bool]]:
        return self.settings.tool_switches(
            getattr(request, "guild_id", None), getattr(request, "channel_id", None)
        )

    def _enabled_tools(self, request: Any) -> List[str]:
        """Tools offered to the model: switched on here and allowed for this member by policy."""
        names = enabled_names(self.tool_service.registry.all(), self._switch_layers(request))
        return [name for name in names if self.tool_refusal(name, request) is None]

    async def _tool_gate(self, name: str, request: Any) -> Optional[str]:
        """Checked when each call runs: the tool must be switched on here and allowed by policy."""
        tool = self.tool_service.registry.get(name)
        if tool is None or not is_enabled(tool, self._switch_layers(request))[0]:
            return _(
                "The tool `{name}` is disabled here; an admin can turn it on with `[p]ai tools enable {name}`."
            ).format(name=name)
        return self.tool_refusal(name, request)

    # -- public API for other cogs ---------------------------------------------------------------

    def register_tool(
        self,
        cog: Union[commands.Cog, str],
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        handler: Handler,
        *,
        timeout: float = 30.0,
        cooldown: float = 0.0,
        enabled_by_default: bool = False,
        status: Optional[Callable[[Dict[str, Any]], str]] = None,
        available: Optional[Callable[[], bool]] = None,
        needs: Union[str, Callable[[], str], None] = None,
        summary: Union[str, Callable[[], str], None] = None,
    ) -> str:
        """Add a tool the assistant can call; returns its registered name ``<cog>__<name>``.

        ``handler(arguments: dict, context: ToolContext) -> str`` is awaited with validated arguments.
        Registering the same name again replaces the tool. Call ``unregister_tool`` in ``cog_unload``.
        ``needs`` and ``summary`` (what members read in ``[p]ai tools list``; default: the
        description) may be functions returning the text, so it is translated each time it is shown.
        """
        owner = cog if isinstance(cog, str) else cog.qualified_name
        full = namespaced(owner, name)
        tool = Tool(
            full,
            description[:1024],
            dict(parameters),
            handler,
            timeout=max(1.0, min(300.0, float(timeout))),
            cooldown=max(0.0, float(cooldown)),
            needs=needs,
            available=available or (lambda: True),
            status=status,
            owner=owner,
            default_enabled=enabled_by_default,
            summary=summary,
        )
        existing = self.tool_service.registry.get(full)
        if existing is not None and existing.owner != owner:
            raise InvalidValue(
                _("The tool name `{name}` is taken by {owner}.").format(name=full, owner=existing.owner)
            )
        self.tool_service.registry.add(tool, replace=True)
        return full

    def unregister_tool(self, name: str, cog: Union[commands.Cog, str, None] = None) -> bool:
        """Remove a tool registered with ``register_tool`` (by its full or short name with ``cog``)."""
        if cog is not None:
            name = namespaced(cog if isinstance(cog, str) else cog.qualified_name, name)
        tool = self.tool_service.registry.get(name)
        if tool is None or tool.owner == "skynet":
            return False
        return self.tool_service.registry.remove(name)

    # -- commands ---------------------------------------------------------------------------------

    def _tool_or_error(self, name: str) -> Tool:
        tool = self.tool_service.registry.get(name.strip())
        if tool is None:
            raise InvalidValue(
                _("There is no tool `{name}`. Tools: {tools}.").format(
                    name=name[:64], tools=", ".join(self.tool_service.registry.names())
                )
            )
        return tool

    def _here_layers(self, ctx: commands.Context) -> List[Mapping[str, bool]]:
        guild_id = ctx.guild.id if ctx.guild else None
        channel_id = settings_channel_id(ctx.channel) if ctx.guild else None
        return self.settings.tool_switches(guild_id, channel_id)

    def switched_on(self, tool: Tool, guild_id: Optional[int], channel_id: Optional[int]) -> Tuple[bool, str]:
        """Whether ``tool`` is switched on in that channel (DMs: None, None), and the scope that
        decided, as users read it."""
        on, index = is_enabled(tool, self.settings.tool_switches(guild_id, channel_id))
        scopes = SWITCH_SCOPES if guild_id is not None else ("global",)
        return on, scope_label(scopes[index] if index is not None else "default")

    @AIGroup.ai.group(name="tools")
    async def ai_tools(self, ctx: commands.Context) -> None:
        """The assistant's tools: web search, reading pages, crawling, research, a calculator…"""

    @ai_tools.command(name="list")
    async def ai_tools_list(self, ctx: commands.Context) -> None:
        """List the tools, whether each is on here, and what a tool still needs to work."""
        guild_id = ctx.guild.id if ctx.guild else None
        channel_id = settings_channel_id(ctx.channel) if ctx.guild else None
        lines = []
        for tool in self.tool_service.registry.all():
            on, source = self.switched_on(tool, guild_id, channel_id)
            state = _("✅ on") if on else _("⛔ off")
            if not tool.available():
                line = _("**{name}** {state} ({source}): not offered until the owner sets up {needs}").format(
                    name=tool.name, state=state, source=source, needs=tool.needs_text()
                )
            elif tool.owner != "skynet":
                line = _("**{name}** {state} ({source}), from the {cog} cog").format(
                    name=tool.name, state=state, source=source, cog=tool.owner
                )
            else:
                line = f"**{tool.name}** {state} ({source})"
            lines.append(line + f"\n  {tool.summary_text()[:150]}")
        lines.append(
            "\n" + _("Turn a tool on with `[p]ai tools enable [scope] <tool>` (`all` for every tool).")
        )
        await _pages(ctx, "\n".join(lines).replace("[p]", ctx.clean_prefix))

    @ai_tools.command(name="info")
    @app_commands.describe(tool="The tool's name")
    async def ai_tools_info(self, ctx: commands.Context, tool: str) -> None:
        """Show one tool: what it does, its arguments, limits, and its numbers."""
        found = self._tool_or_error(tool)
        stats = self.tool_service.telemetry.stats(found.name)
        on, _layer = is_enabled(found, self._here_layers(ctx))
        args = ", ".join(
            f"`{k}`{'*' if k in found.parameters.get('required', ()) else ''}"
            for k in found.parameters.get("properties", {})
        ) or _("none")
        header = _("**{name}** (on here; from {owner})") if on else _("**{name}** (off here; from {owner})")
        available = _("yes") if found.available() else _("no, needs {needs}").format(needs=found.needs_text())
        details = _(
            "Arguments: {arguments} (* = required)\n"
            "Timeout {timeout} s, cooldown {cooldown} s per user\n"
            "Available: {available}\n"
            "Calls {calls}, successes {successes}, failures {failures}"
        ).format(
            arguments=args,
            timeout=f"{found.timeout:g}",
            cooldown=f"{found.cooldown:g}",
            available=available,
            calls=stats.calls,
            successes=stats.successes,
            failures=sum(stats.failures.values()),
        )
        text = f"{header.format(name=found.name, owner=found.owner)}\n{found.summary_text()}\n{details}"
        await reply(ctx, text.replace("[p]", ctx.clean_prefix)[:2000])

    async def _switch(self, ctx: commands.Context, scope: Optional[str], tool: str, on: bool) -> None:
        target = await writable_scope(ctx, scope)
        name = tool.strip().lower() if tool.strip().lower() == ALL else self._tool_or_error(tool).name
        # `all` replaces every switch at that scope; a tool's own switch keeps the others.
        await self.settings.set_tool_switch(target, name, on, only=name == ALL)
        if name == ALL:
            done = _("Every tool is now on for {scope}.") if on else _("Every tool is now off for {scope}.")
        else:
            done = _("`{tool}` is now on for {scope}.") if on else _("`{tool}` is now off for {scope}.")
        text = done.format(tool=name, scope=scope_label(target.kind))
        found = self.tool_service.registry.get(name)
        if on and found is not None and not found.available():
            note = _("It is offered once the owner sets up {needs}.").format(needs=found.needs_text())
            text += " " + note.replace("[p]", ctx.clean_prefix)
        await reply(ctx, text)

    @ai_tools.command(name="enable")
    @app_commands.describe(tool="Tool name, or `all`", scope="Where (default: this server)")
    async def ai_tools_enable(self, ctx: commands.Context, scope: Optional[ScopeChoice], tool: str) -> None:
        """Let the assistant use a tool here (`all` for every tool). Admins; `global` is owner-only."""
        await self._switch(ctx, scope, tool, True)

    @ai_tools.command(name="disable")
    @app_commands.describe(tool="Tool name, or `all`", scope="Where (default: this server)")
    async def ai_tools_disable(self, ctx: commands.Context, scope: Optional[ScopeChoice], tool: str) -> None:
        """Stop the assistant from using a tool here (`all` for every tool)."""
        await self._switch(ctx, scope, tool, False)

    @ai_tools.command(name="stats")
    async def ai_tools_stats(self, ctx: commands.Context) -> None:
        """Calls, failures, latency and cooldowns of every tool since install."""
        telemetry = self.tool_service.telemetry
        rows = [f"{_('tool'):<18}{_('calls'):>6}{_('ok'):>6}{'p50':>8}{'p95':>8}  {_('failures / cooldown')}"]
        errors = []
        for name, stats in sorted(telemetry.all().items()):
            tool = self.tool_service.registry.get(name)
            p50, p95 = stats.percentile(0.5), stats.percentile(0.95)
            fmt = lambda v: f"{v * 1000:.0f}ms" if v is not None else "-"  # noqa: E731
            fails = ", ".join(f"{k} {v}" for k, v in stats.failures.most_common(3)) or "-"
            left = telemetry.longest_cooldown_left(name, tool.cooldown) if tool else 0.0
            rows.append(
                f"{name[:17]:<18}{stats.calls:>6}{stats.successes:>6}{fmt(p50):>8}{fmt(p95):>8}  {fails}"
                + (f" / {left:.0f}s" if left else "")
            )
            if stats.last_error:
                errors.append(f"- `{name}`: {self.redactor.redact(stats.last_error)[:150]}")
        if len(rows) == 1:
            await reply(ctx, _("No tool has been used yet."))
            return
        text = box("\n".join(rows)) + ("\n" + _("Last errors:") + "\n" + "\n".join(errors) if errors else "")
        await _pages(ctx, text)

    @ai_tools.command(name="schema")
    async def ai_tools_schema(self, ctx: commands.Context) -> None:
        """Print the JSON schemas of the tools (the OpenAI `tools` format), for other agents."""
        schemas = [tool.openai_schema() for tool in self.tool_service.registry.all()]
        text = json.dumps(schemas, indent=1, ensure_ascii=False)
        for page in pagify(text, page_length=1980, shorten_by=0, delims=["\n"]):
            await reply(ctx, box(page, "json"))

    @ai_tools.command(name="backend")
    @commands.is_owner()
    @app_commands.describe(kind="search or scrape", name="Backend name, or `auto`")
    async def ai_tools_backend(self, ctx: commands.Context, kind: str, name: str) -> None:
        """Choose the search backend (serpapi, searxng, firecrawl) or scrape backend (firecrawl, builtin). Owner.

        `auto` uses the first one that is set up.
        """
        kind, name = kind.lower().strip(), name.lower().strip()
        options = {"search": self.tool_service.search_backends, "scrape": self.tool_service.scrape_backends}
        if kind not in options:
            raise InvalidValue(_("Choose `search` or `scrape`, e.g. `[p]ai tools backend search searxng`."))
        if name != "auto" and name not in options[kind]:
            raise InvalidValue(
                _("The {kind} backends are: {names}, or `auto`.").format(
                    kind=kind, names=", ".join(options[kind])
                )
            )
        value = None if name == "auto" else name
        await self.settings.set_tool_config(kind, value)
        self.tool_service.choice[kind] = value
        text = _("The {kind} backend is now `{name}`.").format(kind=kind, name=name)
        if value and not options[kind][value].available():
            note = _("It isn't set up yet: {needs}.").format(needs=options[kind][value].needs)
            text += " " + note.replace("[p]", ctx.clean_prefix)
        await reply(ctx, text)

    @ai_tools.command(name="steps")
    @commands.is_owner()
    async def ai_tools_steps(self, ctx: commands.Context, steps: int) -> None:
        """Set how many rounds of tool calls one answer may use (1-10, default 5). Owner."""
        if not 1 <= steps <= MAX_STEPS:
            raise InvalidValue(_("The step limit must be between 1 and {maximum}.").format(maximum=MAX_STEPS))
        await self.settings.set_tool_config("steps", steps)
        await reply(ctx, _("One answer may now use up to {steps} rounds of tool calls.").format(steps=steps))

    @ai_tools.command(name="allow")
    @commands.is_owner()
    async def ai_tools_allow(self, ctx: commands.Context, host: Optional[str] = None) -> None:
        """Allow page fetches from `host` or `host:port` even on a private network or odd port (toggle). Owner.

        Without a host, lists the allow-list.
        """
        allow = list(self.settings.tool_config.get("allow") or [])
        if host:
            entry = host.strip().lower()
            if not re.fullmatch(r"[a-z0-9_.:\[\]-]{1,260}", entry):
                raise InvalidValue(_("Give a host name or `host:port`, e.g. `wiki.internal:8080`."))
            allow.remove(entry) if entry in allow else allow.append(entry)
            await self.settings.set_tool_config("allow", allow)
            self.tool_service.guard.allow = tuple(allow)
        hosts = ", ".join(f"`{a}`" for a in allow) or _("none")
        await reply(ctx, _("Allowed hosts: {hosts}.").format(hosts=hosts))

    # -- direct use, without the model ----------------------------------------------------------

    async def _direct(self, ctx: commands.Context, name: str, arguments: Dict[str, Any]) -> str:
        tool = self._tool_or_error(name)
        if not tool.available():
            raise InvalidValue(
                _("`{name}` isn't set up: the bot owner needs {needs}.")
                .format(name=name, needs=tool.needs_text())
                .replace("[p]", ctx.clean_prefix)
            )
        request = self.chat_request(ctx.author, ctx.channel, "")
        async with ctx.typing():
            result = await run_direct(self.tool_loop, tool, arguments, request)
        if not result.ok:
            raise InvalidValue(result.content)
        return for_members(self.redactor.redact(result.content))

    @AIGroup.ai.command(name="search")
    @app_commands.describe(query="What to search the web for")
    async def ai_search(self, ctx: commands.Context, *, query: str) -> None:
        """Search the web and list the results with links."""
        await _pages(ctx, _links(await self._direct(ctx, "web_search", {"query": query[:501]})))

    @AIGroup.ai.command(name="scrape")
    @app_commands.describe(url="The page to read")
    async def ai_scrape(self, ctx: commands.Context, url: str) -> None:
        """Read one web page and show its main text."""
        await _pages(ctx, _links(await self._direct(ctx, "scrape", {"url": url[:2001]})), limit=3)

    @AIGroup.ai.command(name="crawl")
    @app_commands.describe(url="Where to start", max_pages="How many pages (1-20, default 5)")
    async def ai_crawl(self, ctx: commands.Context, url: str, max_pages: int = 5) -> None:
        """Read several pages of one website (needs Firecrawl)."""
        if not 1 <= max_pages <= 20:
            raise InvalidValue(_("`max_pages` must be between 1 and 20."))
        await _pages(
            ctx,
            _links(await self._direct(ctx, "crawl", {"url": url[:2001], "max_pages": max_pages})),
            limit=4,
        )

    @AIGroup.ai.command(name="autosearch")
    @app_commands.describe(query="A question, a URL, or `research …`")
    async def ai_autosearch(self, ctx: commands.Context, *, query: str) -> None:
        """Search, read or research automatically, with numbered sources."""
        await _pages(ctx, _links(await self._direct(ctx, "autosearch", {"query": query[:501]})), limit=4)

    @ai_tools_info.autocomplete("tool")
    @ai_tools_enable.autocomplete("tool")
    @ai_tools_disable.autocomplete("tool")
    async def _tool_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> List[app_commands.Choice[str]]:
        names = [ALL] + self.tool_service.registry.names()
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n][:25]


__all__ = ["ToolsMixin", "ToolContext"]
