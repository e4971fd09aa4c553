"""Answer threads: one thread per conversation, named from the question, archived when idle.

The shell creates the thread and posts in it; this module names it and remembers which threads
the assistant opened (follow-ups there need no mention) and when each was last active.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional

NAME_CHARS = 90  # Discord allows 100
DEFAULT_ARCHIVE_MINUTES = 60
MAX_ARCHIVE_MINUTES = 7 * 24 * 60


def thread_name(question: str, fallback: str = "Conversation") -> str:
    """A thread title from the question: mentions, links and markdown out, cut at a word."""
    text = re.sub(r"<(@[!&]?|#)\d+>|<a?:\w+:\d+>|https?://\S+", " ", question)
    text = re.sub(r"[*_`~|>#\[\]]", "", text)
    text = " ".join(text.split())
    if not text:
        return fallback
    if len(text) > NAME_CHARS:
        cut = text.rfind(" ", 0, NAME_CHARS)
        text = text[: cut if cut > NAME_CHARS // 2 else NAME_CHARS].rstrip(" ,.;:") + "…"
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class ThreadSettings:
    """A channel's thread options (``ai threads``)."""

    enabled: bool = False
    archive_minutes: int = DEFAULT_ARCHIVE_MINUTES


class ThreadTracker:
    """The threads the assistant opened, with their last activity (in memory; the set of ids is
    saved by the shell when a thread opens or closes, not per message)."""

    def __init__(self) -> None:
        self._active: Dict[int, float] = {}  # thread id -> last activity
        self._archive_after: Dict[int, float] = {}  # thread id -> seconds

    def load(self, threads: Dict[int, float], now: float, archive_after: float) -> None:
        for thread_id in threads:  # after a restart, idle time counts from now
            self.opened(int(thread_id), now, archive_after)

    def opened(self, thread_id: int, now: float, archive_after: float) -> None:
        self._active[thread_id] = now
        self._archive_after[thread_id] = archive_after

    def owns(self, thread_id: int) -> bool:
        return thread_id in self._active

    def touch(self, thread_id: int, now: float) -> None:
        if thread_id in self._active:
            self._active[thread_id] = now

    def idle(self, now: float) -> List[int]:
        """Threads inactive for longer than their channel's archive delay."""
        return [t for t, last in self._active.items() if now - last >= self._archive_after.get(t, 3600)]

    def closed(self, thread_ids: Iterable[int]) -> None:
        for thread_id in thread_ids:
            self._active.pop(thread_id, None)
            self._archive_after.pop(thread_id, None)

    def ids(self) -> List[int]:
        return list(self._active)

    def last_active(self, thread_id: int) -> Optional[float]:
        return self._active.get(thread_id)
