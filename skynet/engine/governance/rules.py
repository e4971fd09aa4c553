"""A server's stored governance settings (one JSON dict) parsed into rule objects, once per write.

Stored shape (all keys optional)::

    {"listen": {"mode", "context", "cooldown", "user_cooldown", "keywords", "allow", "deny",
                "channels": {"<id>": {"mode", "context", "cooldown"}}},
     "budget": {"member", "unit", "server", "server_unit", "roles": {"<id>": n},
                "members": {"<id>": n}, "reset_hour", "bypass": [role ids]},
     "ratelimit": {"user": [requests, seconds], "server": [requests, seconds]},
     "tools": {"server": {tool: action}, "channels": {...}, "roles": {...}, "members": {...}}}

DMs have rules of the same shape, set by the bot owner (budgets and rate limits only), kept under
the scope id :data:`DM_SCOPE` wherever a server id would go (no Discord server has id 0): their
"server" budget and rate are the total of all DMs together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .buckets import Rate
from .budgets import TOKENS, BudgetRules
from .listening import OFF, ChannelListen, ListenRules, keyword_pattern
from .policy import ToolPolicies

DM_SCOPE = 0


@dataclass(frozen=True)
class RateRules:
    member: Optional[Rate] = None
    server: Optional[Rate] = None


@dataclass(frozen=True)
class GuildRules:
    listen: ListenRules = field(default_factory=ListenRules)
    budgets: BudgetRules = field(default_factory=BudgetRules)
    rates: RateRules = field(default_factory=RateRules)
    tools: ToolPolicies = field(default_factory=ToolPolicies)

    @property
    def limits_anything(self) -> bool:
        return self.budgets.active or self.rates.member is not None or self.rates.server is not None


def _rate(pair: Any) -> Optional[Rate]:
    return Rate(int(pair[0]), float(pair[1])) if pair else None


def parse_rules(data: Optional[Mapping[str, Any]]) -> GuildRules:
    data = data or {}
    listen = data.get("listen") or {}
    keywords = tuple(listen.get("keywords") or ())
    channels = {
        int(cid): ChannelListen(c.get("mode"), c.get("context"), c.get("cooldown"))
        for cid, c in (listen.get("channels") or {}).items()
    }
    budget = data.get("budget") or {}
    rates = data.get("ratelimit") or {}
    return GuildRules(
        listen=ListenRules(
            mode=listen.get("mode") or OFF,
            context=bool(listen.get("context")),
            cooldown=float(listen.get("cooldown") or 0),
            user_cooldown=float(listen.get("user_cooldown") or 0),
            keywords=keywords,
            allow=frozenset(int(i) for i in listen.get("allow") or ()),
            deny=frozenset(int(i) for i in listen.get("deny") or ()),
            channels=channels,
            pattern=keyword_pattern(keywords),
        ),
        budgets=BudgetRules(
            member_amount=budget.get("member"),
            unit=budget.get("unit") or TOKENS,
            server_amount=budget.get("server"),
            server_unit=budget.get("server_unit") or TOKENS,
            roles={int(i): float(a) for i, a in (budget.get("roles") or {}).items()},
            members={int(i): float(a) for i, a in (budget.get("members") or {}).items()},
            reset_hour=int(budget.get("reset_hour") or 0),
            bypass_roles=frozenset(int(i) for i in budget.get("bypass") or ()),
        ),
        rates=RateRules(_rate(rates.get("user")), _rate(rates.get("server"))),
        tools=ToolPolicies.from_json(data.get("tools")),
    )
