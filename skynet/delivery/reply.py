"""The streamer: shows an answer as it is generated, by editing Discord messages.

Text arrives in small deltas; a background task renders the latest text whenever the pacer (see
``pacing``) grants an operation: the first message as soon as text exists, then edits every
1.5 s per channel, and the final edit (or continuation) at once: progress edits leave the channel
slots the end of the answer will need (``_end_reserve``). Past 2000 characters the answer continues in new messages (see ``split``); the splitting
is incremental, so finished messages are never looked at again and a long answer costs time
linear in its length. Nothing it sends can ping.

Discord failures: a 404 (message deleted) or 403 stops the reply quietly (``broken``: the chat
loop then stops the provider); a 429 tells the pacer to back off, and the same operation is
retried with the latest text, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncGenerator, Awaitable, Callable, List, Optional

import discord

from ..engine.events import ChatEvent, Done, Failed, Status, TextDelta
from ..engine.i18n import _
from .components import Render, edit_kwargs, send_extras
from .pacing import FINAL, FIRST, PROGRESS, TYPING_INTERVAL, Pacer
from .split import IncrementalSplitter
from .style import error_text

log = logging.getLogger("red.skynet.reply")

NO_MENTIONS = discord.AllowedMentions.none()
MAX_RATE_LIMIT_RETRIES = 5
DEFAULT_RETRY_AFTER = 1.0
# Planning the end: progress edits leave channel slots free for the operations that complete the
# answer, so none of them waits for a slot after the last token. Always 1 (the final edit); 2 when
# the text may reach the next message within this many progress intervals (the edit completing
# this message and the continuation); 3 when the text comes so fast that a message fills within
# the channel's window (a continuation and the end can then follow each other closely).
CONTINUATION_HORIZON = 1.5
SPLIT_MARGIN = 150  # the split may come a little before the limit (a paragraph or sentence end)


# The notes a reply can end with, translated when shown (in the locale of the reply's server).
def empty_answer_note() -> str:
    return _("*(The model returned an empty answer.)*")


def length_note() -> str:
    return _("*(The answer stopped at the `max_tokens` limit.)*")


def stopped_note() -> str:
    return _("*(Stopped.)*")


def restarted_note() -> str:
    return _("⚠️ The assistant restarted before this answer was complete. Please ask again.")


# Sends one message; ``first`` is True for the first message of the reply.
Send = Callable[[str, bool], Awaitable[discord.Message]]


def retry_after_of(exc: BaseException) -> Optional[float]:
    """Seconds Discord asked us to wait, if ``exc`` is a rate limit (429), else None."""
    if isinstance(exc, discord.RateLimited):
        return float(exc.retry_after)
    if isinstance(exc, discord.HTTPException) and exc.status == 429:
        headers = getattr(exc.response, "headers", None) or {}
        for name in ("Retry-After", "X-RateLimit-Reset-After"):
            try:
                return float(headers[name])
            except (KeyError, TypeError, ValueError):
                continue
        return DEFAULT_RETRY_AFTER
    return None


def is_global_rate_limit(exc: BaseException) -> bool:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return str(headers.get("X-RateLimit-Global", "")).lower() == "true"
    except AttributeError:
        return False


class ReplyStreamer:
    """Renders a growing text as one or more Discord messages."""

    def __init__(
        self,
        send: Send,
        channel_id: int,
        pacer: Pacer,
        *,
        typing: Optional[Callable[[], Awaitable[Any]]] = None,
        render: Optional[Render] = None,
    ) -> None:
        """``typing`` triggers the channel's typing indicator once; the streamer shows it (paced,
        dropped when the bot's budget is short) until the first text is visible."""
        self._send = send
        self._channel_id = channel_id
        self._pacer = pacer
        self._parts: List[str] = []
        # How text becomes message fields: classic content (2,000) or Components V2 (4,000), and
        # the steering buttons (delivery.components / delivery.controls).
        self._style = render or Render()
        self._splitter = IncrementalSplitter(self._style.limit)
        self._frozen = False  # Stop was pressed: nothing more is shown
        self._status: Optional[str] = None
        self._messages: List[discord.Message] = []
        self._shown: List[str] = []
        self._settled = 0  # messages showing their final chunk: never examined again
        self._dirty = asyncio.Event()
        self._visible = asyncio.Event()
        self._closing = False
        self._broken = False
        self._length = 0  # characters of answer text so far
        self._text_since: Optional[float] = None  # when the first text arrived
        self._task = asyncio.create_task(self._render_loop())
        self._typing_task = asyncio.create_task(self._typing_loop(typing)) if typing else None

    @property
    def messages(self) -> List[discord.Message]:
        return list(self._messages)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def rendering(self) -> asyncio.Task:
        """The task showing the reply: a final edit may outlive its cancelled caller (unload)."""
        return self._task

    def abort(self) -> None:
        """Stop at once: nothing more is sent or edited (the cog unloads; see ``lifecycle``)."""
        self._broken = True
        self._task.cancel()
        if self._typing_task is not None:
            self._typing_task.cancel()
        self._pacer.forget(self)

    @property
    def broken(self) -> bool:
        """Discord refused a send or edit (message deleted, permissions lost): showing more is futile."""
        return self._broken

    @property
    def shown_chunks(self) -> List[str]:
        """What each message shows now."""
        return list(self._shown)

    async def acquire_final(self) -> None:
        """Wait for the pacer's go for one more operation that completes this reply."""
        await self._pacer.acquire(self._channel_id, FINAL, owner=self)

    def freeze(self) -> None:
        """Stop showing new text (the member pressed Stop); the final edit comes with ``finish``."""
        self._frozen = True
        self._status = None
        self._dirty.set()
        self._pacer.hurry(self)

    def append(self, text: str) -> None:
        if text and not self._frozen:
            if self._text_since is None:
                self._text_since = self._pacer.now()
            self._length += len(text)
            self._parts.append(text)
            self._splitter.append(text)
            self._status = None  # answer text replaces any status line
            self._dirty.set()

    def set_status(self, text: Optional[str]) -> None:
        """Show a transient status line: the (italic) content while no answer text exists, else a
        trailing line under the text. ``None`` clears it; the next ``append`` clears it too."""
        text = " ".join(text.split())[:300] if text else None  # one short line
        if text != self._status:
            self._status = text
            self._dirty.set()

    async def finish(self, note: Optional[str] = None) -> List[discord.Message]:
        """Render the final text (plus ``note`` on its own paragraph) and stop."""
        self._frozen = False  # after Stop, the closing note is still shown
        self._status = None
        has_text = any(part.strip() for part in self._parts)
        if note:
            self.append(("\n\n" if has_text else "") + note)
        elif not has_text:
            self.append(empty_answer_note())
        self._closing = True
        self._dirty.set()
        self._pacer.hurry(self)  # an intermediate edit waiting for its slot is now the final one
        if self._typing_task is not None:
            self._typing_task.cancel()
        try:
            await asyncio.wait({self._task})  # an aborted render loop ends cancelled: nothing to raise
            if not self._task.cancelled() and self._task.exception() is not None:
                raise self._task.exception()
            if not self._task.cancelled():  # an aborted reply (unload) posts nothing more
                await self._style.settle(self)  # the buttons each message ends with
        finally:
            self._pacer.forget(self)
        return self.messages

    # ------------------------------------------------------------------ rendering

    def _desired(self) -> List[str]:
        """What the messages should show now: the split text, plus the status line if any."""
        chunks = self._splitter.chunks()
        if self._status:
            line = f"*{self._status}*"  # our own text (tools quote queries in `code`): no escaping
            if not chunks:
                return [line[: self._style.limit]]
            last = chunks[-1] + "\n\n" + line
            if len(last) <= self._style.limit:
                chunks[-1] = last
        return chunks

    async def _render_loop(self) -> None:
        while not self._broken:
            await self._dirty.wait()
            self._dirty.clear()
            await self._render()
            if self._closing and not self._dirty.is_set():
                return

    async def _render(self) -> None:
        index = self._settled
        while not self._broken:
            chunks = self._desired()
            if index >= len(chunks):
                return
            frozen = index < len(self._splitter.frozen)
            if index < len(self._shown) and self._shown[index] == chunks[index]:
                if frozen and index == self._settled:
                    self._settled = index + 1
                index += 1
                continue
            if not self._messages:
                priority = FIRST
            elif frozen or self._closing or index >= len(self._messages):
                priority = FINAL
            else:
                priority = PROGRESS
            reserve = self._end_reserve(len(chunks[index])) if priority == PROGRESS else 1
            if not await self._show(index, priority, reserve):
                return
            index += 1

    def _end_reserve(self, open_length: int) -> int:
        """How many channel slots a progress edit must leave for the operations ending the answer."""
        if self._text_since is None:
            return 1
        pacer = self._pacer
        rate = self._length / max(pacer.now() - self._text_since, pacer.channel_interval)
        room = self._style.limit - SPLIT_MARGIN  # 2,000 or 4,000 (Components V2)
        if open_length + rate * pacer.channel_interval * CONTINUATION_HORIZON < room:
            return 1
        return 3 if rate * pacer.channel_window >= room else 2

    async def _show(self, index: int, priority: int, reserve: int = 1) -> bool:
        """Send or edit message ``index`` with its latest content; False if the reply is broken."""
        for _attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            await self._pacer.acquire(self._channel_id, priority, owner=self, reserve=reserve)
            # More text may have arrived while waiting for the slot: show the latest (the split
            # is prefix-stable, so this chunk still exists and only grew).
            chunks = self._desired()
            if index >= len(chunks):
                return True  # a status line that was cleared meanwhile
            chunk = chunks[index]
            fields = self._style.fields(index, chunk, last=index == len(chunks) - 1, closing=self._closing)
            try:
                if index < len(self._messages):
                    await self._messages[index].edit(**edit_kwargs(fields), allowed_mentions=NO_MENTIONS)
                    self._shown[index] = chunk
                else:
                    self._messages.append(await self._send(fields.get("content"), index == 0, **send_extras(fields)))
                    self._shown.append(chunk)
                self._style.shown(index, fields)
                self._visible.set()
                return True
            except (discord.RateLimited, discord.HTTPException) as exc:
                retry_after = retry_after_of(exc)
                if retry_after is None:
                    # The message was deleted or we lost permissions: stop, post nothing else.
                    log.info("Stopped showing a reply in channel %s: %s", self._channel_id, exc)
                    self._broken = True
                    return False
                log.info(
                    "Discord rate-limited a reply in channel %s; retrying in %.2fs",
                    self._channel_id,
                    retry_after,
                )
                self._pacer.rate_limited(self._channel_id, retry_after, is_global=is_global_rate_limit(exc))
                priority = min(priority, FINAL)
            except Exception:  # e.g. a dropped gateway connection; the render loop must not die silently
                log.exception("Unexpected error showing a reply in channel %s", self._channel_id)
                self._broken = True
                return False
        log.warning("Gave up showing a reply in channel %s after repeated rate limits", self._channel_id)
        self._broken = True
        return False

    async def _typing_loop(self, typing: Callable[[], Awaitable[Any]]) -> None:
        """The typing indicator until text is visible; each one through the pacer or dropped."""
        retry = 0.25
        while not (self._visible.is_set() or self._closing or self._broken):
            if self._pacer.try_typing(self._channel_id):
                try:
                    await typing()
                except Exception as exc:  # typing is cosmetic
                    log.debug("Typing indicator failed in channel %s: %s", self._channel_id, exc)
                    return
                wait = TYPING_INTERVAL
            else:
                # The bot's budget was short: try again soon, then less and less often, so a
                # backlog of replies waiting for their first text doesn't keep the loop busy.
                retry = wait = min(TYPING_INTERVAL, retry * 2)
            try:
                await asyncio.wait_for(self._visible.wait(), wait)
            except asyncio.TimeoutError:
                pass


