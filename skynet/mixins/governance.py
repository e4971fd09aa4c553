"""``/ai budget``, ``/ai ratelimit`` and ``/ai policy``: who may use the assistant, how much and how.

Admins (Red admin, Manage Server, owner) change these; every member can see their own
``budget show`` and ``policy show``. Requests are admitted by :meth:`admit` (called by ``answer``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Literal, Optional, Tuple

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import humanize_number

from ..abc import MixinMeta
from ..engine.chat import ChatRequest
from ..engine.errors import InvalidValue
from ..engine.governance.buckets import Rate
from ..engine.governance.budgets import MAX_TOKENS_BUDGET, MAX_USD_BUDGET, TOKENS, USD, format_amount
from ..engine.governance.governor import Admission, Remaining, Ticket
from ..engine.governance.numbers import parse_number
from ..engine.governance.policy import (
    CHANNEL,
    DEFAULT,
    MEMBER,
    ROLE,
    SERVER,
    check_tool_name,
    decide_tool,
    level_label,
    with_rule,
)
from ..engine.governance.rules import DM_SCOPE, GuildRules
from ..engine.tokens import IMAGE_INPUT_TOKENS
from ..i18n import _
from .common import NotAllowed, is_server_admin, reply, settings_channel_id
from .group import AIGroup
from .targets import find_channel, find_member, find_role, find_target

MAX_RATE_REQUESTS = 10_000
MAX_RATE_SECONDS = 86_400
MAX_OVERRIDES = 10_000  # role or member budget overrides per server
NONE_WORDS = ("none", "off", "remove")


def parse_amount(text: str, unit: str) -> float:
    if unit == USD:
        return parse_number(text, what=_("A USD budget"), minimum=0, maximum=MAX_USD_BUDGET)
    return parse_number(text, what=_("A token budget"), minimum=0, maximum=MAX_TOKENS_BUDGET, integer=True)


async def require_admin(ctx: commands.Context) -> discord.Guild:
    if ctx.guild is None:
        raise NotAllowed(_("This works inside a server."))
    if not await is_server_admin(ctx):
        raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))
    return ctx.guild


_SYSTEM_COUNTS: Dict[str, int] = {}


def _system_tokens(count: Callable[[str], int], prompt: str) -> int:
    """System prompts rarely change: count each once."""
    if prompt not in _SYSTEM_COUNTS:
        if len(_SYSTEM_COUNTS) > 1000:
            _SYSTEM_COUNTS.clear()
        _SYSTEM_COUNTS[prompt] = count(prompt)
    return _SYSTEM_COUNTS[prompt]


def budget_scope(user: discord.abc.User, guild: Optional[discord.Guild]) -> Tuple[int, Tuple[int, ...]]:
    """The scope whose budgets apply (``guild``'s, or DMs' for None) and ``user``'s roles there."""
    if guild is None:
        return DM_SCOPE, ()
    return guild.id, tuple(r.id for r in getattr(user, "roles", ()))


def describe_rate(rate: Optional[Rate]) -> str:
    return rate.describe() if rate else _("no limit")


def source_label(source: str) -> str:
    """Where a listening setting comes from ("channel" or "server"), as shown in replies."""
    labels = {"channel": _("channel"), "server": _("server")}
    return labels.get(source, source)


def on_off(state: bool) -> str:
    return _("on") if state else _("off")


