"""``[p]ai tldr``: catch up on a channel."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import List, Literal, Optional, Tuple

import discord
from discord import app_commands
from redbot.core import commands

from ...engine.channels.summaries import (
    MAX_INPUT_TOKENS,
    MAX_QUESTION_CHARS,
    HistoryLine,
    Summarizer,
    TldrRange,
    bound,
    parse_range,
)
from ...engine.errors import InvalidValue
from ...engine.governance.errors import discord_time
from ...engine.governance.governor import Admission
from ...i18n import _
from ..common import reply, resolve_here
from ..group import AIGroup
from ..targets import find_channel, find_member
from .core import ChannelsCore

SUMMARY_MAX_TOKENS = 700  # each request's answer


def split_args(guild: discord.Guild, text: str) -> Tuple[Optional[discord.abc.GuildChannel], TldrRange,
                                                           Optional[discord.Member], Optional[str]]:
    """``[#channel] [period|count] [member] [question]``, each part optional, in that order."""
    words = text.split()
    channel = member = None
    if words and re.fullmatch(r"<#\d+>", words[0]):
        channel = find_channel(guild, words.pop(0))
    span = parse_range(words[0]) if words else None
    if span is not None:
        words.pop(0)
    if words and re.fullmatch(r"<@!?\d+>", words[0]):
        member = find_member(guild, words.pop(0))
    question = " ".join(words).strip() or None
    if question and len(question) > MAX_QUESTION_CHARS:
        raise InvalidValue(_("Keep the question under {limit} characters.").format(limit=MAX_QUESTION_CHARS))
    return channel, span or TldrRange(), member, question


class TldrMixin(ChannelsCore):
    @AIGroup.ai.command(name="tldr", with_app_command=False)
    @commands.guild_only()
    @app_commands.describe(
        args="[#channel] [2h | 1d | 300] [@member] [question]",
        visibility="private: only you see the summary (slash command)",
    )
    async def ai_tldr(
        self, ctx: commands.Context, visibility: Optional[Literal["private"]] = None, *, args: str = ""
    ) -> None:
        """Summarise what was said in a channel, with links to the key messages.

        `[p]ai tldr [#channel] [period|count] [@member] [question]`, e.g. `[p]ai tldr`,
        `[p]ai tldr #support 2h`, `[p]ai tldr 300 @Sam`, `[p]ai tldr 1d what was decided about the event?`
        Reads only messages you can see; counts against your AI budget. As a slash command,
        `visibility: private` shows the summary to you only.
        """
        channel, span, member, question = split_args(ctx.guild, args)
        channel = channel or ctx.channel
        author = ctx.author
        visible = channel.permissions_for(author)
        if not (visible.view_channel and visible.read_message_history):
            raise InvalidValue(_("You can't read that channel's history, so I can't summarise it for you."))
        mine = channel.permissions_for(ctx.guild.me)
        if not (mine.view_channel and mine.read_message_history):
            raise InvalidValue(_("I can't read that channel's history."))
        retry = self.tldr_cooldown.retry_at(channel.id)
        if retry is not None:
            raise InvalidValue(
                _("A summary of {channel} was just made; try again {when}.").format(
                    channel=channel.mention, when=discord_time(retry)
                )
            )
        self.tldr_cooldown.start(channel.id)
        try:
            await self._tldr(ctx, channel, span, member, question, private=visibility == "private")
        except BaseException:
            self.tldr_cooldown.cancel(channel.id)
            raise

    async def _tldr(
        self, ctx, channel, span: TldrRange, member, question: Optional[str], *, private: bool = False
    ) -> None:
        if private and ctx.interaction is not None:  # the deferral decides who sees the answer
            await ctx.defer(ephemeral=True)
        lines = await self.read_history(channel, span, member, before=ctx.message)
        lines = bound(lines, max_messages=span.limit, max_tokens=MAX_INPUT_TOKENS)
        if not lines:
            raise InvalidValue(_("There is nothing to summarise there."))
        settings = resolve_here(self.settings, channel)
        requests = Summarizer.request_count(lines)
        admission_id, role_ids = ctx.guild.id, tuple(r.id for r in getattr(ctx.author, "roles", ()))
        admission = Admission(
            guild_id=admission_id,
            user_id=ctx.author.id,
            role_ids=role_ids,
            model=settings.model.name,
            prompt_tokens=sum(line.tokens for line in lines) + 300 * requests,
            max_tokens=SUMMARY_MAX_TOKENS * requests,
            bypass=ctx.author.id in self.bot.owner_ids,
        )
        ticket = self.governor.admit(self.governance.rules(admission_id), admission)
        charged: list = []
        scopes = self.member_scopes(ctx.author, ctx.guild)
        params = {**settings.params, "max_tokens": SUMMARY_MAX_TOKENS}
        settings = replace(settings, params=params)
        try:
            async with ctx.typing():
                summary = await Summarizer(
                    lambda messages: self.complete_text(settings, messages, scopes, charged)
                ).summarize(lines, question)
        finally:
            ticket.settle(self.total_usage(charged))
        who = _(" by {member}").format(member=member.display_name) if member else ""
        header = _("**Summary of {channel}**{who}: {count} messages since {since}").format(
            channel=channel.mention, who=who, count=summary.messages, since=f"<t:{int(summary.first_at)}:R>"
        )
        await reply(ctx, header + "\n" + summary.text, ephemeral=private)

    async def read_history(self, channel, span: TldrRange, member: Optional[discord.Member],
                           before: Optional[discord.Message] = None) -> List[HistoryLine]:
        """The channel's messages, oldest first: the last ``span.count`` (or those of the last
        ``span.seconds``), people's messages only (no bots, no commands), by ``member`` if given."""
        after = None
        if span.seconds:
            after = discord.utils.utcnow() - timedelta(seconds=span.seconds)
        prefixes = tuple(await self.bot.get_valid_prefixes(channel.guild))
        count = self.engine.counter.count
        lines: List[HistoryLine] = []
        async for message in channel.history(limit=span.limit, before=before, after=after, oldest_first=False):
            if message.author.bot or not message.content or message.content.startswith(prefixes):
                continue
            if member is not None and message.author.id != member.id:
                continue
            text = message.clean_content
            lines.append(HistoryLine(message.id, message.author.display_name, text,
                                     message.created_at.timestamp(), message.jump_url,
                                     count(text[:600]) + 8))
        lines.sort(key=lambda line: line.message_id)
        return lines
