"""What images and audio cost, and the per-member daily image count.

Prices: an owner-set price per image for a model wins; else the price book below where the
provider publishes one (USD per image, by model, quality and size); else unknown (None). Audio is
priced per minute transcribed and per million characters spoken.

Budgets: media spend is charged to the same daily ledger as chat (:class:`~..governance.Governor`),
reserved before the provider is called and settled after, so a USD budget refuses a drawing it
cannot afford and a refused or failed drawing costs nothing. The daily image count is separate:
at most N images per member per budget day (the budget's reset hour).
"""

from __future__ import annotations

import time
from typing import Callable, Dict, Mapping, Optional, Tuple

from ..events import Usage
from ..governance.budgets import USD, Reservation, format_amount, period_start
from ..governance.errors import BudgetExhausted, discord_time
from ..governance.governor import Governor
from ..governance.rules import GuildRules
from ..i18n import _

# USD per image, published prices (2025-2026). Keys: model -> quality -> size ("*": any).
IMAGE_PRICES: Dict[str, Dict[str, Dict[str, float]]] = {
    "dall-e-3": {
        "standard": {"1024x1024": 0.04, "*": 0.08},
        "hd": {"1024x1024": 0.08, "*": 0.12},
    },
    "dall-e-2": {"*": {"256x256": 0.016, "512x512": 0.018, "*": 0.02}},
    "gpt-image-1": {
        "low": {"1024x1024": 0.011, "*": 0.016},
        "medium": {"1024x1024": 0.042, "*": 0.063},
        "high": {"1024x1024": 0.167, "*": 0.25},
    },
    "gpt-image-1-mini": {
        "low": {"1024x1024": 0.005, "*": 0.006},
        "medium": {"1024x1024": 0.011, "*": 0.015},
        "high": {"1024x1024": 0.036, "*": 0.052},
    },
}
# What each model does when no quality is given.
DEFAULT_QUALITY = {"dall-e-3": "standard", "gpt-image-1": "high", "gpt-image-1-mini": "high"}
TRANSCRIBE_PER_MINUTE = {"whisper-1": 0.006, "gpt-4o-transcribe": 0.006, "gpt-4o-mini-transcribe": 0.003}
SPEECH_PER_MILLION_CHARS = {"tts-1": 15.0, "tts-1-hd": 30.0}


def _base_name(model: str) -> str:
    return model.rpartition("/")[2].lower()  # OpenRouter's "openai/dall-e-3"


def image_price(
    model: str, quality: Optional[str], size: Optional[str], overrides: Mapping[str, float] = {}
) -> Optional[float]:
    """USD for one image of ``model`` (``overrides``: the owner's prices, by model), or None."""
    if model in overrides:
        return float(overrides[model])
    table = IMAGE_PRICES.get(_base_name(model))
    if table is None:
        return None
    quality = (quality or "").lower()
    if quality in ("", "auto") or quality not in table:
        quality = DEFAULT_QUALITY.get(_base_name(model), "*")
    by_size = table.get(quality) or table.get("*") or {}
    size = size if size and size != "auto" else "1024x1024"
    return by_size.get(size, by_size.get("*"))


def transcription_price(model: str, seconds: float) -> Optional[float]:
    rate = TRANSCRIBE_PER_MINUTE.get(_base_name(model))
    return None if rate is None else rate * seconds / 60.0


def speech_price(model: str, characters: int) -> Optional[float]:
    rate = SPEECH_PER_MILLION_CHARS.get(_base_name(model))
    return None if rate is None else rate * characters / 1_000_000


class MediaTicket:
    """A reserved media spend; ``settle`` once with what it really cost (0 when it failed)."""

    def __init__(self, governor: Optional[Governor], reservation: Optional[Reservation]) -> None:
        self._governor = governor
        self._reservation = reservation
        self.settled = False

    def settle(self, usd: float, tokens: int = 0) -> None:
        if self.settled:
            return
        self.settled = True
        if self._governor is not None and self._reservation is not None:
            self._governor.ledger.settle(self._reservation, tokens, usd)


