"""Turning typed channels, roles and members into objects of *this* server, or a clear refusal."""

from __future__ import annotations

import re
from typing import Optional, Tuple, Union

import discord

from ..engine.errors import InvalidValue
from ..i18n import _

_ID = re.compile(r"^(?:<(#|@&|@!?)(\d{15,21})>|(\d{15,21}))$")


def _parse(text: str) -> Tuple[Optional[str], Optional[int]]:
    match = _ID.match(text.strip())
    if not match:
        return None, None
    kind, mention_id, raw_id = match.groups()
    return kind, int(mention_id or raw_id)


def _shown(text: str) -> str:
    return text.strip()[:40].replace("`", "'")


def find_channel(guild: discord.Guild, text: str) -> discord.abc.GuildChannel:
    kind, ident = _parse(text)
    channel = guild.get_channel_or_thread(ident) if ident and kind in (None, "#") else None
    if channel is None and ident is None:
        channel = discord.utils.get(guild.text_channels, name=text.strip().lstrip("#"))
    if channel is None:
        raise InvalidValue(
            _("`{text}` isn't a channel of this server. Mention one, like #general.").format(
                text=_shown(text)
            )
        )
    return channel


def find_role(guild: discord.Guild, text: str) -> discord.Role:
    kind, ident = _parse(text)
    role = guild.get_role(ident) if ident and kind in (None, "@&") else None
    if role is None and ident is None:
        role = discord.utils.get(guild.roles, name=text.strip().lstrip("@"))
    if role is None:
        raise InvalidValue(
            _("`{text}` isn't a role of this server. Mention one or give its exact name.").format(
                text=_shown(text)
            )
        )
    return role


def find_member(guild: discord.Guild, text: str) -> discord.Member:
    kind, ident = _parse(text)
    member = guild.get_member(ident) if ident and kind in (None, "@", "@!") else None
    if member is None and ident is None:
        member = guild.get_member_named(text.strip().lstrip("@"))
    if member is None:
        raise InvalidValue(
            _("`{text}` isn't a member of this server. Mention them or give their name.").format(
                text=_shown(text)
            )
        )
    return member


Target = Union[discord.abc.GuildChannel, discord.Role, discord.Member]


def find_target(guild: discord.Guild, text: str) -> Target:
    """A channel, role or member of ``guild`` from a mention, an id or a name."""
    kind, ident = _parse(text)
    finders = {"#": find_channel, "@&": find_role, "@": find_member, "@!": find_member}
    if kind:
        return finders[kind](guild, text)
    for finder in (find_member, find_role, find_channel):
        try:
            return finder(guild, text)
        except InvalidValue:
            continue
    raise InvalidValue(
        _(
            "`{text}` isn't a channel, role or member of this server. Mention one, like #general or @role."
        ).format(text=_shown(text))
    )
