"""Generation parameters: what can be set, the allowed ranges, and how values are parsed.

Owners and admins type values as text (prefix or slash); ``parse`` turns that into a typed value
or raises :class:`~skynet.engine.errors.InvalidValue` with the allowed range, so the shell can
answer with a friendly error and keep the previous value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Union

from .errors import InvalidValue

ParamValue = Union[float, int, str]

SYSTEM_PROMPT = "system_prompt"
MAX_SYSTEM_PROMPT_CHARS = 4000

DEFAULT_SYSTEM_PROMPT = (
    "You are Skynet, a helpful assistant in a Discord server. Answer clearly and concisely, "
    "using Discord markdown. Several people may talk to you in one channel; each user message "
    "is prefixed with the speaker's name."
)


@dataclass(frozen=True)
class ParamSpec:
    """One settable parameter: its type, its bounds and a line of help."""

    name: str
    kind: type
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    help: str = ""

    @property
    def allowed(self) -> str:
        """The allowed values, as a user would read them."""
        if self.kind is str:
            return f"text of at most {MAX_SYSTEM_PROMPT_CHARS} characters"
        kind = "a whole number" if self.kind is int else "a number"
        return f"{kind} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"

    def parse(self, text: str) -> ParamValue:
        """Parse and validate an owner-typed value; raise ``InvalidValue`` naming the range."""
        text = text.strip()
        if self.kind is str:
            if not text:
                raise InvalidValue(f"`{self.name}` can't be empty; use `reset` to go back to the default.")
            if len(text) > MAX_SYSTEM_PROMPT_CHARS:
                raise InvalidValue(
                    f"`{self.name}` is {len(text)} characters long; the limit is {MAX_SYSTEM_PROMPT_CHARS}."
                )
            return text
        try:
            number = float(text)
        except ValueError:
            raise InvalidValue(f"`{text[:50]}` is not valid for `{self.name}`: use {self.allowed}.") from None
        if self.kind is int:
            if not number.is_integer():
                raise InvalidValue(f"`{self.name}` must be {self.allowed}.")
            value: ParamValue = int(number)
        else:
            value = number
        if not math.isfinite(number) or not (self.minimum <= number <= self.maximum):
            raise InvalidValue(f"`{self.name}` must be {self.allowed}; got `{text[:50]}`.")
        return value


def _fmt(value: Optional[float]) -> str:
    return f"{value:g}" if value is not None else "?"


PARAMS: Dict[str, ParamSpec] = {
    spec.name: spec
    for spec in (
        ParamSpec("temperature", float, 0.0, 2.0, "Randomness: lower is more focused, higher more creative."),
        ParamSpec(
            "top_p", float, 0.0, 1.0, "Nucleus sampling: only consider the top share of probability mass."
        ),
        ParamSpec("max_tokens", int, 1, 128000, "Longest reply, in tokens."),
        ParamSpec("presence_penalty", float, -2.0, 2.0, "Positive values push the model towards new topics."),
        ParamSpec(
            "frequency_penalty", float, -2.0, 2.0, "Positive values discourage repeating the same words."
        ),
        ParamSpec(SYSTEM_PROMPT, str, help="Instructions the model follows in every conversation."),
    )
}


def spec_for(name: str) -> ParamSpec:
    """The spec for ``name`` or an ``InvalidValue`` listing the parameters that exist."""
    try:
        return PARAMS[name.strip().lower()]
    except KeyError:
        raise InvalidValue(
            f"There is no parameter `{name[:50]}`. Choose one of: {', '.join(PARAMS)}."
        ) from None


def provider_kwargs(params: Mapping[str, Any], *, max_tokens_field: str = "max_tokens") -> Dict[str, Any]:
    """The keyword arguments for a chat completion request (the system prompt is a message instead).

    Only explicitly set parameters are sent, so a provider's own defaults apply otherwise; some
    models (OpenAI's reasoning models) reject parameters they don't support.
    """
    kwargs = {name: value for name, value in params.items() if name != SYSTEM_PROMPT and name in PARAMS}
    if "max_tokens" in kwargs and max_tokens_field != "max_tokens":
        kwargs[max_tokens_field] = kwargs.pop("max_tokens")
    return kwargs
