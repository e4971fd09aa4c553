"""Refusals of the governance layer: each says which limit, what is left and when it resets."""

from __future__ import annotations

from ..errors import SkynetError


def discord_time(epoch: float) -> str:
    """A Discord timestamp that every reader sees in their own time zone, relative ("in 3 hours")."""
    return f"<t:{int(epoch)}:R>"


class GovernanceRefusal(SkynetError):
    """A request refused by a limit; ``resets_at`` (epoch seconds) is when trying again can work."""

    kind = "refused"

    def __init__(self, message: str, *, limit: str, resets_at: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.resets_at = resets_at


class BudgetExhausted(GovernanceRefusal):
    kind = "budget_exhausted"


class RateLimited(GovernanceRefusal):
    kind = "rate_limited"
