"""The channel assistant's stored data: each server's schedules, thread and auto-answer settings
(Config, guild scope ``channel_assistant``) and members' sealed keys (Config, user scope
``own_key``), cached in memory so the message path reads no Config.

Both hold data about people, so the store answers the data map's two questions:
:meth:`ChannelStore.export_user` and :meth:`ChannelStore.forget_user`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from redbot.core import Config

from ...engine.channels.autoanswer import AutoAnswerRules
from ...engine.channels.schedules import ScheduleBook
from ...engine.channels.threads import DEFAULT_ARCHIVE_MINUTES, ThreadSettings
from ...engine.channels.vault import StoredKey

GUILD_KEY = "channel_assistant"
USER_KEY = "own_key"
GLOBAL_KEY = "own_keys_allowed"


class ChannelStore:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.book = ScheduleBook()
        self._guilds: Dict[int, Dict[str, Any]] = {}
        self._keys: Dict[int, StoredKey] = {}
        self._autoanswer: Dict[int, AutoAnswerRules] = {}  # parsed once per write: read per message
        self.own_keys_allowed = False

    async def load(self) -> None:
        rows = []
        for guild_id, data in (await self.config.all_guilds()).items():
            stored = dict(data.get(GUILD_KEY) or {})
            self._guilds[guild_id] = stored
            rows.extend(stored.get("schedules") or ())
        self.book = ScheduleBook.load(rows)
        for user_id, data in (await self.config.all_users()).items():
            key = StoredKey.from_json(data.get(USER_KEY) or {})
            if key is not None:
                self._keys[user_id] = key
        self.own_keys_allowed = bool(await self.config.get_raw(GLOBAL_KEY, default=False))

    # -- per-server settings

    def guild(self, guild_id: int) -> Dict[str, Any]:
        return self._guilds.get(guild_id, {})

    async def update(self, guild_id: int, edit) -> None:
        data = dict(self._guilds.get(guild_id, {}))
        edit(data)
        data["schedules"] = self.book.dump(guild_id)
        self._guilds[guild_id] = data
        self._autoanswer.pop(guild_id, None)
        await self.config.guild_from_id(guild_id).set_raw(GUILD_KEY, value=data)

    async def save_schedules(self, guild_id: int) -> None:
        await self.update(guild_id, lambda data: None)

    def threads_in(self, channel_id: int, guild_id: int) -> ThreadSettings:
        raw = (self.guild(guild_id).get("threads") or {}).get(str(channel_id))
        if not raw:
            return ThreadSettings()
        return ThreadSettings(bool(raw.get("enabled")), int(raw.get("archive_minutes", DEFAULT_ARCHIVE_MINUTES)))

    def open_threads(self, guild_id: int) -> Dict[str, float]:
        return dict(self.guild(guild_id).get("open_threads") or {})

    def autoanswer(self, guild_id: int) -> AutoAnswerRules:
        rules = self._autoanswer.get(guild_id)
        if rules is None:
            rules = self._autoanswer[guild_id] = AutoAnswerRules.from_json(self.guild(guild_id).get("autoanswer") or {})
        return rules

    def all_guild_ids(self):
        return list(self._guilds)

    # -- members' keys

    def own_key(self, user_id: int) -> Optional[StoredKey]:
        return self._keys.get(user_id)

    async def set_own_key(self, user_id: int, key: Optional[StoredKey]) -> None:
        if key is None:
            self._keys.pop(user_id, None)
            await self.config.user_from_id(user_id).clear_raw(USER_KEY)
        else:
            self._keys[user_id] = key
            await self.config.user_from_id(user_id).set_raw(USER_KEY, value=key.to_json())

    async def allow_own_keys(self, allowed: bool) -> None:
        self.own_keys_allowed = allowed
        await self.config.set_raw(GLOBAL_KEY, value=allowed)

    # -- the data map

    def export_user(self, user_id: int) -> Dict[str, Any]:
        data: Dict[str, Any] = dict(self.book.export_user(user_id))
        key = self._keys.get(user_id)
        data["own_key"] = key.public() if key else None  # never the key, sealed or not
        return data if any(data.values()) else {}  # the data map leaves empty parts out

    async def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        for changed in self.book.forget_user(user_id, guild_id):
            await self.save_schedules(changed)
        if guild_id is None and user_id in self._keys:
            await self.set_own_key(user_id, None)
