"""``[p]ai threads``: long exchanges in their own thread, forum posts answered in theirs."""

from __future__ import annotations

import logging
import re
from typing import Optional

import discord
from redbot.core import commands

from ...engine.channels.threads import MAX_ARCHIVE_MINUTES, thread_name
from ...engine.errors import InvalidValue
from ...engine.governance.errors import GovernanceRefusal
from ...engine.governance.numbers import parse_number
from ...i18n import _
from ..common import reply, writable_scope
from ..group import AIGroup
from ..targets import find_channel
from .core import ChannelsCore

log = logging.getLogger("red.skynet.channels")
DISCORD_ARCHIVE = 1440  # Discord's own auto-archive (minutes); ours is usually sooner


class ThreadsMixin(ChannelsCore):
    def threads_on(self, channel: discord.abc.Messageable) -> bool:
        """Passive answers in ``channel`` go to a new thread (not in threads, DMs or forums)."""
        guild = getattr(channel, "guild", None)
        if guild is None or not isinstance(channel, discord.TextChannel):
            return False
        return self.channels.threads_in(channel.id, guild.id).enabled

    async def answer_in_new_thread(self, message: discord.Message, text: str) -> None:
        """Open a thread on ``message``, named from it, and answer there."""
        channel = message.channel
        permissions = channel.permissions_for(message.guild.me)
        if not permissions.create_public_threads:
            await self.member_answer(message.author, channel, text, reference=message)  # inline, as before
            return
        thread = await message.create_thread(name=thread_name(text, _("Conversation")),
                                             auto_archive_duration=DISCORD_ARCHIVE)
        await self.track_thread(thread, channel.id)
        await self.member_answer(message.author, thread, text)

    async def track_thread(self, thread: discord.Thread, parent_id: int) -> None:
        minutes = self.channels.threads_in(parent_id, thread.guild.id).archive_minutes
        self.threads_open.opened(thread.id, self.channels_clock.now(), minutes * 60)
        await self.channels.update(
            thread.guild.id, lambda data: data.setdefault("open_threads", {}).__setitem__(str(thread.id), parent_id)
        )

    async def follow_up(self, message: discord.Message) -> bool:
        """A member wrote in a thread the assistant opened: answer without a mention. True if handled."""
        thread = message.channel
        if not isinstance(thread, discord.Thread) or not self.threads_open.owns(thread.id):
            return False
        self.threads_open.touch(thread.id, self.channels_clock.now())
        if not self.listener.claim(message.id):
            return True  # the listener answers it (a mention), or it was delivered twice
        if not await self._may_listen(message):
            return True
        text = self._strip_mention(message.content, message.guild.me.id) or message.content
        try:
            await self.member_answer(message.author, thread, text)
        except GovernanceRefusal as refusal:
            await self._notify_once(message, refusal)
        return True

    async def archive_idle_threads(self) -> None:
        idle = self.threads_open.idle(self.channels_clock.now())
        if not idle:
            return
        self.threads_open.closed(idle)
        by_guild = {}
        for thread_id in idle:
            thread = self.bot.get_channel(thread_id)
            if isinstance(thread, discord.Thread):
                by_guild.setdefault(thread.guild.id, []).append(thread_id)
                try:
                    await thread.edit(archived=True)
                except discord.HTTPException as exc:
                    log.info("Couldn't archive thread %s: %s", thread_id, exc)
        for guild_id, ids in by_guild.items():
            def edit(data, ids=ids):
                open_threads = data.setdefault("open_threads", {})
                for thread_id in ids:
                    open_threads.pop(str(thread_id), None)
            await self.channels.update(guild_id, edit)

    @commands.Cog.listener("on_thread_create")
    async def channels_on_thread_create(self, thread: discord.Thread) -> None:
        """A new forum post: answer it in its thread when the forum has threads on."""
        await self.answer_forum_post(thread)

    async def answer_forum_post(self, thread: discord.Thread) -> None:
        parent = thread.parent
        guild = thread.guild
        if not isinstance(parent, discord.ForumChannel) or guild.me is None or thread.owner_id == guild.me.id:
            return
        if not self.channels.threads_in(parent.id, guild.id).enabled or self.threads_open.owns(thread.id):
            return
        starter = thread.starter_message
        if starter is None:
            try:
                starter = await thread.fetch_message(thread.id)
            except discord.HTTPException:
                return
        if starter.author.bot or not self.listener.claim(starter.id):
            return
        if not await self.bot.allowed_by_whitelist_blacklist(starter.author) or await self.bot.cog_disabled_in_guild(self, guild):
            return
        await self.track_thread(thread, parent.id)
        text = f"{thread.name}\n{starter.content}".strip()
        try:
            await self.member_answer(starter.author, thread, text)
        except GovernanceRefusal as refusal:
            await self._notify_once(starter, refusal)

    # -- commands

    @AIGroup.ai.group(name="threads", with_app_command=False)
    @commands.guild_only()
    async def ai_threads(self, ctx: commands.Context) -> None:
        """Answer in a new thread per conversation, and answer forum posts in their thread."""

    @ai_threads.command(name="on")
    async def ai_threads_on(self, ctx: commands.Context, channel: Optional[str] = None, minutes: Optional[str] = None) -> None:
        """Passive answers in a channel open a thread named from the question; follow-ups there need no
        mention; the thread is archived after `minutes` without messages (default 60).
        In a forum channel: each new post is answered in its thread.
        `[p]ai threads on #help 120`
        """
        await writable_scope(ctx, "server")
        if channel is not None and re.fullmatch(r"\d{1,5}", channel):
            channel, minutes = None, channel
        target = find_channel(ctx.guild, channel) if channel else ctx.channel
        if not isinstance(target, (discord.TextChannel, discord.ForumChannel)):
            raise InvalidValue(_("Threads can be opened from text channels and forums only."))
        value = int(parse_number(minutes, what=_("The minutes before archiving"), minimum=5,
                                 maximum=MAX_ARCHIVE_MINUTES)) if minutes else 60

        def edit(data):
            data.setdefault("threads", {})[str(target.id)] = {"enabled": True, "archive_minutes": value}

        await self.channels.update(ctx.guild.id, edit)
        if isinstance(target, discord.ForumChannel):
            text = _("New posts in {channel} are answered in their thread; archived after {minutes} minutes of quiet.")
        else:
            text = _("Answers in {channel} now open a thread per conversation; archived after {minutes} minutes of quiet.")
        await reply(ctx, text.format(channel=target.mention, minutes=value))

    @ai_threads.command(name="off")
    async def ai_threads_off(self, ctx: commands.Context, channel: Optional[str] = None) -> None:
        """Answer in the channel itself again."""
        await writable_scope(ctx, "server")
        target = find_channel(ctx.guild, channel) if channel else ctx.channel
        await self.channels.update(ctx.guild.id, lambda data: data.setdefault("threads", {}).pop(str(target.id), None))
        await reply(ctx, _("Answers in {channel} stay in the channel.").format(channel=target.mention))

    @ai_threads.command(name="show")
    async def ai_threads_show(self, ctx: commands.Context) -> None:
        """Channels that answer in threads."""
        raw = self.channels.guild(ctx.guild.id).get("threads") or {}
        lines = [_("{channel}: archived after {minutes} min").format(channel=f"<#{cid}>", minutes=v.get("archive_minutes", 60))
                 for cid, v in raw.items() if v.get("enabled")]
        await reply(ctx, "\n".join(lines) if lines else _("No channel answers in threads. Turn it on with `[p]ai threads on #channel`."))
