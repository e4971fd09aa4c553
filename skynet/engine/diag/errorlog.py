"""A small bounded in-memory log of recent failures, for ``[p]ai diag``.

Only already-redacted text goes in (the chat engine passes ``FriendlyError.detail``), and it is
never written to disk: it answers "what went wrong lately?" without opening the bot's log files.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, List, Optional

MAX_ERRORS = 20


@dataclass(frozen=True)
class ErrorRecord:
    at: float  # time.time() of the failure
    kind: str  # FriendlyError.kind: "bad_key", "provider_down", "unexpected"...
    message: str  # what the user was told (redacted)
    detail: str  # what the log got (redacted): endpoint, model, exception type and text
    guild_id: Optional[int] = None  # where it happened, so server admins see only their own


class ErrorLog:
    """The last ``size`` errors, newest last. Appending is O(1) and never blocks."""

    def __init__(self, size: int = MAX_ERRORS, clock: Callable[[], float] = time.time) -> None:
        self._records: Deque[ErrorRecord] = deque(maxlen=size)
        self._clock = clock

    def record(self, kind: str, message: str, detail: str = "", guild_id: Optional[int] = None) -> None:
        self._records.append(ErrorRecord(self._clock(), kind, message, detail, guild_id))

    def recent(self, guild_id: Optional[int] = None, *, everywhere: bool = False) -> List[ErrorRecord]:
        """Newest first; only ``guild_id``'s unless ``everywhere``."""
        records = reversed(self._records)
        if everywhere:
            return list(records)
        return [r for r in records if r.guild_id == guild_id]

    def __len__(self) -> int:
        return len(self._records)
