"""``/ai chat`` and ``/ai forget``: asking the assistant and resetting the conversation."""

from __future__ import annotations

import discord
from discord import app_commands
from redbot.core import commands

from ..abc import MixinMeta
from ..discord.reply import NO_MENTIONS, ReplyStreamer, stream_reply
from ..engine.chat import ChatRequest
from ..usage_store import global_scope, guild_scope, member_scope, user_scope
from .common import conversation_key, reply, resolve_here
from .group import AIGroup


class ChatMixin(MixinMeta):
    def chat_request(
        self, author: discord.abc.User, channel: discord.abc.Messageable, text: str
    ) -> ChatRequest:
        """Plain data for the engine. No I/O: settings come from the in-memory cache."""
        guild = getattr(channel, "guild", None)
        if guild is not None:
            scopes = (global_scope(), guild_scope(guild.id), member_scope(guild.id, author.id))
        else:
            scopes = (global_scope(), user_scope(author.id))
        return ChatRequest(
            text=text,
            user_id=author.id,
            user_name=author.display_name,
            conversation=conversation_key(channel),
            settings=self.apply_persona(author, channel, resolve_here(self.settings, channel)),
            usage_scopes=scopes,
        )

    async def answer(self, ctx: commands.Context, text: str) -> None:
        """Stream the engine's answer to ``text`` as a reply to ``ctx``."""
        text = await self.with_attachments(ctx, text)
        request = self.chat_request(ctx.author, ctx.channel, text)

        async def send(content: str, first: bool) -> discord.Message:
            if first and ctx.interaction is None:
                reference = ctx.message.to_reference(fail_if_not_exists=False)
                return await ctx.send(
                    content, reference=reference, mention_author=False, allowed_mentions=NO_MENTIONS
                )
            return await ctx.send(content, allowed_mentions=NO_MENTIONS)

        streamer = ReplyStreamer(self.persona_send(ctx, send), ctx.channel.id, self.pacer)
        async with ctx.typing():
            await stream_reply(self.engine.run(request), streamer, prefix=ctx.clean_prefix)

    @AIGroup.ai.command(name="chat")
    @app_commands.describe(message="What you want to ask or say")
    async def ai_chat(self, ctx: commands.Context, *, message: str) -> None:
        """Ask the AI assistant; the answer streams in as it is written.

        The assistant remembers the recent conversation in this channel, so you can ask follow-ups.
        """
        await self.answer(ctx, message)

    @AIGroup.ai.command(name="forget")
    async def ai_forget(self, ctx: commands.Context) -> None:
        """Forget the recent conversation here, so the next question starts fresh."""
        dropped = self.memory.clear(conversation_key(ctx.channel))
        await reply(
            ctx,
            f"Forgot {dropped} message{'s' if dropped != 1 else ''} of conversation here."
            if dropped
            else "There was nothing to forget here.",
        )
