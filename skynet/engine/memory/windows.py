"""Short-term conversation memory: a sliding window per conversation.

A conversation is a channel, a thread or a DM. Windows are pruned by turn count, by tokens and
by age (a policy per conversation, resolved by the shell from server and channel settings), and
the number of conversations held is bounded (least recently used goes first).

Turns pushed out by count or tokens are kept aside as ``overflow`` so the compactor can fold them
into the conversation's rolling ``summary``; turns that grew too old are simply dropped (the age
limit is a promise to forget). ``version`` changes on every change so the write-behind store
(:mod:`.persistence`) knows when a snapshot is due.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Set

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


def _row(turn: Turn) -> tuple:
    return (turn.role, turn.content, turn.user_id, turn.name, turn.at, turn.tokens)


@dataclass(frozen=True)
class WindowPolicy:
    max_turns: int = 20
    max_tokens: int = 3000
    max_age_seconds: float = 6 * 3600
    max_conversations: int = 5000


@dataclass
class Summary:
    """The rolling summary of a conversation's older turns, and whose words it contains."""

    text: str = ""
    user_ids: Set[int] = field(default_factory=set)
    turns: int = 0  # how many turns were folded into it


class ConversationMemory:
    """Sliding windows of recent turns, keyed by conversation."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        policy: WindowPolicy = WindowPolicy(),
        clock: Callable[[], float] = time.time,
        policy_for: Optional[Callable[[str], WindowPolicy]] = None,
    ) -> None:
        self._count = count_tokens
        self.policy = policy
        self.policy_for = policy_for  # per-conversation policy; falls back to ``policy``
        self.keep_overflow = False  # set when compaction is on: pruned turns wait to be summarised
        self._clock = clock
        self._windows: "OrderedDict[str, Deque[Turn]]" = OrderedDict()
        self.summaries: Dict[str, Summary] = {}
        self.overflow: Dict[str, List[Turn]] = {}
        self.version = 0
        self.dirty: Set[str] = set()

    def _policy(self, conversation: str) -> WindowPolicy:
        return self.policy_for(conversation) if self.policy_for is not None else self.policy

    def _changed(self, *conversations: str) -> None:
        self.version += 1
        self.dirty.update(conversations)

    def take_dirty(self) -> Set[str]:
        """The conversations changed since the last call (the store saves just those)."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def add(self, conversation: str, role: str, content: str, *, user_id: int, name: str) -> None:
        window = self._windows.get(conversation)
        if window is None:
            window = self._windows[conversation] = deque()
            while len(self._windows) > self.policy.max_conversations:
                oldest, _ = self._windows.popitem(last=False)
                self.summaries.pop(oldest, None)
                self.overflow.pop(oldest, None)
                self._changed(oldest)
        self._windows.move_to_end(conversation)
        window.append(Turn(role, content, user_id, name, self._clock(), self._count(content)))
        self._prune(conversation, window)
        self._changed(conversation)

    def history(self, conversation: str, *, max_tokens: Optional[int] = None) -> List[Turn]:
        """The turns to send as context, oldest first, within the policy and ``max_tokens``."""
        window = self._windows.get(conversation)
        if not window:
            return []
        if self._prune(conversation, window):
            self._changed(conversation)
        policy = self._policy(conversation)
        budget = policy.max_tokens if max_tokens is None else min(max_tokens, policy.max_tokens)
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

    def turns(self, conversation: str) -> List[Turn]:
        """Every turn currently held for ``conversation``, oldest first (for ``memory show``)."""
        return list(self._windows.get(conversation, ()))

    def conversations(self) -> List[str]:
        return list(self._windows)

    def summary(self, conversation: str) -> str:
        found = self.summaries.get(conversation)
        return found.text if found else ""

    def set_summary(self, conversation: str, text: str, folded: List[Turn]) -> None:
        """Replace the rolling summary after the compactor folded ``folded`` into it."""
        summary = self.summaries.setdefault(conversation, Summary())
        summary.text = text
        summary.user_ids.update(t.user_id for t in folded)
        summary.turns += len(folded)
        self._changed(conversation)

    def take_overflow(self, conversation: str) -> List[Turn]:
        """The turns pushed out of ``conversation`` since the last call (for the compactor)."""
        taken = self.overflow.pop(conversation, [])
        if taken:
            self._changed(conversation)
        return taken

    def clear(self, conversation: str) -> int:
        """Forget one conversation (turns and summary); returns how many turns were dropped."""
        self.summaries.pop(conversation, None)
        self.overflow.pop(conversation, None)
        dropped = len(self._windows.pop(conversation, ()))
        self._changed(conversation)
        return dropped

    def undo(self, conversation: str, user_id: int) -> List[Turn]:
        """Remove ``user_id``'s last message in ``conversation`` and the answer to it."""
        window = self._windows.get(conversation)
        if not window:
            return []
        turns = list(window)
        for index in range(len(turns) - 1, -1, -1):
            if turns[index].role == USER and turns[index].user_id == user_id:
                removed = [turns[index]]
                following = turns[index + 1] if index + 1 < len(turns) else None
                if following is not None and following.role == ASSISTANT and following.user_id == user_id:
                    removed.append(following)
                self._windows[conversation] = deque(t for t in turns if not any(t is r for r in removed))
                self._changed(conversation)
                return removed
        return []

    def forget_user_in(self, conversation: str, user_id: int) -> int:
        """Drop ``user_id``'s turns (and the answers to them) in one conversation."""
        window = self._windows.get(conversation)
        if not window:
            return 0
        kept = deque(t for t in window if t.user_id != user_id)
        dropped = len(window) - len(kept)
        self._windows[conversation] = kept
        summary = self.summaries.get(conversation)
        if summary and user_id in summary.user_ids:
            del self.summaries[conversation]
        self._changed(conversation)
        return dropped

    def turns_of(self, user_id: int) -> Dict[str, List[Turn]]:
        """Every remembered turn spoken by or answering ``user_id``, by conversation."""
        found = {key: [t for t in window if t.user_id == user_id] for key, window in self._windows.items()}
        return {key: turns for key, turns in found.items() if turns}

    def forget_user(self, user_id: int) -> int:
        """Drop every turn by or answering ``user_id``, and summaries their words went into."""
        self._changed(*self._windows, *self.summaries, *self.overflow)
        dropped = 0
        for key in list(self._windows):
            window = self._windows[key]
            kept = deque(t for t in window if t.user_id != user_id)
            dropped += len(window) - len(kept)
            if kept:
                self._windows[key] = kept
            else:
                del self._windows[key]
        for key in list(self.summaries):
            if user_id in self.summaries[key].user_ids:
                del self.summaries[key]
        for key in list(self.overflow):
            self.overflow[key] = [t for t in self.overflow[key] if t.user_id != user_id]
        return dropped

    def _prune(self, conversation: str, window: Deque[Turn]) -> bool:
        policy = self._policy(conversation)
        oldest = self._clock() - policy.max_age_seconds
        pushed: List[Turn] = []
        changed = False
        while window and window[0].at < oldest:
            window.popleft()
            changed = True
        while window and len(window) > policy.max_turns:
            pushed.append(window.popleft())
        total = sum(t.tokens for t in window)
        while window and total > policy.max_tokens:
            turn = window.popleft()
            total -= turn.tokens
            pushed.append(turn)
        if pushed and self.keep_overflow:
            self.overflow.setdefault(conversation, []).extend(pushed)
        return changed or bool(pushed)

    # -- persistence (see persistence.py) --------------------------------------------------------

    def conversation_refs(self, conversation: str) -> Optional[Dict[str, Any]]:
        """One conversation's state for the store (None: nothing left, delete it); taken on the
        loop, made plain by :func:`conversation_plain` in a thread."""
        window = self._windows.get(conversation)
        summary = self.summaries.get(conversation)
        overflow = self.overflow.get(conversation)
        if not window and summary is None and not overflow:
            return None
        return {
            "turns": list(window or ()),
            "summary": (summary.text, sorted(summary.user_ids), summary.turns) if summary else None,
            "overflow": list(overflow or ()),
        }

    def snapshot_refs(self) -> Dict[str, Any]:
        """A consistent view for the store, taken on the event loop: only shallow copies (turns
        are immutable), so it costs ~1 ms for 100k turns; :func:`to_plain` runs in a thread."""
        return {
            "windows": {key: list(w) for key, w in self._windows.items()},
            "summaries": {key: (s.text, sorted(s.user_ids), s.turns) for key, s in self.summaries.items()},
            "overflow": {key: list(turns) for key, turns in self.overflow.items()},
        }

    def snapshot(self) -> Dict[str, Any]:
        """Plain, JSON-ready data (see :meth:`restore`)."""
        return to_plain(self.snapshot_refs())

    def restore(self, data: Dict[str, Any]) -> None:
        """Load a snapshot (replacing what is held); turns too old for the policy are dropped."""
        self._windows.clear()
        self.dirty.clear()
        for key, rows in (data.get("windows") or {}).items():
            window = deque(Turn(*row) for row in rows)
            self._prune(key, window)
            if window:
                self._windows[key] = window
        self.summaries = {
            key: Summary(s.get("text", ""), set(s.get("user_ids", ())), int(s.get("turns", 0)))
            for key, s in (data.get("summaries") or {}).items()
        }
        self.overflow = {
            key: [Turn(*row) for row in rows] for key, rows in (data.get("overflow") or {}).items() if rows
        }


