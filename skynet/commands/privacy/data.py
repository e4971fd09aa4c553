"""Red's end-user data API and a member's own export, all through the data map.

``red_get_data_for_user``, ``red_delete_data_for_user``, ``[p]ai history export``,
``[p]ai memory purge`` and ``[p]ai consent withdraw`` ask the map, which asks every registered store
(docs/privacy.md): a store that registers cannot be missed by any of them.
"""

from __future__ import annotations

import io
import json
from typing import Any, Dict

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...i18n import _
from ..common import reply

EXPORT_NAME = "skynet_user_data.json"


def export_file(data: Dict[str, Any]) -> io.BytesIO:
    return io.BytesIO(json.dumps(data, indent=2, ensure_ascii=False, default=str).encode("utf-8"))


class DataMixin(MixinMeta):
    async def red_get_data_for_user(self, *, user_id: int) -> Dict[str, io.BytesIO]:
        """Everything every registered store holds about ``user_id``."""
        return {EXPORT_NAME: export_file(await self.privacy.data_map.export(user_id))}

    async def red_delete_data_for_user(self, *, requester: str, user_id: int) -> None:
        # Every requester kind (user, owner, discord_deleted_user, user_strict) gets everything
        # removed: usage counters are personal, and so is what was said.
        await self.forget_everywhere(user_id)

    async def forget_everywhere(self, user_id: int) -> None:
        await self.privacy.data_map.forget(user_id)

    async def forget_in_server(self, user_id: int, guild_id: int) -> Dict[str, Any]:
        return await self.privacy.data_map.forget(user_id, guild_id)

    async def send_own_export(self, ctx: commands.Context) -> None:
        data = await self.privacy.data_map.export(ctx.author.id)
        if not data:
            await reply(ctx, _("I hold nothing about you."), ephemeral=True)
            return
        file = discord.File(export_file(data), filename=EXPORT_NAME)
        if ctx.guild is not None and ctx.interaction is None:
            try:  # a member's data goes to their DMs, not to the channel
                await ctx.author.send(_("Everything I hold about you:"), file=file)
            except discord.HTTPException:
                await reply(ctx, _("I could not DM you: open your DMs to me and try again."))
                return
            await reply(ctx, _("Sent to your DMs."))
            return
        await ctx.send(_("Everything I hold about you:"), file=file, ephemeral=True)

