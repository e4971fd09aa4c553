"""Admin memory commands: ``ai memory show|clear|stats|export|policy|purge``.

Where memory is stored (``backend|embeddings|compaction``, owner) is in ``memory_storage``.
"""

from __future__ import annotations

import io
import json
import time
from typing import Optional

import discord
from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.memory import ConversationMemory
from ...engine.memory import policy as window_policy
from ...i18n import _, plural
from ...stores.settings import GUILD
from ..common import (
    ScopeChoice,
    conversation_key,
    reply,
    scope_label,
    writable_scope,
)
from ..conversations import conversations_in
from ..group import AIGroup
from .common import require_admin, send_pages, turn_line


class MemoryAdminMixin(MixinMeta):
    def _target(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel]
    ) -> discord.abc.Messageable:
        if channel is not None and (ctx.guild is None or channel.guild.id != ctx.guild.id):
            raise InvalidValue(_("Pick a channel of this server."))
        return channel or ctx.channel

    @AIGroup.ai.group(name="memory")
    async def ai_memory(self, ctx: commands.Context) -> None:
        """Manage what the assistant remembers: conversations, policies, storage (admins)."""

    @ai_memory.command(name="show")
    @app_commands.describe(channel="Which channel (default: this one)")
    async def ai_memory_show(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel] = None
    ) -> None:
        """Show the remembered conversation of a channel, with its summary of older messages."""
        await require_admin(ctx)
        target = self._target(ctx, channel)
        key = conversation_key(target)
        memory: ConversationMemory = self.memory
        turns, summary = memory.turns(key), memory.summary(key)
        if not turns and not summary:
            await reply(ctx, _("Nothing is remembered in that conversation."))
            return
        lines = [_("**Remembered conversation** ({count} messages)").format(count=len(turns))]
        if summary:
            lines.append(_("**Summary of older messages:** {summary}").format(summary=summary))
        lines += [turn_line(t) for t in turns]
        await send_pages(ctx, "\n".join(lines))

    @ai_memory.command(name="clear")
    @app_commands.describe(channel="Which channel (default: this one)")
    async def ai_memory_clear(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel] = None
    ) -> None:
        """Forget a channel's conversation and its summary."""
        await require_admin(ctx)
        dropped = self.memory.clear(conversation_key(self._target(ctx, channel)))
        await self.memory_service.windows.flush()
        cleared = plural(
            dropped,
            _("Cleared {count} remembered message and the summary."),
            _("Cleared {count} remembered messages and the summary."),
        )
        await reply(ctx, cleared.format(count=dropped))

    @ai_memory.command(name="stats")
    async def ai_memory_stats(self, ctx: commands.Context) -> None:
        """How much is remembered here, where it is stored, and the policy in effect."""
        await require_admin(ctx)
        service = self.memory_service
        # Every conversation of the server the windows store holds: threads, forum posts and
        # voice-channel text too, not only the text channels.
        keys = conversations_in(self.bot, self.memory, ctx.guild.id) if ctx.guild else [conversation_key(ctx.channel)]
        held = [k for k in keys if self.memory.turns(k)]
        turns = sum(len(self.memory.turns(k)) for k in held)
        lines = [
            _(
                "**Conversations remembered:** {conversations} ({messages} messages; {summaries} with a summary)"
            ).format(
                conversations=len(held),
                messages=turns,
                summaries=sum(1 for k in held if self.memory.summary(k)),
            ),
            _(
                "**Storage of conversations:** `windows.sqlite3` in the cog's data folder, saved at most once a "
                "second ({writes} writes since load)"
            ).format(writes=service.windows.writes),
            _("**Long-term memory:** {backend}; embeddings `{model}`").format(
                backend=service.options.backend.label(), model=service.embedding_model()
            ),
        ]
        try:
            counts = await service.memory_stats(ctx.guild.id if ctx.guild else None)
            lines.append(
                _("**Stored here:** {memories} memories, {passages} document passages").format(
                    memories=counts["memories"], passages=counts["document_chunks"]
                )
            )
        except InvalidValue:
            raise
        except Exception as exc:  # MemoryUnavailable: say so, but show the rest
            lines.append(
                _("**Long-term memory unavailable:** {reason}").format(
                    reason=getattr(exc, "message", type(exc).__name__)
                )
            )
        policy = self._window_policy(conversation_key(ctx.channel))
        policy_line = (
            _("**Policy in this channel:** {messages} messages, {tokens} tokens, {age} — compaction on")
            if service.options.compaction
            else _("**Policy in this channel:** {messages} messages, {tokens} tokens, {age} — compaction off")
        )
        lines.append(
            policy_line.format(
                messages=policy.max_turns,
                tokens=policy.max_tokens,
                age=window_policy.describe("age", policy.max_age_seconds),
            )
        )
        await send_pages(ctx, "\n".join(lines))

    @ai_memory.command(name="export")
    @app_commands.describe(channel="Which channel (default: this one)")
    async def ai_memory_export(
        self, ctx: commands.Context, channel: Optional[discord.TextChannel] = None
    ) -> None:
        """Download a channel's remembered conversation as a JSON file."""
        await require_admin(ctx)
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
            ctx,
            _("{count} messages exported.").format(count=len(data["turns"])),
            file=discord.File(payload, filename=name),
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
                _(
                    "In this channel: **{messages}** messages, **{tokens}** tokens, forgotten after **{age}**."
                ).format(
                    messages=policy.max_turns,
                    tokens=policy.max_tokens,
                    age=window_policy.describe("age", policy.max_age_seconds),
                ),
            )
            return
        if scope == "global":
            raise InvalidValue(_("Memory policies are set per server or channel."))
        name = window_policy.parse_kind(kind)
        if value is None:
            raise InvalidValue(
                _("Give a value, e.g. `[p]ai memory policy {kind} {example}`.").format(
                    kind=name, example="12h" if name == "age" else 30
                )
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
        if parsed is None:
            shown = _("Memory `{kind}` for {scope} set to the default.").format(
                kind=name, scope=scope_label(target.kind)
            )
        else:
            shown = _("Memory `{kind}` for {scope} set to `{value}`.").format(
                kind=name, scope=scope_label(target.kind), value=window_policy.describe(name, parsed)
            )
        await reply(ctx, shown)

    @ai_memory.command(name="purge")
    @app_commands.describe(member="Whose memories and documents to remove")
    async def ai_memory_purge(self, ctx: commands.Context, member: discord.Member) -> None:
        """Remove everything a member stored in this server: memories, documents, conversation turns."""
        if ctx.guild is None:
            raise InvalidValue(_("Run this in the server."))
        await require_admin(ctx)
        # Through the data map: every registered store forgets them in this server (conversations
        # in every channel, thread, forum post and voice channel; memories, documents, usage,
        # budget and tool rules, consent, audit entries naming them).
        results = await self.forget_in_server(member.id, ctx.guild.id)
        turns, removed = results.get("remembered_conversation", 0), results.get("long_term_memory", 0)
        await reply(
            ctx,
            _(
                "Removed {removed} stored memories/passages and {turns} conversation messages of {member}."
            ).format(removed=removed, turns=turns, member=member.display_name),
        )
