"""Events the chat engine yields while it answers a request.

The Discord shell renders them: text deltas become message edits, a failure becomes a short
note at the end of the reply, ``Done`` closes the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's answer, in order."""

    text: str


@dataclass(frozen=True)
class Usage:
    """Tokens the request consumed; ``estimated`` when the provider reported none."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    cost_usd: Optional[float] = None
    reasoning_tokens: int = 0  # part of completion_tokens: what a reasoning model thought

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Failed:
    """The request failed; ``message`` is safe to show to the user (no secrets, no internals)."""

    kind: str
    message: str


@dataclass(frozen=True)
class Done:
    """The answer is complete."""

    text: str
    model: str
    endpoint: str
    finish_reason: str = "stop"
    fallback: Optional[str] = None  # "answered by groq:llama-3.1-8b because openai was unavailable"
    images: Tuple[Any, ...] = ()  # images tools returned (MCP), attached to the reply: ToolImage(mime, data)


@dataclass(frozen=True)
class Status:
    """A transient status line for the reply ("⏳ The provider is busy, retrying in 30 s…"):
    shown while waiting, replaced by the answer's text."""

    text: str


@dataclass(frozen=True)
class ToolImages:
    """Images a tool step returned (``ToolImage``: mime, data); the engine puts them on ``Done``."""

    images: Tuple[Any, ...]


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of a reasoning model's thinking: never part of the answer (see engine.media.reasoning)."""

    text: str


ChatEvent = Union[TextDelta, Usage, Failed, Done, Status, ReasoningDelta]
