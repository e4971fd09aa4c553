"""``/ai model list | show | set | reset | vision``: which model answers, per scope."""

from __future__ import annotations

import asyncio
import difflib
from typing import List, Optional

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import humanize_list, pagify

from ...abc import MixinMeta
from ...engine.attachments.vision import supports_vision
from ...engine.errors import InvalidValue, SkynetError
from ...engine.settings import ModelRef, parse_model_ref
from ...i18n import _
from ...stores.settings import CHANNEL, GLOBAL, GUILD, Scope
from ..common import ScopeChoice, reply, resolve_here, scope_label, settings_channel_id, writable_scope
from ..group import AIGroup

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
        stale_note = ""
        async with ctx.typing():
            try:  # an explicit list asks the provider: a cached list could hide that it is down
                listed = await self._fetch_models(endpoint, refresh=True)
            except SkynetError as exc:
                listed, at = self.catalog.cached(endpoint), self.catalog.listed_at(endpoint)
                if listed is None or at is None:
                    raise
                stale_note = "\n" + _(
                    "⚠️ **{endpoint}** isn't answering now: {reason} These are the models it listed <t:{at}:R>."
                ).format(endpoint=endpoint, reason=exc.message, at=int(at))
            models = [m for m in listed if needle in m.lower()]
        if not models:
            if needle:
                text = _("No models on **{endpoint}** match `{query}`.").format(endpoint=endpoint, query=query)
            else:
                text = _("No models on **{endpoint}**.").format(endpoint=endpoint)
            await reply(ctx, text)
            return
        if len(models) == 1:
            header = _("**1 model on {endpoint}**").format(endpoint=endpoint) + "\n"
        else:
            header = _("**{count} models on {endpoint}**").format(count=len(models), endpoint=endpoint) + "\n"
        pages = list(pagify(", ".join(f"`{m}`" for m in models), delims=[", "], page_length=1800))
        for index, page in enumerate(pages[:MAX_LIST_PAGES]):
            await reply(ctx, (header if index == 0 else "") + page + (stale_note if index == 0 else ""))
        if len(pages) > MAX_LIST_PAGES:
            await reply(
                ctx, _("…and more. Narrow it down with `[p]ai model list <text>`.").replace("[p]", ctx.clean_prefix)
            )

    @ai_model.command(name="show")
    async def ai_model_show(self, ctx: commands.Context) -> None:
        """Show which model answers here, and where that choice comes from."""
        resolved = resolve_here(self.settings, ctx.channel)
        lines = [
            _("Model here: `{model}` (from {source}).").format(
                model=resolved.model, source=scope_label(resolved.model_source)
            )
        ]
        scopes = [Scope(GLOBAL)]
        if ctx.guild:
            scopes = [Scope(CHANNEL, settings_channel_id(ctx.channel)), Scope(GUILD, ctx.guild.id), *scopes]
        for scope in scopes:
            model = self.settings.layer(scope).model
            lines.append(
                _("- {scope}: {model}").format(
                    scope=scope_label(scope.kind).capitalize(), model=f"`{model}`" if model else _("not set")
                )
            )
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
            reason = exc.message if isinstance(exc, SkynetError) else _("the provider did not answer in time")
            warning = "\n" + _("(I couldn't check that the model exists: {reason})").format(
                reason=reason.replace("[p]", ctx.clean_prefix)
            )
        else:
            if ref.name not in available:
                close = difflib.get_close_matches(ref.name, available, n=3)
                hint = (
                    " " + _("Did you mean {models}?").format(
                        models=humanize_list([f"`{c}`" for c in close], style="or")
                    )
                    if close
                    else ""
                )
                prefix, colon, _rest = ref.name.partition(":")
                if colon and prefix not in self.providers.endpoints:
                    hint += " " + _(
                        "(There is no endpoint called `{endpoint}` either: see `[p]ai provider list`.)"
                    ).format(endpoint=prefix)
                raise InvalidValue(
                    _("**{endpoint}** has no model `{model}`.{hint} See `[p]ai model list`.").format(
                        endpoint=ref.endpoint, model=ref.name, hint=hint
                    )
                )
        await self.settings.set_model(target, ref)
        await reply(
            ctx, _("Model for {scope} set to `{model}`.").format(scope=scope_label(target.kind), model=ref) + warning
        )

    @ai_model.command(name="reset")
    @app_commands.describe(scope="Which setting to remove (default: this server)")
    async def ai_model_reset(self, ctx: commands.Context, scope: Optional[ScopeChoice] = None) -> None:
        """Remove the model chosen for this server (or `channel`, or `global`), falling back to the next scope."""
        target = await writable_scope(ctx, scope)
        await self.settings.set_model(target, None)
        await reply(
            ctx,
            _("Model for {scope} reset. Model here is now `{model}`.").format(
                scope=scope_label(target.kind), model=self._here(ctx)
            ),
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
            raise InvalidValue(_("Write `on`, `off` or `auto` after the model."))
        ref = parse_model_ref(model, list(self.providers.endpoints), self._here(ctx).endpoint)
        self.providers.get(ref.endpoint)  # refuses unknown endpoints
        await self.settings.set_vision(f"{ref.endpoint}:{ref.name}".lower(), choice)
        self.refresh_providers()
        sees = supports_vision(ref.endpoint, ref.name, self.engine.vision_overrides)
        if choice is None:  # "auto": the name table decided
            verdict = {
                True: _("`{model}`: can see images (by its name)."),
                False: _("`{model}`: can't see images (by its name)."),
                None: _("`{model}`: unknown (images are sent) (by its name)."),
            }
        else:
            verdict = {
                True: _("`{model}`: can see images."),
                False: _("`{model}`: can't see images."),
                None: _("`{model}`: unknown (images are sent)."),
            }
        await reply(ctx, verdict[sees].format(model=ref))

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
