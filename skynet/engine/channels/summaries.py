"""``ai tldr``: a channel's recent history summarised, with links to the key messages.

The shell reads the history the member can see and hands it over as :class:`HistoryLine` rows;
this module bounds it (messages and tokens), cuts it into chunks that fit one request, has each
chunk summarised, then combines the partial summaries into one. Messages are numbered once for the
whole history, so a citation ``[12]`` means the same message in every chunk and in the combined
summary, and :func:`link_citations` turns it into a jump link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, List, Optional, Sequence

from ..errors import InvalidValue
from ..i18n import _

DEFAULT_MESSAGES = 200
MAX_MESSAGES = 1000  # history read at most (10 pages of Discord's 100)
MAX_PERIOD = 7 * 86400
MAX_INPUT_TOKENS = 24_000  # history tokens summarised at most, all chunks together
CHUNK_TOKENS = 3_000  # one summarising request's history
LINE_CHARS = 600  # a longer message is cut: one wall of text must not crowd out the rest
MAX_QUESTION_CHARS = 300
COOLDOWN_SECONDS = 60.0  # per channel
UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Complete = Callable[[List[Dict[str, str]]], Awaitable[str]]


@dataclass(frozen=True)
class HistoryLine:
    """One message of the history, oldest first in every list."""

    message_id: int
    author: str
    text: str
    at: float
    url: str  # the message's jump link
    tokens: int = 0


@dataclass(frozen=True)
class TldrRange:
    """How far back to read: a number of messages, or a period in seconds."""

    count: Optional[int] = None
    seconds: Optional[float] = None

    @property
    def limit(self) -> int:
        if self.count:
            return self.count
        return MAX_MESSAGES if self.seconds else DEFAULT_MESSAGES


def parse_range(word: str) -> Optional[TldrRange]:
    """``"150"`` → 150 messages, ``"2h"``/``"30m"``/``"1d"``/``"1w"`` → a period; None if ``word``
    is neither (it then starts the question). Out-of-range values are refused."""
    word = word.strip().lower()
    if word.isdigit():
        count = int(word)
        if not 1 <= count <= MAX_MESSAGES:
            raise InvalidValue(
                _("I can read between 1 and {limit} messages.").format(limit=MAX_MESSAGES)
            )
        return TldrRange(count=count)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(m|min|h|d|w)", word)
    if not match:
        return None
    seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not 60 <= seconds <= MAX_PERIOD:
        raise InvalidValue(_("The period must be between 1m and 7d, e.g. `2h` or `1d`."))
    return TldrRange(seconds=seconds)


def bound(lines: Sequence[HistoryLine], *, max_messages: int, max_tokens: int = MAX_INPUT_TOKENS) -> List[HistoryLine]:
    """The newest lines that fit both limits, oldest first."""
    kept: List[HistoryLine] = []
    budget = max_tokens
    for line in reversed(lines):
        if len(kept) >= max_messages or line.tokens > budget:
            break
        budget -= line.tokens
        kept.append(line)
    return kept[::-1]


def clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"


def chunks(lines: Sequence[HistoryLine], chunk_tokens: int = CHUNK_TOKENS) -> List[List[HistoryLine]]:
    """Consecutive runs of lines of at most ``chunk_tokens`` each (a longer line alone)."""
    out: List[List[HistoryLine]] = []
    current: List[HistoryLine] = []
    used = 0
    for line in lines:
        if current and used + line.tokens > chunk_tokens:
            out.append(current)
            current, used = [], 0
        current.append(line)
        used += line.tokens
    if current:
        out.append(current)
    return out


INSTRUCTIONS = (
    "You summarise a Discord channel's conversation for a member who missed it. Messages are "
    "numbered [n]. Write a short summary in bullet points: the topics, decisions, open questions "
    "and who said what when it matters. After each point cite the one or two key messages it comes "
    "from by number, like [12]. Cite only numbers that appear in the input. Never mention or ping "
    "anyone with @. Answer in the language of the conversation."
)
QUESTION = "The member asks specifically: {question}. Focus on what answers it; say so if nothing does."


def chunk_prompt(numbered: Sequence[tuple], question: Optional[str], part: int, parts: int) -> List[Dict[str, str]]:
    """The request summarising one chunk; ``numbered`` holds ``(n, line)`` pairs."""
    body = "\n".join(f"[{n}] {line.author}: {clip(line.text)}" for n, line in numbered)
    system = INSTRUCTIONS + (" " + QUESTION.format(question=question) if question else "")
    if parts > 1:
        system += f" This is part {part} of {parts} of the conversation; another step merges the parts."
    return [{"role": "system", "content": system}, {"role": "user", "content": body}]


def combine_prompt(partials: Sequence[str], question: Optional[str]) -> List[Dict[str, str]]:
    system = (
        "Merge these partial summaries of consecutive parts of one Discord conversation into one "
        "short summary in bullet points, oldest topics first. Keep the message citations like [12] "
        "exactly as they are; do not invent new ones. Never mention or ping anyone with @."
    )
    if question:
        system += " " + QUESTION.format(question=question)
    body = "\n\n".join(f"Part {i}:\n{text}" for i, text in enumerate(partials, 1))
    return [{"role": "system", "content": system}, {"role": "user", "content": body}]


CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def link_citations(text: str, links: Dict[int, str]) -> str:
    """``[12]`` / ``[3, 4]`` → jump links to those messages; numbers that name no message are
    dropped (a model inventing a citation must not produce a link to nowhere)."""

    def replace(match: "re.Match[str]") -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        known = [f"[#{n}](<{links[n]}>)" for n in numbers if n in links]
        return " ".join(known)

    return CITATION.sub(replace, text)


@dataclass(frozen=True)
class Summary:
    text: str  # with jump links
    messages: int
    chunks: int
    first_at: float
    last_at: float


class Summarizer:
    """Chunk, summarise each chunk, combine. ``complete`` is one provider request (the shell's,
    which accounts for its usage); it is called ``len(chunks) + (1 if several)`` times."""

    def __init__(self, complete: Complete, chunk_tokens: int = CHUNK_TOKENS) -> None:
        self._complete = complete
        self._chunk_tokens = chunk_tokens

    async def summarize(self, lines: Sequence[HistoryLine], question: Optional[str] = None) -> Summary:
        if not lines:
            raise InvalidValue(_("There is nothing to summarise there."))
        numbered = list(enumerate(lines, 1))
        links = {n: line.url for n, line in numbered}
        parts = chunks(lines, self._chunk_tokens)
        partials: List[str] = []
        start = 0
        for index, part in enumerate(parts, 1):
            rows = numbered[start : start + len(part)]
            start += len(part)
            partials.append(await self._complete(chunk_prompt(rows, question, index, len(parts))))
        text = partials[0] if len(partials) == 1 else await self._complete(combine_prompt(partials, question))
        return Summary(link_citations(text, links), len(lines), len(parts), lines[0].at, lines[-1].at)

    @staticmethod
    def request_count(lines: Sequence[HistoryLine], chunk_tokens: int = CHUNK_TOKENS) -> int:
        parts = len(chunks(lines, chunk_tokens))
        return parts + (1 if parts > 1 else 0)


class ChannelCooldown:
    """At most one summary per channel every ``seconds``."""

    def __init__(self, clock, seconds: float = COOLDOWN_SECONDS) -> None:
        self._clock = clock
        self.seconds = seconds
        self._last: Dict[int, float] = {}

    def retry_at(self, channel_id: int) -> Optional[float]:
        last = self._last.get(channel_id)
        if last is None or self._clock.now() - last >= self.seconds:
            return None
        return last + self.seconds

    def start(self, channel_id: int) -> None:
        now = self._clock.now()
        self._last[channel_id] = now
        if len(self._last) > 10_000:
            self._last = {c: t for c, t in self._last.items() if now - t < self.seconds}

    def cancel(self, channel_id: int) -> None:
        """The summary failed before any answer: let the member try again at once."""
        self._last.pop(channel_id, None)
