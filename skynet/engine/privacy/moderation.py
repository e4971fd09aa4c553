"""Moderation: a member's input and the model's output checked by an OpenAI-compatible
``/v1/moderations`` endpoint (the ``omni-moderation-latest`` response shape) and/or the server's
blocked-words list.

Per-category thresholds: a category with a threshold is flagged when its score reaches it; the
others follow the endpoint's own ``flagged`` verdict. An endpoint that is down (connection error,
timeout, 5xx, 429, an answer of another shape) never blocks chat silently: the verdict says
``outage`` and the admin's choice decides: ``open`` lets the text through (and it is noted),
``closed`` refuses it with a notice. Images are sent too when the endpoint takes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import openai

from ..errors import InvalidValue, SkynetError
from ..i18n import _
from .wordlist import BlockedWords

log = logging.getLogger("red.skynet.moderation")

DEFAULT_MODEL = "omni-moderation-latest"
REFUSE, REPORT = "refuse", "report"
ACTIONS = (REFUSE, REPORT)
OPEN, CLOSED = "open", "closed"
CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
TIMEOUT = 8.0


class ModerationRefusal(SkynetError):
    """A member's message (or the model's answer) refused by the server's moderation."""

    kind = "moderated"


def parse_threshold(category: str, value: str) -> Tuple[str, Optional[float]]:
    name = category.strip().lower()
    if name not in CATEGORIES:
        raise InvalidValue(
            _("Unknown category `{name}`. Categories: {names}.").format(name=name, names=", ".join(CATEGORIES))
        )
    if value.strip().lower() in ("default", "reset", "none"):
        return name, None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 < number <= 1.0:
        raise InvalidValue(_("A threshold is a score above 0 and at most 1 (e.g. `0.5`), or `default`."))
    return name, number


@dataclass
class ModerationSettings:
    """One server's choices (stored as a dict in Config; see :meth:`from_json`)."""

    endpoint: Optional[str] = None  # base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1
    model: str = DEFAULT_MODEL
    token_service: str = "openai"  # Red shared API token service holding ``api_key``
    thresholds: Dict[str, float] = field(default_factory=dict)
    words: BlockedWords = field(default_factory=BlockedWords)
    action: str = REFUSE
    log_channel: Optional[int] = None
    on_outage: str = OPEN
    check_output: bool = True

    @property
    def active(self) -> bool:
        return bool(self.endpoint) or bool(self.words.patterns)

    @classmethod
    def from_json(cls, data: Optional[Dict[str, Any]]) -> "ModerationSettings":
        data = data or {}
        return cls(
            endpoint=data.get("endpoint") or None,
            model=data.get("model") or DEFAULT_MODEL,
            token_service=data.get("token_service") or "openai",
            thresholds={k: float(v) for k, v in (data.get("thresholds") or {}).items()},
            words=BlockedWords(data.get("words") or ()),
            action=data.get("action") or REFUSE,
            log_channel=data.get("log_channel"),
            on_outage=data.get("on_outage") or OPEN,
            check_output=data.get("check_output", True),
        )


@dataclass(frozen=True)
class Verdict:
    flagged: bool = False
    categories: Tuple[str, ...] = ()  # flagged categories, or ``words:<pattern>``
    outage: bool = False
    detail: str = ""  # for logs and diag: never the text checked

    @property
    def blocks(self) -> bool:
        return self.flagged


CLEAN = Verdict()


def _flagged_categories(result: Any, thresholds: Dict[str, float]) -> Tuple[str, ...]:
    scores = result.category_scores.model_dump(by_alias=True) if result.category_scores else {}
    verdicts = result.categories.model_dump(by_alias=True) if result.categories else {}
    names = set(scores) | set(verdicts)
    flagged = []
    for name in sorted(names):
        threshold = thresholds.get(name)
        if threshold is not None:
            if (scores.get(name) or 0.0) >= threshold:
                flagged.append(name)
        elif verdicts.get(name):
            flagged.append(name)
    return tuple(flagged)


class ModerationClient:
    """Checks texts (and image URLs) against one server's :class:`ModerationSettings`."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._clients: Dict[Tuple[str, str], openai.AsyncOpenAI] = {}

    def _client(self, base_url: str, api_key: Optional[str]) -> openai.AsyncOpenAI:
        key = (base_url, api_key or "")
        client = self._clients.get(key)
        if client is None:
            client = openai.AsyncOpenAI(
                base_url=base_url, api_key=api_key or "none", timeout=self.timeout, max_retries=1
            )
            self._clients[key] = client
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    async def check(
        self,
        settings: ModerationSettings,
        text: str,
        *,
        images: Sequence[str] = (),
        api_key: Optional[str] = None,
    ) -> Verdict:
        """Blocked words first (no request), then the endpoint. Never raises for an outage."""
        word = settings.words.find(text)
        if word is not None:
            return Verdict(True, (f"words:{word}",))
        if not settings.endpoint or not (text.strip() or images):
            return CLEAN
        parts: List[Dict[str, Any]] = [{"type": "text", "text": text}] if text.strip() else []
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
        try:
            response = await self._client(settings.endpoint, api_key).moderations.create(
                model=settings.model, input=parts
            )
            categories: Tuple[str, ...] = ()
            for result in response.results:
                categories += tuple(c for c in _flagged_categories(result, settings.thresholds) if c not in categories)
        except (openai.APIError, AttributeError, TypeError, ValueError) as exc:
            detail = f"moderation endpoint unavailable: {type(exc).__name__}"
            status = getattr(exc, "status_code", None)
            if status:
                detail += f" (HTTP {status})"
            log.warning("%s", detail)
            return Verdict(settings.on_outage == CLOSED, outage=True, detail=detail)
        return Verdict(bool(categories), categories)


__all__ = [
    "ModerationClient",
    "ModerationRefusal",
    "ModerationSettings",
    "Verdict",
    "CLEAN",
    "CATEGORIES",
    "ACTIONS",
    "REFUSE",
    "REPORT",
    "OPEN",
    "CLOSED",
    "parse_threshold",
]
