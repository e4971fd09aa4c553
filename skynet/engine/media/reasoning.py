"""Reasoning models: their thinking kept apart from the answer, and the settings that shape it.

Providers stream a model's reasoning three ways: ``delta.reasoning_content`` (DeepSeek, vLLM,
LM Studio...), ``delta.reasoning`` (OpenRouter) or inline ``<think>…</think>`` in the content
(many local models). The stream reader turns all three into :class:`ReasoningDelta` parts, so the
reasoning never reaches the answer text, the conversation memory or Discord as answer.

How a server sees it (``reasoning_display``): ``hidden`` (a status line "thinking… 12 s" while the
model thinks), ``spoiler`` (posted under the answer behind a spoiler) or ``file`` (attached as a
text file).
"""

from __future__ import annotations

from typing import List, Tuple, Union

from ..errors import InvalidValue
from ..events import ReasoningDelta, TextDelta
from ..i18n import _

REASONING_EFFORT = "reasoning_effort"
# The values OpenAI documents (``none`` and ``xhigh`` on the newest models); other providers
# accept a subset and answer a clear 400 for the rest, which the error mapper shows.
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

HIDDEN, SPOILER, FILE = "hidden", "spoiler", "file"
DISPLAYS = (HIDDEN, SPOILER, FILE)
DEFAULT_DISPLAY = HIDDEN

OPEN_TAG, CLOSE_TAG = "<think>", "</think>"


def parse_effort(text: str) -> str:
    value = str(text).strip().lower()
    if value not in EFFORTS:
        raise InvalidValue(
            _("`{value}` is not a reasoning effort; choose one of: {choices}.").format(
                value=str(text)[:30], choices=", ".join(f"`{e}`" for e in EFFORTS)
            )
        )
    return value


def parse_display(text: str) -> str:
    value = str(text).strip().lower()
    if value not in DISPLAYS:
        raise InvalidValue(
            _("`{value}` is not a way to show reasoning; choose `hidden`, `spoiler` or `file`.").format(
                value=str(text)[:30]
            )
        )
    return value


def reasoning_of(delta: dict) -> str:
    """The reasoning text a chunk's ``delta`` carries in a dedicated field, if any."""
    text = delta.get("reasoning_content") or delta.get("reasoning")
    return text if isinstance(text, str) else ""


def reasoning_tokens_of(usage: dict) -> int:
    """Reasoning tokens from a usage object (``completion_tokens_details.reasoning_tokens``)."""
    details = usage.get("completion_tokens_details") or {}
    try:
        return int(details.get("reasoning_tokens") or 0) if isinstance(details, dict) else 0
    except (TypeError, ValueError):
        return 0


Piece = Union[TextDelta, ReasoningDelta]


class ThinkTags:
    """Splits streamed content into answer text and ``<think>…</think>`` reasoning.

    Tags may be cut anywhere between chunks: a trailing fragment that could begin a tag is held
    back until the next chunk decides. Content without ``<`` outside a think block takes a fast
    path (one substring test per chunk).
    """

    __slots__ = ("_inside", "_held", "_strip", "idle")

    def __init__(self) -> None:
        self._inside = False
        self._held = ""
        self._strip = False  # after `</think>`: the blank lines before the answer are dropped
        self.idle = True  # outside a think block, nothing held: plain text passes as it is

    def split(self, content: str) -> List[Piece]:
        if self.idle and "<" not in content:
            return [TextDelta(content)]
        text = self._held + content
        self._held = ""
        out: List[Piece] = []
        while text:
            tag = CLOSE_TAG if self._inside else OPEN_TAG
            at = text.find(tag)
            if at >= 0:
                self._emit(out, text[:at])
                text = text[at + len(tag) :]
                self._inside = not self._inside
                self._strip = not self._inside
                continue
            keep = _partial_suffix(text, tag)
            self._emit(out, text[: len(text) - keep])
            self._held = text[len(text) - keep :]
            break
        self.idle = not (self._inside or self._held or self._strip)
        return out

    def flush(self) -> List[Piece]:
        """The end of the stream: a held fragment was text after all (or unfinished reasoning)."""
        held, self._held = self._held, ""
        out: List[Piece] = []
        self._emit(out, held)
        self.idle = not (self._inside or self._strip)
        return out

    def _emit(self, out: List[Piece], text: str) -> None:
        if self._inside:
            if text:
                out.append(ReasoningDelta(text))
            return
        if self._strip:
            text = text.lstrip()
            self._strip = not text
        if text:
            out.append(TextDelta(text))


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of ``text`` that is the beginning of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class Thinking:
    """Collects one answer's reasoning and times it, for the status line and what is shown after."""

    def __init__(self) -> None:
        self.parts: List[str] = []
        self.started: float = 0.0
        self.ended: float = 0.0

    def add(self, text: str, now: float) -> None:
        if not self.parts:
            self.started = now
        self.parts.append(text)
        self.ended = now

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def seconds(self, now: float) -> int:
        return max(0, int(now - self.started)) if self.parts else 0


def status_line(seconds: int) -> str:
    """The status shown while the model thinks."""
    return _("💭 thinking… {seconds} s").format(seconds=seconds)


def thought_for(seconds: int) -> str:
    return _("💭 Thought for {seconds} s").format(seconds=seconds)


SPOILER_LIMIT = 1900  # one Discord message with its heading


def spoiler_text(reasoning: str, seconds: int) -> str:
    """The reasoning behind a spoiler, under a heading; cut (and said so) to fit one message."""
    body = reasoning.replace("||", "|\u200b|")  # a `||` inside would close the spoiler early
    cut = len(body) > SPOILER_LIMIT
    if cut:
        body = body[: SPOILER_LIMIT - 1] + "…"
    heading = f"-# {thought_for(seconds)}"
    note = "\n-# " + _("(shortened; the full reasoning is longer)") if cut else ""
    return f"{heading}\n||{body}||{note}"


def reasoning_file(reasoning: str, model: str) -> Tuple[str, bytes]:
    """A file name and body (UTF-8 markdown) for the ``file`` display."""
    return "reasoning.md", f"# Reasoning of {model}\n\n{reasoning}\n".encode("utf-8")
