"""Token-bucket rate limits: ``requests`` per ``seconds``, refilled continuously.

A bucket holds up to ``requests`` tokens and gains ``requests / seconds`` per second, so a burst
of ``requests`` is allowed and then one request every ``seconds / requests``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, Hashable, Optional, Tuple

from ..i18n import _, plural

MAX_BUCKETS = 200_000  # idle full buckets are dropped beyond this (they hold no information)


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: float

    def describe(self) -> str:
        text = plural(self.requests, _("{count} request per {seconds} s"), _("{count} requests per {seconds} s"))
        return text.format(count=self.requests, seconds=f"{self.seconds:g}")


class Buckets:
    """Buckets by key, e.g. ``("member", guild_id, user_id)`` or ``("guild", guild_id)``."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # key -> (tokens, updated_at, rate): a changed rate starts a fresh bucket
        self._buckets: Dict[Hashable, Tuple[float, float, Rate]] = {}

    def _level(self, key: Hashable, rate: Rate, now: float) -> float:
        state = self._buckets.get(key)
        if state is None or state[2] != rate:
            return float(rate.requests)
        tokens, updated, _ = state
        return min(float(rate.requests), tokens + (now - updated) * rate.requests / rate.seconds)

    def retry_at(self, key: Hashable, rate: Rate) -> Optional[float]:
        """None if a request may go now, else when (epoch seconds) one token will be there."""
        now = self._clock()
        level = self._level(key, rate, now)
        if level >= 1:
            return None
        return now + (1 - level) * rate.seconds / rate.requests

    def take(self, key: Hashable, rate: Rate) -> None:
        """Use one token (call after :meth:`retry_at` said None)."""
        now = self._clock()
        self._buckets[key] = (self._level(key, rate, now) - 1, now, rate)
        if len(self._buckets) > MAX_BUCKETS:
            self._drop_full(now)

    def give_back(self, key: Hashable, rate: Rate) -> None:
        """Return a token taken for a request that did not happen (another limit refused it)."""
        now = self._clock()
        self._buckets[key] = (min(float(rate.requests), self._level(key, rate, now) + 1), now, rate)

    def _drop_full(self, now: float) -> None:
        for key in [
            k
            for k, (t, u, r) in self._buckets.items()
            if t + (now - u) * r.requests / r.seconds >= r.requests
        ]:
            del self._buckets[key]
