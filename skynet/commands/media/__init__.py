"""Media: ``[p]ai draw`` (images), ``[p]ai voice`` (voice in and out), reasoning display and the
reply's buttons and style (``[p]ai reply``). One mixin assembled from the area's parts."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import discord

from ...engine.media.budget import ImageQuota
from ...stores.usage import global_scope, guild_scope, member_scope, user_scope
from .draw import DrawMixin
from .replies import RepliesMixin
from .voice import VoiceMixin


class MediaMixin(DrawMixin, VoiceMixin, RepliesMixin):
    voice_members: Dict[int, bool]

    def init_media(self) -> None:
        """Called from the cog's ``__init__``."""
        self.image_quota = ImageQuota()
        self.voice_members = {}
        self.init_replies()

    async def media_load(self) -> None:
        """Called from ``cog_load``: the buttons route to this cog, the image tool is offered."""
        await self.load_image_quota()
        for user_id, data in (await self.config.all_users()).items():
            if "voice_replies" in data:
                self.voice_members[int(user_id)] = bool(data["voice_replies"])
        self.steering.install(self.bot)
        self.tool_service.registry.add(self.image_tool(), replace=True)

    async def media_unload(self) -> None:
        self.steering.uninstall(self.bot)
        self.tool_service.registry.remove("generate_image")

    def media_scopes(self, author: discord.abc.User, guild: Optional[discord.Guild]) -> Tuple:
        """The usage counters a media request adds to (as a chat request's)."""
        if guild is not None:
            scopes = (global_scope(), guild_scope(guild.id), member_scope(guild.id, author.id))
        else:
            scopes = (global_scope(), user_scope(author.id))
        if not self.memory_service.stores_turns(author.id):
            scopes = scopes[:-1]  # incognito: only the totals count it
        return scopes

    # -- the privacy data map: the daily image counts hold member ids

    def media_export_user(self, user_id: int) -> dict:
        """What media holds about the member: nothing ({}) for most."""
        out: dict = {}
        images = self.image_quota.export_user(user_id)
        if images:
            out["images_today"] = images
        if self.voice_members.get(user_id) is not None:
            out["voice_replies"] = self.voice_members[user_id]
        return out

    async def media_forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        scopes = {int(g) for g in self.image_quota.export_user(user_id)}
        self.image_quota.forget_user(user_id, guild_id)
        for scope_id in scopes if guild_id is None else scopes & {guild_id}:
            await self.save_image_quota(scope_id)
        if guild_id is None:
            self.voice_members.pop(user_id, None)