def admit_media(
    governor: Governor,
    rules: GuildRules,
    *,
    guild_id: int,
    user_id: int,
    role_ids: Tuple[int, ...],
    model: str,
    price: Optional[float],
    bypass: bool = False,
) -> MediaTicket:
    """Check the member's and the server's budgets for one media request costing ``price`` USD.

    Raises :class:`BudgetExhausted` when a budget is used up, or when budgets are in USD and the
    price is unknown (the owner can set one).
    """
    budgets = rules.budgets
    if bypass or not budgets.active or budgets.bypass_roles.intersection(role_ids):
        return MediaTicket(None, None)
    member = governor.remaining(budgets, guild_id, user_id, role_ids)
    server = governor.server_remaining(budgets, guild_id)
    for left, limit in ((member, "member budget"), (server, "server budget")):
        if left.limit is None:
            continue
        if left.unit == USD and price is None:
            raise BudgetExhausted(
                _(
                    "⚠️ Budgets here are in USD, but `{model}` has no known price per image, so its cost "
                    "can't be checked. The bot owner can set one with `[p]ai draw price <model> <usd>`."
                ).format(model=model),
                limit="price",
                resets_at=left.resets_at,
            )
        if left.left is not None and left.left <= 0:
            raise BudgetExhausted(
                _("Your daily AI budget here is used up: {zero} of {limit} left. It resets {when}.").format(
                    zero=format_amount(0, left.unit),
                    limit=format_amount(left.limit, left.unit),
                    when=discord_time(left.resets_at),
                )
                if limit == "member budget"
                else _(
                    "This server's daily AI budget is used up: {zero} of {limit} left. It resets {when}."
                ).format(
                    zero=format_amount(0, left.unit),
                    limit=format_amount(left.limit, left.unit),
                    when=discord_time(left.resets_at),
                ),
                limit=limit,
                resets_at=left.resets_at,
            )
    keys = (("member", guild_id, user_id), ("guild", guild_id))
    return MediaTicket(governor, governor.ledger.reserve(keys, budgets.reset_hour, 0, price or 0.0))


def media_usage(usd: Optional[float], tokens: int = 0) -> Usage:
    """A usage record for the usage counters (a request with its cost; tokens when reported)."""
    return Usage(0, tokens, estimated=False, cost_usd=usd)


class ImageQuota:
    """Images drawn per member per budget day; plain data the shell persists (a write per drawing)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._counts: Dict[Tuple[int, int], Tuple[float, int]] = {}  # (guild, user) -> (period, count)

    def used(self, guild_id: int, user_id: int, reset_hour: int = 0) -> int:
        period, count = self._counts.get((guild_id, user_id), (None, 0))
        return count if period == period_start(self.clock(), reset_hour) else 0

    def take(self, guild_id: int, user_id: int, limit: Optional[int], reset_hour: int = 0) -> None:
        """Count one image, or refuse the one past ``limit`` (None: no limit)."""
        used = self.used(guild_id, user_id, reset_hour)
        period = period_start(self.clock(), reset_hour)
        if limit is not None and used >= limit:
            raise BudgetExhausted(
                _("You have drawn your {limit} images for today here. More {when}.").format(
                    limit=limit, when=discord_time(period + 86_400)
                ),
                limit="images per day",
                resets_at=period + 86_400,
            )
        self._counts[(guild_id, user_id)] = (period, used + 1)

    def give_back(self, guild_id: int, user_id: int, reset_hour: int = 0) -> None:
        """The drawing failed or was refused: it does not count."""
        key = (guild_id, user_id)
        period, count = self._counts.get(key, (None, 0))
        if period == period_start(self.clock(), reset_hour) and count > 0:
            self._counts[key] = (period, count - 1)

    # -- persistence and the privacy data map

    def dump(self, guild_id: int) -> Dict[str, list]:
        return {str(u): [p, c] for (g, u), (p, c) in self._counts.items() if g == guild_id}

    def load(self, guild_id: int, data: Mapping[str, list]) -> None:
        for user, (period, count) in (data or {}).items():
            self._counts[(guild_id, int(user))] = (float(period), int(count))

    def export_user(self, user_id: int) -> Dict[str, int]:
        return {str(g): c for (g, u), (_p, c) in self._counts.items() if u == user_id}

    def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        for key in [k for k in self._counts if k[1] == user_id and (guild_id is None or k[0] == guild_id)]:
            del self._counts[key]
