"""Personas, active-persona choices, members' own instructions and the DM switch.

Red ``Config`` is the store of record, read once into memory at load: the message path only
reads this cache. Writes go to Config first, then to the cache (like :mod:`.settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from redbot.core import Config

from ..engine.personas import BUILTIN_PERSONAS, Persona
from ..engine.personas.personas import check_count, check_name
from .settings import CHANNEL, GLOBAL, GUILD, Scope

USER = "user"  # a member's own choice, for their DMs


@dataclass(frozen=True)
class ActivePersona:
    persona: Persona
    scope: str  # where it was chosen: channel, guild, global or user


class PersonaStore:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._global: Dict[str, Any] = {}
        self._guilds: Dict[int, Dict[str, Any]] = {}
        self._channels: Dict[int, Optional[str]] = {}
        self._users: Dict[int, Dict[str, Any]] = {}

    async def load(self) -> None:
        data = await self._config.all()
        self._global = {k: data.get(k) for k in ("personas", "persona", "dm")}
        self._guilds = {
            gid: {k: g.get(k) for k in ("personas", "persona", "timezone")}
            for gid, g in (await self._config.all_guilds()).items()
        }
        self._channels = {cid: c.get("persona") for cid, c in (await self._config.all_channels()).items()}
        self._users = {
            uid: {"myprompt": u.get("myprompt"), "persona": u.get("persona")}
            for uid, u in (await self._config.all_users()).items()
        }

    # -- reading (no I/O) -------------------------------------------------------------------

    def stored(self, guild_id: Optional[int]) -> Dict[str, Persona]:
        """Personas stored at a server (``guild_id``) or globally (None), by lower-case name."""
        table = (self._guilds.get(guild_id, {}) if guild_id else self._global).get("personas") or {}
        return {key: Persona.from_json(data) for key, data in table.items()}

    def available(self, guild_id: Optional[int]) -> Dict[str, Tuple[Persona, str]]:
        """Every persona usable here, with where it lives; a server's own shadow global ones."""
        found: Dict[str, Tuple[Persona, str]] = {k: (p, "built-in") for k, p in BUILTIN_PERSONAS.items()}
        found.update({k: (p, GLOBAL) for k, p in self.stored(None).items()})
        if guild_id:
            found.update({k: (p, GUILD) for k, p in self.stored(guild_id).items()})
        return found

    def find(self, guild_id: Optional[int], name: str) -> Optional[Persona]:
        """The persona ``name`` usable here: the server's own, else a global one, else a built-in.

        On the message path: looks up one entry instead of building the whole list."""
        key = name.strip().lower()
        for table in (self._guilds.get(guild_id, {}) if guild_id else {}, self._global):
            data = (table.get("personas") or {}).get(key)
            if data is not None:
                return Persona.from_json(data)
        return BUILTIN_PERSONAS.get(key)

    def choice(self, scope: Scope) -> Optional[str]:
        if scope.kind == GLOBAL:
            return self._global.get("persona")
        if scope.kind == GUILD:
            return self._guilds.get(scope.id, {}).get("persona")
        if scope.kind == CHANNEL:
            return self._channels.get(scope.id)
        return self._users.get(scope.id, {}).get("persona")

    def active(
        self, guild_id: Optional[int], channel_id: Optional[int], user_id: Optional[int] = None
    ) -> Optional[ActivePersona]:
        """The persona in effect: channel ▸ server ▸ global in a server; the member's pick ▸ global in DMs."""
        if guild_id is None:
            scopes = [Scope(USER, user_id)] if user_id is not None else []
        else:
            scopes = [Scope(CHANNEL, channel_id), Scope(GUILD, guild_id)]
        for scope in [*scopes, Scope(GLOBAL)]:
            name = self.choice(scope)
            persona = self.find(guild_id, name) if name else None
            if persona is not None:
                return ActivePersona(persona, scope.kind)
        return None

    def myprompt(self, user_id: int) -> Optional[str]:
        return self._users.get(user_id, {}).get("myprompt") or None

    def timezone(self, guild_id: Optional[int]) -> str:
        return (self._guilds.get(guild_id, {}).get("timezone") if guild_id else None) or "UTC"

    @property
    def dm(self) -> Dict[str, bool]:
        return {"enabled": True, "shared_server": False, **(self._global.get("dm") or {})}

    # -- writing (Config first, then the cache) -------------------------------------------------

    async def save(self, guild_id: Optional[int], persona: Persona, *, new: bool) -> None:
        table = dict(self.stored(guild_id))
        if new:
            check_name(persona.name, taken=table)
            check_count(len(table))
        raw = {key: p.to_json() for key, p in table.items()}
        raw[persona.key] = persona.to_json()
        await self._write_personas(guild_id, raw)

    async def delete(self, guild_id: Optional[int], name: str) -> bool:
        raw = {key: p.to_json() for key, p in self.stored(guild_id).items()}
        if raw.pop(name.lower(), None) is None:
            return False
        await self._write_personas(guild_id, raw)
        return True

    async def _write_personas(self, guild_id: Optional[int], raw: Dict[str, Any]) -> None:
        if guild_id:
            await self._config.guild_from_id(guild_id).personas.set(raw)
            self._guilds.setdefault(guild_id, {})["personas"] = raw
        else:
            await self._config.personas.set(raw)
            self._global["personas"] = raw

    async def choose(self, scope: Scope, name: Optional[str]) -> None:
        if scope.kind == GLOBAL:
            await self._config.persona.set(name)
            self._global["persona"] = name
        elif scope.kind == GUILD:
            await self._config.guild_from_id(scope.id).persona.set(name)
            self._guilds.setdefault(scope.id, {})["persona"] = name
        elif scope.kind == CHANNEL:
            await self._config.channel_from_id(scope.id).persona.set(name)
            self._channels[scope.id] = name
        else:
            await self._config.user_from_id(scope.id).persona.set(name)
            self._users.setdefault(scope.id, {})["persona"] = name

    async def set_myprompt(self, user_id: int, text: Optional[str]) -> None:
        await self._config.user_from_id(user_id).myprompt.set(text)
        self._users.setdefault(user_id, {})["myprompt"] = text

    async def set_timezone(self, guild_id: int, zone: str) -> None:
        await self._config.guild_from_id(guild_id).timezone.set(zone)
        self._guilds.setdefault(guild_id, {})["timezone"] = zone

    async def set_dm(self, **changes: bool) -> None:
        dm = {**self.dm, **changes}
        await self._config.dm.set(dm)
        self._global["dm"] = dm

    def forget_user(self, user_id: int) -> None:
        self._users.pop(user_id, None)

    def references(self, guild_id: Optional[int], name: str) -> List[str]:
        """Where a persona is chosen (so a delete can say what falls back)."""
        key = name.lower()
        places = []
        if (self._global.get("persona") or "").lower() == key:
            places.append("global")
        if guild_id and (self._guilds.get(guild_id, {}).get("persona") or "").lower() == key:
            places.append("this server")
        return places
