"""The privacy engine assembled: data map, storing gate (with consent), moderation and audit log.

The cog makes one :class:`PrivacyService` and keeps its in-memory state in step with Config
(consent modes and given consent, incognito members, excluded channels, moderation settings per
server), so the message path never reads Config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

from .audit import AuditLog
from .datamap import DataMap
from .gate import StoringGate
from .moderation import ModerationClient, ModerationSettings

AUDIT_FILE = "audit.sqlite3"


class PrivacyService:
    def __init__(self, data_path: Path) -> None:
        self.data_map = DataMap()
        self.gate = StoringGate()
        self.moderation = ModerationClient()
        self.audit = AuditLog(data_path / AUDIT_FILE)
        self._moderation: Dict[int, ModerationSettings] = {}

    @property
    def consent(self):
        return self.gate.consent

    def moderation_settings(self, guild_id: Optional[int]) -> ModerationSettings:
        """A server's moderation settings (DMs: none)."""
        if guild_id is None:
            return _NONE
        return self._moderation.get(guild_id, _NONE)

    def set_moderation(self, guild_id: int, data: Optional[dict]) -> ModerationSettings:
        settings = ModerationSettings.from_json(data)
        self._moderation[guild_id] = settings
        return settings

    async def close(self) -> None:
        await self.moderation.close()
        self.audit.close()


_NONE = ModerationSettings()

__all__ = ["PrivacyService", "AUDIT_FILE"]
