"""``[p]ai audit``: who changed which setting, when, where, from what to what.

Recording is central (``skynet/stores/audited.py``): every settings write made by one of the
cog's commands is recorded, whichever command it is. Admins see their server's changes, the owner
in DMs sees every change. Kept for ``[p]ai audit retention <days>`` (owner; 90 by default).
"""

from __future__ import annotations

import io
from typing import List, Optional, Tuple

import discord
from redbot.core import commands
from redbot.core.utils.menus import SimpleMenu

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.privacy.audit import DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, AuditEntry, to_json_lines
from ...i18n import _
from ...stores.audited import begin_command, end_command
from ..common import NotAllowed, is_server_admin, reply
from ..group import AIGroup

PER_PAGE = 10
DEFAULT_DAYS = 30
MAX_DAYS = 3650


def _value(value) -> str:
    if value is None:
        return "∅"
    text = str(value)
    return f"`{text[:80]}{'…' if len(text) > 80 else ''}`"


def entry_line(entry: AuditEntry) -> str:
    who = f"<@{entry.actor_id}>" if entry.actor_id else "?"
    return f"<t:{int(entry.at)}:f> {who} `{entry.command}` · {entry.scope} · **{entry.setting}**: {_value(entry.old)} → {_value(entry.new)}"


class AuditMixin(MixinMeta):
    async def audit_load(self) -> None:
        days = (await self.config.privacy()).get("audit_days") or DEFAULT_RETENTION_DAYS
        self.privacy.audit.retention_days = days
        await self.privacy.audit.prune()

    async def cog_before_invoke(self, ctx: commands.Context) -> None:
        """Every command of the cog: its settings writes are recorded as the author's. (discord.py
        awaits this hook in the command's own context; Red's bot-wide hooks run in tasks of their
        own, where a context variable set would not reach the command.)"""
        if ctx.command is not None:
            begin_command(ctx.author.id, ctx.guild.id if ctx.guild else None, ctx.command.qualified_name)

    async def cog_after_invoke(self, ctx: commands.Context) -> None:
        end_command()

    async def _audit_scope(self, ctx: commands.Context) -> Tuple[Optional[int], bool]:
        if ctx.guild is None:
            if not await ctx.bot.is_owner(ctx.author):
                raise NotAllowed(_("In DMs only the bot owner can read the audit log."))
            return None, True
        if not await is_server_admin(ctx):
            raise NotAllowed(_("Only server admins (or members with Manage Server) can read the audit log."))
        return ctx.guild.id, False

    async def _parse_query(self, ctx: commands.Context, query: str) -> Tuple[Optional[int], Optional[str], float]:
        words = query.split()
        days: float = DEFAULT_DAYS
        if words and words[-1].isdigit():
            days = int(words.pop())
            if not 1 <= days <= MAX_DAYS:
                raise InvalidValue(_("Days are from 1 to {limit}.").format(limit=MAX_DAYS))
        actor_id, setting = None, None
        if words:
            word = " ".join(words)
            try:
                actor_id = (await commands.UserConverter().convert(ctx, word)).id
            except commands.BadArgument:
                setting = word
        return actor_id, setting, days

    @AIGroup.ai.group(name="audit", with_app_command=False, invoke_without_command=True)
    async def ai_audit(self, ctx: commands.Context, *, query: str = "") -> None:
        """Settings changes: `ai audit [member|setting] [days]` (default: everything, 30 days)."""
        guild_id, everywhere = await self._audit_scope(ctx)
        actor_id, setting, days = await self._parse_query(ctx, query)
        entries = await self.privacy.audit.query(
            guild_id=guild_id, all_guilds=everywhere, actor_id=actor_id, setting=setting, days=days
        )
        if not entries:
            await reply(ctx, _("No settings changes recorded in the last {days} days.").format(days=int(days)))
            return
        pages: List[discord.Embed] = []
        for start in range(0, len(entries), PER_PAGE):
            embed = discord.Embed(
                title=_("Settings changes ({count})").format(count=len(entries)),
                description="\n".join(entry_line(e) for e in entries[start : start + PER_PAGE]),
            )
            embed.set_footer(
                text=_("Page {page}/{pages} · kept {days} days").format(
                    page=start // PER_PAGE + 1,
                    pages=(len(entries) + PER_PAGE - 1) // PER_PAGE,
                    days=self.privacy.audit.retention_days,
                )
            )
            pages.append(embed)
        if len(pages) == 1:
            await ctx.send(embed=pages[0], allowed_mentions=discord.AllowedMentions.none())
            return
        await SimpleMenu(pages, timeout=300).start(ctx)

    @ai_audit.command(name="export")
    async def ai_audit_export(self, ctx: commands.Context, days: int = MAX_RETENTION_DAYS) -> None:
        """The audit log as JSON lines (a file), newest first."""
        guild_id, everywhere = await self._audit_scope(ctx)
        entries = await self.privacy.audit.query(
            guild_id=guild_id, all_guilds=everywhere, days=max(1, min(days, MAX_RETENTION_DAYS)), limit=100_000
        )
        data = to_json_lines(entries).encode("utf-8")
        await ctx.send(
            _("{count} settings changes.").format(count=len(entries)),
            file=discord.File(io.BytesIO(data), filename="skynet_audit.jsonl"),
        )

    @ai_audit.command(name="retention")
    @commands.is_owner()
    async def ai_audit_retention(self, ctx: commands.Context, days: int) -> None:
        """Bot owner: how many days settings changes are kept (1 to 3650)."""
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise InvalidValue(_("Days are from 1 to {limit}.").format(limit=MAX_RETENTION_DAYS))
        async with self.config.privacy() as privacy:
            privacy["audit_days"] = days
        self.privacy.audit.retention_days = days
        removed = await self.privacy.audit.prune()
        await reply(
            ctx, _("Settings changes are kept {days} days ({removed} older ones removed).").format(days=days, removed=removed)
        )