class GovernanceMixin(MixinMeta):
    # -- admission (called by ChatMixin.answer for /ai chat and passive replies)

    def admit(
        self, author: discord.abc.User, channel: discord.abc.Messageable, request: ChatRequest
    ) -> Ticket:
        """Check rate limits and reserve budget for ``request``; raises a refusal that says why."""
        scope_id, role_ids = budget_scope(author, getattr(channel, "guild", None))  # DMs: the owner's limits
        rules = self.governance.rules(scope_id)
        if not rules.limits_anything:
            return Ticket(None, None, request.settings.model.name)
        max_tokens = request.settings.params.get("max_tokens")
        admission = Admission(
            guild_id=scope_id,
            user_id=author.id,
            role_ids=role_ids,
            model=request.settings.model.name,
            prompt_tokens=self.prompt_estimate(request),
            max_tokens=int(max_tokens) if max_tokens else None,
            bypass=author.id in self.bot.owner_ids,
        )
        return self.governor.admit(rules, admission)

    def tool_refusal(self, tool: str, request: ChatRequest) -> Optional[str]:
        """Governance's tool policy for the member asking, where they ask: a refusal, or None."""
        guild = self.bot.get_guild(request.guild_id) if request.guild_id else None
        if guild is None:
            return None  # DMs: only the tool switches apply
        member = guild.get_member(request.user_id)
        decision = decide_tool(
            self.governance.rules(guild.id).tools,
            tool,
            user_id=request.user_id,
            role_ids=tuple(r.id for r in member.roles) if member is not None else (),
            channel_id=request.channel_id,
        )
        if decision.allowed:
            return None
        return _("{reason}, so I can't use it for you here.").format(reason=decision.reason)

    def prompt_estimate(self, request: ChatRequest) -> int:
        """The prompt's tokens, from the counts memory already holds (re-encoding the window for
        every request cost ~0.8 ms); only the new text and the system prompt are counted."""
        count = self.engine.counter.count
        limit = self.engine.limits.history_tokens
        chain = sum(t.tokens for t in request.reply_chain)
        window = (
            self.memory.history(request.conversation, max_tokens=max(0, limit - chain))
            if chain < limit
            else []
        )
        turns = len(window) + len(request.reply_chain) + 2
        return (
            _system_tokens(count, request.settings.system_prompt)
            + count(request.text)
            + min(chain, limit)
            + sum(t.tokens for t in window)
            + 4 * turns  # per-message overhead of the chat format
            + IMAGE_INPUT_TOKENS * len(request.images)
        )

    def remaining_for(self, user: discord.abc.User, guild: Optional[discord.Guild]) -> Remaining:
        """``user``'s budget today in ``guild``, or in DMs for None."""
        scope_id, role_ids = budget_scope(user, guild)
        budgets = self.governance.rules(scope_id).budgets
        return self.governor.remaining(budgets, scope_id, user.id, role_ids)

    def budget_lines(self, user: discord.abc.User, guild: Optional[discord.Guild]) -> List[str]:
        """What is left today for ``user`` in ``guild``, or in DMs for None."""
        scope_id, role_ids = budget_scope(user, guild)
        budgets = self.governance.rules(scope_id).budgets
        if budgets.bypass_roles.intersection(role_ids) or user.id in self.bot.owner_ids:
            return [
                _("**Budget of {member}:** unlimited (bypass role or bot owner)").format(
                    member=user.display_name
                )
            ]
        lines = [
            _("**Budget of {member}:** {budget}").format(
                member=user.display_name, budget=self.remaining_for(user, guild).describe()
            )
        ]
        if budgets.server_amount is not None:
            total = self.governor.server_remaining(budgets, scope_id).describe()
            lines.append(
                _("**All DMs together:** {budget}").format(budget=total)
                if scope_id == DM_SCOPE
                else _("**Server total:** {budget}").format(budget=total)
            )
        return lines

    async def _member_or_self(self, ctx: commands.Context, text: Optional[str]) -> discord.Member:
        if ctx.guild is None:
            raise NotAllowed(_("Budgets and policies apply inside a server."))
        if not text:
            return ctx.author
        member = find_member(ctx.guild, text)
        if member.id != ctx.author.id and not await is_server_admin(ctx):
            raise NotAllowed(_("You can see your own budget and policy; only admins can see other members'."))
        return member

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
        if who == "server":
            text = (
                _("Daily budget of the whole server removed.")
                if value is None
                else _("Daily budget of the whole server set to {amount}.")
            )
        else:
            text = (
                _("Daily budget of each member removed.")
                if value is None
                else _("Daily budget of each member set to {amount}.")
            )
        text = text.format(amount=format_amount(value, unit) if value is not None else "")
        if cleared:
            text += " " + _("Cleared role and member budgets (they were in another unit).")
        await reply(ctx, text)

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
        unit = self.governance.rules(guild.id).budgets.unit
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

        await self.governance.update(guild.id, edit)
        await reply(
            ctx,
            _("Budget of {target} removed; the next rule applies.").format(target=label)
            if value is None
            else _("Daily budget of {target} set to {amount}.").format(
                target=label, amount=format_amount(value, unit)
            ),
        )

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
        current = set(self.governance.rules(guild.id).budgets.bypass_roles)
        if action == "list":
            roles = ", ".join(f"<@&{r}>" for r in current) or _("none")
            await reply(ctx, _("Bypass roles: {roles}").format(roles=roles))
            return
        if not role:
            raise InvalidValue(
                _("Say which role, e.g. `[p]ai budget bypass {action} @Staff`.").format(action=action)
            )
        found = find_role(guild, role)
        (current.add if action == "add" else current.discard)(found.id)
        await self.governance.update(
            guild.id, lambda d: d.setdefault("budget", {}).__setitem__("bypass", sorted(current))
        )
        text = (
            _("{role} now skips budgets and rate limits.")
            if action == "add"
            else _("{role} no longer skips budgets and rate limits.")
        )
        await reply(ctx, text.format(role=found.mention))

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

    # -- tool policies

    @AIGroup.ai.group(name="policy")
    async def ai_policy(self, ctx: commands.Context) -> None:
        """Which tools may run for whom, and everything that applies to a member in a channel."""

    @ai_policy.command(name="tool")
    @app_commands.describe(
        action="allow, deny, or inherit (remove the rule)",
        tool="The tool's name",
        target="A #channel, @role or @member (default: the whole server)",
    )
    async def ai_policy_tool(
        self,
        ctx: commands.Context,
        action: Literal["allow", "deny", "inherit"],
        tool: str,
        target: Optional[str] = None,
    ) -> None:
        """Allow or deny a tool for the server, a channel, a role or a member.

        Member rules beat role rules, which beat channel rules, which beat server rules; at the same
        level deny beats allow. Example: `[p]ai policy tool deny web_search #general`.
        """
        guild = await require_admin(ctx)
        name = check_tool_name(tool, self.tool_service.registry.names())
        if target is None:
            level, target_id, label = SERVER, None, _("the whole server")
        else:
            found = find_target(guild, target)
            if isinstance(found, discord.Member):
                level, target_id = MEMBER, found.id
            elif isinstance(found, discord.Role):
                level, target_id = ROLE, found.id
            else:
                level, target_id = CHANNEL, settings_channel_id(found)
            label = found.mention

        def edit(data: Dict[str, Any]) -> None:
            data["tools"] = with_rule(data.get("tools"), level, target_id, name, action)

        await self.governance.update(guild.id, edit)
        if action == "inherit":
            text = _("Removed the rule for `{tool}` on {target}; the next level decides.")
        elif action == "allow":
            text = _("`{tool}` is now allowed for {target}.")
        else:
            text = _("`{tool}` is now denied for {target}.")
        await reply(ctx, text.format(tool=name, target=label))

    @ai_policy.command(name="show")
    @app_commands.describe(member="Whose policy (default: yours)", channel="Where (default: here)")
    async def ai_policy_show(
        self, ctx: commands.Context, member: Optional[str] = None, channel: Optional[str] = None
    ) -> None:
        """Everything that applies to a member in a channel, and the level each decision comes from."""
        target = await self._member_or_self(ctx, member)
        where = find_channel(ctx.guild, channel) if channel else ctx.channel
        await reply(
            ctx,
            "\n".join(self.policy_lines(self.governance.rules(ctx.guild.id), target, where)).replace(
                "[p]", ctx.clean_prefix
            )[:2000],
            ephemeral=True,
        )

    def policy_lines(self, rules: GuildRules, member: discord.Member, channel: Any) -> List[str]:
        cid = settings_channel_id(channel)
        listen = rules.listen
        mode, mode_from = listen.mode_in(cid)
        context, context_from = listen.context_in(cid)
        cooldown, cooldown_from = listen.cooldown_in(cid)
        listed = listen.channel_listed(cid)
        listening = (
            _("Listening: `{mode}` ({mode_source}) · context listening {context} ({context_source})")
            if listed
            else _(
                "Listening: `{mode}` ({mode_source}) — but this channel is excluded by the server's "
                "channel list · context listening {context} ({context_source})"
            )
        )
        lines = [
            _("**Policy for {member} in {channel}**").format(
                member=member.display_name, channel=channel.mention
            ),
            listening.format(
                mode=mode,
                mode_source=source_label(mode_from),
                context=on_off(context),
                context_source=source_label(context_from),
            ),
            _("Cooldowns: channel {cooldown} s ({source}) · member {member} s (server)").format(
                cooldown=f"{cooldown:g}",
                source=source_label(cooldown_from),
                member=f"{listen.user_cooldown:g}",
            ),
            _("Rate limits: member {member} · server {server}").format(
                member=describe_rate(rules.rates.member), server=describe_rate(rules.rates.server)
            ),
            *self.budget_lines(member, member.guild),
            _("Tools:"),
        ]
        roles = tuple(r.id for r in member.roles)
        for tool in self.tool_service.registry.all():
            decision = decide_tool(rules.tools, tool.name, user_id=member.id, role_ids=roles, channel_id=cid)
            on, switch = self.switched_on(tool, member.guild.id, cid)
            mark = "✅" if decision.allowed and on else "⛔"
            # "no rule: allowed by default" already says where the answer comes from.
            source = "" if decision.level == DEFAULT else f" ({level_label(decision.level)})"
            line = f"{mark} `{tool.name}` — {decision.reason}{source}"
            if not on:  # a policy allows; the switch decides whether the tool runs at all
                line += " · " + _("switched off here ({scope}): `[p]ai tools enable {tool}`").format(
                    scope=switch, tool=tool.name
                )
            lines.append(line)
        return lines
