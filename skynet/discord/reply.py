"""The streamer: shows an answer as it is generated, by editing Discord messages.

Text arrives in small deltas; a background task renders the latest text at most once per pacing
slot (about once a second per channel), the first time as soon as text exists. Past 2000
characters the answer continues in new messages (see ``split``). Nothing it sends can ping.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncGenerator, Awaitable, Callable, List, Optional

import discord

from ..engine.events import ChatEvent, Done, Failed, TextDelta
from .pacing import Pacer
from .split import split_message
from .style import error_text

log = logging.getLogger("red.skynet.reply")

NO_MENTIONS = discord.AllowedMentions.none()
EMPTY_ANSWER = "*(The model returned an empty answer.)*"
LENGTH_NOTE = "*(The answer stopped at the `max_tokens` limit.)*"

# Sends one message; ``first`` is True for the first message of the reply.
Send = Callable[[str, bool], Awaitable[discord.Message]]


class ReplyStreamer:
    """Renders a growing text as one or more Discord messages."""

    def __init__(self, send: Send, channel_id: int, pacer: Pacer) -> None:
        self._send = send
        self._channel_id = channel_id
        self._pacer = pacer
        self._parts: List[str] = []
        self._messages: List[discord.Message] = []
        self._shown: List[str] = []
        self._dirty = asyncio.Event()
        self._closing = False
        self._broken = False
        self._task = asyncio.create_task(self._render_loop())

    @property
    def messages(self) -> List[discord.Message]:
        return list(self._messages)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def broken(self) -> bool:
        """Discord refused a send or edit (message deleted, permissions lost): showing more is futile."""
        return self._broken

    def append(self, text: str) -> None:
        if text:
            self._parts.append(text)
            self._dirty.set()

    async def finish(self, note: Optional[str] = None) -> List[discord.Message]:
        """Render the final text (plus ``note`` on its own paragraph) and stop."""
        if note:
            self.append(("\n\n" if self.text.strip() else "") + note)
        elif not self.text.strip():
            self.append(EMPTY_ANSWER)
        self._closing = True
        self._dirty.set()
        await self._task
        return self.messages

    async def _render_loop(self) -> None:
        while not self._broken:
            await self._dirty.wait()
            self._dirty.clear()
            await self._render()
            if self._closing and not self._dirty.is_set():
                return

    async def _render(self) -> None:
        chunks = split_message(self.text)
        for index, chunk in enumerate(chunks):
            if index < len(self._shown) and self._shown[index] == chunk:
                continue
            await self._pacer.wait(self._channel_id)
            # More text may have arrived while waiting for the slot: show the latest (the split
            # is prefix-stable, so this chunk still exists and only grew).
            chunk = split_message(self.text)[index]
            try:
                if index < len(self._messages):
                    await self._messages[index].edit(content=chunk, allowed_mentions=NO_MENTIONS)
                    self._shown[index] = chunk
                else:
                    self._messages.append(await self._send(chunk, index == 0))
                    self._shown.append(chunk)
            except discord.HTTPException as exc:
                # The message was deleted or we lost permissions: stop instead of retrying forever.
                log.warning("Could not show a reply in channel %s: %s", self._channel_id, exc)
                self._broken = True
                return
            except Exception:  # e.g. a dropped gateway connection; the render loop must not die silently
                log.exception("Unexpected error showing a reply in channel %s", self._channel_id)
                self._broken = True
                return


async def stream_reply(
    events: AsyncGenerator[ChatEvent, None], streamer: ReplyStreamer, *, prefix: str
) -> Optional[Done]:
    """Feed an engine's events into ``streamer``; a failure ends the reply with a clear note."""
    done: Optional[Done] = None
    note: Optional[str] = None
    try:
        async for event in events:
            if streamer.broken:
                break  # stops the provider's stream too: no tokens spent on an answer nobody sees
            if isinstance(event, TextDelta):
                streamer.append(event.text)
            elif isinstance(event, Failed):
                note = error_text(event.message, prefix)
            elif isinstance(event, Done):
                done = event
                if event.finish_reason == "length":
                    note = LENGTH_NOTE
    finally:
        await events.aclose()  # after a break: stop the engine (and its provider stream) now
        # Also on cancellation (cog unload): never leave a message stuck half-streamed.
        await asyncio.shield(streamer.finish(note))
    return done
