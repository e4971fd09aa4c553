"""``/ai tools``: what the model may call here, switched per channel, server or globally; the
owner's backends, step limit and host allow-list; telemetry."""

from __future__ import annotations

import json
import re
from typing import List, Optional

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import box, pagify

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.tools.loop import MAX_STEPS
from ...engine.tools.registry import ToolContext
from ...engine.tools.switches import ALL, is_enabled
from ...i18n import _
from ..common import ScopeChoice, reply, scope_label, settings_channel_id, writable_scope
from ..group import AIGroup
from .setup import _pages


class ToolsMixin(MixinMeta):
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
            elif tool.owner.startswith("mcp:"):
                line = _("**{name}** {state} ({source}), from the MCP server `{server}`").format(
                    name=tool.name, state=state, source=source, server=tool.owner[4:]
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

    @ai_tools_info.autocomplete("tool")
    @ai_tools_enable.autocomplete("tool")
    @ai_tools_disable.autocomplete("tool")
    async def _tool_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> List[app_commands.Choice[str]]:
        names = [ALL] + self.tool_service.registry.names()
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n][:25]


__all__ = ["ToolsMixin", "ToolContext"]
