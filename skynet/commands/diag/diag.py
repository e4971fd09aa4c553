"""``[p]ai diag``: "why isn't it working?" in one command (logic in ``engine/diag``)."""

from __future__ import annotations

import contextlib
from typing import Callable

from redbot.core import commands, data_manager
from redbot.core.utils.chat_formatting import pagify

from ...abc import MixinMeta
from ...engine.diag.probe import probe_all, probe_endpoint
from ...engine.diag.report import DiagReport, render
from ...engine.diag.versions import versions
from ...i18n import _
from ..common import reply, resolve_here, scope_label
from ..group import AIGroup


def backend_label(kind: str) -> str:
    """The name a backend is listed under in the report (translated when shown)."""
    return {"tools": _("Tools"), "memory": _("Long-term memory"), "prices": _("Prices")}.get(kind, kind)


def describe_backend(describe: Callable[[], str]) -> str:
    """A backend's own description; a diagnostic must not fail because one backend's does."""
    try:
        return describe()
    except Exception as exc:
        return _("unknown ({error})").format(error=type(exc).__name__)


def price_source(cog: object) -> str:
    table = getattr(cog, "price_table", None)
    if table is None:
        return _("owner overrides, then the built-in table")
    if table.loaded:
        if table.version():
            return _("owner overrides, then genai-prices {version}, then the built-in table").format(
                version=table.version()
            )
        return _("owner overrides, then genai-prices, then the built-in table")
    if table.error:
        return _("owner overrides, then the built-in table (genai-prices unavailable: {error})").format(
            error=table.error
        )
    return _("owner overrides, then the built-in table (genai-prices still loading)")


def storage_backend() -> str:
    try:
        return str(data_manager.storage_type())
    except Exception:  # Red not fully configured (should not happen in a running bot)
        return _("unknown")


class DiagMixin(MixinMeta):
    @AIGroup.ai.command(name="diag")
    @commands.admin_or_permissions(manage_guild=True)
    async def ai_diag(self, ctx: commands.Context) -> None:
        """Check why the assistant isn't working: endpoints, keys, model, versions, recent errors.

        The bot owner sees everything; server admins see what applies to their server.
        API keys are never shown, only whether they are set.
        """
        is_owner = await ctx.bot.is_owner(ctx.author)
        if ctx.interaction is not None:
            await ctx.defer(ephemeral=True)  # typing() would defer publicly: the answer is private
        async with ctx.typing() if ctx.interaction is None else contextlib.nullcontext():
            here = resolve_here(self.settings, ctx.channel)

            async def key_is_set(service: str) -> bool:
                return bool((await self.bot.get_shared_api_tokens(service)).get("api_key"))

            if is_owner:
                endpoints = await probe_all(self.providers, key_is_set)
            elif here.model.endpoint in self.providers.endpoints:
                endpoints = [await probe_endpoint(self.providers, here.model.endpoint, key_is_set)]
            else:
                endpoints = []
            guild_id = ctx.guild.id if ctx.guild else None
            report = DiagReport(
                owner=is_owner,
                model=str(here.model),
                model_source=scope_label(here.model_source),
                params={k: v for k, v in here.params.items() if k != "system_prompt"},
                param_sources={k: scope_label(v) for k, v in here.sources.items()},
                endpoints=endpoints,
                errors=self.engine.errors.recent(guild_id, everywhere=is_owner),
            )
            if is_owner:
                report.versions = versions()
                report.storage = storage_backend()
                report.last_flush = getattr(self.usage, "last_flush", None)
                report.backends = {
                    backend_label("tools"): describe_backend(self.tool_service.describe),
                    backend_label("memory"): describe_backend(self.memory_service.describe),
                    backend_label("prices"): price_source(self),
                }
        text = render(report, ctx.clean_prefix)
        for page in pagify(text, delims=["\n"], page_length=1900):
            await reply(ctx, page, ephemeral=True)
