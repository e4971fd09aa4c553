"""Passive listening: answering by mention, reply, keyword or every message, and ``/ai listen``.

The listener sees every message of every server, so the common case ("ignore") is a few dict
lookups on cached rules (see :mod:`skynet.engine.governance.listening`); Red's checks, prefix
lookups and reply-chain fetches only happen for messages that will be answered or remembered.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from typing import Any, Dict, List, Literal, Optional, Tuple

import discord
from discord import app_commands
from redbot.core import commands

from ..abc import MixinMeta
from ..discord.style import error_text
from ..engine.errors import InvalidValue
from ..engine.governance.errors import GovernanceRefusal
from ..engine.governance.listening import MAX_COOLDOWN, MAX_KEYWORD_CHARS, MAX_KEYWORDS, MODES, Heard
from ..engine.governance.numbers import parse_number
from ..engine.memory import ASSISTANT, USER, Turn
from ..i18n import _
from .common import conversation_key, reply, settings_channel_id, writable_scope
from .governance import on_off, require_admin, source_label
from .group import AIGroup
from .targets import find_channel

log = logging.getLogger("red.skynet.listen")

ListenScope = Literal["server", "channel"]
CHAIN_LENGTH = 10  # replied-to messages used as context
CHAIN_CACHE = 2000  # fetched messages kept, so long threads cost one fetch per message, not per answer


class ListenMixin(MixinMeta):
    _chain_cache: "OrderedDict[int, Optional[discord.Message]]"
    _notified: Dict[Tuple[Any, ...], float]

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
            self.memory.add(
                conversation_key(message.channel),
                USER,
                message.content,
                user_id=author.id,
                name=author.display_name,
            )
            return
        self.listener.mark_answered(heard)
        chain = await self.reply_chain(message)
        ctx = await self.bot.get_context(message)
        if ctx.prefix is None:
            ctx.prefix = (await self.bot.get_valid_prefixes(guild))[0]
        text = self._strip_mention(message.content, me.id) or message.content
        try:
            await self.answer(ctx, text, reply_chain=chain)
        except GovernanceRefusal as refusal:
            await self._notify_once(message, refusal)

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

    # -- commands

    @AIGroup.ai.group(name="listen")
    async def ai_listen(self, ctx: commands.Context) -> None:
        """When the assistant answers without a command: mentions, replies, keywords or everything."""

    @ai_listen.command(name="show")
    async def ai_listen_show(self, ctx: commands.Context) -> None:
        """Show how the assistant listens here and in this server."""
        if ctx.guild is None:
            raise InvalidValue(_("Listening works in servers; in DMs use `[p]ai chat`."))
        listen = self.governance.rules(ctx.guild.id).listen
        cid = settings_channel_id(ctx.channel)
        mode, mode_from = listen.mode_in(cid)
        context, context_from = listen.context_in(cid)
        cooldown, cooldown_from = listen.cooldown_in(cid)
        lines = [
            _("**Mode here:** `{mode}` ({source}) · server default `{default}`").format(
                mode=mode, source=source_label(mode_from), default=listen.mode
            ),
            _("**Context listening here:** {state} ({source})").format(
                state=on_off(context), source=source_label(context_from)
            ),
            _("**Cooldown here:** {cooldown} s ({source}) · per member {member} s").format(
                cooldown=f"{cooldown:g}",
                source=source_label(cooldown_from),
                member=f"{listen.user_cooldown:g}",
            ),
            _("**Keywords:** {keywords}").format(
                keywords=", ".join(f"`{k}`" for k in listen.keywords) or _("none")
            ),
            _("**Allowed channels:** {channels}").format(
                channels=", ".join(f"<#{c}>" for c in listen.allow) or _("all")
            ),
            _("**Denied channels:** {channels}").format(
                channels=", ".join(f"<#{c}>" for c in listen.deny) or _("none")
            ),
        ]
        if not listen.channel_listed(cid):
            lines.append(_("-# This channel is excluded by the channel lists: nothing is answered here."))
        await reply(ctx, "\n".join(lines)[:2000])

    async def _set_listen(self, ctx: commands.Context, scope: Optional[str], key: str, value: Any) -> str:
        target = await writable_scope(ctx, scope or "server")
        guild = ctx.guild

        def edit(data: Dict[str, Any]) -> None:
            listen = data.setdefault("listen", {})
            if target.kind == "channel":
                listen.setdefault("channels", {}).setdefault(str(target.id), {})[key] = value
            else:
                listen[key] = value

        await self.governance.update(guild.id, edit)
        return _("this channel") if target.kind == "channel" else _("this server")

    @ai_listen.command(name="mode")
    @app_commands.describe(scope="server (default) or channel", mode="off, mention, keyword or all")
    async def ai_listen_mode(
        self,
        ctx: commands.Context,
        scope: Optional[ListenScope],
        mode: Literal["off", "mention", "keyword", "all"],
    ) -> None:
        """Choose when the assistant answers without a command.

        `off`: never. `mention`: when @mentioned or replied to. `keyword`: also when a keyword
        appears (`[p]ai listen keywords`). `all`: every message.
        """
        if mode not in MODES:
            raise InvalidValue(_("The mode must be `off`, `mention`, `keyword` or `all`."))
        where = await self._set_listen(ctx, scope, "mode", mode)
        await reply(ctx, _("Listening mode for {where} set to `{mode}`.").format(where=where, mode=mode))

    @ai_listen.command(name="context")
    @app_commands.describe(scope="server (default) or channel", state="on or off")
    async def ai_listen_context(
        self, ctx: commands.Context, scope: Optional[ListenScope], state: Literal["on", "off"]
    ) -> None:
        """Remember messages the assistant does not answer, so it can follow the conversation."""
        where = await self._set_listen(ctx, scope, "context", state == "on")
        text = (
            _("Context listening for {where} is on.")
            if state == "on"
            else _("Context listening for {where} is off.")
        )
        await reply(ctx, text.format(where=where))

    @ai_listen.command(name="cooldown")
    @app_commands.describe(scope="server (default) or channel", seconds="0 to 86400")
    async def ai_listen_cooldown(
        self, ctx: commands.Context, scope: Optional[ListenScope], seconds: str
    ) -> None:
        """Minimum time between passive answers in one channel."""
        value = parse_number(seconds, what=_("The cooldown in seconds"), minimum=0, maximum=MAX_COOLDOWN)
        where = await self._set_listen(ctx, scope, "cooldown", value)
        await reply(
            ctx,
            _("Channel cooldown for {where} set to {seconds} s.").format(where=where, seconds=f"{value:g}"),
        )

    @ai_listen.command(name="usercooldown")
    @app_commands.describe(seconds="0 to 86400")
    async def ai_listen_usercooldown(self, ctx: commands.Context, seconds: str) -> None:
        """Minimum time between passive answers to one member."""
        value = parse_number(seconds, what=_("The cooldown in seconds"), minimum=0, maximum=MAX_COOLDOWN)
        await self._set_listen(ctx, "server", "user_cooldown", value)
        await reply(ctx, _("Member cooldown set to {seconds} s.").format(seconds=f"{value:g}"))

    @ai_listen.command(name="keywords")
    @app_commands.describe(action="add, remove or list", words="Words, separated by spaces")
    async def ai_listen_keywords(
        self, ctx: commands.Context, action: Literal["add", "remove", "list"], *, words: str = ""
    ) -> None:
        """Keywords that make the assistant answer in `keyword` mode (whole words, any case)."""
        if ctx.guild is None:
            raise InvalidValue(_("Keywords belong to a server."))
        current = list(self.governance.rules(ctx.guild.id).listen.keywords)
        if action == "list":
            await reply(
                ctx,
                _("Keywords: {keywords}").format(keywords=", ".join(f"`{k}`" for k in current) or _("none")),
            )
            return
        await require_admin(ctx)
        given = [w.strip().lower() for w in words.split() if w.strip()]
        if not given:
            raise InvalidValue(
                _("Give one or more words, e.g. `[p]ai listen keywords {action} skynet robot`.").format(
                    action=action
                )
            )
        for word in given:
            if len(word) > MAX_KEYWORD_CHARS or not word.isprintable():
                raise InvalidValue(
                    _("A keyword has at most {count} printable characters.").format(count=MAX_KEYWORD_CHARS)
                )
        if action == "add":
            updated = current + [w for w in dict.fromkeys(given) if w not in current]
        else:
            updated = [k for k in current if k not in given]
        if len(updated) > MAX_KEYWORDS:
            raise InvalidValue(
                _("A server can have at most {count} keywords (this would make {total}).").format(
                    count=MAX_KEYWORDS, total=len(updated)
                )
            )
        await self.governance.update(
            ctx.guild.id, lambda d: d.setdefault("listen", {}).__setitem__("keywords", updated)
        )
        await reply(
            ctx, _("Keywords: {keywords}").format(keywords=", ".join(f"`{k}`" for k in updated) or _("none"))
        )

    @ai_listen.command(name="channels")
    @app_commands.describe(action="allow, deny, clear or show", channel="A channel of this server")
    async def ai_listen_channels(
        self,
        ctx: commands.Context,
        action: Literal["allow", "deny", "clear", "show"],
        channel: Optional[str] = None,
    ) -> None:
        """Listen only in allowed channels, or never in denied ones (`clear` empties both lists, or
        removes one channel from them)."""
        if action == "show":
            await self.ai_listen_show(ctx)
            return
        guild = await require_admin(ctx)
        found = find_channel(guild, channel) if channel else None
        if action in ("allow", "deny") and found is None:
            raise InvalidValue(
                _("Say which channel, e.g. `[p]ai listen channels {action} #general`.").format(action=action)
            )
        cid = settings_channel_id(found) if found else None

        def edit(data: Dict[str, Any]) -> None:
            listen = data.setdefault("listen", {})
            allow, deny = set(listen.get("allow") or ()), set(listen.get("deny") or ())
            if action == "clear":
                allow, deny = (allow - {cid}, deny - {cid}) if cid else (set(), set())
            elif action == "allow":
                allow.add(cid)
                deny.discard(cid)
            else:
                deny.add(cid)
                allow.discard(cid)
            listen["allow"], listen["deny"] = sorted(allow), sorted(deny)

        await self.governance.update(guild.id, edit)
        if action == "clear":
            text = (
                _("Removed {channel} from the channel lists.")
                if cid
                else _("Channel lists cleared: listening everywhere.")
            )
        elif action == "allow":
            text = _("{channel} is allowed. With an allow list, only allowed channels are listened to.")
        else:
            text = _("{channel} is denied: the assistant never answers passively there.")
        await reply(ctx, text.format(channel=f"<#{cid}>"))
