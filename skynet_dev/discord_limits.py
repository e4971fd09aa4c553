"""What Discord enforces, for the test harness: a test fails where Discord would refuse.

* Message bodies: content ≤ 2,000 characters, ≤ 10 embeds, embed titles ≤ 256, descriptions
  ≤ 4,096, ≤ 25 fields (names ≤ 256, values ≤ 1,024), footers ≤ 2,048, author names ≤ 256, and
  all embeds of a message ≤ 6,000 characters together. Refused with Discord's real 400 payload
  (``50035 Invalid Form Body``), raised as discord.py raises it: ``discord.HTTPException``.
* Rates: per channel 5 message sends/edits per 5 s, bot-wide 50 requests per second. A request
  over a budget gets Discord's 429 payload (``retry_after``, ``global``), handled as discord.py's
  ``HTTPClient.request`` handles it: it raises ``discord.RateLimited`` if ``retry_after`` exceeds
  the client's ``max_ratelimit_timeout``, otherwise sleeps ``retry_after`` and tries again (5 tries,
  then ``discord.HTTPException`` with status 429). Every 429 answered is kept in ``rate_limited``,
  so a test can assert that the bot never hit one (Discord counts them against the bot).

``mode``: ``"strict"`` (default) enforces everything; ``"bodies"`` only checks message bodies
(for tests that deliberately send faster than Discord allows); ``"off"`` checks nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, TypeVar

import discord

T = TypeVar("T")

CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
CHANNEL_BUDGET = (5, 5.0)  # sends + edits per channel per window (seconds)
GLOBAL_BUDGET = (50, 1.0)  # requests per bot per window
TRIES = 5  # discord.py's HTTPClient.request gives up after this many 429s


def max_in_window(times: List[float], window: float) -> int:
    """The most events in any half-open window of ``window`` seconds (how Discord counts a rate)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class _Response:
    """Enough of an aiohttp response for ``discord.HTTPException``."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class RateLimitHit:
    """One 429 the fake Discord answered."""

    channel_id: Optional[int]
    kind: str  # "send", "edit", "typing", "interaction"
    retry_after: float
    is_global: bool
    at: float


def invalid_form_body(errors: Dict[str, Any]) -> discord.HTTPException:
    """Discord's 400 for a body it refuses, as discord.py raises it."""
    data = {"code": 50035, "message": "Invalid Form Body", "errors": errors}
    return discord.HTTPException(_Response(400, "Bad Request"), data)


def _too_long(limit: int) -> Dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


COMPONENTS_V2 = 1 << 15
TEXT_DISPLAY_TOTAL = 4000  # the characters of all text displays of one message


def _display_text(components: Any) -> int:
    total = 0
    for component in components or ():
        if component.get("type") == 10:
            total += len(component.get("content") or "")
        total += _display_text(component.get("components"))
    return total


def body_errors(body: Dict[str, Any]) -> Dict[str, Any]:
    """The ``errors`` object Discord would answer for a message body (empty if it is valid)."""
    errors: Dict[str, Any] = {}
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_LIMIT:
        errors["content"] = _too_long(CONTENT_LIMIT)
    if int(body.get("flags") or 0) & COMPONENTS_V2:  # text displays replace content and embeds
        if content or body.get("embeds"):
            errors["content"] = {"_errors": [{"code": "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                                              "message": "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2"}]}
        if _display_text(body.get("components")) > TEXT_DISPLAY_TOTAL:
            errors["components"] = _too_long(TEXT_DISPLAY_TOTAL)
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        errors["embeds"] = _too_long(EMBEDS_PER_MESSAGE)
    total = 0
    for index, embed in enumerate(embeds[:EMBEDS_PER_MESSAGE]):
        problems: Dict[str, Any] = {}
        for key, limit in EMBED_LIMITS.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                problems[key] = _too_long(limit)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS:
            problems["fields"] = _too_long(EMBED_FIELDS)
        for f_index, field in enumerate(fields):
            for key, limit in FIELD_LIMITS.items():
                text = str(field.get(key) or "")
                total += len(text)
                if len(text) > limit:
                    problems.setdefault("fields", {}).setdefault(str(f_index), {})[key] = _too_long(limit)
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
        if len(footer) > 2048:
            problems["footer"] = {"text": _too_long(2048)}
        if len(author) > 256:
            problems["author"] = {"name": _too_long(256)}
        if problems:
            errors.setdefault("embeds", {})[str(index)] = problems
    if total > EMBED_TOTAL:
        errors.setdefault("embeds", {})["_errors"] = [
            {"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}
        ]
    return errors


class DiscordLimits:
    """The limits one fake Discord enforces; see the module docstring."""

    def __init__(
        self,
        mode: str = "strict",
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_ratelimit_timeout: Optional[float] = None,
    ) -> None:
        self.mode = mode
        self.clock = clock
        self.sleep = sleep
        self.max_ratelimit_timeout = max_ratelimit_timeout
        self.rate_limited: List[RateLimitHit] = []
        self._channel: Dict[int, Deque[float]] = defaultdict(deque)
        self._global: Deque[float] = deque()

    def reset_windows(self) -> None:
        """Forget recent requests (e.g. after a test's setup, which happened "long before")."""
        self._channel.clear()
        self._global.clear()

    def check_body(self, body: Dict[str, Any]) -> None:
        """Raise Discord's 400 if ``body`` breaks a message limit."""
        if self.mode == "off":
            return
        errors = body_errors(body)
        if errors:
            raise invalid_form_body(errors)

    def _over(self, window: Deque[float], budget: int, seconds: float, now: float) -> Optional[float]:
        while window and window[0] <= now - seconds:
            window.popleft()
        if len(window) >= budget:  # rounded up, as Discord does: waking early would 429 again
            return math.ceil((window[0] + seconds - now) * 1000) / 1000 + 0.001
        return None

    def _take(self, channel_id: Optional[int], counts_in_channel: bool) -> Optional[Dict[str, Any]]:
        """Book one request, or return the 429 payload Discord would answer instead."""
        now = self.clock()
        retry = self._over(self._global, *GLOBAL_BUDGET, now)
        if retry is not None:
            return {"message": "You are being rate limited.", "retry_after": retry, "global": True}
        if counts_in_channel and channel_id is not None:
            window = self._channel[channel_id]
            retry = self._over(window, *CHANNEL_BUDGET, now)
            if retry is not None:
                return {"message": "You are being rate limited.", "retry_after": retry, "global": False}
            window.append(now)
        self._global.append(now)
        return None

    async def request(
        self,
        kind: str,
        channel_id: Optional[int],
        perform: Callable[[], Awaitable[T]],
        body: Optional[Dict[str, Any]] = None,
    ) -> T:
        """Run ``perform`` as Discord and discord.py would: body checked, rate limits applied."""
        if body is not None:
            self.check_body(body)
        if self.mode != "strict":
            return await perform()
        counts_in_channel = kind in ("send", "edit")
        for _ in range(TRIES):
            limited = self._take(channel_id, counts_in_channel)
            if limited is None:
                return await perform()
            retry_after = limited["retry_after"]
            self.rate_limited.append(
                RateLimitHit(channel_id, kind, retry_after, limited["global"], self.clock())
            )
            if self.max_ratelimit_timeout and retry_after > self.max_ratelimit_timeout:
                raise discord.RateLimited(retry_after)
            await self.sleep(retry_after)
        raise discord.HTTPException(_Response(429, "Too Many Requests"), limited)
