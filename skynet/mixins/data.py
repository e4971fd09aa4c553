"""Red's end-user data API: what skynet stores about a user, and deleting it."""

from __future__ import annotations

import io
import json
from typing import Dict

from ..abc import MixinMeta


class DataMixin(MixinMeta):
    async def red_get_data_for_user(self, *, user_id: int) -> Dict[str, io.BytesIO]:
        await self.usage.flush()
        members = await self.config.all_members()
        data = {
            "usage_by_server": {
                str(guild_id): users[user_id]["usage"]
                for guild_id, users in members.items()
                if user_id in users and users[user_id].get("usage")
            },
            "usage_in_dms": await self.config.user_from_id(user_id).usage(),
            "remembered_conversation": {
                key: [{"role": t.role, "content": t.content, "at": t.at} for t in turns]
                for key, turns in self.memory.turns_of(user_id).items()
            },
        }
        if self.personas.myprompt(user_id):
            data["own_instructions"] = self.personas.myprompt(user_id)
        return {"skynet_user_data.json": io.BytesIO(json.dumps(data, indent=2).encode("utf-8"))}

    async def red_delete_data_for_user(self, *, requester: str, user_id: int) -> None:
        # Every requester kind (user, owner, discord_deleted_user, user_strict) gets everything
        # removed: usage counters are personal, and so is what was said.
        self.usage.ledger.discard_user(user_id)
        for guild_id, users in (await self.config.all_members()).items():
            if user_id in users:
                await self.config.member_from_ids(guild_id, user_id).clear()
        await self.config.user_from_id(user_id).clear()
        self.memory.forget_user(user_id)
        self.personas.forget_user(user_id)
