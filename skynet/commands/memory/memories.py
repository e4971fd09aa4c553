"""Member memory commands: ``ai history view|clear|undo``, ``ai remember``,
``ai memories list|search|forget``, ``ai incognito``."""

from __future__ import annotations

from typing import List, Literal

from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.memory.vector import Record
from ...i18n import _, plural
from ..common import (
    conversation_key,
    reply,
)
from ..group import AIGroup
from .common import history_lines, remembered_text, send_pages, short, turn_line


class MemoriesMixin(MixinMeta):
    # -- members: ai history --------------------------------------------------------------------

    @AIGroup.ai.group(name="history")
    async def ai_history(self, ctx: commands.Context) -> None:
        """Your part of the conversation the assistant remembers here."""

    @ai_history.command(name="view")
    async def ai_history_view(self, ctx: commands.Context) -> None:
        """Show what the assistant remembers of your conversation here."""
        turns = [t for t in self.memory.turns(conversation_key(ctx.channel)) if t.user_id == ctx.author.id]
        if not turns:
            await reply(ctx, _("I don't remember anything you said here."), ephemeral=True)
            return
        await send_pages(ctx, "\n".join(turn_line(t) for t in turns), ephemeral=True)

    @ai_history.command(name="clear")
    async def ai_history_clear(self, ctx: commands.Context) -> None:
        """Forget your messages (and the answers to them) in this conversation."""
        dropped = self.memory.forget_user_in(conversation_key(ctx.channel), ctx.author.id)
        await self.memory_service.windows.flush()
        forgot = plural(
            dropped, _("Forgot {count} message of yours here."), _("Forgot {count} messages of yours here.")
        )
        await reply(ctx, forgot.format(count=dropped), ephemeral=True)

    @ai_history.command(name="undo")
    async def ai_history_undo(self, ctx: commands.Context) -> None:
        """Forget your last message here and the answer to it."""
        removed = self.memory.undo(conversation_key(ctx.channel), ctx.author.id)
        if not removed:
            await reply(ctx, _("There is nothing of yours to undo here."), ephemeral=True)
            return
        await reply(
            ctx,
            _("Forgot your last message (“{text}”) and its answer.").format(
                text=short(removed[0].content, 80)
            ),
            ephemeral=True,
        )

    @ai_history.command(name="export")
    async def ai_history_export(self, ctx: commands.Context) -> None:
        """Everything the assistant holds about you, everywhere, as one JSON file (sent privately)."""
        await self.send_own_export(ctx)  # the privacy area's, through the data map

    # -- members: long-term memories ------------------------------------------------------------

    @AIGroup.ai.command(name="remember")
    @app_commands.describe(fact="What the assistant should remember about you")
    async def ai_remember(self, ctx: commands.Context, *, fact: str) -> None:
        """Ask the assistant to remember something about you (in this server, or in DMs)."""
        remembered = await self.memory_service.remember(
            fact,
            guild_id=ctx.guild.id if ctx.guild else None,
            user_id=ctx.author.id,
            channel_id=ctx.channel.id,
        )
        await reply(ctx, remembered_text(remembered, ctx.clean_prefix), ephemeral=True)

    @AIGroup.ai.group(name="memories")
    async def ai_memories(self, ctx: commands.Context) -> None:
        """The facts the assistant remembers about you."""

    @ai_memories.command(name="list")
    async def ai_memories_list(self, ctx: commands.Context) -> None:
        """List what the assistant remembers about you here, with the earlier versions of updated facts."""
        facts = await self.memory_service.memory_histories(ctx.guild.id if ctx.guild else None, ctx.author.id)
        if not facts:
            await reply(ctx, _("I don't remember anything about you here."), ephemeral=True)
            return
        await send_pages(ctx, history_lines(facts), ephemeral=True)

    @ai_memories.command(name="search")
    @app_commands.describe(text="What to look for")
    async def ai_memories_search(self, ctx: commands.Context, *, text: str) -> None:
        """Find your memories closest to some text."""
        records = await self.memory_service.search_memories(
            ctx.guild.id if ctx.guild else None, ctx.author.id, text
        )
        if not records:
            await reply(ctx, _("No memories of yours match."), ephemeral=True)
            return
        await send_pages(ctx, self._memory_lines(records, _("**Closest memories:**")), ephemeral=True)

    @ai_memories.command(name="forget")
    @app_commands.describe(which="A memory id from `ai memories list`, several separated by spaces, or `all`")
    async def ai_memories_forget(self, ctx: commands.Context, *, which: str) -> None:
        """Forget one of your memories by id (with its earlier versions), or `all` of them here."""
        ids = None if which.strip().lower() == "all" else which.replace(",", " ").split()
        removed = await self.memory_service.forget(ctx.guild.id if ctx.guild else None, ctx.author.id, ids)
        if not removed:
            raise InvalidValue(_("No memory of yours here has that id; see `[p]ai memories list`."))
        forgot = plural(removed, _("Forgot {count} memory."), _("Forgot {count} memories."))
        await reply(ctx, forgot.format(count=removed), ephemeral=True)

    @staticmethod
    def _memory_lines(records: List[Record], header: str) -> str:
        return "\n".join([header] + [f"`{r.id}` {short(r.text, 200)}" for r in records])

    @AIGroup.ai.command(name="incognito")
    @app_commands.describe(state="on: nothing you say is stored; off: back to normal")
    async def ai_incognito(self, ctx: commands.Context, state: Literal["on", "off"]) -> None:
        """While on, nothing you say is stored (conversation, memories, your usage); replies show 🕶️."""
        on = state == "on"
        await self.config.user(ctx.author).incognito.set(on)
        (self.memory_service.incognito.add if on else self.memory_service.incognito.discard)(ctx.author.id)
        await reply(
            ctx,
            _("🕶️ Incognito is on: nothing you say is stored until you turn it off.")
            if on
            else _("Incognito is off."),
            ephemeral=True,
        )
