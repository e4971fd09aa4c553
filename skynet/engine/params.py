"""Generation parameters: what can be set, the allowed ranges, and how values are parsed.

Owners and admins type values as text (prefix or slash); ``parse`` turns that into a typed value
or raises :class:`~skynet.engine.errors.InvalidValue` with the allowed range, so the shell can
answer with a friendly error and keep the previous value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from .errors import InvalidValue
from .i18n import _

ParamValue = Union[float, int, str]

SYSTEM_PROMPT = "system_prompt"
MAX_SYSTEM_PROMPT_CHARS = 4000

DEFAULT_SYSTEM_PROMPT = (
    "You are Skynet, a helpful assistant in a Discord server. Answer clearly and concisely, "
    "using Discord markdown. Several people may talk to you in one channel; each user message "
    "is prefixed with the speaker's name."
)


def param_help(name: str) -> str:
    """A line of help for parameter ``name``, in the reader's language (shown by the param list)."""
    texts = {
        "temperature": _("Randomness: lower is more focused, higher more creative."),
        "top_p": _("Nucleus sampling: only consider the top share of probability mass."),
        "max_tokens": _("Longest reply, in tokens."),
        "presence_penalty": _("Positive values push the model towards new topics."),
        "frequency_penalty": _("Positive values discourage repeating the same words."),
        SYSTEM_PROMPT: _("Instructions the model follows in every conversation."),
        "reasoning_effort": _("How hard a reasoning model thinks before answering (reasoning models only)."),
        "reasoning_display": _("How a reasoning model's thinking is shown: hidden, spoiler or file."),
    }
    return texts.get(name, "")


@dataclass(frozen=True)
class ParamSpec:
    """One settable parameter: its type and its bounds; ``help`` is its line of help."""

    name: str
    kind: type
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    choices: Tuple[str, ...] = ()  # a word among these (kind str)

    @property
    def help(self) -> str:
        """A line of help, translated when shown."""
        return param_help(self.name)

    @property
    def allowed(self) -> str:
        """The allowed values, as a user would read them."""
        if self.choices:
            return _("one of {choices}").format(choices=", ".join(f"`{c}`" for c in self.choices))
        if self.kind is str:
            return _("text of at most {limit} characters").format(limit=MAX_SYSTEM_PROMPT_CHARS)
        if self.kind is int:
            return _("a whole number from {low} to {high}").format(
                low=_fmt(self.minimum), high=_fmt(self.maximum)
            )
        return _("a number from {low} to {high}").format(low=_fmt(self.minimum), high=_fmt(self.maximum))

    def parse(self, text: str) -> ParamValue:
        """Parse and validate an owner-typed value; raise ``InvalidValue`` naming the range."""
        text = text.strip()
        if self.choices:
            value = text.lower()
            if value not in self.choices:
                raise InvalidValue(
                    _("`{value}` is not valid for `{name}`: use {allowed}.").format(
                        value=text[:50], name=self.name, allowed=self.allowed
                    )
                )
            return value
        if self.kind is str:
            if not text:
                raise InvalidValue(
                    _("`{name}` can't be empty; use `reset` to go back to the default.").format(
                        name=self.name
                    )
                )
            if len(text) > MAX_SYSTEM_PROMPT_CHARS:
                raise InvalidValue(
                    _("`{name}` is {length} characters long; the limit is {limit}.").format(
                        name=self.name, length=len(text), limit=MAX_SYSTEM_PROMPT_CHARS
                    )
                )
            return text
        try:
            number = float(text)
        except ValueError:
            raise InvalidValue(
                _("`{value}` is not valid for `{name}`: use {allowed}.").format(
                    value=text[:50], name=self.name, allowed=self.allowed
                )
            ) from None
        if self.kind is int:
            if not number.is_integer():
                raise InvalidValue(
                    _("`{name}` must be {allowed}.").format(name=self.name, allowed=self.allowed)
                )
            value: ParamValue = int(number)
        else:
            value = number
        if not math.isfinite(number) or not (self.minimum <= number <= self.maximum):
            raise InvalidValue(
                _("`{name}` must be {allowed}; got `{value}`.").format(
                    name=self.name, allowed=self.allowed, value=text[:50]
                )
            )
        return value


def _fmt(value: Optional[float]) -> str:
    return f"{value:g}" if value is not None else "?"


PARAMS: Dict[str, ParamSpec] = {
    spec.name: spec
    for spec in (
        ParamSpec("temperature", float, 0.0, 2.0),
        ParamSpec("top_p", float, 0.0, 1.0),
        ParamSpec("max_tokens", int, 1, 128000),
        ParamSpec("presence_penalty", float, -2.0, 2.0),
        ParamSpec("frequency_penalty", float, -2.0, 2.0),
        ParamSpec(SYSTEM_PROMPT, str),
        ParamSpec("reasoning_effort", str, choices=("none", "minimal", "low", "medium", "high", "xhigh")),
        ParamSpec("reasoning_display", str, choices=("hidden", "spoiler", "file")),
    )
}


def spec_for(name: str) -> ParamSpec:
    """The spec for ``name`` or an ``InvalidValue`` listing the parameters that exist."""
    try:
        return PARAMS[name.strip().lower()]
    except KeyError:
        raise InvalidValue(
            _("There is no parameter `{name}`. Choose one of: {names}.").format(
                name=name[:50], names=", ".join(PARAMS)
            )
        ) from None


# Settings with a parameter's scopes that are the cog's own, never sent to a provider.
LOCAL_PARAMS = frozenset({SYSTEM_PROMPT, "reasoning_display"})


def provider_kwargs(params: Mapping[str, Any], *, max_tokens_field: str = "max_tokens") -> Dict[str, Any]:
    """The keyword arguments for a chat completion request (the system prompt is a message instead).

    Only explicitly set parameters are sent, so a provider's own defaults apply otherwise; some
    models (OpenAI's reasoning models) reject parameters they don't support.
    """
    kwargs = {name: value for name, value in params.items() if name not in LOCAL_PARAMS and name in PARAMS}
    if "max_tokens" in kwargs and max_tokens_field != "max_tokens":
        kwargs[max_tokens_field] = kwargs.pop("max_tokens")
    return kwargs
