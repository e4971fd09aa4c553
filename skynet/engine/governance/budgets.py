"""Daily budgets in tokens or USD, with reservations so concurrent requests cannot overspend.

A request reserves its estimate (input tokens + ``max_tokens``) before the provider is called
and settles its real usage at the end, which refunds the rest. A request is admitted while
something is left (spent + reserved < limit), so concurrent requests overspend by at most one
request's estimate. Days start at a configurable UTC hour.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Hashable, Mapping, Optional, Tuple

from ..i18n import _, number
from ..usage.pricing import format_cost

TOKENS, USD = "tokens", "usd"
UNITS = (TOKENS, USD)
MAX_TOKENS_BUDGET = 1_000_000_000
MAX_USD_BUDGET = 100_000.0
DAY = 86_400


def format_amount(amount: float, unit: str) -> str:
    if unit == USD:
        return format_cost(amount)
    return _("{amount} tokens").format(amount=number(int(round(amount))))


def budget_change_text(server: bool, value: Optional[float], unit: str, cleared: bool) -> str:
    """What an admin is told after setting a daily budget (by command or in the web panel)."""
    if server:
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
    return text


def override_change_text(target: str, value: Optional[float], unit: str) -> str:
    """What an admin is told after setting (or removing) a role's or a member's daily budget."""
    if value is None:
        return _("Budget of {target} removed; the next rule applies.").format(target=target)
    return _("Daily budget of {target} set to {amount}.").format(
        target=target, amount=format_amount(value, unit)
    )


def bypass_change_text(added: bool, role: str) -> str:
    """What an admin is told after adding or removing a bypass role."""
    text = (
        _("{role} now skips budgets and rate limits.")
        if added
        else _("{role} no longer skips budgets and rate limits.")
    )
    return text.format(role=role)


def period_start(now: float, reset_hour: int) -> float:
    """The start (epoch seconds) of the budget day containing ``now``."""
    offset = reset_hour * 3600
    return ((now - offset) // DAY) * DAY + offset


@dataclass(frozen=True)
class BudgetRules:
    """One server's budgets. Member amounts (default, roles, members) share ``unit``."""

    member_amount: Optional[float] = None  # default daily budget of each member
    unit: str = TOKENS
    server_amount: Optional[float] = None  # the whole server's daily total
    server_unit: str = TOKENS
    roles: Mapping[int, float] = field(default_factory=dict)
    members: Mapping[int, float] = field(default_factory=dict)
    reset_hour: int = 0
    bypass_roles: FrozenSet[int] = frozenset()

    @property
    def active(self) -> bool:
        return (
            self.member_amount is not None
            or self.server_amount is not None
            or bool(self.roles or self.members)
        )

    def member_limit(
        self, user_id: int, role_ids: Tuple[int, ...], *, default_source: Optional[str] = None
    ) -> Tuple[Optional[float], str]:
        """The member's daily budget and where it comes from: member ▸ highest role ▸ the default
        (``default_source`` names it; "server default" unless given)."""
        if user_id in self.members:
            return self.members[user_id], _("member override")
        amounts = [(self.roles[r], r) for r in role_ids if r in self.roles]
        if amounts:
            amount, role = max(amounts)
            return amount, _("role {role}").format(role=f"<@&{role}>")
        if self.member_amount is not None:
            return self.member_amount, default_source or _("server default")
        return None, _("no budget")


@dataclass
class Spend:
    """Tokens and USD used (including reservations) in the current period."""

    tokens: float = 0.0
    usd: float = 0.0

    def in_unit(self, unit: str) -> float:
        return self.usd if unit == USD else self.tokens


@dataclass(frozen=True)
class Reservation:
    keys: Tuple[Hashable, ...]
    period: float
    tokens: float
    usd: float


class BudgetLedger:
    """What each member and server spent this period, in memory (the shell persists it in batches)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._spend: Dict[Hashable, Spend] = {}
        self._periods: Dict[Hashable, float] = {}  # key -> the period its spend belongs to
        self.dirty: set = set()  # guild ids with changes not yet persisted

    def spent(self, key: Hashable, reset_hour: int) -> Spend:
        period = period_start(self._clock(), reset_hour)
        if self._periods.get(key) != period:
            return Spend()
        return self._spend[key]

    def reserve(self, keys: Tuple[Hashable, ...], reset_hour: int, tokens: float, usd: float) -> Reservation:
        period = period_start(self._clock(), reset_hour)
        for key in keys:
            self._add(key, period, tokens, usd)
        return Reservation(keys, period, tokens, usd)

    def settle(self, reservation: Reservation, tokens: float, usd: float) -> None:
        """Replace the reservation by the real usage (only within the period it was made in)."""
        for key in reservation.keys:
            if self._periods.get(key) == reservation.period:
                self._add(key, reservation.period, tokens - reservation.tokens, usd - reservation.usd)

    def _add(self, key: Hashable, period: float, tokens: float, usd: float) -> None:
        if self._periods.get(key) != period:
            self._periods[key] = period
            self._spend[key] = Spend()
        spend = self._spend[key]
        spend.tokens = max(0.0, spend.tokens + tokens)
        spend.usd = max(0.0, spend.usd + usd)
        self.dirty.add(key[1])  # keys are ("member", guild, user) or ("guild", guild)

    # -- persistence (JSON shape per guild: {"period": p, "server": [t, usd], "members": {id: [t, usd]}})

    def dump(self, guild_id: int) -> Dict:
        out: Dict = {"members": {}}
        for key, spend in self._spend.items():
            if key[1] != guild_id:
                continue
            out["period"] = self._periods[key]
            if key[0] == "guild":
                out["server"] = [spend.tokens, spend.usd]
            else:
                out["members"][str(key[2])] = [spend.tokens, spend.usd]
        return out

    def load(self, guild_id: int, data: Mapping) -> None:
        period = data.get("period")
        if period is None:
            return
        if "server" in data:
            self._periods[("guild", guild_id)] = period
            self._spend[("guild", guild_id)] = Spend(*data["server"])
        for user, pair in (data.get("members") or {}).items():
            key = ("member", guild_id, int(user))
            self._periods[key] = period
            self._spend[key] = Spend(*pair)

    def of_user(self, user_id: int) -> Dict[str, Any]:
        """Today's spend of ``user_id`` by server (for data exports)."""
        return {
            str(key[1]): {"tokens": spend.tokens, "usd": spend.usd}
            for key, spend in self._spend.items()
            if key[0] == "member" and key[2] == user_id
        }

    def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        for key in [
            k for k in self._spend if k[0] == "member" and k[2] == user_id and guild_id in (None, k[1])
        ]:
            self.dirty.add(key[1])
            del self._spend[key], self._periods[key]
