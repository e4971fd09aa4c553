"""``/ai stats`` and ``/ai pricing``: tokens, requests and estimated cost."""

from __future__ import annotations

from typing import List

from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import humanize_number

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.governance.rules import DM_SCOPE
from ...engine.usage.accounting import Counters
from ...engine.usage.pricing import Price, format_cost, parse_price
from ...i18n import _, plural
from ...stores.usage import global_scope, guild_scope, member_scope, user_scope
from ..common import reply, resolve_here
from ..group import AIGroup


def describe(label: str, counters: Counters) -> str:
    """One line of usage: requests, tokens, estimated cost, and what the figures rest on."""
    priced = counters.requests - counters.unpriced_requests
    cost = f"~{format_cost(counters.cost_usd)}" if priced > 0 or not counters.requests else _("cost unknown")
    requests = plural(counters.requests, _("{count} request"), _("{count} requests")).format(
        count=humanize_number(counters.requests)
    )
    line = _("**{label}:** {requests} · {tokens} tokens ({prompt} in / {completion} out) · {cost}").format(
        label=label,
        requests=requests,
        tokens=humanize_number(counters.total_tokens),
        prompt=humanize_number(counters.prompt_tokens),
        completion=humanize_number(counters.completion_tokens),
        cost=cost,
    )
    notes = []
    if counters.estimated_requests:
        notes.append(_("tokens of {count} counted locally").format(count=counters.estimated_requests))
    if counters.unpriced_requests and priced > 0:
        notes.append(_("{count} without a known price").format(count=counters.unpriced_requests))
    return line + (f" ({'; '.join(notes)})" if notes else "")


class StatsMixin(MixinMeta):
    @AIGroup.ai.command(name="stats")
    async def ai_stats(self, ctx: commands.Context) -> None:
        """Show your and this server's AI usage: requests, tokens and estimated cost."""
        lines: List[str] = []
        if ctx.guild:
            lines.append(
                describe(
                    _("You, in this server"),
                    await self.usage.totals(member_scope(ctx.guild.id, ctx.author.id)),
                )
            )
            lines.append(describe(_("This server"), await self.usage.totals(guild_scope(ctx.guild.id))))
            if self.governance.rules(ctx.guild.id).budgets.active:
                lines.extend(self.budget_lines(ctx.author, ctx.guild))
        else:
            lines.append(describe(_("You, in DMs"), await self.usage.totals(user_scope(ctx.author.id))))
            if self.governance.rules(DM_SCOPE).budgets.active:
                lines.extend(self.budget_lines(ctx.author, None))
        if await ctx.bot.is_owner(ctx.author):
            lines.append(describe(_("Everywhere (owner only)"), await self.usage.totals(global_scope())))
            lines.append(
                _("-# Costs are estimates from a pricing table you can edit (`[p]ai pricing`).").replace(
                    "[p]", ctx.clean_prefix
                )
            )
        else:  # `ai pricing` is the owner's: don't point members at a command they can't use
            lines.append(_("-# Costs are estimates from the bot owner's price table."))
        await reply(ctx, "\n".join(lines), ephemeral=True)

    @AIGroup.ai.group(name="pricing", with_app_command=False)  # owner-only; slash `ai` is full (25)
    @commands.is_owner()
    async def ai_pricing(self, ctx: commands.Context) -> None:
        """See or override the prices used for cost estimates (USD per million tokens)."""

    @ai_pricing.command(name="show")
    async def ai_pricing_show(self, ctx: commands.Context) -> None:
        """Show the price of the model in use here and every owner override."""
        prices = self.engine.prices
        model = resolve_here(self.settings, ctx.channel).model
        price = prices.price_for(model.name)
        if price:
            line = _("Model here: `{model}` — ${input} in / ${output} out per 1M tokens ({source})").format(
                model=model,
                input=f"{price.input_per_million:g}",
                output=f"{price.output_per_million:g}",
                source=prices.source(model.name),
            )
        else:
            line = _("Model here: `{model}` — no known price (cost shows as unknown)").format(model=model)
        lines = [line]
        overrides = self.settings.price_overrides()
        if overrides:
            listed = ", ".join(
                f"`{m}` ${p.input_per_million:g}/${p.output_per_million:g}"
                for m, p in sorted(overrides.items())
            )
            lines.append(_("Overrides: {prices}").format(prices=listed))
        await reply(ctx, "\n".join(lines))

    @ai_pricing.command(name="set")
    @app_commands.describe(
        model="Model name (or a prefix of it)",
        input_per_million="USD per 1M input tokens",
        output_per_million="USD per 1M output tokens",
    )
    async def ai_pricing_set(
        self, ctx: commands.Context, model: str, input_per_million: str, output_per_million: str
    ) -> None:
        """Override a model's price, e.g. `[p]ai pricing set llama3.1 0 0` for a free local model."""
        try:
            price = Price(parse_price(input_per_million), parse_price(output_per_million))
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None
        await self.settings.set_price(model.strip().lower(), price)
        self.refresh_providers()
        await reply(
            ctx,
            _("Price for `{model}` set to ${input} in / ${output} out per 1M tokens.").format(
                model=model, input=f"{price.input_per_million:g}", output=f"{price.output_per_million:g}"
            ),
        )

    @ai_pricing.command(name="reset")
    async def ai_pricing_reset(self, ctx: commands.Context, model: str) -> None:
        """Remove an override; the built-in price (if any) applies again."""
        if model.strip().lower() not in self.settings.price_overrides():
            raise InvalidValue(_("There is no price override for `{model}`.").format(model=model))
        await self.settings.set_price(model.strip().lower(), None)
        self.refresh_providers()
        await reply(ctx, _("Price override for `{model}` removed.").format(model=model))
