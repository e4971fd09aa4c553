"""The reply around the streamed text: reasoning shown as the server chose, the Stop / Regenerate /
Continue buttons, the reply style (classic or Components V2), and ``[p]ai reply style``.

The chat shell calls three hooks: :meth:`reply_setup` (before streaming: the render, the steering
state, the stop signal), :meth:`reply_events` (wraps the engine's events: reasoning becomes a
"thinking… N s" status line, never answer text) and :meth:`after_reply` (the reasoning as a
spoiler or a file, the spoken reply).
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import replace
from typing import Any, AsyncIterator, Optional, Tuple

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.components import STYLES, Render, render_for
from ...delivery.controls import Steer, Steering
from ...delivery.reply import NO_MENTIONS
from ...engine.chat import ChatRequest
from ...engine.errors import InvalidValue
from ...engine.events import ChatEvent, Done, Failed
from ...engine.media.reasoning import (
    FILE,
    SPOILER,
    ReasoningDelta,
    Thinking,
    reasoning_file,
    spoiler_text,
    status_line,
)
from ...engine.media.settings import REPLY_STYLE, MediaSettings, media_settings
from ...i18n import _
from ..common import reply, resolve_here, writable_scope
from ..group import AIGroup

log = logging.getLogger("red.skynet.media")


class ReplyState:
    """One reply's extras: its steering, render and the reasoning collected while it streamed."""

    def __init__(self, media: MediaSettings, render: Render, steer: Optional[Steer]) -> None:
        self.media = media
        self.render = render
        self.steer = steer
        self.thinking = Thinking()


class RepliesMixin(MixinMeta):
    steering: Steering

    def init_replies(self) -> None:
        self.steering = Steering(self._may_stop_any, note_request=self.pacer.note_request)

    async def _may_stop_any(self, user: discord.abc.User) -> bool:
        if not isinstance(user, discord.Member):
            return await self.bot.is_owner(user)
        return (
            await self.bot.is_owner(user)
            or await self.bot.is_admin(user)
            or user.guild_permissions.manage_guild
        )

    # -- the hooks of the chat shell

    def reply_setup(
        self, ctx: commands.Context, request: ChatRequest, *, buttons: bool = True
    ) -> Tuple[ChatRequest, ReplyState]:
        """The render and steering of a new reply, and the request carrying its stop signal."""
        media = media_settings(request.settings.params)
        steer = None
        if buttons:
            steer = self.steering.open(ctx.author.id, ctx.channel.id, getattr(ctx.guild, "id", None))
            request = replace(request, stop=steer.stop)
        return request, ReplyState(media, render_for(media.reply_style, self.steering, steer), steer)

    async def reply_events(
        self, events: AsyncIterator[ChatEvent], streamer: Any, state: ReplyState
    ) -> AsyncIterator[ChatEvent]:
        """The engine's events with the reasoning taken out (a status line while it lasts)."""
        thinking = state.thinking
        shown = -1
        finish: Optional[str] = None
        try:
            async for event in events:
                if isinstance(event, ReasoningDelta):
                    now = time.monotonic()
                    thinking.add(event.text, now)
                    seconds = thinking.seconds(now)
                    if seconds != shown:
                        shown = seconds
                        streamer.set_status(status_line(seconds))
                    continue
                if isinstance(event, Done):
                    finish = event.finish_reason
                elif isinstance(event, Failed):
                    finish = "error"
                yield event
        finally:
            await events.aclose()
            if state.steer is not None:
                self.steering.ended(state.steer, finish)

    async def after_reply(
        self, ctx: commands.Context, request: ChatRequest, done: Optional[Done], state: ReplyState
    ) -> None:
        """What follows the text: the reasoning (spoiler or file), a spoken version of the answer."""
        reasoning = state.thinking.text
        display = state.media.reasoning_display
        if reasoning and display in (SPOILER, FILE):
            seconds = max(1, int(round(state.thinking.ended - state.thinking.started)))
            try:
                await self.pacer.acquire(ctx.channel.id)
                if display == SPOILER:
                    await ctx.channel.send(spoiler_text(reasoning, seconds), allowed_mentions=NO_MENTIONS)
                else:
                    name, body = reasoning_file(
                        reasoning, done.model if done else request.settings.model.name
                    )
                    await ctx.channel.send(
                        f"-# 💭 {_('Reasoning ({seconds} s)').format(seconds=seconds)}",
                        file=discord.File(io.BytesIO(body), filename=name),
                        allowed_mentions=NO_MENTIONS,
                    )
            except discord.HTTPException as exc:
                log.info("Could not post the reasoning of a reply: %s", exc)
        if done is not None and done.text:
            await self.speak_reply(ctx, request, done, state.media)  # voice.py: only where enabled

    def steer_actions(self, steer: Steer, *, regenerate, resume) -> None:
        steer.regenerate = regenerate
        steer.resume = resume

    # -- [p]ai reply

    @AIGroup.ai.group(name="reply", with_app_command=False, invoke_without_command=True)
    async def ai_reply(self, ctx: commands.Context) -> None:
        """How answers look here: the reply style and its buttons."""
        media = media_settings(resolve_here(self.settings, ctx.channel).params)
        await reply(
            ctx,
            _(
                "Reply style here: `{style}`. `classic` posts plain messages of up to 2,000 characters; "
                "`components` posts Discord text displays of up to 4,000 characters (fewer messages). "
                "Change it with `[p]ai reply style <classic|components>`."
            ).format(style=media.reply_style),
        )

    @ai_reply.command(name="style", with_app_command=False)
    async def ai_reply_style(self, ctx: commands.Context, style: str) -> None:
        """Choose how answers are posted in this server: `classic` or `components`.

        `classic`: plain messages of up to 2,000 characters, read by every client and bot.
        `components`: Discord's Components V2 text displays of up to 4,000 characters: fewer
        messages for long answers, and code blocks are never cut.
        """
        style = style.strip().lower()
        if style not in STYLES:
            raise InvalidValue(_("The reply style is `classic` or `components`."))
        target = await writable_scope(ctx, "server" if ctx.guild else "global")
        await self.settings.set_param(target, REPLY_STYLE, style)
        await reply(ctx, _("Answers here now use the `{style}` style.").format(style=style))
