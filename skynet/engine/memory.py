"""Short-term conversation memory: a sliding window per conversation, kept in process.

A conversation is a channel, a thread or a DM. Windows are pruned by turn count, by tokens and
by age, and the number of conversations held is bounded (least recently used goes first).
Nothing here is written to disk: it is the context for follow-up questions, not a log.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, Optional

USER, ASSISTANT = "user", "assistant"


@dataclass(frozen=True)
class Turn:
    """One message in a conversation. ``user_id`` is the speaker, or whom the assistant answered."""

    role: str
    content: str
    user_id: int
    name: str
    at: float
    tokens: int

    def as_message(self) -> Dict[str, str]:
        if self.role == USER:
            return {"role": USER, "content": f"{self.name}: {self.content}"}
        return {"role": ASSISTANT, "content": self.content}


@dataclass(frozen=True)
class WindowPolicy:
    max_turns: int = 20
    max_tokens: int = 3000
    max_age_seconds: float = 6 * 3600
    max_conversations: int = 5000


class ConversationMemory:
    """Sliding windows of recent turns, keyed by conversation."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        policy: WindowPolicy = WindowPolicy(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._count = count_tokens
        self.policy = policy
        self._clock = clock
        self._windows: "OrderedDict[str, Deque[Turn]]" = OrderedDict()

    def add(self, conversation: str, role: str, content: str, *, user_id: int, name: str) -> None:
        window = self._windows.get(conversation)
        if window is None:
            window = self._windows[conversation] = deque()
            while len(self._windows) > self.policy.max_conversations:
                self._windows.popitem(last=False)
        self._windows.move_to_end(conversation)
        window.append(Turn(role, content, user_id, name, self._clock(), self._count(content)))
        self._prune(window)

    def history(self, conversation: str, *, max_tokens: Optional[int] = None) -> List[Turn]:
        """The turns to send as context, oldest first, within the policy and ``max_tokens``."""
        window = self._windows.get(conversation)
        if not window:
            return []
        self._prune(window)
        budget = self.policy.max_tokens if max_tokens is None else min(max_tokens, self.policy.max_tokens)
        kept: List[Turn] = []
        for turn in reversed(window):
            budget -= turn.tokens
            if budget < 0:
                break
            kept.append(turn)
        kept.reverse()
        # A window that starts with an orphaned answer confuses models; start at a user turn.
        while kept and kept[0].role != USER:
            kept.pop(0)
        return kept

    def clear(self, conversation: str) -> int:
        """Forget one conversation; returns how many turns were dropped."""
        return len(self._windows.pop(conversation, ()))

    def turns_of(self, user_id: int) -> Dict[str, List[Turn]]:
        """Every remembered turn spoken by or answering ``user_id``, by conversation."""
        found = {key: [t for t in window if t.user_id == user_id] for key, window in self._windows.items()}
        return {key: turns for key, turns in found.items() if turns}

    def forget_user(self, user_id: int) -> int:
        """Drop every turn by or answering ``user_id``; returns how many were dropped."""
        dropped = 0
        for key in list(self._windows):
            window = self._windows[key]
            kept = deque(t for t in window if t.user_id != user_id)
            dropped += len(window) - len(kept)
            if kept:
                self._windows[key] = kept
            else:
                del self._windows[key]
        return dropped

    def _prune(self, window: Deque[Turn]) -> None:
        oldest = self._clock() - self.policy.max_age_seconds
        while window and (len(window) > self.policy.max_turns or window[0].at < oldest):
            window.popleft()
        total = sum(t.tokens for t in window)
        while window and total > self.policy.max_tokens:
            total -= window.popleft().tokens
