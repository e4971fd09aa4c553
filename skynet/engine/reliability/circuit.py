"""A circuit breaker per endpoint: after repeated failures, stop sending it requests for a while.

closed ─(N consecutive failures)─► open ─(cool-down)─► half-open ─(success)─► closed
                                                          └─(failure)─► open again
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict

from ..errors import SkynetError
from ..i18n import _, plural

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitOpen(SkynetError):
    kind = "circuit_open"


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float = field(default=0.0)
    _probing: bool = False

    @property
    def state(self) -> str:
        if self.failures < self.failure_threshold:
            return CLOSED
        return HALF_OPEN if self.clock() - self.opened_at >= self.cooldown else OPEN

    def allow(self) -> bool:
        """May a request go to this endpoint now? Half-open lets one probe through at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        self.failures, self._probing = 0, False

    def record_failure(self) -> None:
        self._probing = False
        self.failures += 1
        if self.failures >= self.failure_threshold:
            self.opened_at = self.clock()  # (re)open: a failed probe restarts the cool-down

    def release(self) -> None:
        """A probe ended without a verdict about the endpoint (e.g. cancelled)."""
        self._probing = False

    def retry_in(self) -> float:
        return max(0.0, self.cooldown - (self.clock() - self.opened_at))

    def describe(self) -> str:
        """The breaker's state in plain words (shown by ``ai provider list`` and ``test``)."""
        state = self.state
        if state == CLOSED:
            if self.failures:
                return plural(
                    self.failures,
                    _("in use; its last request failed"),
                    _("in use; its last {count} requests failed"),
                ).format(count=self.failures)
            return _("in use")
        if state == OPEN:
            return _("paused for {seconds} s after {count} failed requests in a row").format(
                count=self.failures, seconds=f"{self.retry_in():.0f}"
            )
        return _("paused; the next request tests whether it answers again")


class Circuits:
    """One breaker per endpoint name, created on first use."""

    def __init__(
        self, failure_threshold: int = 5, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._breakers: Dict[str, CircuitBreaker] = {}

    def get(self, endpoint: str) -> CircuitBreaker:
        breaker = self._breakers.get(endpoint)
        if breaker is None:
            breaker = self._breakers[endpoint] = CircuitBreaker(
                self.failure_threshold, self.cooldown, self.clock
            )
        return breaker

    def describe(self, endpoint: str) -> str:
        return self.get(endpoint).describe()
