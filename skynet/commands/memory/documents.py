"""Document commands: ``ai docs list|search`` (admins also ``add|remove``)."""

from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.memory.documents import check_document
from ...engine.memory.service import DocumentInfo
from ...engine.memory.web_documents import fetch_document
from ...i18n import _
from ..common import (
    reply,
)
from ..group import AIGroup
from .common import require_admin, send_pages, short, when


class DocumentsMixin(MixinMeta):
    # -- documents --------------------------------------------------------------------------------

    @AIGroup.ai.group(name="docs")
    async def ai_docs(self, ctx: commands.Context) -> None:
        """Documents the assistant can quote from in this server (text, markdown, PDF)."""

    @ai_docs.command(name="add")
    @app_commands.describe(file="A .txt, .md or .pdf file", url="Or the http(s) address of a page or PDF")
    async def ai_docs_add(
        self, ctx: commands.Context, file: Optional[discord.Attachment] = None, url: Optional[str] = None
    ) -> None:
        """Add a document (attach it, or give its URL) for the assistant to use and cite (admins).

        A URL is fetched like `[p]ai scrape` fetches pages: public http(s) addresses only (the
        owner's `[p]ai tools allow` list aside); web pages, text, markdown and PDF.
        """
        if ctx.guild is None:
            raise InvalidValue(_("Documents belong to a server: add them there."))
        await require_admin(ctx)
        attachment = file or (ctx.message.attachments[0] if ctx.message and ctx.message.attachments else None)
        if attachment is None and url:
            if ctx.interaction is not None:
                await ctx.defer()
            page = await fetch_document(self.tool_service.guard, url.strip("<>"))
            info = await self.memory_service.add_document(
                ctx.guild.id, ctx.author.id, page.name, page.data, page.kind
            )
            await reply(ctx, self._added(info))
            return
        if attachment is None:
            raise InvalidValue(_("Attach a .txt, .md or .pdf file to the command, or give a page's URL."))
        check_document(attachment.filename, attachment.size)
        if ctx.interaction is not None:
            await ctx.defer()
        data = await attachment.read()
        info = await self.memory_service.add_document(ctx.guild.id, ctx.author.id, attachment.filename, data)
        await reply(ctx, self._added(info))

    @ai_docs.command(name="list")
    async def ai_docs_list(self, ctx: commands.Context) -> None:
        """List this server's documents."""
        if ctx.guild is None:
            raise InvalidValue(_("Documents belong to a server."))
        docs = await self.memory_service.list_documents(ctx.guild.id)
        if not docs:
            await reply(ctx, _("This server has no documents yet."))
            return
        lines = [
            _("`{id}` **{name}** — {passages} passages, added by {member} {when}").format(
                id=d.id, name=d.name, passages=d.chunks, member=f"<@{d.user_id}>", when=when(d.at)
            )
            for d in docs
        ]
        await send_pages(ctx, "\n".join(lines))

    @ai_docs.command(name="remove")
    @app_commands.describe(doc_id="The document id from `ai docs list`")
    async def ai_docs_remove(self, ctx: commands.Context, doc_id: str) -> None:
        """Remove a document (admins)."""
        if ctx.guild is None:
            raise InvalidValue(_("Documents belong to a server."))
        await require_admin(ctx)
        removed = await self.memory_service.remove_document(ctx.guild.id, doc_id)
        if not removed:
            raise InvalidValue(_("No document `{id}` here; see `[p]ai docs list`.").format(id=doc_id))
        await reply(
            ctx, _("Removed document `{id}` ({passages} passages).").format(id=doc_id, passages=removed)
        )

    @ai_docs.command(name="search")
    @app_commands.describe(query="What to look for")
    async def ai_docs_search(self, ctx: commands.Context, *, query: str) -> None:
        """Show the passages of this server's documents closest to a query."""
        if ctx.guild is None:
            raise InvalidValue(_("Documents belong to a server."))
        records = await self.memory_service.search_documents(ctx.guild.id, query)
        if not records:
            await reply(ctx, _("No document passages here."))
            return
        from ...engine.memory.recall import citation

        await send_pages(ctx, "\n\n".join(f"**{citation(r)}** {short(r.text, 400)}" for r in records))

    @staticmethod
    def _added(info: DocumentInfo) -> str:
        return _("Added `{name}` as document `{id}` ({passages} passages).").format(
            name=info.name, id=info.id, passages=info.chunks
        )
