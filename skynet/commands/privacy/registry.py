"""The cog's stores registered with the data map (docs/privacy.md), and what each covers.

One function per store, kept here so the whole map reads in one place. Order matters: replies in
flight first (they must write nothing back), then caches before the stores they flush into.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional

from ...engine.memory.windows import Turn
from ...engine.privacy.datamap import DataMap
from ..conversations import conversations_in

DATA_FILES_NOT_PERSONAL = ("pricing/*", "genai-prices*", "tiktoken*", "cache/*")


def _turn(turn: Turn) -> Dict[str, Any]:
    return {"role": turn.role, "content": turn.content, "at": turn.at}


def _without_member(governance: Dict[str, Any], user_id: int) -> Dict[str, Any]:
    data = copy.deepcopy(governance)
    uid = str(user_id)
    (data.get("budget") or {}).get("members", {}).pop(uid, None)
    (data.get("tools") or {}).get("members", {}).pop(uid, None)
    return data


def register_stores(cog: Any, data_map: DataMap) -> None:
    bot, config = cog.bot, cog.config

    # -- replies still streaming for this member write nothing back
    def stop_writes(user_id: int, guild_id: Optional[int] = None) -> None:
        cog.engine.deletions.forget(user_id)

    data_map.register("replies_in_flight", forget=stop_writes)

    # -- conversation windows (windows.sqlite3), in every channel, thread, forum post, DM
    def export_turns(user_id: int) -> Dict[str, Any]:
        return {key: [_turn(t) for t in turns] for key, turns in cog.memory.turns_of(user_id).items()}

    async def forget_turns(user_id: int, guild_id: Optional[int] = None) -> int:
        if guild_id is None:
            dropped = cog.memory.forget_user(user_id)
        else:
            dropped = sum(
                cog.memory.forget_user_in(key, user_id) for key in conversations_in(bot, cog.memory, guild_id)
            )
        await cog.memory_service.windows.flush()
        return dropped

    data_map.register(
        "remembered_conversation",
        export=export_turns,
        forget=forget_turns,
        files=("windows.sqlite3*",),
    )

    # -- long-term memories and documents (chromadb, embedded or a server)
    async def export_vectors(user_id: int) -> Dict[str, Any]:
        stored = await cog.memory_service.export_user(user_id)
        return {k: v for k, v in stored.items() if v}

    async def forget_vectors(user_id: int, guild_id: Optional[int] = None) -> int:
        service = cog.memory_service
        if service._nothing_stored():
            return 0
        if guild_id is None:
            store = await service.ensure_open()
            return await store.delete({"user": str(user_id)})
        return await service.purge_member(guild_id, user_id)

    data_map.register(
        "long_term_memory", export=export_vectors, forget=forget_vectors, files=("chroma/*", "chroma")
    )

    # -- automatic memories: proposals waiting for confirmation and the opt-in cache (memory only;
    # the opt-in itself is USER.auto_memories, under member_settings)
    def forget_proposals(user_id: int, guild_id: Optional[int] = None) -> None:
        cog.memory_service.proposer.forget_user(user_id, guild_id)
        if guild_id is None:
            getattr(cog, "_auto_users", set()).discard(user_id)

    def export_proposals(user_id: int) -> Dict[str, Any]:
        return cog.memory_service.proposer.export_user(user_id)

    data_map.register("memory_proposals", export=export_proposals, forget=forget_proposals)

    # -- usage counters (usage.sqlite3 and pending in memory)
    async def export_usage(user_id: int) -> Dict[str, Any]:
        counted = await cog.usage.of_user(user_id)
        totals = {
            ("dms" if scope[0] == "user" else f"server {scope[1]}"): counters.to_json()
            for scope, counters in sorted(counted.items(), key=lambda item: str(item[0]))
        }
        days = await cog.usage.counters.member_days(user_id)  # the panel's per-day rows (flushed)
        if days:
            totals["by_day"] = {
                str(guild_id or "dms"): [
                    {"day": day * 86400, "requests": c.requests, "tokens": c.total_tokens, "cost_usd": c.cost_usd}
                    for day, c in rows
                ]
                for guild_id, rows in days.items()
            }
        return totals

    async def forget_usage(user_id: int, guild_id: Optional[int] = None) -> None:
        await cog.usage.forget_user(user_id, guild_id)

    data_map.register("usage", export=export_usage, forget=forget_usage, files=("usage.sqlite3*",))

    # -- governance: per-member budget overrides, tool rules, and budget spend
    def export_governance(user_id: int) -> Dict[str, Any]:
        uid, found = str(user_id), {}
        for guild_id in cog.governance.scopes():
            data = cog.governance.data(guild_id)
            mine = {
                "budget_override": (data.get("budget") or {}).get("members", {}).get(uid),
                "tool_rules": (data.get("tools") or {}).get("members", {}).get(uid),
            }
            mine = {k: v for k, v in mine.items() if v is not None}
            if mine:
                found["dms" if guild_id == 0 else str(guild_id)] = mine
        spend = cog.governor.ledger.of_user(user_id)
        if spend:
            found["budget_spent_today"] = spend
        return found

    async def forget_governance(user_id: int, guild_id: Optional[int] = None) -> None:
        cog.governor.ledger.forget_user(user_id, guild_id)
        for scope_id in cog.governance.scopes():
            if guild_id is not None and scope_id != guild_id:
                continue
            if _without_member(cog.governance.data(scope_id), user_id) != cog.governance.data(scope_id):
                await cog.governance.update(scope_id, lambda d: d.update(_without_member(d, user_id)))
        await cog.governance.flush()

    data_map.register(
        "governance",
        export=export_governance,
        forget=forget_governance,
        config=("GUILD.governance", "GUILD.budget_usage", "GLOBAL.dm_governance", "GLOBAL.dm_budget_usage"),
    )

    # -- a member's own data in Config: per-server (member) and their own (user) values
    async def export_member_config(user_id: int) -> Dict[str, Any]:
        found: Dict[str, Any] = {}
        for guild_id, users in (await config.all_members()).items():
            if user_id in users:
                found[f"server {guild_id}"] = users[user_id]
        own = dict((await config.all_users()).get(user_id) or {})
        own.pop("own_key", None)  # a sealed provider key: the channel assistant exports the facts, never it
        if own:
            found["own"] = own
        return found

    async def forget_member_config(user_id: int, guild_id: Optional[int] = None) -> None:
        for gid, users in (await config.all_members()).items():
            if user_id in users and (guild_id is None or gid == guild_id):
                await config.member_from_ids(gid, user_id).clear()
        if guild_id is None:
            await config.user_from_id(user_id).clear()

    data_map.register(
        "member_settings",
        export=export_member_config,
        forget=forget_member_config,
        config=("MEMBER.*", "USER.*"),
    )

    # -- caches of member choices (own instructions, persona pick, incognito, consent)
    def export_persona_choices(user_id: int) -> Dict[str, Any]:
        own = cog.personas.myprompt(user_id)
        return {"own_instructions": own} if own else {}

    def forget_persona_choices(user_id: int, guild_id: Optional[int] = None) -> None:
        if guild_id is None:  # own instructions and a DM persona are the member's, not a server's
            cog.personas.forget_user(user_id)

    data_map.register("personas", export=export_persona_choices, forget=forget_persona_choices)
    data_map.register("storing_gate", cog.privacy.gate)
    data_map.register("consent", cog.privacy.gate.consent)

    # -- tool cooldowns (who called which tool when, in memory only)
    def forget_tool_calls(user_id: int, guild_id: Optional[int] = None) -> None:
        telemetry = getattr(cog.tool_service, "telemetry", None)
        if telemetry is not None and guild_id is None:
            for key in [k for k in telemetry._last_call if k[1] == user_id]:
                del telemetry._last_call[key]

    data_map.register("tool_cooldowns", forget=forget_tool_calls)

    # -- media: a member's image count today per server (Config custom group), voice-reply choice
    data_map.register(
        "media",
        export=cog.media_export_user,
        forget=cog.media_forget_user,
        config=("SKYNET_MEDIA.*",),
    )

    # -- the channel assistant: schedules and reminders a member made, their own key (sealed)
    data_map.register("channel_assistant", cog.channels, config=("GUILD.channel_assistant",))

    # -- the audit log (its own file): entries by or naming the member
    data_map.register("audit_log", cog.privacy.audit, files=("audit.sqlite3*",))

    declare_not_personal(data_map)


def declare_not_personal(data_map: DataMap) -> None:
    """Config values and files that hold settings, not anything about a person."""
    data_map.not_personal(
        "settings chosen by the owner or admins (models, parameters, endpoints, prices, tool switches, "
        "policies, personas' choice, consent and moderation settings); aggregate counters",
        config=(
            "GLOBAL.schema_version",
            "GLOBAL.model",
            "GLOBAL.params",
            "GLOBAL.endpoints",
            "GLOBAL.pricing",
            "GLOBAL.pricing_providers",
            "GLOBAL.usage",
            "GLOBAL.tools",
            "GLOBAL.tool_config",
            "GLOBAL.tool_stats",
            "GLOBAL.fallbacks",
            "GLOBAL.memory",
            "GLOBAL.vision",
            "GLOBAL.persona",
            "GLOBAL.dm",
            "GLOBAL.privacy",
            "GLOBAL.answer_bounds",  # the owner's caps on one answer (reliability)
            "GLOBAL.mcp_servers",  # MCP servers the owner registered; secrets are shared API tokens
            "GLOBAL.mcp_limits",
            "GUILD.model",
            "GUILD.params",
            "GUILD.usage",
            "GUILD.fallbacks",
            "GUILD.tools",
            "GUILD.memory_policy",
            "GUILD.auto_memories",  # the server allows automatic memory proposals
            "GUILD.persona",
            "GUILD.timezone",
            "GUILD.privacy",
            "GUILD.personas",
            "GLOBAL.personas",
            "GUILD.moderation",
            "GLOBAL.own_keys_allowed",
            "TEXTCHANNEL.*",  # Red's category of channel values
        ),
        files=DATA_FILES_NOT_PERSONAL,
    )
    data_map.not_personal(
        "the web panel's switch, address and public URL (set by the owner); its sessions are in memory only",
        config=("GLOBAL.panel",),
    )
    data_map.not_personal(
        "Red's Config file (JSON driver): each of its keys is covered one by one above",
        files=("settings.json", "settings.json.*"),
    )
