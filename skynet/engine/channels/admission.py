"""Admission for the channel assistant's own kinds of request, on the governor's ledger.

- A **scheduled prompt** is the server's, not a member's: it counts against the server's daily
  budget and rate limit only.
- A member using **their own key** pays the provider themselves: the server's budgets are not
  touched, but its rate limits still apply (they protect the bot and the channel).
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import SkynetError
from ..governance.budgets import USD, format_amount
from ..governance.errors import BudgetExhausted, discord_time
from ..governance.governor import Admission, Governor, Ticket
from ..governance.rules import GuildRules
from ..i18n import _


def admit_server(governor: Governor, rules: GuildRules, admission: Admission) -> Ticket:
    """Reserve ``admission`` on the server's budget and take the server's rate (no member)."""
    if not rules.limits_anything:
        return Ticket(None, None, admission.model)
    server_only = replace(rules, rates=replace(rules.rates, member=None))
    taken = governor._take_rates(server_only, admission)
    budgets = rules.budgets
    if budgets.server_amount is None:
        return Ticket(None, None, admission.model)
    tokens, usd = governor.estimate(admission, usd=budgets.server_unit == USD)
    left = governor.server_remaining(budgets, admission.guild_id)
    problem = None
    if budgets.server_unit == USD and usd is None:
        problem = _("Budgets here are in USD, but `{model}` has no known price.").format(model=admission.model)
    elif left.left is not None and left.left <= 0:
        problem = _("This server's daily AI budget is used up: {zero} of {limit} left. It resets {when}.").format(
            zero=format_amount(0, left.unit), limit=format_amount(left.limit, left.unit), when=discord_time(left.resets_at)
        )
    if problem:
        for key, rate in taken:
            governor.buckets.give_back(key, rate)
        raise BudgetExhausted(problem, limit="server budget", resets_at=left.resets_at)
    reservation = governor.ledger.reserve((("guild", admission.guild_id),), budgets.reset_hour, tokens, usd or 0.0)
    return Ticket(governor, reservation, admission.model)


def admit_own_key(governor: Governor, rules: GuildRules, admission: Admission) -> Ticket:
    """Rate limits only: the member's own key pays, so no budget is reserved."""
    if admission.bypass or rules.rates.member is None and rules.rates.server is None:
        return Ticket(None, None, admission.model)
    if rules.budgets.bypass_roles.intersection(admission.role_ids):
        return Ticket(None, None, admission.model)
    governor._take_rates(rules, admission)
    return Ticket(None, None, admission.model)


class OwnKeyFailed(SkynetError):
    kind = "own_key_failed"
