"""Admission: every chat request (prefix, slash, passive) is checked against rate limits and
budgets here before it streams, and every tool call against the tool policies.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.channels.admission import admit_own_key
from ...engine.chat import ChatRequest
from ...engine.governance.buckets import Rate
from ...engine.governance.budgets import MAX_TOKENS_BUDGET, MAX_USD_BUDGET, USD
from ...engine.governance.errors import GovernanceRefusal
from ...engine.governance.governor import Admission, Remaining, Ticket
from ...engine.governance.numbers import parse_number
from ...engine.governance.policy import (
    decide_tool,
)
from ...engine.governance.rules import DM_SCOPE
from ...engine.usage.tokens import IMAGE_INPUT_TOKENS
from ...i18n import _
from ..common import NotAllowed, is_server_admin
from ..targets import find_member

MAX_RATE_REQUESTS = 10_000
MAX_RATE_SECONDS = 86_400
MAX_OVERRIDES = 10_000  # role or member budget overrides per server
NONE_WORDS = ("none", "off", "remove")


def parse_amount(text: str, unit: str) -> float:
    if unit == USD:
        return parse_number(text, what=_("A USD budget"), minimum=0, maximum=MAX_USD_BUDGET)
    return parse_number(text, what=_("A token budget"), minimum=0, maximum=MAX_TOKENS_BUDGET, integer=True)


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


class AdmissionMixin(MixinMeta):
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
        try:
            if request.own_key is not None:  # the member's own key pays: rate limits only
                return admit_own_key(self.governor, rules, admission)
            return self.governor.admit(rules, admission)
        except GovernanceRefusal:
            series = getattr(self.usage, "series", None)  # per-day refusals, for the panel
            if series is not None:
                personal = any(s[0] in ("member", "user") for s in request.usage_scopes)
                series.refused(guild_id=request.guild_id, user_id=author.id if personal else None)
            raise

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
