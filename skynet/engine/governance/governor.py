"""Admission of one request: rate limits and budgets checked and reserved together.

``admit`` either raises a :class:`~.errors.GovernanceRefusal` (which limit, what is left, when it
resets) or returns a :class:`Ticket`; the ticket settles the real usage at the end and refunds
the rest of the reservation, also when the request fails or is cancelled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import AsyncGenerator, Callable, List, Optional, Tuple

from ..events import ChatEvent, Usage
from ..i18n import _
from ..usage.pricing import PriceBook
from .buckets import Buckets, Rate
from .budgets import DAY, USD, BudgetLedger, BudgetRules, Reservation, format_amount, period_start
from .errors import BudgetExhausted, RateLimited, discord_time
from .rules import DM_SCOPE, GuildRules

DEFAULT_MAX_TOKENS = 1024  # the reservation's completion estimate when max_tokens is not set


@dataclass(frozen=True)
class Admission:
    """Who asks, where, and how big the request may get."""

    guild_id: int
    user_id: int
    role_ids: Tuple[int, ...]
    model: str
    prompt_tokens: int
    max_tokens: Optional[int] = None
    bypass: bool = False  # the bot owner


@dataclass(frozen=True)
class Remaining:
    """A member's budget today, for ``budget show`` and ``stats``."""

    limit: Optional[float]
    unit: str
    spent: float
    source: str
    resets_at: float

    @property
    def left(self) -> Optional[float]:
        return None if self.limit is None else max(0.0, self.limit - self.spent)

    def describe(self) -> str:
        if self.limit is None:
            return _("no daily budget")
        return _("{left} of {limit} left today ({source}); resets {when}").format(
            left=format_amount(self.left, self.unit),
            limit=format_amount(self.limit, self.unit),
            source=self.source,
            when=discord_time(self.resets_at),
        )


class Ticket:
    """An admitted request. ``settle`` once (later calls do nothing)."""

    def __init__(
        self, governor: Optional["Governor"], reservation: Optional[Reservation], model: str
    ) -> None:
        self._governor = governor
        self._reservation = reservation
        self._model = model
        self.settled = False

    def settle(self, usage: Optional[Usage]) -> None:
        """Charge ``usage`` (None: nothing was spent) and refund the rest of the reservation."""
        if self.settled:
            return
        self.settled = True
        if self._reservation is None or self._governor is None:
            return
        tokens = usage.total_tokens if usage else 0
        cost = usage.cost_usd if usage and usage.cost_usd is not None else 0.0
        self._governor.ledger.settle(self._reservation, tokens, cost)

    async def track(self, events: AsyncGenerator[ChatEvent, None]) -> AsyncGenerator[ChatEvent, None]:
        """Pass the engine's events through and settle on the ``Usage`` they report, however it ends."""
        usage: Optional[Usage] = None
        try:
            async for event in events:
                if isinstance(event, Usage):
                    usage = event
                yield event
        finally:
            try:
                await events.aclose()
            finally:
                self.settle(usage)


UNLIMITED = Ticket(None, None, "")


