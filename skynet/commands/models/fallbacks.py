"""``/ai model fallbacks``: the models that answer when the chosen one is unavailable."""

from __future__ import annotations

from typing import List, Optional

from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.settings import ModelRef, parse_model_ref
from ...i18n import _
from ..common import ScopeChoice, reply, resolve_here, scope_label, writable_scope
from .models import ModelsMixin

MAX_FALLBACKS = 5


def parse_fallbacks(text: str, endpoints: List[str], default_endpoint: str) -> Optional[List[ModelRef]]:
    """``endpoint:model [endpoint:model…]`` in order, or ``none`` (returns None)."""
    words = text.split()
    if [w.lower() for w in words] == ["none"]:
        return None
    if not words:
        raise InvalidValue(_("Name at least one model, e.g. `groq:llama-3.1-8b-instant`, or `none`."))
    if len(words) > MAX_FALLBACKS:
        raise InvalidValue(_("A fallback chain has at most {count} models.").format(count=MAX_FALLBACKS))
    chain: List[ModelRef] = []
    for word in words:
        prefix = word.partition(":")[0]
        if ":" in word and prefix not in endpoints:
            raise InvalidValue(
                _("There is no endpoint `{endpoint}`. Write `endpoint:model`; see `[p]ai provider list`.").format(
                    endpoint=prefix[:40]
                )
            )
        ref = parse_model_ref(word, endpoints, default_endpoint)
        if ref not in chain:
            chain.append(ref)
    return chain


class ReliabilityMixin(MixinMeta):
    @ModelsMixin.ai_model.command(name="fallbacks")
    @app_commands.describe(
        models="endpoint:model names in order, or `none`", scope="Where to apply it (default: this server)"
    )
    async def ai_model_fallbacks(
        self, ctx: commands.Context, scope: Optional[ScopeChoice] = None, *, models: Optional[str] = None
    ) -> None:
        """Choose the models that answer, in order, when the chosen model is unavailable.

        A request moves to the next one when its endpoint is down, rate-limited for too long, does
        not answer in time, or has failed repeatedly (its circuit is open). `none` removes the
        chain of this scope. Example: `[p]ai model fallbacks groq:llama-3.1-8b-instant ollama:llama3.1`
        """
        here = resolve_here(self.settings, ctx.channel)
        if models is None:
            chain = _(", then ").join(f"`{ref}`" for ref in here.fallbacks) or _("none")
            text = _(
                "Fallbacks here: {chain} (from {source}). "
                "Set them with `[p]ai model fallbacks [scope] <endpoint:model> …`."
            ).format(chain=chain, source=scope_label(here.fallbacks_source))
            await reply(ctx, text.replace("[p]", ctx.clean_prefix))
            return
        target = await writable_scope(ctx, scope)
        chain = parse_fallbacks(models, list(self.providers.endpoints), here.model.endpoint)
        await self.settings.set_fallbacks(target, chain)
        if chain is None:
            await reply(ctx, _("Fallbacks for {scope} removed.").format(scope=scope_label(target.kind)))
            return
        listed = _(", then ").join(f"`{ref}`" for ref in chain)
        await reply(ctx, _("Fallbacks for {scope}: {models}.").format(scope=scope_label(target.kind), models=listed))