def to_plain(refs: Dict[str, Any]) -> Dict[str, Any]:
    """Turn :meth:`ConversationMemory.snapshot_refs` into JSON-ready data."""
    return {
        "windows": {key: [_row(t) for t in turns] for key, turns in refs["windows"].items()},
        "summaries": {
            key: {"text": text, "user_ids": users, "turns": count}
            for key, (text, users, count) in refs["summaries"].items()
        },
        "overflow": {key: [_row(t) for t in turns] for key, turns in refs["overflow"].items()},
    }


def conversation_plain(refs: Dict[str, Any]) -> Dict[str, Any]:
    summary = refs["summary"]
    return {
        "turns": [_row(t) for t in refs["turns"]],
        "summary": {"text": summary[0], "user_ids": summary[1], "turns": summary[2]} if summary else None,
        "overflow": [_row(t) for t in refs["overflow"]],
    }


def merge_conversations(rows: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Stored conversations (``conversation_plain`` each) as the data :meth:`restore` takes."""
    return {
        "windows": {key: data["turns"] for key, data in rows.items() if data.get("turns")},
        "summaries": {key: data["summary"] for key, data in rows.items() if data.get("summary")},
        "overflow": {key: data["overflow"] for key, data in rows.items() if data.get("overflow")},
    }
