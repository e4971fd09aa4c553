"""``/ai listen``: when the assistant answers without being asked (mode, context, cooldowns,
keywords, channel lists), per server or channel."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.governance.listening import MAX_COOLDOWN, MAX_KEYWORD_CHARS, MAX_KEYWORDS, MODES
from ...engine.governance.numbers import parse_number
from ...i18n import _
from ..common import on_off, reply, require_admin, settings_channel_id, source_label, writable_scope
from ..group import AIGroup
from ..targets import find_channel
from .passive import ListenScope


class ListenMixin(MixinMeta):
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
        await self.store_listen(ctx.guild.id, target.id if target.kind == "channel" else None, key, value)
        return _("this channel") if target.kind == "channel" else _("this server")

    async def store_listen(self, guild_id: int, channel_id: Optional[int], key: str, value: Any) -> None:
        """Store one listening setting of a server, or of one of its channels (the commands and
        the web panel both call this)."""

        def edit(data: Dict[str, Any]) -> None:
            listen = data.setdefault("listen", {})
            if channel_id is not None:
                listen.setdefault("channels", {}).setdefault(str(channel_id), {})[key] = value
            else:
                listen[key] = value

        await self.governance.update(guild_id, edit)

    async def store_keywords(self, guild_id: int, action: str, words: str) -> List[str]:
        """Add or remove keywords (``action``), checked as the command checks them; returns the list."""
        current = list(self.governance.rules(guild_id).listen.keywords)
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
        await self.governance.update(guild_id, lambda d: d.setdefault("listen", {}).__setitem__("keywords", updated))
        return updated

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
        updated = await self.store_keywords(ctx.guild.id, action, words)
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
