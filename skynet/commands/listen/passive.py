"""Passive listening: answering by mention, reply, keyword or every message, with reply chains.

The listener sees every message of every server, so the common case ("ignore") is a few dict
lookups on cached rules (see :mod:`skynet.engine.governance.listening`); Red's checks, prefix
lookups and reply-chain fetches only happen for messages that will be answered or remembered."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, OrderedDict
from typing import Any, Dict, List, Literal, Optional, Tuple

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.reply import NO_MENTIONS
from ...delivery.style import error_text
from ...engine.governance.errors import GovernanceRefusal
from ...engine.governance.listening import Heard
from ...engine.memory import ASSISTANT, USER, Turn
from ...engine.privacy.moderation import ModerationRefusal
from ..common import conversation_key, settings_channel_id

log = logging.getLogger("red.skynet.listen")

ListenScope = Literal["server", "channel"]
CHAIN_LENGTH = 10  # replied-to messages used as context
CHAIN_CACHE = 2000  # fetched messages kept, so long threads cost one fetch per message, not per answer
# Passive replies one channel may have under way. Discord shows a bot 5 sends or edits per 5 s in a
# channel and a reply needs two or more: answering every message of a busier channel would queue
# replies without end, each later than the last (at 1 message/s in a channel listening to
# everything, bench/soak.py's queue grew for the whole 30 minutes).
PASSIVE_IN_PROGRESS = 3


class PassiveMixin(MixinMeta):
    _chain_cache: "OrderedDict[int, Optional[discord.Message]]"
    _notified: Dict[Tuple[Any, ...], float]
    _passive_open: "Counter[int]"  # channel id -> passive replies under way there

    # -- the listener

    @commands.Cog.listener()
    async def on_message_without_command(self, message: discord.Message) -> None:
        guild = message.guild
        if guild is None:
            return
        rules = self.governance.rules(guild.id)
        if rules.listen.inert:
            return
        author = message.author
        me = guild.me
        if author.bot or message.webhook_id is not None or me is None or author.id == me.id:
            return
        replied = self._known_parent(message)
        heard = Heard(
            message_id=message.id,
            guild_id=guild.id,
            channel_id=settings_channel_id(message.channel),
            author_id=author.id,
            content=message.content,
            mentions_bot=me.id in message.raw_mentions,
            reply_to_bot=replied is not None and await self._by_the_bot(replied, me.id),
        )
        decision = self.listener.decide(rules.listen, heard)
        if not (decision.answer or decision.remember) or not message.content:
            return
        if decision.answer and not self.listener.claim(message.id):
            return  # the same message delivered twice, racing: answer it once
        if not await self._may_listen(message):
            return
        if not decision.answer:
            self._keep_as_context(message)
            return
        if not self.privacy.gate.may_answer(author.id, guild_id=guild.id):
            return  # consent required and not given: not answered (`ai chat` says why)
        channel_id = message.channel.id
        in_threads = self.threads_on(message.channel)  # the channel answers in a new thread per conversation
        if not in_threads and self._passive_open[channel_id] >= PASSIVE_IN_PROGRESS:
            # Busier than Discord lets the bot answer: not answered, like a message in a cooldown
            # (which it does not start).
            if rules.listen.context_in(heard.channel_id)[0]:
                self._keep_as_context(message)
            return
        self.listener.mark_answered(heard)
        if in_threads:
            try:
                await self.answer_in_new_thread(message, self._strip_mention(message.content, me.id) or message.content)
            except GovernanceRefusal as refusal:
                await self._notify_once(message, refusal)
            return
        self._passive_open[channel_id] += 1  # counted before the first await: no race past the bound
        try:
            chain = await self.reply_chain(message)
            ctx = await self.bot.get_context(message)
            if ctx.prefix is None:
                ctx.prefix = (await self.bot.get_valid_prefixes(guild))[0]
            text = self._strip_mention(message.content, me.id) or message.content
            await self.answer(ctx, text, reply_chain=chain)
        except GovernanceRefusal as refusal:
            await self._notify_once(message, refusal)
        except ModerationRefusal as refusal:  # the notice, as a reply (moderation's own choice)
            await self.pacer.wait(message.channel.id)
            await message.reply(refusal.message, mention_author=False, allowed_mentions=NO_MENTIONS)
        finally:
            self._passive_open[channel_id] -= 1
            if self._passive_open[channel_id] <= 0:
                del self._passive_open[channel_id]

    def _keep_as_context(self, message: discord.Message) -> None:
        """Context listening: the message enters the channel's memory without an answer."""
        author = message.author
        if not self.storing_decision(author, message.channel):
            return  # incognito, no consent, an excluded channel: context keeps nothing of theirs
        self.memory.add(
            conversation_key(message.channel), USER, message.content, user_id=author.id, name=author.display_name
        )

    def _known_parent(self, message: discord.Message) -> Optional[discord.Message]:
        """The message ``message`` replies to, if Discord sent it along or the cache has it (no I/O)."""
        if message.reference is None:
            return None
        resolved = message.reference.resolved
        if isinstance(resolved, discord.Message):
            return resolved
        return self._chain_cache.get(message.reference.message_id)

    async def _by_the_bot(self, message: discord.Message, me: Optional[int]) -> bool:
        """Written by the bot: as itself, or as a persona through its channel webhook."""
        return message.author.id == me or await self.webhooks.sent_by_persona(message)

    async def _may_listen(self, message: discord.Message) -> bool:
        """Red's and Discord's rules, checked only for messages the listener would act on."""
        channel, guild = message.channel, message.guild
        permissions = channel.permissions_for(guild.me)
        if not (
            permissions.send_messages_in_threads
            if isinstance(channel, discord.Thread)
            else permissions.send_messages
        ):
            return False
        if await self.bot.cog_disabled_in_guild(self, guild):
            return False
        if not await self.bot.ignored_channel_or_guild(message):  # False means: ignored
            return False
        if not await self.bot.allowed_by_whitelist_blacklist(message.author):
            return False
        prefixes = await self.bot.get_valid_prefixes(guild)
        return not message.content.startswith(tuple(prefixes))

    @staticmethod
    def _strip_mention(content: str, bot_id: int) -> str:
        return re.sub(rf"<@!?{bot_id}>", "", content).strip()

    async def _notify_once(self, message: discord.Message, refusal: GovernanceRefusal) -> None:
        """Passive mode never spams refusals: one notice per member per reset period (the
        server's budget: one per channel per day; the server's rate limit sheds load silently)."""
        if refusal.limit == "server rate":
            return
        if refusal.limit == "server budget":
            key: Tuple[Any, ...] = ("channel", message.channel.id)
        else:
            key = ("member", message.guild.id, message.author.id)
        if self._notified.get(key, 0) >= refusal.resets_at:
            return
        if len(self._notified) > 50_000:  # drop notices whose period is over
            now = time.time()
            self._notified = {k: v for k, v in self._notified.items() if v > now}
        self._notified[key] = refusal.resets_at
        prefix = (await self.bot.get_valid_prefixes(message.guild))[0]
        await self.pacer.wait(message.channel.id)  # notices share Discord's rate budget with replies
        await message.reply(
            error_text(refusal.message, prefix),
            mention_author=False,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # -- reply chains

    async def reply_chain(self, message: discord.Message) -> Tuple[Turn, ...]:
        """The messages ``message`` replies to, oldest first (at most ``CHAIN_LENGTH``)."""
        turns: List[Turn] = []
        me = message.guild.me.id if message.guild and message.guild.me else None
        current = message
        while current.reference is not None and current.reference.message_id and len(turns) < CHAIN_LENGTH:
            parent = await self._fetch_parent(current)
            if parent is None:
                break
            role = ASSISTANT if await self._by_the_bot(parent, me) else USER
            text = parent.content if role == ASSISTANT else self._strip_mention(parent.content, me or 0)
            turns.append(
                Turn(
                    role,
                    text,
                    parent.author.id,
                    parent.author.display_name,
                    parent.created_at.timestamp(),
                    self.engine.counter.count(text),
                )
            )
            current = parent
        return tuple(reversed(turns))

    async def _fetch_parent(self, message: discord.Message) -> Optional[discord.Message]:
        ref = message.reference
        if isinstance(ref.resolved, discord.Message):
            self._remember(ref.resolved)
            return ref.resolved
        if ref.message_id in self._chain_cache:
            self._chain_cache.move_to_end(ref.message_id)
            return self._chain_cache[ref.message_id]
        found = self.bot._connection._get_message(ref.message_id)
        if found is None:
            try:
                found = await message.channel.fetch_message(ref.message_id)
            except discord.HTTPException:
                found = None
        self._chain_cache[ref.message_id] = found
        self._trim_cache()
        return found

    def _remember(self, message: discord.Message) -> None:
        self._chain_cache[message.id] = message
        self._trim_cache()

    def _trim_cache(self) -> None:
        while len(self._chain_cache) > CHAIN_CACHE:
            self._chain_cache.popitem(last=False)
