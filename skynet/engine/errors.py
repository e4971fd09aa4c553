"""One place that turns any failure into a short, friendly message and a redacted log line.

User-facing messages may contain ``[p]``; the shell replaces it with the command prefix.
Neither the message nor the log detail ever contains an API key (see :class:`Redactor`).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Set

import httpx
import openai

from .i18n import _


class SkynetError(Exception):
    """An error whose message is already safe and friendly enough to show to a user."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidValue(SkynetError):
    """A setting or command argument was refused; the message says what is allowed."""

    kind = "invalid_value"


class UnknownEndpoint(SkynetError):
    kind = "unknown_endpoint"


class MissingKey(SkynetError):
    kind = "missing_key"


class InputTooLong(SkynetError):
    kind = "input_too_long"


class NotOpenAICompatible(SkynetError):
    """The endpoint answered 200 with something that is not an OpenAI-style stream (a web page):
    its base URL most likely misses the API path (usually ``/v1``)."""

    kind = "not_openai"


class BlankPrompt(SkynetError):
    """The message has no visible text (only spaces, zero-width or invisible characters)."""

    kind = "blank_prompt"


class VisionUnsupported(SkynetError):
    """The model can't see images and the request carries some (see ``attachments.vision``)."""

    kind = "vision_unsupported"


def vision_notice(model: str) -> str:
    """What a member is told when the model can't see the images they sent."""
    return _(
        "The model `{model}` can't see images. Ask again without the image, or have an admin pick a "
        "vision model (e.g. `gpt-4o-mini`) with `[p]ai model set <model>`."
    ).format(model=model)


def mentions_images(provider_message: str) -> bool:
    """Whether a provider's 400 error is about image input (the model does not take images)."""
    text = provider_message.lower()
    return any(word in text for word in ("image", "vision", "content part", "image_url", "multimodal"))


class StreamCut(Exception):
    """The provider's stream ended without a finish reason: the answer is incomplete."""


@dataclass(frozen=True)
class FriendlyError:
    """What the user sees (``message``) and what the log gets (``detail``), both redacted."""

    kind: str
    message: str
    detail: str


class Redactor:
    """Removes secrets from text: every key the cog has loaded, plus anything that looks like one."""

    _PATTERNS = (
        re.compile(r"\b(?:sk|pk|rk|gsk|xai|or)-[A-Za-z0-9_\-]{8,}"),
        re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{8,}"),
        re.compile(r"(?i)(api[_-]?key|token|secret|password)([\"'\s:=]+)([^\s\"',}]{6,})"),
    )

    FRAGMENT = 8  # any run of this many characters of a known secret is redacted

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: Set[str] = set()
        self._grams: Set[str] = set()  # every FRAGMENT-long piece of every known secret
        for secret in secrets:
            self.add(secret)

    def add(self, secret: Optional[str]) -> None:
        # Very short values would redact ordinary words; real keys are long.
        if secret and len(secret) >= 6:
            self._secrets.add(secret)
            n = self.FRAGMENT
            self._grams.update(secret[i : i + n] for i in range(len(secret) - n + 1))

    def _redact_fragments(self, text: str) -> str:
        """Providers echo parts of keys ("Incorrect API key provided: sk-abc...xyz"): hide any run
        of FRAGMENT or more characters that also occurs in a secret."""
        n = self.FRAGMENT
        if not self._grams or len(text) < n:
            return text
        spans: list = []
        for i in range(len(text) - n + 1):
            if text[i : i + n] in self._grams:
                if spans and spans[-1][1] >= i:
                    spans[-1][1] = i + n
                else:
                    spans.append([i, i + n])
        for start, end in reversed(spans):
            text = text[:start] + "[redacted]" + text[end:]
        return text

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "[redacted]")
        text = self._redact_fragments(text)
        text = self._PATTERNS[0].sub("[redacted]", text)
        text = self._PATTERNS[1].sub("Bearer [redacted]", text)
        return self._PATTERNS[2].sub(r"\1\2[redacted]", text)


def _short(text: str, limit: int = 160) -> str:
    """A provider's error text as a short, inert excerpt: one line, no markdown or mentions."""
    text = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    text = " ".join(text.split()).replace("`", "'").replace("@", "@\u200b")
    text = re.sub(r"<[^>]{0,200}>", "", text)  # HTML tags, Discord mentions and links
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") if isinstance(body.get("message"), str) else None
    return message or str(exc)


