"""Red's end-user data API: what skynet stores about a user, and deleting it."""

from __future__ import annotations

import io
import json
from typing import Dict

from ...abc import MixinMeta
from ...stores.usage import user_scope


class DataMixin(MixinMeta):
    async def red_get_data_for_user(self, *, user_id: int) -> Dict[str, io.BytesIO]:
        counted = await self.usage.of_user(user_id)  # stored and not yet flushed
        dms = counted.get(user_scope(user_id))
        data = {
            "usage_by_server": {
                str(scope[1]): counters.to_json()
                for scope, counters in sorted(counted.items(), key=lambda item: item[0])
                if scope[0] == "member"
            },
            "usage_in_dms": dms.to_json() if dms else {},
            "remembered_conversation": {
                key: [{"role": t.role, "content": t.content, "at": t.at} for t in turns]
                for key, turns in self.memory.turns_of(user_id).items()
            },
        }
        if self.personas.myprompt(user_id):
            data["own_instructions"] = self.personas.myprompt(user_id)
        days = await self.usage.counters.member_days(user_id)  # the panel's per-day rows (flushed)
        by_day = {
            str(guild_id or "dms"): [
                {"day": day * 86400, "requests": c.requests, "tokens": c.total_tokens, "cost_usd": c.cost_usd}
                for day, c in rows
            ]
            for guild_id, rows in days.items()
        }
        if by_day:
            data["usage_by_day"] = by_day
        return {"skynet_user_data.json": io.BytesIO(json.dumps(data, indent=2).encode("utf-8"))}

    async def red_delete_data_for_user(self, *, requester: str, user_id: int) -> None:
        # Every requester kind (user, owner, discord_deleted_user, user_strict) gets everything
        # removed: usage counters are personal, and so is what was said.
        # First, synchronously: replies still streaming for this user write nothing back.
        self.engine.deletions.forget(user_id)
        await self.usage.forget_user(user_id)  # stored and pending counters, after any flush in progress
        self.governor.ledger.forget_user(user_id)  # today's budget spend (flushed with the next batch)
        for guild_id, users in (await self.config.all_members()).items():
            if user_id in users:
                await self.config.member_from_ids(guild_id, user_id).clear()
        await self.config.user_from_id(user_id).clear()
        self.memory.forget_user(user_id)
        self.personas.forget_user(user_id)
