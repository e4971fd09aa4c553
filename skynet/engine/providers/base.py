"""The provider interface: stream a chat, list models, embed texts."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Union
from urllib.parse import urlparse

from ..errors import InvalidValue
from ..events import ReasoningDelta, TextDelta
from ..i18n import _

Message = Mapping[str, Any]

DEFAULT_TIMEOUT = 60.0
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 600.0


@dataclass(frozen=True)
class Endpoint:
    """A named OpenAI-compatible endpoint.

    ``token_service`` names the Red shared API token service holding its ``api_key``
    (``[p]set api <service> api_key,<key>``); ``None`` for servers that need no key (Ollama).
    """

    name: str
    base_url: str
    token_service: Optional[str] = None
    timeout: float = DEFAULT_TIMEOUT

    def to_json(self) -> Dict[str, Any]:
        return {"base_url": self.base_url, "token_service": self.token_service, "timeout": self.timeout}

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> "Endpoint":
        return cls(
            name, data["base_url"], data.get("token_service"), float(data.get("timeout", DEFAULT_TIMEOUT))
        )

    @property
    def is_openai(self) -> bool:
        return urlparse(self.base_url).hostname == "api.openai.com"


def check_endpoint_name(name: str) -> str:
    name = name.strip().lower()
    if not (1 <= len(name) <= 32) or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise InvalidValue(_("An endpoint name is 1-32 letters, digits, `-` or `_` (e.g. `ollama`)."))
    return name


MAX_URL_LENGTH = 300  # stored and shown in lists, which must fit a Discord message


def check_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidValue(
            _(
                "That base URL is {length} characters long; the limit is {limit}. "
                "Use the endpoint's API root, e.g. `https://api.groq.com/openai/v1`."
            ).format(length=len(url), limit=MAX_URL_LENGTH)
        )
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidValue(
            _(
                "The base URL must start with http:// or https://, e.g. `https://api.groq.com/openai/v1` "
                "or `http://localhost:11434/v1`."
            )
        )
    return url


def check_timeout(seconds: float) -> float:
    if not (MIN_TIMEOUT <= seconds <= MAX_TIMEOUT):
        raise InvalidValue(
            _("The timeout must be between {low} and {high} seconds.").format(
                low=f"{MIN_TIMEOUT:g}", high=f"{MAX_TIMEOUT:g}"
            )
        )
    return seconds


@dataclass(frozen=True)
class TokenUsage:
    """Usage as reported by the provider."""

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0  # included in completion_tokens


@dataclass(frozen=True)
class Finish:
    """The provider finished the answer (``stop``, ``length``, ``content_filter``...)."""

    reason: str


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call the model asked for, assembled from the streamed deltas.

    ``arguments`` is the raw JSON text the model produced (it may be invalid JSON).
    """

    id: str
    name: str
    arguments: str


StreamPart = Union[TextDelta, TokenUsage, Finish, ToolCallRequest, ReasoningDelta]


class ChatProvider(abc.ABC):
    """One AI provider endpoint."""

    endpoint: Endpoint

    @abc.abstractmethod
    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message],
        params: Mapping[str, Any],
        tools: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> AsyncIterator[StreamPart]:
        """Stream the answer: text deltas, then ``Finish``, and ``TokenUsage`` when reported.

        With ``tools`` (OpenAI tool schemas) the model may instead ask for tool calls: each comes
        as one assembled ``ToolCallRequest`` before ``Finish("tool_calls")``.

        Raises ``StreamCut`` when the stream ends without a finish reason, and the provider's
        own exceptions otherwise (mapped to user messages by ``errors.explain``).
        """

    @abc.abstractmethod
    async def list_models(self) -> List[str]:
        """The ids of the models this endpoint serves."""

    @abc.abstractmethod
    async def embed(self, model: str, texts: Sequence[str]) -> List[List[float]]:
        """One embedding vector per text."""

    async def aclose(self) -> None:
        """Release connections."""
