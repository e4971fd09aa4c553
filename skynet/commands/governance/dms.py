"""``[p]ai dm``: whether members may chat with the assistant in DMs, and their limits there.

DMs have no server admins, so the bot owner sets them: on or off, whether a shared server is
required, and each member's daily budget and rate limit (governance under ``DM_SCOPE``). DMs use
the global model and settings, and the persona the member picked there.
"""

from __future__ import annotations

from typing import List, Literal, Optional

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue, SkynetError
from ...engine.governance.budgets import TOKENS, format_amount
from ...engine.governance.rules import DM_SCOPE
from ...i18n import _
from ..common import reply
from ..group import AIGroup
from .admission import NONE_WORDS, describe_rate


class DMsClosed(SkynetError):
    kind = "dms_closed"


class DMsMixin(MixinMeta):
    def check_dm_allowed(self, author: discord.abc.User) -> None:
        """Refuse a DM chat the owner's switches forbid (the owner may always)."""
        dm = self.personas.dm
        if author.id in self.bot.owner_ids:
            return
        if not dm["enabled"]:
            raise DMsClosed(
                _("The bot owner has turned off chatting in DMs. Use `[p]ai chat` in a server instead.")
            )
        if dm["shared_server"] and not getattr(author, "mutual_guilds", None):
            raise DMsClosed(
                _("Chatting in DMs needs a server you share with the bot. Join one, then try again.")
            )

    def dm_state(self) -> str:
        dm = self.personas.dm
        if dm["enabled"]:
            state = (
                _("Chatting in DMs is on (members must share a server with the bot).")
                if dm["shared_server"]
                else _("Chatting in DMs is on.")
            )
        else:
            state = (
                _("Chatting in DMs is off (members must share a server with the bot).")
                if dm["shared_server"]
                else _("Chatting in DMs is off.")
            )
        rules = self.governance.rules(DM_SCOPE)
        budgets = rules.budgets
        none = _("none")
        lines: List[str] = [
            state,
            _("Daily budget of each member in DMs: {amount}").format(
                amount=format_amount(budgets.member_amount, budgets.unit)
                if budgets.member_amount is not None
                else none
            ),
            _("Daily budget of all DMs together: {amount}").format(
                amount=format_amount(budgets.server_amount, budgets.server_unit)
                if budgets.server_amount is not None
                else none
            ),
            _("Rate limit of each member in DMs: {rate}").format(rate=describe_rate(rules.rates.member)),
            _("-# Days start at 00:00 UTC. The bot owner has no limits."),
        ]
        return "\n".join(lines)

    @AIGroup.ai.group(name="dm", with_app_command=False, invoke_without_command=True)
    @commands.is_owner()
    async def ai_dm(self, ctx: commands.Context) -> None:
        """Owner: allow or forbid chatting in DMs, and set members' limits there."""
        await reply(ctx, self.dm_state())

    @ai_dm.command(name="show", with_app_command=False)
    async def ai_dm_show(self, ctx: commands.Context) -> None:
        """Show whether chatting in DMs is allowed, and the limits there."""
        await reply(ctx, self.dm_state())

    @ai_dm.command(name="on", with_app_command=False)
    async def ai_dm_on(self, ctx: commands.Context) -> None:
        """Allow members to chat with the assistant in DMs (the default)."""
        await self.personas.set_dm(enabled=True)
        await reply(ctx, self.dm_state())

    @ai_dm.command(name="off", with_app_command=False)
    async def ai_dm_off(self, ctx: commands.Context) -> None:
        """Forbid chatting in DMs (members are told to use a server; you still can)."""
        await self.personas.set_dm(enabled=False)
        await reply(ctx, self.dm_state())

    @ai_dm.command(name="shared", with_app_command=False)
    async def ai_dm_shared(self, ctx: commands.Context, value: Literal["on", "off"]) -> None:
        """Require (`on`) or not (`off`) that a member shares a server with the bot to chat in DMs."""
        await self.personas.set_dm(shared_server=value == "on")
        await reply(ctx, self.dm_state())

    @ai_dm.command(name="budget", with_app_command=False)
    async def ai_dm_budget(
        self,
        ctx: commands.Context,
        who: Literal["user", "total"],
        amount: str,
        unit: Literal["tokens", "usd"] = TOKENS,
    ) -> None:
        """Set the daily budget in DMs of each member (`user`) or of all DMs together (`total`).

        Example: `[p]ai dm budget user 20000` or `[p]ai dm budget total 2 usd`; `none` removes it.
        """
        value, _cleared = await self.store_budget(DM_SCOPE, who == "total", amount, unit)
        if who == "total":
            text = (
                _("Daily budget of all DMs together removed.")
                if value is None
                else _("Daily budget of all DMs together set to {amount}.")
            )
        else:
            text = (
                _("Daily budget of each member in DMs removed.")
                if value is None
                else _("Daily budget of each member in DMs set to {amount}.")
            )
        await reply(ctx, text.format(amount=format_amount(value, unit) if value is not None else ""))

    @ai_dm.command(name="ratelimit", with_app_command=False)
    async def ai_dm_ratelimit(
        self, ctx: commands.Context, requests: str, seconds: Optional[str] = None
    ) -> None:
        """Limit how many requests each member can make in DMs per time window; `off` removes it.

        Example: `[p]ai dm ratelimit 5 60` (5 requests a minute) or `[p]ai dm ratelimit off`.
        """
        if requests.strip().lower() in NONE_WORDS:
            await self.governance.update(DM_SCOPE, lambda d: d.pop("ratelimit", None))
            await reply(ctx, _("Rate limit in DMs removed."))
            return
        if seconds is None:
            raise InvalidValue(
                _("Give the requests and the window in seconds, e.g. `[p]ai dm ratelimit 5 60`, or `off`.")
            )
        rate = await self.store_rate(DM_SCOPE, "user", requests, seconds)
        await reply(ctx, _("Rate limit of each member in DMs set to {rate}.").format(rate=rate.describe()))