class Governor:
    """Budgets and rate limits of every server, in memory."""

    def __init__(self, prices: Callable[[], PriceBook], clock: Callable[[], float] = time.time) -> None:
        self._prices = prices
        self.clock = clock  # replaceable (tests move time instead of sleeping)
        self.ledger = BudgetLedger(lambda: self.clock())
        self.buckets = Buckets(lambda: self.clock())

    def admit(self, rules: GuildRules, request: Admission) -> Ticket:
        if request.bypass or not rules.limits_anything:
            return Ticket(None, None, request.model)
        budgets = rules.budgets
        if budgets.bypass_roles.intersection(request.role_ids):
            return Ticket(None, None, request.model)
        taken = self._take_rates(rules, request)
        try:
            reservation = self._reserve(budgets, request)
        except BudgetExhausted:
            for key, rate in taken:
                self.buckets.give_back(key, rate)
            raise
        return Ticket(self, reservation, request.model)

    # -- rate limits

    def _take_rates(self, rules: GuildRules, request: Admission) -> List[Tuple[tuple, Rate]]:
        checks: List[Tuple[tuple, Rate]] = []
        if rules.rates.member is not None:
            checks.append((("member", request.guild_id, request.user_id), rules.rates.member))
        if rules.rates.server is not None:
            checks.append((("guild", request.guild_id), rules.rates.server))
        for key, rate in checks:
            retry = self.buckets.retry_at(key, rate)
            if retry is not None:
                if key[0] != "member":
                    text = _("Too many requests: the limit is {rate} for this server. Try again {when}.")
                elif request.guild_id == DM_SCOPE:
                    text = _(
                        "Too many requests: the limit in DMs is {rate} for each member. Try again {when}."
                    )
                else:
                    text = _("Too many requests: the limit is {rate} for each member. Try again {when}.")
                raise RateLimited(
                    text.format(rate=rate.describe(), when=discord_time(retry + 1)),
                    limit="member rate" if key[0] == "member" else "server rate",
                    resets_at=retry,
                )
        for key, rate in checks:
            self.buckets.take(key, rate)
        return checks

    # -- budgets

    def estimate(self, request: Admission, *, usd: bool = True) -> Tuple[int, Optional[float]]:
        """Tokens and USD (None if the model has no price) this request may use at most.

        The price lookup is skipped (USD 0) with ``usd=False``, when no limit is in USD.
        """
        completion = request.max_tokens or DEFAULT_MAX_TOKENS
        cost = self._prices().cost(request.model, request.prompt_tokens, completion) if usd else 0.0
        return request.prompt_tokens + completion, cost

    def remaining(
        self, budgets: BudgetRules, guild_id: int, user_id: int, role_ids: Tuple[int, ...]
    ) -> Remaining:
        default = _("the bot owner's limit for DMs") if guild_id == DM_SCOPE else None
        limit, source = budgets.member_limit(user_id, role_ids, default_source=default)
        spent = self.ledger.spent(("member", guild_id, user_id), budgets.reset_hour).in_unit(budgets.unit)
        return Remaining(limit, budgets.unit, spent, source, self.resets_at(budgets))

    def server_remaining(self, budgets: BudgetRules, guild_id: int) -> Remaining:
        spent = self.ledger.spent(("guild", guild_id), budgets.reset_hour).in_unit(budgets.server_unit)
        source = _("all DMs together") if guild_id == DM_SCOPE else _("server total")
        return Remaining(budgets.server_amount, budgets.server_unit, spent, source, self.resets_at(budgets))

    def resets_at(self, budgets: BudgetRules) -> float:
        return period_start(self.clock(), budgets.reset_hour) + DAY

    def _reserve(self, budgets: BudgetRules, request: Admission) -> Optional[Reservation]:
        if not budgets.active:
            return None
        tokens, usd = self.estimate(request, usd=USD in (budgets.unit, budgets.server_unit))
        member = self.remaining(budgets, request.guild_id, request.user_id, request.role_ids)
        server = self.server_remaining(budgets, request.guild_id)
        for left, limit in ((member, "member budget"), (server, "server budget")):
            if left.limit is None:
                continue
            if left.unit == USD and usd is None:
                raise BudgetExhausted(
                    _(
                        "⚠️ Budgets here are in USD, but `{model}` has no known price, so its cost "
                        "can't be checked. The bot owner can set one with `[p]ai pricing set`."
                    ).format(model=request.model),
                    limit="price",
                    resets_at=left.resets_at,
                )
            if left.left <= 0:
                text = self._exhausted_text(limit, in_dms=request.guild_id == DM_SCOPE)
                raise BudgetExhausted(
                    text.format(
                        zero=format_amount(0, left.unit),
                        limit=format_amount(left.limit, left.unit),
                        when=discord_time(left.resets_at),
                    ),
                    limit=limit,
                    resets_at=left.resets_at,
                )
        keys = [("member", request.guild_id, request.user_id), ("guild", request.guild_id)]
        return self.ledger.reserve(tuple(keys), budgets.reset_hour, tokens, usd or 0.0)

    @staticmethod
    def _exhausted_text(limit: str, *, in_dms: bool) -> str:
        if limit == "member budget":
            if in_dms:
                return _("Your daily AI budget in DMs is used up: {zero} of {limit} left. It resets {when}.")
            return _("Your daily AI budget here is used up: {zero} of {limit} left. It resets {when}.")
        if in_dms:
            return _(
                "The daily AI budget of all DMs together is used up: {zero} of {limit} left. It resets {when}."
            )
        return _("This server's daily AI budget is used up: {zero} of {limit} left. It resets {when}.")
