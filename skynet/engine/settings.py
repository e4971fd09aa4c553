"""Resolving settings across scopes: most specific wins (channel ▸ server ▸ global ▸ default).

Each scope stores an optional model and a dict of parameters. :func:`resolve` merges the layers
for one request and remembers where every value came from, so ``show`` commands can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .errors import InvalidValue
from .i18n import _
from .params import DEFAULT_SYSTEM_PROMPT, SYSTEM_PROMPT

DEFAULT_SCOPE = "default"
# Ordered from most to least specific.
SCOPES = ("channel", "guild", "global", DEFAULT_SCOPE)


def scope_label(scope: str) -> str:
    """What users read for a scope ("this server"...), in their language; unknown scopes as is."""
    labels = {
        "channel": _("this channel"),
        "guild": _("this server"),
        "global": _("global"),
        DEFAULT_SCOPE: _("default"),
    }
    return labels.get(scope, scope)


@dataclass(frozen=True)
class ModelRef:
    """A model on a named endpoint; written ``endpoint:model`` (``openai:gpt-4o-mini``)."""

    endpoint: str
    name: str

    def __str__(self) -> str:
        return f"{self.endpoint}:{self.name}"

    def to_json(self) -> Dict[str, str]:
        return {"endpoint": self.endpoint, "name": self.name}

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, str]]) -> Optional["ModelRef"]:
        if not data or not data.get("endpoint") or not data.get("name"):
            return None
        return cls(data["endpoint"], data["name"])


def parse_model_ref(text: str, endpoints: Sequence[str], default_endpoint: str) -> ModelRef:
    """Parse ``model`` or ``endpoint:model``.

    The prefix counts as an endpoint only if such an endpoint exists, because model names
    contain colons themselves (Ollama's ``llama3:8b``) and slashes (OpenRouter's ``openai/gpt-4o``).
    """
    text = text.strip()
    if not text or len(text) > 200 or any(ch.isspace() for ch in text):
        raise InvalidValue(_("A model name is one word such as `gpt-4o-mini` or `openai:gpt-4o-mini`."))
    prefix, sep, rest = text.partition(":")
    if sep and prefix in endpoints and rest:
        return ModelRef(prefix, rest)
    return ModelRef(default_endpoint, text)


@dataclass(frozen=True)
class Layer:
    """The settings stored at one scope."""

    scope: str
    model: Optional[ModelRef] = None
    params: Mapping[str, Any] = field(default_factory=dict)
    fallbacks: Optional[Tuple[ModelRef, ...]] = None  # None: not set here (inherit)


@dataclass(frozen=True)
class ResolvedSettings:
    """The effective settings for one request, with the scope each value came from."""

    model: ModelRef
    model_source: str
    params: Mapping[str, Any]
    sources: Mapping[str, str]
    fallbacks: Tuple[ModelRef, ...] = ()  # tried in order when the model is unavailable
    fallbacks_source: str = DEFAULT_SCOPE

    @property
    def system_prompt(self) -> str:
        return self.params.get(SYSTEM_PROMPT, DEFAULT_SYSTEM_PROMPT)


def resolve(layers: Sequence[Layer], default_model: ModelRef) -> ResolvedSettings:
    """Merge ``layers`` (most specific first) over the built-in defaults."""
    model: Tuple[ModelRef, str] = (default_model, DEFAULT_SCOPE)
    params: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    fallbacks: Tuple[Tuple[ModelRef, ...], str] = ((), DEFAULT_SCOPE)
    for layer in reversed(layers):  # least specific first, so later layers override
        if layer.model is not None:
            model = (layer.model, layer.scope)
        if layer.fallbacks is not None:
            fallbacks = (layer.fallbacks, layer.scope)
        for name, value in layer.params.items():
            params[name] = value
            sources[name] = layer.scope
    return ResolvedSettings(
        model=model[0],
        model_source=model[1],
        params=params,
        sources=sources,
        fallbacks=fallbacks[0],
        fallbacks_source=fallbacks[1],
    )
