"""Passive listening: should the assistant answer this message, only remember it, or ignore it?

Decided on plain data (the shell extracts :class:`Heard` from a Discord message) so it is cheap
and testable: a dict lookup or two for the common "ignore" case.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, FrozenSet, Mapping, Optional, Pattern, Tuple

OFF, MENTION, KEYWORD, ALL = "off", "mention", "keyword", "all"
MODES = (OFF, MENTION, KEYWORD, ALL)
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 64
MAX_COOLDOWN = 86_400
SEEN_CAPACITY = 10_000  # message ids remembered to drop re-delivered events


def keyword_pattern(keywords: Tuple[str, ...]) -> Optional[Pattern[str]]:
    """One regex for whole-word, case-insensitive matching of any keyword."""
    if not keywords:
        return None
    words = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class ChannelListen:
    """Per-channel overrides; None means "as the server"."""

    mode: Optional[str] = None
    context: Optional[bool] = None
    cooldown: Optional[float] = None


@dataclass(frozen=True)
class ListenRules:
    mode: str = OFF
    context: bool = False
    cooldown: float = 0.0  # seconds between passive answers in one channel
    user_cooldown: float = 0.0  # seconds between passive answers to one member
    keywords: Tuple[str, ...] = ()
    allow: FrozenSet[int] = frozenset()  # if not empty: only these channels
    deny: FrozenSet[int] = frozenset()
    channels: Mapping[int, ChannelListen] = field(default_factory=dict)
    pattern: Optional[Pattern[str]] = None

    inert: bool = field(init=False, default=True)  # nothing to do in any channel: return at once

    def __post_init__(self) -> None:
        # Computed once per settings write, not per message (a server may have many channel overrides).
        inert = (
            self.mode == OFF
            and not self.context
            and all(c.mode in (None, OFF) and not c.context for c in self.channels.values())
        )
        object.__setattr__(self, "inert", inert)

    def mode_in(self, channel_id: int) -> Tuple[str, str]:
        """The mode in ``channel_id`` and where it comes from."""
        override = self.channels.get(channel_id)
        if override is not None and override.mode is not None:
            return override.mode, "channel"
        return self.mode, "server"

    def context_in(self, channel_id: int) -> Tuple[bool, str]:
        override = self.channels.get(channel_id)
        if override is not None and override.context is not None:
            return override.context, "channel"
        return self.context, "server"

    def cooldown_in(self, channel_id: int) -> Tuple[float, str]:
        override = self.channels.get(channel_id)
        if override is not None and override.cooldown is not None:
            return override.cooldown, "channel"
        return self.cooldown, "server"

    def channel_listed(self, channel_id: int) -> bool:
        """The server's allow/deny lists let the assistant listen in ``channel_id``."""
        if channel_id in self.deny:
            return False
        return not self.allow or channel_id in self.allow


@dataclass(frozen=True)
class Heard:
    """What the listener needs to know about one message."""

    message_id: int
    guild_id: int
    channel_id: int  # the settings channel (a thread's parent)
    author_id: int
    content: str
    mentions_bot: bool = False
    reply_to_bot: bool = False


@dataclass(frozen=True)
class Decision:
    answer: bool
    remember: bool  # context listening: add it to the channel's memory without answering
    reason: str


IGNORE = Decision(False, False, "not listening here")


class Listener:
    """Decides per message; keeps cooldowns and the ids already answered (re-delivered events)."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, seen_capacity: int = SEEN_CAPACITY
    ) -> None:
        self.clock = clock  # replaceable (tests move time instead of sleeping)
        self._capacity = seen_capacity
        self._answered: "OrderedDict[int, None]" = OrderedDict()
        self._last: dict = {}  # ("channel", id) / ("member", guild, user) -> monotonic time of last answer

    def decide(self, rules: ListenRules, heard: Heard) -> Decision:
        channel = heard.channel_id
        if not rules.channel_listed(channel):
            return IGNORE
        mode = rules.mode_in(channel)[0]
        triggered = (
            mode == ALL
            or (mode == MENTION and (heard.mentions_bot or heard.reply_to_bot))
            or (mode == KEYWORD and (heard.mentions_bot or heard.reply_to_bot or self._keyword(rules, heard)))
        )
        remember = rules.context_in(channel)[0]
        if not triggered:
            return Decision(False, remember, f"mode `{mode}` does not answer this message")
        if heard.message_id in self._answered:
            return Decision(False, False, "already answered")
        now = self.clock()
        cooldown = rules.cooldown_in(channel)[0]
        if cooldown and now - self._last.get(("channel", channel), -1e18) < cooldown:
            return Decision(False, remember, "channel cooldown")
        if (
            rules.user_cooldown
            and now - self._last.get(("member", heard.guild_id, heard.author_id), -1e18) < rules.user_cooldown
        ):
            return Decision(False, remember, "member cooldown")
        return Decision(True, False, f"mode `{mode}`")

    @staticmethod
    def _keyword(rules: ListenRules, heard: Heard) -> bool:
        return rules.pattern is not None and rules.pattern.search(heard.content) is not None

    def claim(self, message_id: int) -> bool:
        """Take ``message_id`` for answering; False if it was taken already (a re-delivered event).

        Call it right after :meth:`decide`, before awaiting anything, so two deliveries of one
        message racing each other are answered once.
        """
        if message_id in self._answered:
            return False
        self._answered[message_id] = None
        while len(self._answered) > self._capacity:
            self._answered.popitem(last=False)
        return True

    def mark_answered(self, heard: Heard) -> None:
        """Start the channel's and the member's cooldowns (and claim the message if not done)."""
        self.claim(heard.message_id)
        now = self.clock()
        self._last[("channel", heard.channel_id)] = now
        self._last[("member", heard.guild_id, heard.author_id)] = now
        if len(self._last) > 4 * self._capacity:
            self._last.clear()  # cooldowns are short; losing old entries only forgets expired ones
