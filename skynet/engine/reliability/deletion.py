"""Deletion wins over in-flight requests: a tombstone epoch per user, checked by every write-back.

A request takes a :class:`WriteGuard` when it starts. ``red_delete_data_for_user`` calls
:meth:`DeletionLedger.forget` *before* anything else; from then on every guard taken earlier
for that user refuses, so a stream that ends after the deletion writes nothing back: not usage,
not conversation memory, and not whatever store is added later (vector memory, documents...),
as long as it checks ``guard.allowed`` before writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict


class DeletionLedger:
    def __init__(self) -> None:
        self._epochs: Dict[int, int] = {}

    def epoch(self, user_id: int) -> int:
        return self._epochs.get(user_id, 0)

    def forget(self, user_id: int) -> None:
        """Invalidate every write-back in flight for ``user_id``."""
        self._epochs[user_id] = self.epoch(user_id) + 1

    def guard(self, user_id: int) -> "WriteGuard":
        return WriteGuard(self, user_id, self.epoch(user_id))


@dataclass(frozen=True)
class WriteGuard:
    ledger: DeletionLedger
    user_id: int
    epoch: int

    @property
    def allowed(self) -> bool:
        """False once the user's data was deleted after this guard was taken."""
        return self.ledger.epoch(self.user_id) == self.epoch
