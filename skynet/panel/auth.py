"""Signing in to the panel: one-time links sent by DM, sessions, CSRF tokens.

No passwords and no OAuth: ``[p]ai panel login`` gives a member a link that works once, for a few
minutes; it becomes a session cookie. Tokens are random (``secrets``), compared in constant time,
and kept only as SHA-256 digests, so a memory dump or a log line cannot be replayed. Everything is
in memory: reloading the cog signs everybody out, which is the safe default.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Deque, Dict, Optional

from ..engine.errors import SkynetError
from ..i18n import _

LINK_TTL = 10 * 60  # a login link works for 10 minutes
SESSION_TTL = 12 * 3600  # a session lasts 12 hours, then the member asks for a new link
LINKS_PER_WINDOW = 3  # login links per member per window
LINK_WINDOW = 10 * 60


class LoginRateLimited(SkynetError):
    kind = "panel_login_rate_limited"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class _Link:
    user_id: int
    expires: float


@dataclass
class Session:
    user_id: int
    expires: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def csrf_ok(self, given: Optional[str]) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf.encode(), str(given).encode())


class LoginLinks:
    """One-time sign-in tokens: single use, short-lived, a few per member per ten minutes."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._links: Dict[str, _Link] = {}
        self._issued: Dict[int, Deque[float]] = {}

    def issue(self, user_id: int) -> str:
        now = self.clock()
        recent = self._issued.setdefault(user_id, deque())
        while recent and recent[0] <= now - LINK_WINDOW:
            recent.popleft()
        if len(recent) >= LINKS_PER_WINDOW:
            wait = int(recent[0] + LINK_WINDOW - now) // 60 + 1
            raise LoginRateLimited(
                _(
                    "You asked for {count} sign-in links in the last ten minutes; try again in {minutes} min."
                ).format(count=LINKS_PER_WINDOW, minutes=wait)
            )
        recent.append(now)
        self._prune(now)
        token = secrets.token_urlsafe(32)
        self._links[_digest(token)] = _Link(user_id, now + LINK_TTL)
        return token

    def peek(self, token: str) -> Optional[int]:
        """The member a still-valid link belongs to, without using it up (the confirm page)."""
        link = self._links.get(_digest(token))
        return link.user_id if link and link.expires > self.clock() else None

    def redeem(self, token: str) -> Optional[int]:
        """Use the link up: the member it belongs to, or None if unknown, used or expired."""
        link = self._links.pop(_digest(token), None)
        if link is None or link.expires <= self.clock():
            return None
        return link.user_id

    def _prune(self, now: float) -> None:
        for key in [k for k, link in self._links.items() if link.expires <= now]:
            del self._links[key]


class Sessions:
    def __init__(self, clock: Callable[[], float] = time.time, ttl: float = SESSION_TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._sessions: Dict[str, Session] = {}

    def create(self, user_id: int) -> "tuple[str, Session]":
        now = self.clock()
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]
        token = secrets.token_urlsafe(32)
        session = Session(user_id, now + self.ttl)
        self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: Optional[str]) -> Optional[Session]:
        if not token:
            return None
        key = _digest(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.expires <= self.clock():
            del self._sessions[key]
            return None
        return session

    def end(self, token: Optional[str]) -> None:
        if token:
            self._sessions.pop(_digest(token), None)

    def end_user(self, user_id: int) -> int:
        """Sign a member out everywhere (their data was deleted, or the owner disabled the panel)."""
        gone = [k for k, s in self._sessions.items() if s.user_id == user_id]
        for key in gone:
            del self._sessions[key]
        return len(gone)

    def clear(self) -> None:
        self._sessions.clear()
