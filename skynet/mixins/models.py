"""``/ai model list | show | set | reset | vision``: which model answers, per scope."""

from __future__ import annotations

import asyncio
import difflib
from typing import List, Optional

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import humanize_list, pagify

from ..abc import MixinMeta
from ..engine.attachments.vision import supports_vision
from ..engine.errors import InvalidValue, SkynetError
from ..engine.settings import ModelRef, parse_model_ref
from ..settings_store import CHANNEL, GLOBAL, GUILD, Scope
from .common import ScopeChoice, reply, resolve_here, scope_label, settings_channel_id, writable_scope
from .group import AIGroup

AUTOCOMPLETE_WAIT = 2.0  # Discord drops autocomplete answers after 3 s
VERIFY_WAIT = 15.0
MAX_LIST_PAGES = 3


class ModelsMixin(MixinMeta):
    @AIGroup.ai.group(name="model")
    async def ai_model(self, ctx: commands.Context) -> None:
        """Choose the AI model for this channel, this server or everywhere."""

    def _here(self, ctx_or_interaction) -> ModelRef:
        return resolve_here(self.settings, ctx_or_interaction.channel).model

    async def _fetch_models(self, endpoint: str, *, refresh: bool = False) -> List[str]:
        try:
            return await self.catalog.models(endpoint, refresh=refresh)
        except SkynetError:
            raise
        except Exception as exc:
            raise SkynetError(self.providers.explain(exc, endpoint).message) from None

    @ai_model.command(name="list")
    @app_commands.describe(query="An endpoint name, or text to filter model names by")
    async def ai_model_list(self, ctx: commands.Context, query: Optional[str] = None) -> None:
        """List the models the provider offers (optionally for one endpoint or matching a filter)."""
        endpoint, needle = self._here(ctx).endpoint, ""
        if query and query in self.providers.endpoints:
            endpoint = query
        elif query:
            needle = query.lower()
        async with ctx.typing():
            models = [m for m in await self._fetch_models(endpoint) if needle in m.lower()]
        if not models:
            await reply(ctx, f"No models on **{endpoint}**" + (f" match `{query}`." if needle else "."))
            return
        header = f"**{len(models)} model{'s' if len(models) != 1 else ''} on {endpoint}**\n"
        pages = list(pagify(", ".join(f"`{m}`" for m in models), delims=[", "], page_length=1800))
        for index, page in enumerate(pages[:MAX_LIST_PAGES]):
            await reply(ctx, (header if index == 0 else "") + page)
        if len(pages) > MAX_LIST_PAGES:
            await reply(ctx, f"…and more. Narrow it down with `{ctx.clean_prefix}ai model list <text>`.")

    @ai_model.command(name="show")
    async def ai_model_show(self, ctx: commands.Context) -> None:
        """Show which model answers here, and where that choice comes from."""
        resolved = resolve_here(self.settings, ctx.channel)
        lines = [f"Model here: `{resolved.model}` (from {scope_label(resolved.model_source)})."]
        scopes = [Scope(GLOBAL)]
        if ctx.guild:
            scopes = [Scope(CHANNEL, settings_channel_id(ctx.channel)), Scope(GUILD, ctx.guild.id), *scopes]
        for scope in scopes:
            model = self.settings.layer(scope).model
            lines.append(f"- {scope_label(scope.kind).capitalize()}: {f'`{model}`' if model else 'not set'}")
        await reply(ctx, "\n".join(lines))

    @ai_model.command(name="set")
    @app_commands.describe(
        model="Model name, or endpoint:model", scope="Where to apply it (default: this server)"
    )
    async def ai_model_set(self, ctx: commands.Context, scope: Optional[ScopeChoice], *, model: str) -> None:
        """Choose the model for this server, this channel (`channel`) or everywhere (`global`, owner).

        Write `endpoint:model` to use a model on another configured endpoint, e.g. `ollama:llama3.1`.
        """
        target = await writable_scope(ctx, scope)
        ref = parse_model_ref(model, list(self.providers.endpoints), self._here(ctx).endpoint)
        self.providers.get(ref.endpoint)  # refuses unknown endpoints
        warning = ""
        try:
            async with ctx.typing():
                available = await asyncio.wait_for(self._fetch_models(ref.endpoint), VERIFY_WAIT)
                if ref.name not in available:  # the cached list may predate a model just added
                    available = await asyncio.wait_for(
                        self._fetch_models(ref.endpoint, refresh=True), VERIFY_WAIT
                    )
        except (SkynetError, asyncio.TimeoutError) as exc:
            reason = exc.message if isinstance(exc, SkynetError) else "the provider did not answer in time"
            warning = f"\n(I couldn't check that the model exists: {reason.replace('[p]', ctx.clean_prefix)})"
        else:
            if ref.name not in available:
                close = difflib.get_close_matches(ref.name, available, n=3)
                hint = (
                    f" Did you mean {humanize_list([f'`{c}`' for c in close], style='or')}?" if close else ""
                )
                prefix, colon, _ = ref.name.partition(":")
                if colon and prefix not in self.providers.endpoints:
                    hint += f" (There is no endpoint called `{prefix}` either: see `[p]ai provider list`.)"
                raise InvalidValue(
                    f"**{ref.endpoint}** has no model `{ref.name}`.{hint} See `[p]ai model list`."
                )
        await self.settings.set_model(target, ref)
        await reply(ctx, f"Model for {scope_label(target.kind)} set to `{ref}`.{warning}")

    @ai_model.command(name="reset")
    @app_commands.describe(scope="Which setting to remove (default: this server)")
    async def ai_model_reset(self, ctx: commands.Context, scope: Optional[ScopeChoice] = None) -> None:
        """Remove the model chosen for this server (or `channel`, or `global`), falling back to the next scope."""
        target = await writable_scope(ctx, scope)
        await self.settings.set_model(target, None)
        await reply(
            ctx, f"Model for {scope_label(target.kind)} reset. Model here is now `{self._here(ctx)}`."
        )

    @ai_model.command(name="vision")
    @commands.is_owner()
    @app_commands.describe(
        model="Model name, or endpoint:model", mode="on: it sees images; off: it doesn't; auto: by its name"
    )
    async def ai_model_vision(self, ctx: commands.Context, model: str, mode: str) -> None:
        """Owner: say whether a model can see images (`on`, `off`), or let its name decide (`auto`).

        Images are refused with a notice for models that can't see them; use this when the built-in
        name table gets a model wrong, e.g. `[p]ai model vision ollama:mymodel on`.
        """
        choice = {"on": True, "off": False, "auto": None}.get(mode.strip().lower(), "bad")
        if choice == "bad":
            raise InvalidValue("Write `on`, `off` or `auto` after the model.")
        ref = parse_model_ref(model, list(self.providers.endpoints), self._here(ctx).endpoint)
        self.providers.get(ref.endpoint)  # refuses unknown endpoints
        await self.settings.set_vision(f"{ref.endpoint}:{ref.name}".lower(), choice)
        self.refresh_providers()
        sees = supports_vision(ref.endpoint, ref.name, self.engine.vision_overrides)
        verdict = {True: "can see images", False: "can't see images", None: "unknown (images are sent)"}
        await reply(ctx, f"`{ref}`: {verdict[sees]}{' (by its name)' if choice is None else ''}.")

    @ai_model_set.autocomplete("model")
    async def _model_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> List[app_commands.Choice[str]]:
        default = self._here(interaction).endpoint
        if self.catalog.cached(default) is None:
            try:  # the fetch goes on in the background if it takes longer
                await asyncio.wait_for(self.catalog.models(default), AUTOCOMPLETE_WAIT)
            except Exception:
                pass
        refs = self.catalog.suggest(current, self.providers.endpoints, default)
        return [app_commands.Choice(name=ref[:100], value=ref[:100]) for ref in refs]
