"""When to retry a failed request, when to move to the next model, and how long to wait.

The SDK's own retries are off (``max_retries=0``): this is the one policy. It only ever applies
before the first token was shown, so an answer is never written twice.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Optional

import httpx
import openai

from ..errors import SkynetError, StreamCut


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring ``Retry-After`` up to a cap.

    ``deadline`` bounds the whole request before its first token (all attempts, all fallbacks and
    waits); a wait longer than ``status_after`` is announced to the member with a status line.
    """

    max_attempts: int = 3  # per model in the chain
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 30.0  # a longer Retry-After means "rate-limited past the cap"
    deadline: float = 60.0
    status_after: float = 2.5  # so the first feedback comes within 3 s

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number ``attempt + 1`` (full jitter, at least a quarter)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return rng.uniform(ceiling / 4, ceiling)

    def wait_for(self, attempt: int, retry_after: Optional[float], rng: random.Random) -> Optional[float]:
        """Seconds to wait before retrying, or None if the server asks for longer than the cap."""
        if retry_after is not None:
            if retry_after > self.retry_after_cap:
                return None
            return max(0.0, retry_after)
        return self.backoff(attempt, rng)


@dataclass(frozen=True)
class Verdict:
    """How a failure before the first token is handled.

    ``retry``: the same model may succeed soon (429, 5xx, connection, timeout).
    ``failover``: the next model of the chain should be tried (this endpoint is unavailable).
    ``endpoint_fault``: counts against the endpoint's circuit breaker.
    """

    kind: str
    retry: bool
    failover: bool
    endpoint_fault: bool
    retry_after: Optional[float] = None


def retry_after_of(exc: BaseException) -> Optional[float]:
    """The server's ``Retry-After`` (seconds or ``retry-after-ms``), if it sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms") is not None:
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after") is not None:
            return float(headers["retry-after"])
    except (TypeError, ValueError):  # an HTTP date: treat it as "a while"
        return None
    return None


def classify(exc: BaseException) -> Verdict:
    """Sort a failure that happened before any text was shown."""
    if isinstance(exc, SkynetError):  # our own refusals (missing key, circuit open...)
        failover = exc.kind in ("circuit_open", "missing_key")
        return Verdict(exc.kind, False, failover, False)
    if isinstance(exc, openai.RateLimitError):
        if exc.code == "insufficient_quota":
            return Verdict("quota", False, True, False)
        return Verdict("rate_limited", True, True, False, retry_after_of(exc))
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return Verdict("provider_down", True, True, True, retry_after_of(exc))
        return Verdict("refused", False, False, False)  # 400/401/403/404: retrying changes nothing
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, asyncio.TimeoutError)):
        # Another try would cost the whole timeout again: move on to the next model instead.
        return Verdict("timeout", False, True, True)
    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError, ConnectionError)):
        return Verdict("provider_down", True, True, True)
    if isinstance(exc, (StreamCut, json.JSONDecodeError)):  # broke off before any text
        return Verdict("stream_cut", True, True, True)
    return Verdict("unexpected", False, False, False)