def _about_images(exc: openai.BadRequestError) -> bool:
    """A 400 about image input: the request carried images and the model does not take them."""
    try:  # only when this request carried images; a body we can't read counts as "maybe"
        sent_images = b'"image_url"' in (exc.request.content or b"")
    except Exception:  # noqa: BLE001
        sent_images = True
    return sent_images and mentions_images(_provider_message(exc))


def explain(
    exc: BaseException, *, endpoint: str, model: str, redactor: Redactor, service: Optional[str] = None
) -> FriendlyError:
    """Map any exception raised while answering to a :class:`FriendlyError`."""
    service = service or endpoint
    detail = redactor.redact(f"{endpoint}:{model}: {type(exc).__name__}: {exc}")

    def friendly(kind: str, message: str) -> FriendlyError:
        return FriendlyError(kind, redactor.redact(message), detail)

    if isinstance(exc, SkynetError):
        return friendly(exc.kind, exc.message)
    if isinstance(exc, openai.AuthenticationError) or isinstance(exc, openai.PermissionDeniedError):
        return friendly(
            "bad_key",
            _(
                "**{endpoint}** rejected the API key. The bot owner can set a valid one with "
                "`[p]set api {service} api_key,<key>`."
            ).format(endpoint=endpoint, service=service),
        )
    if isinstance(exc, openai.NotFoundError):
        return friendly(
            "unknown_model",
            _(
                "The model `{model}` isn't available on **{endpoint}**. "
                "See `[p]ai model list` and choose another with `[p]ai model set`."
            ).format(model=model, endpoint=endpoint),
        )
    if isinstance(exc, openai.RateLimitError):
        if exc.code == "insufficient_quota":
            return friendly(
                "quota",
                _(
                    "The **{endpoint}** account is out of credit. The bot owner needs to check its billing."
                ).format(endpoint=endpoint),
            )
        return friendly(
            "rate_limited",
            _("**{endpoint}** is rate-limiting requests right now. Please try again in a minute.").format(
                endpoint=endpoint
            ),
        )
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, asyncio.TimeoutError)):
        return friendly(
            "timeout",
            _(
                "**{endpoint}** took too long to answer. Please try again; the bot owner can raise the limit "
                "with `[p]ai provider timeout {endpoint} <seconds>`."
            ).format(endpoint=endpoint),
        )
    if isinstance(exc, openai.BadRequestError):
        text = _provider_message(exc)
        if (
            exc.code == "context_length_exceeded"
            or "context length" in text.lower()
            or "too long" in text.lower()
        ):
            return friendly(
                "context_too_long",
                _(
                    "This conversation is too long for `{model}`. Send a shorter message, "
                    "or start fresh with `[p]ai forget`."
                ).format(model=model),
            )
        if _about_images(exc):
            return friendly("vision_unsupported", vision_notice(model))
        if exc.code == "model_not_found":
            return explain(
                openai.NotFoundError(text, response=exc.response, body=exc.body),
                endpoint=endpoint,
                model=model,
                redactor=redactor,
                service=service,
            )
        return friendly(
            "bad_request",
            _("**{endpoint}** refused the request: {reason}").format(endpoint=endpoint, reason=_short(text)),
        )
    if isinstance(exc, openai.InternalServerError) or (
        isinstance(exc, openai.APIStatusError) and exc.status_code >= 500
    ):
        return friendly(
            "provider_down",
            _("**{endpoint}** is having problems (error {status}). Please try again later.").format(
                endpoint=endpoint, status=exc.status_code
            ),
        )
    if isinstance(exc, (openai.APIConnectionError, httpx.ConnectError, ConnectionError)):
        return friendly(
            "provider_down",
            _("Couldn't reach **{endpoint}**; it may be down. Please try again later.").format(
                endpoint=endpoint
            ),
        )
    if isinstance(exc, (StreamCut, httpx.RemoteProtocolError, httpx.ReadError, json.JSONDecodeError)):
        return friendly(
            "stream_cut",
            _(
                "The connection to **{endpoint}** broke off before the answer was complete. Please try again."
            ).format(endpoint=endpoint),
        )
    if isinstance(exc, openai.APIStatusError):
        return friendly(
            "bad_request",
            _("**{endpoint}** answered with error {status}: {reason}").format(
                endpoint=endpoint, status=exc.status_code, reason=_short(_provider_message(exc))
            ),
        )
    return friendly(
        "unexpected", _("Something went wrong while answering. The error was logged for the bot owner.")
    )
