"""The privacy area's lifecycle: the service made with the cog, loaded and closed with it.

Made in ``__init__`` (before any command can write Config, so the audit wrap sees every write);
loaded at the end of ``cog_load`` (after memory, whose incognito set the gate shares).
"""

from __future__ import annotations

from redbot.core.data_manager import cog_data_path

from ...abc import MixinMeta
from ...engine.privacy.service import PrivacyService
from ...stores.audited import audit_config, end_command, unaudit_config
from .registry import register_stores


class PrivacyLifecycleMixin(MixinMeta):
    def init_privacy(self) -> PrivacyService:
        service = PrivacyService(cog_data_path(self))
        audit_config(self.config, service.audit.record, self.redactor.redact)
        return service

    async def privacy_load(self) -> None:
        privacy = self.privacy
        # One incognito set: `ai incognito` edits the memory service's, the gate reads the same.
        privacy.gate.incognito = self.memory_service.incognito
        self.memory_service.gate = privacy.gate
        await self.consent_load()
        await self.moderation_load()
        await self.audit_load()
        register_stores(self, privacy.data_map)

    async def privacy_unload(self) -> None:
        if getattr(self, "consent_view", None) is not None:
            self.consent_view.stop()
        end_command()
        unaudit_config(self.config)
        await self.privacy.close()
