"""Helpers shared by the command mixins: scopes, permissions, conversation keys."""

from __future__ import annotations

from typing import Any, Callable, List, Literal, Optional

import discord
from redbot.core import commands
from redbot.core.utils.chat_formatting import pagify

from ..delivery.reply import NO_MENTIONS
from ..engine.errors import SkynetError
from ..engine.settings import (
    ResolvedSettings,
    scope_label,  # noqa: F401  (the mixins take it from here with the scopes)
)
from ..i18n import _
from ..stores.settings import CHANNEL, GLOBAL, GUILD, Scope, SettingsStore
from .slash import slash_hints

ScopeChoice = Literal["server", "channel", "global"]


class NotAllowed(SkynetError):
    kind = "not_allowed"


MESSAGE_LIMIT = 2000  # Discord refuses longer message content


async def reply(ctx: commands.Context, content: str, **kwargs) -> discord.Message:
    """Answer a command. Nothing the cog echoes back (model names, prompts...) may ping anyone.

    Content longer than Discord allows is sent as several messages, cut at line breaks; the
    last one is returned. In a slash command's reply, ``/ai …`` hints name each command's slash
    home (``/aiset model set``).
    """
    wording = hint_wording(ctx)
    content = wording(content) if wording else content
    pages = [content]
    if len(content) > MESSAGE_LIMIT:
        pages = list(pagify(content, delims=["\n", " "], priority=True, page_length=MESSAGE_LIMIT - 50))
    pacer = getattr(ctx.cog, "pacer", None)
    message = None
    for page in pages:
        # In the bot's window the streamed replies fill (else, at 20 messages/s, command replies
        # pushed the bot past Discord's 50 requests/s: the soak saw 429s); a channel's window is
        # left to discord.py, which waits on Discord's headers there. (Counting command replies in
        # the channel windows too made streamed replies in that channel wait behind them: tried,
        # and the streaming tests showed fewer progress edits.)
        if pacer is not None:
            await pacer.acquire_bot_wide()
        message = await ctx.send(page, allowed_mentions=NO_MENTIONS, **kwargs)
    return message


def hint_wording(ctx: commands.Context) -> Optional[Callable[[str], str]]:
    """For a slash command's reply: what turns ``/ai …`` hints into each command's slash home."""
    if ctx.interaction is None:
        return None
    return lambda text: slash_hints(text, lambda name: subcommand_names(ctx.bot, name))


def subcommand_names(bot: Any, name: str) -> List[str]:
    """The names of the subcommands of ``[p]ai <name>`` (none if it is not a group)."""
    group = bot.get_command(f"ai {name}")
    return list(getattr(group, "all_commands", {}) or {})


def settings_channel_id(channel: discord.abc.Messageable) -> int:
    """Threads use their parent channel's settings."""
    return getattr(channel, "parent_id", None) or channel.id


def resolve_here(settings: SettingsStore, channel: discord.abc.Messageable) -> ResolvedSettings:
    """The settings in effect in ``channel``; DMs use the global ones."""
    guild = getattr(channel, "guild", None)
    if guild is None:
        return settings.resolve(None, None)
    return settings.resolve(guild.id, settings_channel_id(channel))


def conversation_key(channel: discord.abc.Messageable) -> str:
    """Each channel, thread and DM is its own conversation."""
    if isinstance(channel, discord.DMChannel):
        return f"dm:{channel.recipient.id if channel.recipient else channel.id}"
    return f"channel:{channel.id}"


async def is_server_admin(ctx: commands.Context) -> bool:
    if ctx.guild is None or not isinstance(ctx.author, discord.Member):
        return False
    return (
        await ctx.bot.is_owner(ctx.author)
        or await ctx.bot.is_admin(ctx.author)
        or ctx.author.guild_permissions.manage_guild
    )


async def writable_scope(ctx: commands.Context, choice: Optional[str]) -> Scope:
    """The scope a settings command writes to, after checking the caller may write there.

    Default: this server in a server, global in DMs.
    """
    choice = choice or ("server" if ctx.guild else "global")
    if choice == "global":
        if not await ctx.bot.is_owner(ctx.author):
            raise NotAllowed(_("Only the bot owner can change global settings."))
        return Scope(GLOBAL)
    if ctx.guild is None:
        raise NotAllowed(_("Server and channel settings can only be changed inside that server."))
    if not await is_server_admin(ctx):
        raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))
    if choice == "channel":
        return Scope(CHANNEL, settings_channel_id(ctx.channel))
    return Scope(GUILD, ctx.guild.id)


async def require_admin(ctx: commands.Context) -> discord.Guild:
    if ctx.guild is None:
        raise NotAllowed(_("This works inside a server."))
    if not await is_server_admin(ctx):
        raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))
    return ctx.guild


def source_label(source: str) -> str:
    """Where a listening setting comes from ("channel" or "server"), as shown in replies."""
    labels = {"channel": _("channel"), "server": _("server")}
    return labels.get(source, source)


def on_off(state: bool) -> str:
    return _("on") if state else _("off")
