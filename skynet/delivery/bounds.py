"""How much one answer may post: an owner-set cap on messages and on characters, then a file.

The model's ``max_tokens`` is the first bound on an answer's length. These are the second, on what
one answer may put in a channel (a provider that streams a megabyte would otherwise post hundreds
of 2,000-character messages, one channel's whole allowance for minutes):

* at most ``max_messages`` messages of text (default 10), and
* at most ``max_characters`` characters of text in them (default 25,000);

past either, the text stops being shown where it stands, and when the answer is complete one more
message carries a note and the **whole** answer as a Markdown file. A short room is kept in the
last message for the reply's own notes (a fallback line, an error), so they never add a message.
The answer is kept for the file up to ``HARD_LIMIT`` characters; a stream still going then is
stopped there (the file's note says so).

``bounded()`` sits between the engine's events and the streamer; ``deliver_file()`` posts the file
after the streamer finished. The check costs nothing for answers shorter than one message.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any, AsyncGenerator, Awaitable, Callable, List, Mapping, Optional

import discord

from ..engine.events import ChatEvent, TextDelta
from ..engine.i18n import _
from .pacing import FINAL, Pacer
from .split import DISCORD_LIMIT, IncrementalSplitter

DEFAULT_MAX_MESSAGES = 10
DEFAULT_MAX_CHARACTERS = 25_000  # above 10 full messages: by default the message cap binds
MESSAGES_RANGE = (1, 50)
CHARACTERS_RANGE = (500, 100_000)
HARD_LIMIT = 2_000_000  # characters kept for the file (≤ 8 MB in UTF-8: under Discord's 10 MiB)
NOTE_ROOM = 300  # characters kept free in the last message for the reply's own notes
FILE_NAME = "answer.md"


@dataclass(frozen=True)
class AnswerBounds:
    """The owner's caps on one answer (``[p]ai answers``)."""

    max_messages: int = DEFAULT_MAX_MESSAGES
    max_characters: int = DEFAULT_MAX_CHARACTERS

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> "AnswerBounds":
        data = data or {}
        return cls(
            int(data.get("messages") or DEFAULT_MAX_MESSAGES),
            int(data.get("characters") or DEFAULT_MAX_CHARACTERS),
        )

    def to_json(self) -> dict:
        return {"messages": self.max_messages, "characters": self.max_characters}


class BoundedAnswer:
    """Lets through the text that fits the bounds and keeps the whole answer for the file."""

    def __init__(self, bounds: AnswerBounds, limit: int = DISCORD_LIMIT) -> None:
        self.bounds = bounds
        self._limit = limit
        self._splitter = IncrementalSplitter(limit)  # the streamer's split, to count its messages
        self._shown = 0  # characters let through
        self._parts: List[str] = []
        self._kept = 0
        self.overflow: Optional[str] = None  # "messages" or "characters" once a cap was reached
        self.full = False  # HARD_LIMIT reached: the stream should stop

    @property
    def text(self) -> str:
        """The whole answer (up to ``HARD_LIMIT``)."""
        return "".join(self._parts)

    def take(self, text: str) -> str:
        """The part of ``text`` to show now ("" once a cap was reached)."""
        room = HARD_LIMIT - self._kept
        if len(text) >= room:
            text, self.full = text[:room], True
        self._parts.append(text)
        self._kept += len(text)
        if self.overflow is not None:
            return ""
        shown = text
        char_room = self.bounds.max_characters - NOTE_ROOM - self._shown
        if len(shown) > char_room:
            shown, self.overflow = shown[: max(0, char_room)], "characters"
        # A second message starts only past one message's worth of text: short answers cost nothing.
        if self._shown + len(shown) > self._limit - NOTE_ROOM:
            before = self._settled_copy()
            self._splitter.append(shown)
            if not self._fits(self._splitter):
                # Show the longest start of this piece that fits (pieces may be thousands of
                # characters long): a binary search on copies of the split before it.
                low, high = 0, len(shown) - 1
                while low < high:
                    middle = (low + high + 1) // 2
                    probe = self._copy(before)
                    probe.append(shown[:middle])
                    if self._fits(probe):
                        low = middle
                    else:
                        high = middle - 1
                shown, self.overflow = shown[:low], "messages"
        else:
            self._splitter.append(shown)
        self._shown += len(shown)
        return shown

    def _fits(self, splitter: IncrementalSplitter) -> bool:
        chunks = splitter.chunks()
        cap = self.bounds.max_messages
        return len(chunks) < cap or (len(chunks) == cap and len(chunks[-1]) <= self._limit - NOTE_ROOM)

    def _settled_copy(self) -> IncrementalSplitter:
        self._splitter.chunks()  # nothing pending: a copy is then its lists and strings
        return self._copy(self._splitter)

    @staticmethod
    def _copy(splitter: IncrementalSplitter) -> IncrementalSplitter:
        twin = copy.copy(splitter)
        twin.frozen = list(splitter.frozen)
        twin._pending = list(splitter._pending)
        twin._tail_chunks = list(splitter._tail_chunks)
        return twin

    def note(self) -> str:
        """The line that goes with the file."""
        if self.overflow == "messages":
            why = _("This answer is longer than {limit} messages").format(limit=self.bounds.max_messages)
        else:
            why = _("This answer is longer than {limit} characters").format(
                limit=f"{self.bounds.max_characters:,}"
            )
        note = _("📎 {why}: the whole answer ({length} characters) is in the attached file.").format(
            why=why, length=f"{self._kept:,}"
        )
        if self.full:
            note += " " + _("It was stopped at {limit} characters.").format(limit=f"{HARD_LIMIT:,}")
        return note

    def file(self) -> discord.File:
        return discord.File(io.BytesIO(self.text.encode("utf-8")), filename=FILE_NAME)


async def bounded(
    events: AsyncGenerator[ChatEvent, None], answer: BoundedAnswer
) -> AsyncGenerator[ChatEvent, None]:
    """``events`` with the text cut to ``answer``'s bounds (the rest is kept for the file)."""
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                shown = answer.take(event.text)
                if shown:
                    yield TextDelta(shown)
                if answer.full:
                    return  # closing ``events`` stops the provider's stream
                continue
            yield event
    finally:
        await events.aclose()


PostFile = Callable[[str, discord.File], Awaitable[Any]]


async def deliver_file(answer: BoundedAnswer, post: PostFile, pacer: Pacer, channel_id: int) -> bool:
    """Post the note and the whole answer as a file if a cap was reached; True if it was."""
    if answer.overflow is None:
        return False
    await pacer.acquire(channel_id, FINAL)
    await post(answer.note(), answer.file())
    return True
