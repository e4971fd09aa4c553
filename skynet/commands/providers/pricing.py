"""Which genai-prices provider prices each endpoint (``[p]ai provider pricing``), and loading
that table in the background after ``[p]load``."""

from __future__ import annotations

import asyncio
from typing import Dict, List, Optional

from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.usage.pricing_table import PriceTable, infer_provider
from ...i18n import _
from ...stores.settings import GLOBAL, Scope
from ..common import reply
from .providers import ProvidersMixin

PRICING_PROVIDERS = "pricing_providers"  # Config global: endpoint name -> provider id ("" = none)
AUTO, NONE = "auto", "none"


class PricingSourceMixin(MixinMeta):
    price_table: PriceTable

    def _pricing_map(self) -> Dict[str, str]:
        return dict(self.settings._global.get(PRICING_PROVIDERS) or {})

    def pricing_provider(self, endpoint: str) -> Optional[str]:
        """The provider id pricing ``endpoint``: the owner's choice, else inferred from its host."""
        chosen = self._pricing_map().get(endpoint)
        if chosen is not None:
            return chosen or None
        known = self.providers.endpoints.get(endpoint)
        return infer_provider(known.base_url) if known else None

    def pricing_providers(self) -> List[str]:
        """Provider ids of the configured endpoints, the global model's endpoint first."""
        first = self.settings.resolve(None, None).model.endpoint
        names = sorted(self.providers.endpoints, key=lambda name: (name != first, name))
        return [p for p in (self.pricing_provider(name) for name in names) if p]

    def apply_price_table(self) -> None:
        self.engine.prices.use_table(self.price_table, self.pricing_providers())

    def start_price_table(self) -> None:
        """Load genai-prices' data off the event loop without delaying ``[p]load``."""

        async def load() -> None:
            if await asyncio.to_thread(self.price_table.load):
                self.apply_price_table()  # forget prices cached while the table was loading

        self._price_table_task = asyncio.create_task(load(), name="skynet-price-table")

    @ProvidersMixin.ai_provider.command(name="pricing")
    async def ai_provider_pricing(
        self, ctx: commands.Context, endpoint: str, provider_id: Optional[str] = None
    ) -> None:
        """Show or choose which provider's prices apply to an endpoint's models.

        Prices come from the genai-prices table (shipped with the cog, never fetched). The
        provider is inferred from the endpoint's URL (api.openai.com → `openai`, openrouter.ai →
        `openrouter`, api.groq.com → `groq`...); set it for proxies and gateways, e.g.
        `[p]ai provider pricing mygateway openrouter`. `auto` goes back to inferring, `none`
        stops using the table for it. `[p]ai pricing set` overrides always win.
        """
        self.providers.get(endpoint)  # refuses unknown endpoints
        if provider_id is not None:
            choice = provider_id.strip().lower()
            if choice not in (AUTO, NONE) and not self.price_table.has_provider(choice):
                raise InvalidValue(
                    _(
                        "The price table has no provider `{provider}`. Use an id such as `openai`, "
                        "`openrouter`, `groq`, `deepseek`, `together`, `mistral`, or `auto` / `none`."
                    ).format(provider=choice)
                )
            mapping = self._pricing_map()
            if choice == AUTO:
                mapping.pop(endpoint, None)
            else:
                mapping[endpoint] = "" if choice == NONE else choice
            await self.settings._set(Scope(GLOBAL), PRICING_PROVIDERS, mapping)
            self.apply_price_table()
        current = self.pricing_provider(endpoint)
        how = _("set by the owner") if endpoint in self._pricing_map() else _("inferred from its URL")
        if current:
            text = _("Prices for **{endpoint}** come from the `{provider}` table ({how}).").format(
                endpoint=endpoint, provider=current, how=how
            )
        else:
            text = _(
                "**{endpoint}** is not priced from the table ({how}); only `[p]ai pricing set` "
                "overrides and the built-in OpenAI prices apply."
            ).format(endpoint=endpoint, how=how)
        if not self.price_table.loaded and self.price_table.error:
            text += " " + _("(The genai-prices table is not available here: {error})").format(
                error=self.price_table.error
            )
        await reply(ctx, text.replace("[p]", ctx.clean_prefix))
