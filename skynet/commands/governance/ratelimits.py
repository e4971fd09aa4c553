"""``/ai ratelimit``: requests per member and per server over a window."""

from __future__ import annotations

from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.governance.buckets import Rate
from ...engine.governance.numbers import parse_number
from ...engine.governance.rules import DM_SCOPE
from ...i18n import _
from ..common import reply, require_admin
from ..group import AIGroup
from .admission import MAX_RATE_REQUESTS, MAX_RATE_SECONDS, describe_rate


class RateLimitsMixin(MixinMeta):
    # -- rate limits

    @AIGroup.ai.group(name="ratelimit")
    async def ai_ratelimit(self, ctx: commands.Context) -> None:
        """Requests per time window, per member and per server."""

    @ai_ratelimit.command(name="show")
    async def ai_ratelimit_show(self, ctx: commands.Context) -> None:
        """Show the rate limits of this server (in DMs: the bot owner's limit for DMs)."""
        if ctx.guild is None:
            rate = self.governance.rules(DM_SCOPE).rates.member
            await reply(ctx, _("**Each member, in DMs:** {rate}").format(rate=describe_rate(rate)))
            return
        rates = self.governance.rules(ctx.guild.id).rates
        await reply(
            ctx,
            _("**Each member:** {member}\n**Whole server:** {server}").format(
                member=describe_rate(rates.member), server=describe_rate(rates.server)
            ),
        )

    async def _set_rate(self, ctx: commands.Context, who: str, requests: str, seconds: str) -> None:
        guild = await require_admin(ctx)
        rate = await self.store_rate(guild.id, who, requests, seconds)
        text = (
            _("Rate limit of each member set to {rate}.")
            if who == "user"
            else _("Rate limit of the whole server set to {rate}.")
        )
        await reply(ctx, text.format(rate=rate.describe()))

    async def store_rate(self, scope_id: int, who: str, requests: str, seconds: str) -> Rate:
        """Store the rate limit of each member (``user``) or of everyone together (``server``)."""
        count = parse_number(requests, what=_("Requests"), minimum=1, maximum=MAX_RATE_REQUESTS, integer=True)
        window = parse_number(seconds, what=_("The window in seconds"), minimum=1, maximum=MAX_RATE_SECONDS)
        await self.governance.update(
            scope_id, lambda d: d.setdefault("ratelimit", {}).__setitem__(who, [count, window])
        )
        return Rate(count, window)

    @ai_ratelimit.command(name="user")
    @app_commands.describe(requests="Requests allowed (1-10000)", seconds="Per this many seconds (1-86400)")
    async def ai_ratelimit_user(self, ctx: commands.Context, requests: str, seconds: str) -> None:
        """Limit how many requests each member can make per time window."""
        await self._set_rate(ctx, "user", requests, seconds)

    @ai_ratelimit.command(name="server")
    @app_commands.describe(requests="Requests allowed (1-10000)", seconds="Per this many seconds (1-86400)")
    async def ai_ratelimit_server(self, ctx: commands.Context, requests: str, seconds: str) -> None:
        """Limit how many requests the whole server can make per time window."""
        await self._set_rate(ctx, "server", requests, seconds)

    @ai_ratelimit.command(name="off")
    async def ai_ratelimit_off(self, ctx: commands.Context) -> None:
        """Remove both rate limits."""
        guild = await require_admin(ctx)
        await self.governance.update(guild.id, lambda d: d.pop("ratelimit", None))
        await reply(ctx, _("Rate limits removed."))
