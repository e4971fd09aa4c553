"""Helpers shared by the memory mixins: paging, short renderings, permission checks."""

from __future__ import annotations

from typing import Any

from redbot.core import commands
from redbot.core.utils.chat_formatting import pagify

from ...engine.memory import Turn
from ...i18n import _, plural
from ..common import (
    NotAllowed,
    is_server_admin,
    reply,
)

PAGE = 1900


async def send_pages(ctx: commands.Context, text: str, **kwargs: Any) -> None:
    """Every message at most 2000 characters."""
    for page in pagify(text, page_length=PAGE, shorten_by=0):
        await reply(ctx, page, **kwargs)


def when(at: float) -> str:
    return f"<t:{int(at)}:R>"


def remembered_text(remembered: Any, prefix: str) -> str:
    """What ``[p]ai remember`` tells the member: stored, updated (and what it replaced), or known."""
    if remembered.action == "duplicate":
        return _("I already remember that (memory `{id}`: “{text}”), so I didn't store it again.").format(
            id=remembered.id, text=short(remembered.text, 200)
        )
    if remembered.action == "update":
        return _(
            "Updated (memory `{id}`): before, I had “{old}”. I keep the earlier version as history; "
            "see `{prefix}ai memories list`."
        ).format(id=remembered.id, old=short(remembered.replaced.text, 200), prefix=prefix)
    return _("I'll remember that (memory `{id}`). See `{prefix}ai memories list`.").format(
        id=remembered.id, prefix=prefix
    )


def history_lines(facts: Any) -> str:
    """``[p]ai memories list``: each fact with when it was told, and its earlier versions."""
    header = plural(len(facts), _("**{count} memory:**"), _("**{count} memories:**"))
    lines = [header.format(count=len(facts))]
    for fact in facts:
        at = fact.current.meta.get("at", 0)
        lines.append(f"`{fact.current.id}` {short(fact.current.text, 200)} ({when(at)})")
        for earlier in fact.earlier:
            lines.append(
                _("  ↳ earlier `{id}`: {text} (told {at}, replaced {until})").format(
                    id=earlier.id,
                    text=short(earlier.text, 150),
                    at=when(earlier.meta.get("at", 0)),
                    until=when(earlier.meta.get("superseded_at", earlier.meta.get("at", 0))),
                )
            )
    return "\n".join(lines)


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def turn_line(turn: Turn) -> str:
    who = turn.name if turn.role == "user" else _("assistant")
    return f"**{who}** ({when(turn.at)}): {short(turn.content)}"


async def require_admin(ctx: commands.Context) -> None:
    """Server admins (or Manage Server) only; in DMs the conversation is the member's own."""
    if ctx.guild is None:
        return  # in DMs the conversation is the member's own
    if not await is_server_admin(ctx):
        raise NotAllowed(_("Only server admins (or members with Manage Server) can do this."))


async def require_owner(ctx: commands.Context) -> None:
    if not await ctx.bot.is_owner(ctx.author):
        raise NotAllowed(_("Only the bot owner can change where memory is stored."))