async def stream_reply(
    events: AsyncGenerator[ChatEvent, None],
    streamer: ReplyStreamer,
    *,
    prefix: str,
    wording: Optional[Callable[[str], str]] = None,
) -> Optional[Done]:
    """Feed an engine's events into ``streamer``; a failure ends the reply with a clear note
    (passed through ``wording``, e.g. to name slash commands' homes)."""
    done: Optional[Done] = None
    note: Optional[str] = None
    try:
        async for event in events:
            if streamer.broken:
                break  # stops the provider's stream too: no tokens spent on an answer nobody sees
            if isinstance(event, TextDelta):
                streamer.append(event.text)
            elif isinstance(event, Status):
                streamer.set_status(event.text)
            elif isinstance(event, Failed):
                note = error_text(event.message, prefix)
                note = wording(note) if wording else note
            elif isinstance(event, Done):
                done = event
                if event.finish_reason == "length":
                    note = length_note()
                elif event.finish_reason == "stopped":
                    note = stopped_note()
                elif event.fallback:
                    note = f"-# ↪ {event.fallback}"
    except asyncio.CancelledError:  # the cog is unloading or reloading
        note = restarted_note()
        raise
    finally:
        await events.aclose()  # after a break: stop the engine (and its provider stream) now
        # Also on cancellation (cog unload): never leave a message stuck half-streamed.
        await asyncio.shield(streamer.finish(note))
    return done
