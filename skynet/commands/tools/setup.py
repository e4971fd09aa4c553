"""Tools' lifecycle and gate: the service built and torn down with the cog, the switches and
policies every call passes, and the public API other cogs register tools with."""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from redbot.core import commands
from redbot.core.utils.chat_formatting import pagify

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.periodic import PeriodicFlush
from ...engine.tools.builtins import builtin_tools
from ...engine.tools.guard import UrlGuard
from ...engine.tools.loop import DEFAULT_STEPS, ToolLoop
from ...engine.tools.registry import Handler, Tool, namespaced
from ...engine.tools.service import SERVICES, ToolService
from ...engine.tools.switches import enabled_names, is_enabled
from ...i18n import _
from ..common import reply, scope_label, settings_channel_id

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


class ToolsSetupMixin(MixinMeta):
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
