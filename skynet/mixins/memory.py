"""Memory commands: conversation windows, long-term memories, documents, incognito, data rights.

Admins: ``ai memory show|clear|stats|export|policy|backend|embeddings|compaction|purge``.
Members: ``ai history view|clear|undo``, ``ai remember``, ``ai memories list|search|forget``,
``ai incognito``, ``ai docs list|search`` (admins also ``add|remove``). See docs/memory.md.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any, AsyncIterator, Dict, List, Literal, Optional

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.data_manager import cog_data_path
from redbot.core.utils.chat_formatting import pagify

from ..abc import MixinMeta
from ..config import DEFAULT_MODEL
from ..engine.errors import InvalidValue
from ..engine.events import ChatEvent, TextDelta
from ..engine.memory import ConversationMemory, Turn, WindowPolicy
from ..engine.memory import policy as window_policy
from ..engine.memory.documents import check_document
from ..engine.memory.embeddings import DEFAULT_EMBEDDING_MODEL
from ..engine.memory.service import MemoryOptions, MemoryService
from ..engine.memory.tool import REMEMBER_SCHEMA, remember_tool
from ..engine.memory.vector import BackendConfig, Record
from ..engine.memory.web_documents import fetch_document
from ..engine.settings import ModelRef, parse_model_ref
from ..engine.tools.registry import Tool, ToolContext
from ..settings_store import CHANNEL, GUILD
from .common import (
    NotAllowed,
    ScopeChoice,
    conversation_key,
    is_server_admin,
    reply,
    scope_label,
    writable_scope,
)
from .group import AIGroup

INCOGNITO_MARK = "🕶️ "
PAGE = 1900


async def send_pages(ctx: commands.Context, text: str, **kwargs: Any) -> None:
    """Every message at most 2000 characters."""
    for page in pagify(text, page_length=PAGE, shorten_by=0):
        await reply(ctx, page, **kwargs)


def _when(at: float) -> str:
    return f"<t:{int(at)}:R>"


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _turn_line(turn: Turn) -> str:
    who = turn.name if turn.role == "user" else "assistant"
    return f"**{who}** ({_when(turn.at)}): {_short(turn.content)}"


async def with_incognito_mark(events: AsyncIterator[ChatEvent]) -> AsyncIterator[ChatEvent]:
    """The reply to an incognito member starts with 🕶️, so they see nothing is being kept."""
    marked = False
    try:
        async for event in events:
            if not marked and isinstance(event, TextDelta):
                marked = True
                event = TextDelta(INCOGNITO_MARK + event.text)
            yield event
    finally:
        await events.aclose()


class MemoryMixin(MixinMeta):
    memory_service: MemoryService

    # -- lifecycle (called by the cog) -----------------------------------------------------------

    def make_memory_service(self) -> MemoryService:
        service = MemoryService(
            self.providers,
            self.counter,
            self.memory,
            cog_data_path(self),
            default_embedding=self._default_embedding,
        )
        self.memory.policy_for = self._window_policy
        self.engine.memory_service = service
        self.tool_service.registry.add(self._remember_tool(service))
        return service

    def _remember_tool(self, service: MemoryService) -> Tool:
        """The model's ``remember`` tool: the same rules as ``[p]ai remember`` (off until enabled)."""

        async def handler(arguments: Dict[str, Any], ctx: ToolContext) -> str:
            return await remember_tool(
                service,
                json.dumps(arguments),
                guild_id=ctx.guild_id,
                user_id=ctx.user_id,
                channel_id=ctx.channel_id,
            )

        schema = REMEMBER_SCHEMA["function"]
        return Tool(
            name=schema["name"],
            description=schema["description"],
            parameters=schema["parameters"],
            handler=handler,
            timeout=20.0,
            status=lambda arguments: "🧠 Remembering that…",
        )

    def _default_embedding(self) -> ModelRef:
        endpoint = (self.settings.resolve(None, None).model or ModelRef.from_json(DEFAULT_MODEL)).endpoint
        return ModelRef(endpoint, DEFAULT_EMBEDDING_MODEL)

    async def memory_load(self) -> None:
        service = self.memory_service
        stored = await self.config.memory()
        service.options = MemoryOptions(
            backend=BackendConfig(**stored["backend"]) if stored.get("backend") else BackendConfig(),
            embedding_model=ModelRef.from_json(stored.get("embedding_model")),
            compaction_model=ModelRef.from_json(stored.get("compaction_model")),
            compaction=stored.get("compaction", True),
        )
        service.set_compaction(service.options.compaction)
        service.chroma_token = (await self.bot.get_shared_api_tokens("chroma")).get("token")
        self._policies: Dict[tuple, Dict[str, Any]] = {}
        for guild_id, data in (await self.config.all_guilds()).items():
            if data.get("memory_policy"):
                self._policies[(GUILD, guild_id)] = data["memory_policy"]
        for channel_id, data in (await self.config.all_channels()).items():
            if data.get("memory_policy"):
                self._policies[(CHANNEL, channel_id)] = data["memory_policy"]
        service.incognito = {
            uid for uid, data in (await self.config.all_users()).items() if data.get("incognito")
        }
        await service.start()
        service.warm_up()

    async def memory_unload(self) -> None:
        await self.memory_service.stop()

    def _window_policy(self, conversation: str) -> WindowPolicy:
        """Channel ▸ server ▸ default; threads use their parent channel's policy. No I/O."""
        kind, _, raw_id = conversation.partition(":")
        if kind != "channel" or not raw_id.isdigit():
            return self.memory.policy
        channel = self.bot.get_channel(int(raw_id))
        guild = getattr(channel, "guild", None)
        if guild is None:
            return self.memory.policy
        channel_id = getattr(channel, "parent_id", None) or channel.id
        layers = [self._policies.get((CHANNEL, channel_id), {}), self._policies.get((GUILD, guild.id), {})]
        return window_policy.resolve_policy(layers, self.memory.policy)

    @commands.Cog.listener("on_red_api_tokens_update")
    async def _memory_tokens_update(self, service_name: str, api_tokens: Dict[str, str]) -> None:
        if service_name == "chroma":
            self.memory_service.chroma_token = api_tokens.get("token")
            await self.memory_service.reset_store()

    # -- helpers --------------------------------------------------------------------------------

    async def _require_admin(self, ctx: commands.Context) -> None:
        if ctx.guild is None:
            return  # in DMs the conversation is the member's own
        if not await is_server_admin(ctx):
            raise NotAllowed("Only server admins (or members with Manage Server) can do this.")

    async def _require_owner(self, ctx: commands.Context) -> None:
        if not await ctx.bot.is_owner(ctx.author):
            raise NotAllowed("Only the bot owner can change where memory is stored.")

    def _target(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel]
    ) -> discord.abc.Messageable:
        if channel is not None and (ctx.guild is None or channel.guild.id != ctx.guild.id):
            raise InvalidValue("Pick a channel of this server.")
        return channel or ctx.channel

    def _model_ref(self, text: str) -> ModelRef:
        return parse_model_ref(text, list(self.settings.endpoints), self._default_embedding().endpoint)

    async def _save_memory_options(self) -> None:
        options = self.memory_service.options
        backend = options.backend
        await self.config.memory.set(
            {
                "backend": {
                    "kind": backend.kind,
                    "host": backend.host,
                    "port": backend.port,
                    "ssl": backend.ssl,
                },
                "embedding_model": options.embedding_model.to_json() if options.embedding_model else None,
                "compaction_model": options.compaction_model.to_json() if options.compaction_model else None,
                "compaction": options.compaction,
            }
        )

    # -- admins: ai memory ----------------------------------------------------------------------

    @AIGroup.ai.group(name="memory")
    async def ai_memory(self, ctx: commands.Context) -> None:
        """Manage what the assistant remembers: conversations, policies, storage (admins)."""

    @ai_memory.command(name="show")
    @app_commands.describe(channel="Which channel (default: this one)")
    async def ai_memory_show(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel] = None
    ) -> None:
        """Show the remembered conversation of a channel, with its summary of older messages."""
        await self._require_admin(ctx)
        target = self._target(ctx, channel)
        key = conversation_key(target)
        memory: ConversationMemory = self.memory
        turns, summary = memory.turns(key), memory.summary(key)
        if not turns and not summary:
            await reply(ctx, "Nothing is remembered in that conversation.")
            return
        lines = [f"**Remembered conversation** ({len(turns)} messages)"]
        if summary:
            lines.append(f"**Summary of older messages:** {summary}")
        lines += [_turn_line(t) for t in turns]
        await send_pages(ctx, "\n".join(lines))

    @ai_memory.command(name="clear")
    @app_commands.describe(channel="Which channel (default: this one)")
    async def ai_memory_clear(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel] = None
    ) -> None:
        """Forget a channel's conversation and its summary."""
        await self._require_admin(ctx)
        dropped = self.memory.clear(conversation_key(self._target(ctx, channel)))
        await self.memory_service.windows.flush()
        await reply(
            ctx, f"Cleared {dropped} remembered message{'s' if dropped != 1 else ''} and the summary."
        )

    @ai_memory.command(name="stats")
    async def ai_memory_stats(self, ctx: commands.Context) -> None:
        """How much is remembered here, where it is stored, and the policy in effect."""
        await self._require_admin(ctx)
        service = self.memory_service
        keys = (
            [conversation_key(c) for c in ctx.guild.text_channels]
            if ctx.guild
            else [conversation_key(ctx.channel)]
        )
        held = [k for k in keys if self.memory.turns(k)]
        turns = sum(len(self.memory.turns(k)) for k in held)
        lines = [
            f"**Conversations remembered:** {len(held)} ({turns} messages; "
            f"{sum(1 for k in held if self.memory.summary(k))} with a summary)",
            f"**Storage of conversations:** `windows.sqlite3` in the cog's data folder, saved at most once a second "
            f"({service.windows.writes} writes since load)",
            f"**Long-term memory:** {service.options.backend.describe()}; embeddings `{service.embedding_model()}`",
        ]
        try:
            counts = await service.memory_stats(ctx.guild.id if ctx.guild else None)
            lines.append(
                f"**Stored here:** {counts['memories']} memories, {counts['document_chunks']} document passages"
            )
        except InvalidValue:
            raise
        except Exception as exc:  # MemoryUnavailable: say so, but show the rest
            lines.append(f"**Long-term memory unavailable:** {getattr(exc, 'message', type(exc).__name__)}")
        policy = self._window_policy(conversation_key(ctx.channel))
        lines.append(
            f"**Policy in this channel:** {policy.max_turns} messages, {policy.max_tokens} tokens, "
            f"{window_policy.describe('age', policy.max_age_seconds)} — compaction "
            f"{'on' if service.options.compaction else 'off'}"
        )
        await send_pages(ctx, "\n".join(lines))

    @ai_memory.command(name="export")
    @app_commands.describe(channel="Which channel (default: this one)")
    async def ai_memory_export(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel] = None
    ) -> None:
        """Download a channel's remembered conversation as a JSON file."""
        await self._require_admin(ctx)
        target = self._target(ctx, channel)
        key = conversation_key(target)
        policy = self._window_policy(key)
        data = {
            "conversation": key,
            "exported_at": time.time(),
            "policy": {
                "messages": policy.max_turns,
                "tokens": policy.max_tokens,
                "age_seconds": policy.max_age_seconds,
            },
            "summary": self.memory.summary(key),
            "turns": [
                {"role": t.role, "name": t.name, "user_id": t.user_id, "content": t.content, "at": t.at}
                for t in self.memory.turns(key)
            ],
        }
        payload = io.BytesIO(json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))
        name = f"skynet-memory-{getattr(target, 'id', 'dm')}.json"
        await reply(
            ctx, f"{len(data['turns'])} messages exported.", file=discord.File(payload, filename=name)
        )

    @ai_memory.command(name="policy")
    @app_commands.describe(
        scope="Where to apply it (default: this server)",
        kind="messages, tokens or age",
        value="e.g. 30 (messages), 2000 (tokens), 12h (age), or `default`",
    )
    async def ai_memory_policy(
        self,
        ctx: commands.Context,
        scope: Optional[ScopeChoice] = None,
        kind: Optional[str] = None,
        value: Optional[str] = None,
    ) -> None:
        """Show or set how much conversation is kept: `messages`, `tokens` or `age`, per server or channel.

        Example: `[p]ai memory policy channel messages 40`, `[p]ai memory policy age 2h`,
        `[p]ai memory policy tokens default` (back to the server/default value).
        """
        if kind is None:
            policy = self._window_policy(conversation_key(ctx.channel))
            await reply(
                ctx,
                f"In this channel: **{policy.max_turns}** messages, **{policy.max_tokens}** tokens, "
                f"forgotten after **{window_policy.describe('age', policy.max_age_seconds)}**.",
            )
            return
        if scope == "global":
            raise InvalidValue("Memory policies are set per server or channel.")
        name = window_policy.parse_kind(kind)
        if value is None:
            raise InvalidValue(
                f"Give a value, e.g. `[p]ai memory policy {name} {'12h' if name == 'age' else 30}`."
            )
        parsed = (
            None if value.strip().lower() in ("default", "reset") else window_policy.parse_value(name, value)
        )
        target = await writable_scope(ctx, scope)
        group = (
            self.config.guild_from_id(target.id)
            if target.kind == GUILD
            else self.config.channel_from_id(target.id)
        )
        stored = dict(self._policies.get((target.kind, target.id), {}))
        if parsed is None:
            stored.pop(name, None)
        else:
            stored[name] = parsed
        await group.memory_policy.set(stored)
        self._policies[(target.kind, target.id)] = stored
        shown = "the default" if parsed is None else f"`{window_policy.describe(name, parsed)}`"
        await reply(ctx, f"Memory `{name}` for {scope_label(target.kind)} set to {shown}.")

    @ai_memory.command(name="backend")
    @app_commands.describe(
        action="show, local or server", host="Chroma server host", port="Chroma server port", ssl="Use HTTPS"
    )
    async def ai_memory_backend(
        self,
        ctx: commands.Context,
        action: Literal["show", "local", "server"] = "show",
        host: Optional[str] = None,
        port: Optional[int] = None,
        ssl: bool = False,
    ) -> None:
        """Where long-term memory lives: `local` (embedded chromadb) or a Chroma `server` (owner).

        For a server: `[p]ai memory backend server chroma.example.com 8000 true`; a token, if the
        server needs one, is set with `[p]set api chroma token,<token>`.
        """
        service = self.memory_service
        if action == "show":
            status = (
                f"unavailable ({service.unavailable})"
                if service.unavailable
                else ("connected" if service.store is not None else "not opened yet (opens at first use)")
            )
            await reply(ctx, f"Long-term memory: {service.options.backend.describe()} — {status}.")
            return
        await self._require_owner(ctx)
        if action == "server":
            if not host:
                raise InvalidValue(
                    "Give the server's host (and port), e.g. `[p]ai memory backend server localhost 8000`."
                )
            if port is not None and not (1 <= port <= 65535):
                raise InvalidValue("The port must be between 1 and 65535.")
            backend = BackendConfig("server", host.strip(), port or 8000, bool(ssl))
        else:
            backend = BackendConfig()
        await service.set_backend(backend)
        await self._save_memory_options()
        try:
            await service.ensure_open()
            status = "connected"
        except Exception as exc:
            status = f"but it can't be reached yet: {getattr(exc, 'message', type(exc).__name__)}"
        await reply(ctx, f"Long-term memory now uses {backend.describe()} — {status}.")

    @ai_memory.command(name="embeddings")
    @app_commands.describe(model="endpoint:model, or `default`")
    async def ai_memory_embeddings(self, ctx: commands.Context, model: Optional[str] = None) -> None:
        """Show or choose the embeddings model (owner). Memories stored with another model are kept
        but only recalled again when that model is chosen."""
        service = self.memory_service
        if model is not None:
            await self._require_owner(ctx)
            service.options.embedding_model = None if model.lower() == "default" else self._model_ref(model)
            await self._save_memory_options()
        await reply(ctx, f"Embeddings model: `{service.embedding_model()}`.")

    @ai_memory.command(name="compaction")
    @app_commands.describe(state="on or off", model="endpoint:model for summaries (default: the chat model)")
    async def ai_memory_compaction(
        self, ctx: commands.Context, state: Literal["on", "off"], model: Optional[str] = None
    ) -> None:
        """Fold older messages into a rolling summary instead of dropping them (owner); a cheap
        model can be set for it."""
        await self._require_owner(ctx)
        service = self.memory_service
        service.set_compaction(state == "on")
        if model is not None:
            service.options.compaction_model = None if model.lower() == "default" else self._model_ref(model)
        await self._save_memory_options()
        chosen = service.options.compaction_model or "the conversation's chat model"
        await reply(ctx, f"Compaction is {state}" + (f", with `{chosen}`." if state == "on" else "."))

    @ai_memory.command(name="purge")
    @app_commands.describe(member="Whose memories and documents to remove")
    async def ai_memory_purge(self, ctx: commands.Context, member: discord.Member) -> None:
        """Remove everything a member stored in this server: memories, documents, conversation turns."""
        if ctx.guild is None:
            raise InvalidValue("Run this in the server.")
        await self._require_admin(ctx)
        turns = 0
        for channel in ctx.guild.text_channels:
            turns += self.memory.forget_user_in(conversation_key(channel), member.id)
        await self.memory_service.windows.flush()
        removed = await self.memory_service.purge_member(ctx.guild.id, member.id)
        await reply(
            ctx,
            f"Removed {removed} stored memories/passages and {turns} conversation messages of {member.display_name}.",
        )

    # -- members: ai history --------------------------------------------------------------------

    @AIGroup.ai.group(name="history")
    async def ai_history(self, ctx: commands.Context) -> None:
        """Your part of the conversation the assistant remembers here."""

    @ai_history.command(name="view")
    async def ai_history_view(self, ctx: commands.Context) -> None:
        """Show what the assistant remembers of your conversation here."""
        turns = [t for t in self.memory.turns(conversation_key(ctx.channel)) if t.user_id == ctx.author.id]
        if not turns:
            await reply(ctx, "I don't remember anything you said here.", ephemeral=True)
            return
        await send_pages(ctx, "\n".join(_turn_line(t) for t in turns), ephemeral=True)

    @ai_history.command(name="clear")
    async def ai_history_clear(self, ctx: commands.Context) -> None:
        """Forget your messages (and the answers to them) in this conversation."""
        dropped = self.memory.forget_user_in(conversation_key(ctx.channel), ctx.author.id)
        await self.memory_service.windows.flush()
        await reply(
            ctx, f"Forgot {dropped} message{'s' if dropped != 1 else ''} of yours here.", ephemeral=True
        )

    @ai_history.command(name="undo")
    async def ai_history_undo(self, ctx: commands.Context) -> None:
        """Forget your last message here and the answer to it."""
        removed = self.memory.undo(conversation_key(ctx.channel), ctx.author.id)
        if not removed:
            await reply(ctx, "There is nothing of yours to undo here.", ephemeral=True)
            return
        await reply(
            ctx,
            f"Forgot your last message (“{_short(removed[0].content, 80)}”) and its answer.",
            ephemeral=True,
        )

    # -- members: long-term memories ------------------------------------------------------------

    @AIGroup.ai.command(name="remember")
    @app_commands.describe(fact="What the assistant should remember about you")
    async def ai_remember(self, ctx: commands.Context, *, fact: str) -> None:
        """Ask the assistant to remember something about you (in this server, or in DMs)."""
        record = await self.memory_service.remember(
            fact,
            guild_id=ctx.guild.id if ctx.guild else None,
            user_id=ctx.author.id,
            channel_id=ctx.channel.id,
        )
        await reply(
            ctx,
            f"I'll remember that (memory `{record.id}`). See `{ctx.clean_prefix}ai memories list`.",
            ephemeral=True,
        )

    @AIGroup.ai.group(name="memories")
    async def ai_memories(self, ctx: commands.Context) -> None:
        """The facts the assistant remembers about you."""

    @ai_memories.command(name="list")
    async def ai_memories_list(self, ctx: commands.Context) -> None:
        """List what the assistant remembers about you here."""
        records = await self.memory_service.list_memories(ctx.guild.id if ctx.guild else None, ctx.author.id)
        if not records:
            await reply(ctx, "I don't remember anything about you here.", ephemeral=True)
            return
        await send_pages(ctx, self._memory_lines(records, f"{len(records)} memories"), ephemeral=True)

    @ai_memories.command(name="search")
    @app_commands.describe(text="What to look for")
    async def ai_memories_search(self, ctx: commands.Context, *, text: str) -> None:
        """Find your memories closest to some text."""
        records = await self.memory_service.search_memories(
            ctx.guild.id if ctx.guild else None, ctx.author.id, text
        )
        if not records:
            await reply(ctx, "No memories of yours match.", ephemeral=True)
            return
        await send_pages(ctx, self._memory_lines(records, "Closest memories"), ephemeral=True)

    @ai_memories.command(name="forget")
    @app_commands.describe(which="A memory id from `ai memories list`, several separated by spaces, or `all`")
    async def ai_memories_forget(self, ctx: commands.Context, *, which: str) -> None:
        """Forget one of your memories by id, or `all` of them here."""
        ids = None if which.strip().lower() == "all" else which.replace(",", " ").split()
        removed = await self.memory_service.forget(ctx.guild.id if ctx.guild else None, ctx.author.id, ids)
        if not removed:
            await reply(ctx, "No memory of yours here has that id; see `ai memories list`.", ephemeral=True)
            return
        await reply(ctx, f"Forgot {removed} memor{'ies' if removed != 1 else 'y'}.", ephemeral=True)

    @staticmethod
    def _memory_lines(records: List[Record], title: str) -> str:
        return "\n".join([f"**{title}:**"] + [f"`{r.id}` {_short(r.text, 200)}" for r in records])

    @AIGroup.ai.command(name="incognito")
    @app_commands.describe(state="on: nothing you say is stored; off: back to normal")
    async def ai_incognito(self, ctx: commands.Context, state: Literal["on", "off"]) -> None:
        """While on, nothing you say is stored (conversation, memories, your usage); replies show 🕶️."""
        on = state == "on"
        await self.config.user(ctx.author).incognito.set(on)
        (self.memory_service.incognito.add if on else self.memory_service.incognito.discard)(ctx.author.id)
        await reply(
            ctx,
            "🕶️ Incognito is on: nothing you say is stored until you turn it off."
            if on
            else "Incognito is off.",
            ephemeral=True,
        )

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
            raise InvalidValue("Documents belong to a server: add them there.")
        await self._require_admin(ctx)
        attachment = file or (ctx.message.attachments[0] if ctx.message and ctx.message.attachments else None)
        if attachment is None and url:
            if ctx.interaction is not None:
                await ctx.defer()
            page = await fetch_document(self.tool_service.guard, url.strip("<>"))
            info = await self.memory_service.add_document(
                ctx.guild.id, ctx.author.id, page.name, page.data, page.kind
            )
            await reply(ctx, f"Added `{info.name}` as document `{info.id}` ({info.chunks} passages).")
            return
        if attachment is None:
            raise InvalidValue("Attach a .txt, .md or .pdf file to the command, or give a page's URL.")
        check_document(attachment.filename, attachment.size)
        if ctx.interaction is not None:
            await ctx.defer()
        data = await attachment.read()
        info = await self.memory_service.add_document(ctx.guild.id, ctx.author.id, attachment.filename, data)
        await reply(ctx, f"Added `{info.name}` as document `{info.id}` ({info.chunks} passages).")

    @ai_docs.command(name="list")
    async def ai_docs_list(self, ctx: commands.Context) -> None:
        """List this server's documents."""
        if ctx.guild is None:
            raise InvalidValue("Documents belong to a server.")
        docs = await self.memory_service.list_documents(ctx.guild.id)
        if not docs:
            await reply(ctx, "This server has no documents yet.")
            return
        lines = [
            f"`{d.id}` **{d.name}** — {d.chunks} passages, added by <@{d.user_id}> {_when(d.at)}"
            for d in docs
        ]
        await send_pages(ctx, "\n".join(lines))

    @ai_docs.command(name="remove")
    @app_commands.describe(doc_id="The document id from `ai docs list`")
    async def ai_docs_remove(self, ctx: commands.Context, doc_id: str) -> None:
        """Remove a document (admins)."""
        if ctx.guild is None:
            raise InvalidValue("Documents belong to a server.")
        await self._require_admin(ctx)
        removed = await self.memory_service.remove_document(ctx.guild.id, doc_id)
        if not removed:
            raise InvalidValue(f"No document `{doc_id}` here; see `[p]ai docs list`.")
        await reply(ctx, f"Removed document `{doc_id}` ({removed} passages).")

    @ai_docs.command(name="search")
    @app_commands.describe(query="What to look for")
    async def ai_docs_search(self, ctx: commands.Context, *, query: str) -> None:
        """Show the passages of this server's documents closest to a query."""
        if ctx.guild is None:
            raise InvalidValue("Documents belong to a server.")
        records = await self.memory_service.search_documents(ctx.guild.id, query)
        if not records:
            await reply(ctx, "No document passages here.")
            return
        from ..engine.memory.recall import citation

        await send_pages(ctx, "\n\n".join(f"**{citation(r)}** {_short(r.text, 400)}" for r in records))

    # -- data rights ------------------------------------------------------------------------------

    async def red_get_data_for_user(self, *, user_id: int) -> Dict[str, io.BytesIO]:
        """Adds the long-term memories and the documents the user added to the data file."""
        files = await super().red_get_data_for_user(user_id=user_id)
        name = next(iter(files))
        data = json.loads(files[name].getvalue())
        stored = await self.memory_service.export_user(user_id)
        data["long_term_memories"], data["documents_added"] = stored["memories"], stored["documents"]
        files[name] = io.BytesIO(json.dumps(data, indent=2).encode("utf-8"))
        return files

    async def red_delete_data_for_user(self, *, requester: str, user_id: int) -> None:
        await super().red_delete_data_for_user(requester=requester, user_id=user_id)
        await self.config.user_from_id(user_id).clear()
        self.memory_service.incognito.discard(user_id)
        await self.memory_service.delete_user(user_id)
