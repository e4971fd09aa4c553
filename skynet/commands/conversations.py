"""Which server a remembered conversation belongs to, for every area that walks the windows store
by server (purge, stats, the data map): channels, threads, forum posts and voice-channel text alike."""

from __future__ import annotations

from typing import Any, List, Optional


def conversation_guild(bot: Any, key: str) -> Optional[int]:
    """The server of a remembered conversation, from the bot's cache; None for DMs and channels
    the bot can no longer see."""
    kind, _, raw = key.partition(":")
    if kind != "channel" or not raw.isdigit():
        return None
    guild = getattr(bot.get_channel(int(raw)), "guild", None)
    return guild.id if guild is not None else None


def conversations_in(bot: Any, memory: Any, guild_id: int) -> List[str]:
    """Every conversation of one server the windows store holds: walks the store, not the
    server's text channels, so threads, forum posts and voice-channel text are included."""
    keys = set(memory.conversations()) | set(memory.summaries)
    return sorted(k for k in keys if conversation_guild(bot, k) == guild_id)
