"""The storing gate: one decision, "may this message, turn or memory about this person be stored
here", asked by every writer (chat, passive and context listening, reply chains, compaction
summaries, the ``remember`` tool, documents, telemetry).

No I/O: it reads sets the shell keeps in step with Config. A refusal says why (``reason``), so a
writer can tell the member (incognito mark, consent notice) or stay silent (bots, excluded channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Set

from .consent import ConsentState

STORE = "store"
BOT = "bot"
INCOGNITO = "incognito"
NO_CONSENT = "no_consent"
CHANNEL_EXCLUDED = "channel_excluded"


@dataclass(frozen=True)
class Decision:
    reason: str = STORE

    @property
    def allowed(self) -> bool:
        return self.reason == STORE

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision()


class StoringGate:
    """``incognito`` is the set of members in incognito mode (the memory service shares it);
    ``excluded_channels`` are channels (or parent channels of threads) where nothing is kept."""

    def __init__(self, consent: Optional[ConsentState] = None) -> None:
        self.consent = consent or ConsentState()
        self.incognito: Set[int] = set()
        self.excluded_channels: Set[int] = set()

    def may_store(
        self,
        user_id: int,
        *,
        guild_id: Optional[int],
        channel_id: Optional[int] = None,
        parent_id: Optional[int] = None,
        is_bot: bool = False,
    ) -> Decision:
        """May something ``user_id`` said or is about be stored in this place?"""
        if is_bot:
            return Decision(BOT)
        if user_id in self.incognito:
            return Decision(INCOGNITO)
        if not self.consent.allows(user_id, guild_id):
            return Decision(NO_CONSENT)
        if channel_id in self.excluded_channels or (parent_id and parent_id in self.excluded_channels):
            return Decision(CHANNEL_EXCLUDED)
        return ALLOWED

    def may_answer(self, user_id: int, *, guild_id: Optional[int]) -> Decision:
        """May the assistant answer this member here at all (consent; incognito members are
        answered, just not remembered)?"""
        return ALLOWED if self.consent.allows(user_id, guild_id) else Decision(NO_CONSENT)

    def may_store_all(self, user_ids: Iterable[int], *, guild_id: Optional[int], **where) -> bool:
        """For text mixing several speakers (a compaction summary): every one must be allowed."""
        return all(self.may_store(uid, guild_id=guild_id, **where) for uid in user_ids)

    def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        """Incognito is a member's choice kept in Config (cleared there); only the cache here."""
        if guild_id is None:
            self.incognito.discard(user_id)

    def export_user(self, user_id: int) -> dict:
        return {"incognito": True} if user_id in self.incognito else {}


__all__ = ["StoringGate", "Decision", "STORE", "BOT", "INCOGNITO", "NO_CONSENT", "CHANNEL_EXCLUDED"]
