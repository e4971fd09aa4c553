"""``/ai chat`` and ``/ai forget``: asking the assistant and resetting the conversation."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Optional, Sequence, Tuple

import discord
from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.bounds import BoundedAnswer, bounded, deliver_file
from ...delivery.controls import CONTINUE_PROMPT
from ...delivery.lifecycle import PendingAsk
from ...delivery.reply import NO_MENTIONS, ReplyStreamer, stream_reply
from ...engine.chat import ChatRequest
from ...engine.memory import ASSISTANT, Turn
from ...i18n import _
from ...stores.usage import global_scope, guild_scope, member_scope, user_scope
from ..common import conversation_key, hint_wording, reply, resolve_here, settings_channel_id
from ..group import AIGroup
from .incognito import with_incognito_mark


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
        store = bool(self.storing_decision(author, channel))  # incognito, consent, excluded channel
        if not store or not self.memory_service.stores_turns(author.id):
            scopes = scopes[:-1]  # nothing of theirs is kept: only the totals count this request
        settings = self.apply_persona(author, channel, resolve_here(self.settings, channel))
        return ChatRequest(
            text=text,
            user_id=author.id,
            user_name=author.display_name,
            conversation=conversation_key(channel),
            settings=settings,
            usage_scopes=scopes,
            guild_id=guild.id if guild is not None else None,
            channel_id=settings_channel_id(channel) if guild is not None else None,
            store=store,
            own_key=self.own_key_for(author.id, settings),
        )

    async def answer(
        self,
        ctx: commands.Context,
        text: str,
        *,
        reply_chain: Tuple[Turn, ...] = (),
        uploaded: Sequence[discord.Attachment] = (),
        read_attachments: bool = True,
        preface: str = "",
        reuse: Sequence[discord.Message] = (),
    ) -> None:
        """Stream the engine's answer to ``text`` as a reply to ``ctx`` (``uploaded``: the files
        of a slash command's attachment option; a prefix command's come with its message).

        ``read_attachments=False``: the files were read already (a transcribed voice message);
        ``preface``: a line shown above the answer, not part of it (what was heard); ``reuse``:
        the messages of an answer being regenerated, edited in place."""
        ask = PendingAsk(ctx, text, tuple(reply_chain), tuple(uploaded))
        if self.inflight.closed:  # the cog is closing: the next instance answers it, or it is told
            self.hand_over(ask)
            return
        self.check_consent(ctx.author, ctx.channel)  # where the server requires it, or a refusal
        asked = text
        images: Tuple[discord.Attachment, ...] = ()
        if read_attachments:
            text, images = await self.with_attachments(ctx, text, uploaded)
        if self.inflight.closed:  # it closed meanwhile
            self.hand_over(ask)
            return
        await self.moderate_input(ctx, text, images)  # or a refusal with a notice
        request = self.chat_request(ctx.author, ctx.channel, text)
        if reply_chain:
            request = replace(request, reply_chain=reply_chain)
        if images:  # their links for now: admission counts them before any is downloaded
            request = replace(request, images=tuple(image.url for image in images))
        ticket = self.admit(ctx.author, ctx.channel, request)  # budgets and rate limits, or a refusal
        reused = list(reuse)

        async def send(content: Optional[str], first: bool, **extras) -> discord.Message:
            if reused:  # regenerating: the old answer's messages show the new one
                message = reused.pop(0)
                await message.edit(content=content, allowed_mentions=NO_MENTIONS, **extras)
                return message
            if first and ctx.interaction is None and not reuse:
                reference = ctx.message.to_reference(fail_if_not_exists=False)
                return await ctx.send(
                    content, reference=reference, mention_author=False, allowed_mentions=NO_MENTIONS, **extras
                )
            return await ctx.send(content, allowed_mentions=NO_MENTIONS, **extras)

        async def post_file(content: str, file: discord.File) -> discord.Message:
            return await ctx.send(content, file=file, allowed_mentions=NO_MENTIONS)

        with self.inflight.track(ask):  # unload: a clean cut (delivery/lifecycle.py)
            try:
                if images:  # read, downscaled and encoded as data URLs (off the event loop)
                    request = replace(request, images=await self.image_inputs(images, request.settings.model))
                if ctx.interaction is not None and not reuse and not ctx.interaction.response.is_done():
                    await ctx.typing()  # acknowledges the slash command (done if handed over)
                # For a prefix command the streamer shows typing, through the pacer, until text is visible.
                typing = ctx.typing if ctx.interaction is None and not reuse else None
                sender = self.persona_send(ctx, send)  # under the persona's name, by webhook if it can
                # Buttons and styles need our own messages (a persona's webhook can't carry them).
                request, state = self.reply_setup(ctx, request, buttons=sender is send)
                streamer = ReplyStreamer(sender, ctx.channel.id, self.pacer, typing=typing, render=state.render)
                self.inflight.watch(streamer)
                if state.steer is not None:
                    state.steer.streamer = streamer
                    self.steer_actions(
                        state.steer,
                        regenerate=self._regenerate(ctx, asked, reply_chain, uploaded, read_attachments, preface),
                        resume=self._resume(ctx),
                    )
                if preface:
                    streamer.append(preface)
                capped = BoundedAnswer(self.answer_bounds())  # the owner's caps, then a file
                events = bounded(ticket.track(self.engine.run(request)), capped)
                if request.own_key is not None:  # a failing own key: a private notice
                    events = self.guard_own_key(request, events, ctx.author)
                if not self.memory_service.stores_turns(ctx.author.id):
                    events = with_incognito_mark(events)
                events = self.reply_events(events, streamer, state)  # reasoning: a status line, not text
                done = await stream_reply(events, streamer, prefix=ctx.clean_prefix, wording=hint_wording(ctx))
                for leftover in reused:  # the regenerated answer is shorter than the old one
                    await self.pacer.acquire(ctx.channel.id)
                    await leftover.delete()
                if not streamer.broken:
                    await deliver_file(capped, post_file, self.pacer, ctx.channel.id)
                await self.moderate_answer(ctx, streamer)
                if done is not None and done.images and not streamer.broken:
                    await self.send_tool_images(ctx, done.images)
                await self.after_reply(ctx, request, done, state)  # reasoning shown, spoken reply
            finally:
                ticket.settle(None)  # refunds the reservation if the stream never started (else a no-op)

    def _regenerate(self, ctx, text, reply_chain, uploaded, read_attachments, preface):
        """Regenerate: the same question answered again in place; the conversation keeps the new answer."""

        async def regenerate(steer, interaction) -> None:
            streamer = steer.streamer
            old = streamer.text if streamer is not None else ""
            conversation = conversation_key(ctx.channel)
            mine = [t for t in self.memory.turns(conversation) if t.user_id == ctx.author.id]
            if mine and mine[-1].role == ASSISTANT and old.endswith(mine[-1].content):
                self.memory.undo(conversation, ctx.author.id)
            await self.answer(
                ctx,
                text,
                reply_chain=reply_chain,
                uploaded=uploaded,
                read_attachments=read_attachments,
                preface=preface,
                reuse=streamer.messages if streamer is not None else (),
            )

        return regenerate

    def _resume(self, ctx):
        async def resume(steer, interaction) -> None:
            await self.answer(ctx, CONTINUE_PROMPT, read_attachments=False)

        return resume

    async def send_tool_images(self, ctx: commands.Context, images: Sequence) -> None:
        """Images a tool returned (an MCP server's), attached under the answer (paced)."""
        files = [
            discord.File(io.BytesIO(image.data), filename=f"tool-image-{index}.{image.mime.split('/')[-1][:5]}")
            for index, image in enumerate(images, 1)
        ]
        await self.pacer.wait(ctx.channel.id)
        await ctx.send(files=files, allowed_mentions=NO_MENTIONS)

    @AIGroup.ai.command(name="chat")
    @app_commands.describe(
        message="What you want to ask or say",
        file="An image or a text file for the assistant to look at",
    )
    async def ai_chat(
        self, ctx: commands.Context, *, message: str, file: Optional[discord.Attachment] = None
    ) -> None:
        """Ask the AI assistant; the answer streams in as it is written.

        The assistant remembers the recent conversation in this channel, so you can ask follow-ups.
        Attach images or text files to your message (up to 4) and it looks at them too.
        """
        # A prefix command's files come with its message; ``file`` is the slash command's option.
        await self.answer(ctx, message, uploaded=(file,) if file is not None else ())

    @AIGroup.ai.command(name="forget")
    async def ai_forget(self, ctx: commands.Context) -> None:
        """Forget the recent conversation here, so the next question starts fresh."""
        dropped = self.memory.clear(conversation_key(ctx.channel))
        if not dropped:
            text = _("There was nothing to forget here.")
        elif dropped == 1:
            text = _("Forgot 1 message of conversation here.")
        else:
            text = _("Forgot {count} messages of conversation here.").format(count=dropped)
        await reply(ctx, text)
