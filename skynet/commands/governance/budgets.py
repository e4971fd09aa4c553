"""``/ai budget``: daily budgets per member, role and server; members see their own."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import humanize_number

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.governance.budgets import (
    TOKENS,
    budget_change_text,
    bypass_change_text,
    format_amount,
    override_change_text,
)
from ...engine.governance.numbers import parse_number
from ...engine.governance.rules import DM_SCOPE
from ...i18n import _
from ..common import reply, require_admin
from ..group import AIGroup
from ..targets import find_member, find_role
from .admission import MAX_OVERRIDES, NONE_WORDS, parse_amount


class BudgetsMixin(MixinMeta):
    # -- budget

    @AIGroup.ai.group(name="budget")
    async def ai_budget(self, ctx: commands.Context) -> None:
        """Daily budgets per member and per server, in tokens or estimated USD."""

    @ai_budget.command(name="show")
    @app_commands.describe(member="Whose budget (default: yours; others' for admins)")
    async def ai_budget_show(self, ctx: commands.Context, member: Optional[str] = None) -> None:
        """Show how much of the daily budget is left and when it resets."""
        if ctx.guild is None:  # DMs: the member's own budget under the owner's limits for DMs
            lines = [*self.budget_lines(ctx.author, None), self.reset_line(DM_SCOPE)]
            await reply(ctx, "\n".join(lines), ephemeral=True)
            return
        target = await self._member_or_self(ctx, member)
        budgets = self.governance.rules(ctx.guild.id).budgets
        lines = self.budget_lines(target, ctx.guild)
        if budgets.member_amount is not None:
            lines.append(
                _("Server default per member: {amount}").format(
                    amount=format_amount(budgets.member_amount, budgets.unit)
                )
            )
        if budgets.roles:
            roles = ", ".join(
                f"<@&{r}> {format_amount(a, budgets.unit)}" for r, a in list(budgets.roles.items())[:20]
            )
            lines.append(_("Role budgets: {roles}").format(roles=roles))
        if budgets.bypass_roles:
            roles = ", ".join(f"<@&{r}>" for r in budgets.bypass_roles)
            lines.append(_("Bypass roles: {roles}").format(roles=roles))
        lines.append(self.reset_line(ctx.guild.id))
        await reply(ctx, "\n".join(lines)[:2000], ephemeral=True)

    def reset_line(self, scope_id: int) -> str:
        hour = self.governance.rules(scope_id).budgets.reset_hour
        return _("-# Days start at {hour}:00 UTC.").format(hour=f"{hour:02d}")

    @ai_budget.command(name="set")
    @app_commands.describe(
        who="`user`: each member's daily budget; `server`: the whole server's daily total",
        amount="A number, or `none` to remove the budget",
        unit="tokens (default) or usd",
    )
    async def ai_budget_set(
        self,
        ctx: commands.Context,
        who: Literal["user", "server"],
        amount: str,
        unit: Literal["tokens", "usd"] = TOKENS,
    ) -> None:
        """Set the daily budget of each member (`user`) or of the whole server (`server`).

        Example: `[p]ai budget set user 20000` or `[p]ai budget set server 5 usd`.
        """
        guild = await require_admin(ctx)
        value, cleared = await self.store_budget(guild.id, who == "server", amount, unit)
        await reply(ctx, budget_change_text(who == "server", value, unit, cleared))

    async def store_budget(
        self, scope_id: int, total: bool, amount: str, unit: str
    ) -> Tuple[Optional[float], bool]:
        """Store the daily budget of each member (or the ``total`` of the server or of all DMs).

        Returns the amount (None: removed) and whether role and member budgets were cleared
        because they were in the other unit."""
        value = None if amount.strip().lower() in NONE_WORDS else parse_amount(amount, unit)
        cleared: List[bool] = []

        def edit(data: Dict[str, Any]) -> None:
            budget = data.setdefault("budget", {})
            if total:
                budget["server"], budget["server_unit"] = value, unit
                return
            if (budget.get("unit") or TOKENS) != unit and (budget.get("roles") or budget.get("members")):
                cleared.append(True)
                budget["roles"], budget["members"] = {}, {}
            budget["member"], budget["unit"] = value, unit

        await self.governance.update(scope_id, edit)
        return value, bool(cleared)

    async def _set_override(
        self, ctx: commands.Context, key: str, target_id: int, label: str, amount: str
    ) -> None:
        guild = await require_admin(ctx)
        value, unit = await self.store_budget_override(guild.id, key, target_id, amount)
        await reply(ctx, override_change_text(label, value, unit))

    async def store_budget_override(
        self, guild_id: int, key: str, target_id: int, amount: str
    ) -> Tuple[Optional[float], str]:
        """Store the daily budget of one role (``key="roles"``) or member (``"members"``), in the
        member budget's unit; `none` removes it. Returns the amount (None: removed) and the unit.

        Shared by the command and the web panel (same validation, same words)."""
        unit = self.governance.rules(guild_id).budgets.unit
        value = None if amount.strip().lower() in NONE_WORDS else parse_amount(amount, unit)

        def edit(data: Dict[str, Any]) -> None:
            table = data.setdefault("budget", {}).setdefault(key, {})
            if value is None:
                table.pop(str(target_id), None)
            elif str(target_id) not in table and len(table) >= MAX_OVERRIDES:
                text = (
                    _("A server can have at most {count} roles budgets.")
                    if key == "roles"
                    else _("A server can have at most {count} members budgets.")
                )
                raise InvalidValue(text.format(count=humanize_number(MAX_OVERRIDES)))
            else:
                table[str(target_id)] = value

        await self.governance.update(guild_id, edit)
        return value, unit

    @ai_budget.command(name="role")
    @app_commands.describe(
        role="A role of this server", amount="A number in the member budget's unit, or `none`"
    )
    async def ai_budget_role(self, ctx: commands.Context, role: str, amount: str) -> None:
        """Give a role its own daily budget per member (a member with several roles gets the highest)."""
        guild = await require_admin(ctx)
        found = find_role(guild, role)
        await self._set_override(ctx, "roles", found.id, _("role {role}").format(role=found.mention), amount)

    @ai_budget.command(name="member")
    @app_commands.describe(
        member="A member of this server", amount="A number in the member budget's unit, or `none`"
    )
    async def ai_budget_member(self, ctx: commands.Context, member: str, amount: str) -> None:
        """Give one member their own daily budget (it beats role budgets and the server default)."""
        guild = await require_admin(ctx)
        found = find_member(guild, member)
        await self._set_override(ctx, "members", found.id, found.mention, amount)

    @ai_budget.command(name="resethour")
    @app_commands.describe(hour="Hour of the day (UTC, 0-23) when budgets start over")
    async def ai_budget_resethour(self, ctx: commands.Context, hour: str) -> None:
        """Set the UTC hour at which daily budgets start over."""
        guild = await require_admin(ctx)
        value = parse_number(hour, what=_("The reset hour"), minimum=0, maximum=23, integer=True)
        await self.governance.update(
            guild.id, lambda d: d.setdefault("budget", {}).__setitem__("reset_hour", value)
        )
        await reply(ctx, _("Daily budgets now start over at {hour}:00 UTC.").format(hour=f"{value:02d}"))

    @ai_budget.command(name="bypass")
    @app_commands.describe(action="add, remove or list", role="A role of this server")
    async def ai_budget_bypass(
        self, ctx: commands.Context, action: Literal["add", "remove", "list"], role: Optional[str] = None
    ) -> None:
        """Roles whose members skip budgets and rate limits."""
        guild = await require_admin(ctx)
        if action == "list":
            current = set(self.governance.rules(guild.id).budgets.bypass_roles)
            roles = ", ".join(f"<@&{r}>" for r in current) or _("none")
            await reply(ctx, _("Bypass roles: {roles}").format(roles=roles))
            return
        found = await self.store_bypass(guild, action, role)
        await reply(ctx, bypass_change_text(action == "add", found.mention))

    async def store_bypass(self, guild: discord.Guild, action: str, role: Optional[str]) -> discord.Role:
        """Add (``action="add"``) or remove a role of ``guild`` (mention, id or name) from the roles
        whose members skip budgets and rate limits; returns the role. Shared with the web panel."""
        if not role:
            raise InvalidValue(
                _("Say which role, e.g. `[p]ai budget bypass {action} @Staff`.").format(action=action)
            )
        found = find_role(guild, role)
        current = set(self.governance.rules(guild.id).budgets.bypass_roles)
        (current.add if action == "add" else current.discard)(found.id)
        await self.governance.update(
            guild.id, lambda d: d.setdefault("budget", {}).__setitem__("bypass", sorted(current))
        )
        return found
