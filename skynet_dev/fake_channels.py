"""What the channel assistant needs from the fake Discord beyond dpytest: history paged as
Discord pages it, threads started from a message, forum posts, and thread edits (archiving).

dpytest's ``logs_from`` returns pages oldest first and slices with negative indexes, so
``channel.history()`` over more than 100 messages repeats or drops pages; Discord returns each page
newest first, the ``limit`` messages just before ``before`` (or just after ``after``).
``install(monkeypatch)`` patches dpytest's fake HTTP for one test.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import discord
from discord.ext.test import backend as dpy_backend
from discord.ext.test import factories as dpy_factories

thread_payloads: Dict[int, Dict[str, Any]] = {}


async def logs_from(self, channel_id: int, limit: int, before: Optional[int] = None,
                    after: Optional[int] = None, around: Optional[int] = None) -> List[Dict[str, Any]]:
    messages = sorted(dpy_backend._cur_config.messages.get(int(channel_id), []), key=lambda m: int(m["id"]))
    if before is not None:
        messages = [m for m in messages if int(m["id"]) < int(before)]
    if after is not None:
        newer = [m for m in messages if int(m["id"]) > int(after)]
        return list(reversed(newer[:limit]))
    return list(reversed(messages[-limit:] if limit else messages))


def _thread_payload(guild_id: int, parent_id: int, thread_id: int, name: str, owner_id: int,
                    kind: discord.ChannelType = discord.ChannelType.public_thread) -> Dict[str, Any]:
    return {
        "id": str(thread_id), "guild_id": str(guild_id), "parent_id": str(parent_id), "owner_id": str(owner_id),
        "name": name, "type": kind.value, "last_message_id": None, "rate_limit_per_user": 0,
        "message_count": 0, "member_count": 1, "flags": 0,
        "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                            "archive_timestamp": discord.utils.utcnow().isoformat(), "locked": False},
    }


def _register(payload: Dict[str, Any]) -> discord.Thread:
    """As Discord's THREAD_CREATE: the thread joins the guild's cache and gets a history store."""
    state = dpy_backend.get_state()
    guild = state._get_guild(int(payload["guild_id"]))
    thread = discord.Thread(guild=guild, state=state, data=payload)
    guild._add_thread(thread)
    thread_payloads[thread.id] = payload
    dpy_backend._cur_config.messages.setdefault(thread.id, [])
    return thread


async def start_thread_with_message(self, channel_id: int, message_id: int, *, name: str,
                                    auto_archive_duration: int, rate_limit_per_user: Optional[int] = None,
                                    reason: Optional[str] = None) -> Dict[str, Any]:
    if not name or len(name) > 100:
        raise discord.HTTPException(_Response(400), {"code": 50035, "message": "Invalid Form Body (name)"})
    channel = dpy_backend.get_state().get_channel(int(channel_id))
    payload = _thread_payload(channel.guild.id, channel.id, int(message_id), name, dpy_backend.get_state().user.id)
    payload["thread_metadata"]["auto_archive_duration"] = auto_archive_duration
    _register(payload)
    return payload


async def edit_channel(self, channel_id: int, *, reason: Optional[str] = None, **options: Any) -> Dict[str, Any]:
    payload = thread_payloads.get(int(channel_id))
    if payload is None:
        raise NotImplementedError("fake_channels: only threads can be edited")
    meta = payload["thread_metadata"]
    for key in ("archived", "locked", "auto_archive_duration"):
        if key in options:
            meta[key] = options[key]
    if "name" in options:
        payload["name"] = options["name"]
    thread = dpy_backend.get_state()._get_guild(int(payload["guild_id"])).get_thread(int(channel_id))
    if thread is not None:
        thread._update(payload)
    return payload


class _Response:
    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "Bad Request"


def forum_post(harness, forum: discord.ForumChannel, title: str, content: str,
               author: Optional[discord.Member] = None) -> discord.Thread:
    """A member opens a post in ``forum``: its thread (id = its starter message's id) and starter message."""
    author = author or harness.member
    thread_id = dpy_factories.make_id()
    thread = _register(_thread_payload(forum.guild.id, forum.id, thread_id, title, author.id))
    dpy_backend.make_message(content, author, thread, id_num=thread_id)
    return thread


def make_forum(name: str, guild: discord.Guild) -> discord.ForumChannel:
    state = dpy_backend.get_state()
    payload = {"id": str(dpy_factories.make_id()), "guild_id": str(guild.id), "name": name,
               "type": discord.ChannelType.forum.value, "position": 1, "permission_overwrites": [],
               "nsfw": False, "parent_id": None, "available_tags": [], "flags": 0}
    forum = discord.ForumChannel(state=state, guild=guild, data=payload)
    guild._add_channel(forum)
    return forum


def grant_thread_permissions(guild: discord.Guild) -> None:
    """dpytest's @everyone predates thread permissions; Discord's default grants them."""
    everyone = guild.default_role
    threads = discord.Permissions(send_messages_in_threads=True, create_public_threads=True)
    if (everyone.permissions.value & threads.value) != threads.value:
        dpy_backend.update_role(everyone, permissions=everyone.permissions.value | threads.value)


def install(monkeypatch) -> None:
    monkeypatch.setattr(dpy_backend.FakeHttp, "logs_from", logs_from)
    monkeypatch.setattr(dpy_backend.FakeHttp, "start_thread_with_message", start_thread_with_message, raising=False)
    monkeypatch.setattr(dpy_backend.FakeHttp, "edit_channel", edit_channel, raising=False)
    thread_payloads.clear()
