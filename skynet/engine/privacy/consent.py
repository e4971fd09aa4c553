"""Consent, when a server wants it: the mode of each server, the owner's default, who consented.

``off`` (the default): members need not consent. ``required``: the assistant neither answers nor
stores anything from a member of that server until they consented there (``[p]ai consent give``);
withdrawing forgets them there. DMs follow the owner's default. The shell persists this in Config
(server mode, owner default, each member's consent time) and keeps this object in step, so the
message path only reads sets.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

from ..errors import InvalidValue
from ..i18n import _

OFF, REQUIRED = "off", "required"
MODES = (OFF, REQUIRED)


def parse_mode(text: str) -> str:
    mode = (text or "").strip().lower()
    if mode not in MODES:
        raise InvalidValue(_("The consent mode is `off` or `required`."))
    return mode


class ConsentState:
    """In-memory consent (no I/O): modes per server and the consent time of each member."""

    def __init__(self) -> None:
        self.owner_default: str = OFF
        self.modes: Dict[int, str] = {}  # guild id -> mode set by the server's admins
        self.given: Dict[int, Dict[int, float]] = {}  # guild id (0 = DMs) -> user id -> when

    def mode(self, guild_id: Optional[int]) -> str:
        if guild_id is None:
            return self.owner_default
        return self.modes.get(guild_id) or self.owner_default

    def required(self, guild_id: Optional[int]) -> bool:
        return self.mode(guild_id) == REQUIRED

    def has_consented(self, user_id: int, guild_id: Optional[int]) -> bool:
        return user_id in self.given.get(guild_id or 0, {})

    def allows(self, user_id: int, guild_id: Optional[int]) -> bool:
        """Whether the assistant may answer and store for this member here."""
        return not self.required(guild_id) or self.has_consented(user_id, guild_id)

    def give(self, user_id: int, guild_id: Optional[int], at: Optional[float] = None) -> float:
        at = time.time() if at is None else at
        self.given.setdefault(guild_id or 0, {})[user_id] = at
        return at

    def withdraw(self, user_id: int, guild_id: Optional[int]) -> bool:
        return self.given.get(guild_id or 0, {}).pop(user_id, None) is not None

    # -- data map

    def export_user(self, user_id: int) -> Dict[str, Any]:
        return {
            ("dms" if guild == 0 else str(guild)): at
            for guild, members in sorted(self.given.items())
            if (at := members.get(user_id)) is not None
        }

    def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        for guild, members in self.given.items():
            if guild_id is None or guild == guild_id:
                members.pop(user_id, None)


__all__ = ["ConsentState", "OFF", "REQUIRED", "MODES", "parse_mode"]
