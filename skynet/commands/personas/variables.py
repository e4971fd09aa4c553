"""The values of the prompt variables, read from Discord objects already in memory (no I/O).

Every value is computed only if a prompt uses it (:class:`LazyVariables`). Names, topics and
descriptions are member-controlled text: the renderer inserts them as plain data.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Callable, Dict, Optional

import discord

from ...engine.personas.variables import LazyVariables

DATE = "%Y-%m-%d"
TIME = "%H:%M"


def _date(when: Optional[dt.datetime]) -> str:
    return when.strftime(DATE) if when else ""


def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.timezone.utc


def prompt_variables(
    *,
    bot: discord.Client,
    author: discord.abc.User,
    channel: discord.abc.Messageable,
    prefix: str,
    model: str,
    endpoint: str,
    persona: str,
    timezone: str = "UTC",
    now: Optional[dt.datetime] = None,
) -> LazyVariables:
    """The variables for a request by ``author`` in ``channel``; see docs/personas.md."""
    guild: Optional[discord.Guild] = getattr(channel, "guild", None)
    member = author if isinstance(author, discord.Member) else None
    thread = channel if isinstance(channel, discord.Thread) else None
    text_channel = thread.parent if thread is not None and thread.parent is not None else channel
    tz = _zone(timezone)
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(tz)
    me = bot.user

    def roles() -> str:
        if member is None:
            return ""
        return ", ".join(r.name for r in reversed(member.roles) if not r.is_default())

    def top_role() -> str:
        return member.top_role.name if member is not None and not member.top_role.is_default() else ""

    def owner() -> str:
        if guild is None:
            return ""
        found = guild.owner
        return found.display_name if found is not None else str(guild.owner_id or "")

    def channel_name() -> str:
        if isinstance(channel, discord.DMChannel):
            return "Direct Message"
        return getattr(text_channel, "name", "") or ""

    getters: Dict[str, Callable[[], object]] = {
        # the member
        "user": lambda: author.name,
        "user_display": lambda: author.display_name,
        "user_id": lambda: author.id,
        "user_mention_name": lambda: f"@{author.display_name}",
        "user_nick": lambda: (member.nick if member else None) or "",
        "user_roles": roles,
        "user_top_role": top_role,
        "user_joined": lambda: _date(member.joined_at) if member else "",
        "user_created": lambda: _date(author.created_at),
        "user_avatar": lambda: author.display_avatar.url,
        "user_is_bot": lambda: "yes" if author.bot else "no",
        # the server
        "server": lambda: guild.name if guild else "Direct Message",
        "server_id": lambda: guild.id if guild else "",
        "member_count": lambda: (guild.member_count or len(guild.members)) if guild else 2,
        "server_owner": owner,
        "server_created": lambda: _date(guild.created_at) if guild else "",
        "server_description": lambda: (guild.description or "") if guild else "",
        "server_icon": lambda: guild.icon.url if guild and guild.icon else "",
        "role_count": lambda: len(guild.roles) if guild else 0,
        "channel_count": lambda: len(guild.channels) if guild else 0,
        "boost_level": lambda: guild.premium_tier if guild else 0,
        # the channel and thread
        "channel": channel_name,
        "channel_id": lambda: getattr(text_channel, "id", channel.id),
        "channel_topic": lambda: getattr(text_channel, "topic", None) or "",
        "channel_mention_name": lambda: f"#{channel_name()}",
        "thread": lambda: thread.name if thread else "",
        "thread_id": lambda: thread.id if thread else "",
        "category": lambda: text_channel.category.name if getattr(text_channel, "category", None) else "",
        "nsfw": lambda: "yes" if getattr(text_channel, "nsfw", False) else "no",
        "is_dm": lambda: "yes" if guild is None else "no",
        # the bot
        "bot": lambda: (guild.me.display_name if guild and guild.me else me.display_name) if me else "",
        "bot_id": lambda: me.id if me else "",
        "bot_mention_name": lambda: f"@{me.display_name}" if me else "",
        "prefix": lambda: prefix,
        "model": lambda: model,
        "endpoint": lambda: endpoint,
        "persona": lambda: persona,
        # time (the server's time zone)
        "date": lambda: moment.strftime(DATE),
        "time": lambda: moment.strftime(TIME),
        "datetime": lambda: moment.strftime(f"{DATE} {TIME}"),
        "weekday": lambda: moment.strftime("%A"),
        "month": lambda: moment.strftime("%B"),
        "year": lambda: moment.year,
        "timezone": lambda: getattr(tz, "key", "UTC"),
        "timestamp": lambda: moment.isoformat(timespec="seconds"),
        "unix": lambda: int(moment.timestamp()),
    }
    return LazyVariables(getters)
