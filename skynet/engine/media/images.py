"""Drawing images through the provider registry's endpoints, in the three shapes servers answer.

- ``images``: the OpenAI images API on any compatible endpoint (``gpt-image-1``, ``dall-e-3``…):
  ``POST /images/generations`` (``/images/edits`` for image-to-image) answering ``data[].b64_json``
  or ``data[].url`` (a link is fetched through the URL guard).
- ``chat``: image models answering through chat completions with ``"modalities": ["image", "text"]``
  (OpenRouter): the image comes back in ``choices[0].message.images[].image_url.url`` as a data URL.
- ``a1111``: a local AUTOMATIC1111/Forge server: ``POST /sdapi/v1/txt2img`` (``img2img``) answering
  ``images[]`` in base64. Its endpoint's base URL is the server's root (``http://127.0.0.1:7860``).

Every request goes through the endpoint's ``openai.AsyncOpenAI`` client (its key, timeout, one
connection pool); failures are mapped by the registry like chat failures, except a content-policy
refusal, which becomes a clear :class:`ContentRefused` notice.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import openai

from ..attachments.images import sniff_image
from ..errors import InvalidValue, SkynetError
from ..i18n import _

IMAGES, CHAT, A1111 = "images", "chat", "a1111"
APIS = (IMAGES, CHAT, A1111)

QUALITIES = ("auto", "low", "medium", "high", "standard", "hd")
SIZE_ALIASES = {"square": "1024x1024", "portrait": "1024x1536", "landscape": "1536x1024"}
MIN_SIDE, MAX_SIDE = 256, 4096
MAX_PROMPT_CHARS = 4000
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # what is read from a provider; Discord's upload cap is lower
A1111_STEPS = 25

# Codes and phrases providers use when their moderation refuses a prompt or an image.
_POLICY_CODES = {"content_policy_violation", "moderation_blocked", "content_filter", "safety_violation"}
_POLICY_WORDS = re.compile(r"content.?policy|safety system|moderation|nsfw|not allowed by our safety", re.I)

Fetch = Callable[[str], Awaitable[bytes]]  # downloads a provider's image link (through the URL guard)


class ContentRefused(SkynetError):
    """The provider's moderation refused the prompt or the image."""

    kind = "content_refused"


class NoImage(SkynetError):
    """The provider answered without an image (or with something that is not one)."""

    kind = "no_image"


@dataclass(frozen=True)
class ImageJob:
    """What to draw: ``source`` (PNG/JPEG/WebP bytes) turns it into image-to-image."""

    prompt: str
    size: Optional[str] = None  # "1024x1024"; None: the provider's default
    quality: Optional[str] = None
    source: Optional[bytes] = None


@dataclass(frozen=True)
class DrawnImage:
    data: bytes
    mime: str
    revised_prompt: Optional[str] = None
    tokens: int = 0  # what the provider reported (gpt-image-1 bills tokens), else 0

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}.get(self.mime, "png")


def parse_api(text: str) -> str:
    value = str(text).strip().lower()
    if value not in APIS:
        raise InvalidValue(
            _("`{value}` is not an image API; choose `images`, `chat` or `a1111`.").format(
                value=str(text)[:30]
            )
        )
    return value


def parse_size(text: str) -> str:
    """``1024x1024``, ``square``, ``portrait``, ``landscape`` or ``auto``; sides 256-4096."""
    value = str(text).strip().lower().replace("×", "x")
    value = SIZE_ALIASES.get(value, value)
    if value == "auto":
        return value
    match = re.fullmatch(r"(\d{2,4})x(\d{2,4})", value)
    if not match or not all(MIN_SIDE <= int(side) <= MAX_SIDE for side in match.groups()):
        raise InvalidValue(
            _(
                "`{value}` is not an image size: use WIDTHxHEIGHT (each side {low}-{high}, e.g. `1024x1024`), "
                "`square`, `portrait`, `landscape` or `auto`."
            ).format(value=str(text)[:30], low=MIN_SIDE, high=MAX_SIDE)
        )
    return value


def parse_quality(text: str) -> str:
    value = str(text).strip().lower()
    if value not in QUALITIES:
        raise InvalidValue(
            _("`{value}` is not an image quality; choose one of: {choices}.").format(
                value=str(text)[:30], choices=", ".join(f"`{q}`" for q in QUALITIES)
            )
        )
    return value


def split_options(words: List[str]) -> Tuple[str, Optional[str], Optional[str]]:
    """``draw`` arguments as typed: trailing words that are a size or a quality are options."""
    size = quality = None
    words = list(words)
    while words:
        last = words[-1].lower()
        if quality is None and last in QUALITIES:
            quality = last
        elif size is None and (last in SIZE_ALIASES or re.fullmatch(r"\d{2,4}[x×]\d{2,4}", last)):
            size = parse_size(last)
        else:
            break
        words.pop()
    return " ".join(words).strip(), size, quality


def check_prompt(prompt: str) -> str:
    prompt = " ".join(str(prompt).split())
    if not prompt:
        raise InvalidValue(_("Tell me what to draw, e.g. `[p]ai draw a lighthouse at dawn`."))
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidValue(
            _("That description is {length} characters long; the limit is {limit}.").format(
                length=len(prompt), limit=MAX_PROMPT_CHARS
            )
        )
    return prompt


def _refusal(model: str) -> ContentRefused:
    return ContentRefused(
        _(
            "🚫 The image provider refused this request under its content policy (`{model}`). "
            "Nothing was drawn and nothing was charged; try describing it differently."
        ).format(model=model)
    )


def is_policy_refusal(exc: BaseException) -> bool:
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 403, 422):
        return False
    if getattr(exc, "code", None) in _POLICY_CODES:
        return True
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    return bool(
        (isinstance(error, dict) and error.get("code") in _POLICY_CODES)
        or _POLICY_WORDS.search(str(getattr(exc, "message", "")) + str(exc.body))
    )


def _decode(text: Any, model: str) -> bytes:
    if isinstance(text, str) and text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(str(text), validate=False)
    except (binascii.Error, ValueError):
        raise NoImage(
            _("`{model}` answered with an image that could not be decoded.").format(model=model)
        ) from None


def _image(data: bytes, model: str, **extra: Any) -> DrawnImage:
    if len(data) > MAX_IMAGE_BYTES:
        raise NoImage(_("`{model}` answered with an image that is too large to post.").format(model=model))
    mime = sniff_image(data[:16])
    if mime is None:
        raise NoImage(_("`{model}` answered with something that is not an image.").format(model=model))
    return DrawnImage(data, mime, **extra)


async def draw(
    client: openai.AsyncOpenAI, api: str, model: str, job: ImageJob, *, fetch: Fetch
) -> DrawnImage:
    """Draw ``job`` with ``model`` on the endpoint behind ``client``; ``fetch`` downloads URL answers."""
    try:
        if api == CHAT:
            return await _draw_chat(client, model, job)
        if api == A1111:
            return await _draw_a1111(client, model, job)
        return await _draw_images(client, model, job, fetch)
    except openai.APIStatusError as exc:
        if is_policy_refusal(exc):
            raise _refusal(model) from None
        raise


async def _draw_images(client: openai.AsyncOpenAI, model: str, job: ImageJob, fetch: Fetch) -> DrawnImage:
    options: Dict[str, Any] = {"model": model, "prompt": job.prompt, "n": 1}
    if job.size:
        options["size"] = job.size
    if job.quality:
        options["quality"] = job.quality
    if job.source is not None:
        mime = sniff_image(job.source[:16]) or "image/png"
        name = "image." + mime.rpartition("/")[2]
        result = await client.images.edit(image=(name, job.source, mime), **options)
    else:
        result = await client.images.generate(**options)
    if not result.data:
        raise NoImage(_("`{model}` answered without an image.").format(model=model))
    item = result.data[0]
    tokens = 0
    usage = getattr(result, "usage", None)
    if usage is not None:
        tokens = int(getattr(usage, "total_tokens", 0) or 0)
    if item.b64_json:
        data = _decode(item.b64_json, model)
    elif item.url:
        data = await fetch(item.url)
    else:
        raise NoImage(_("`{model}` answered without an image.").format(model=model))
    return _image(data, model, revised_prompt=getattr(item, "revised_prompt", None), tokens=tokens)


async def _draw_chat(client: openai.AsyncOpenAI, model: str, job: ImageJob) -> DrawnImage:
    content: List[Dict[str, Any]] = [{"type": "text", "text": job.prompt}]
    if job.source is not None:
        mime = sniff_image(job.source[:16]) or "image/png"
        url = f"data:{mime};base64,{base64.b64encode(job.source).decode('ascii')}"
        content.append({"type": "image_url", "image_url": {"url": url}})
    extra: Dict[str, Any] = {"modalities": ["image", "text"]}
    if job.size and job.size != "auto":  # OpenRouter's image_config takes an aspect ratio
        width, _x, height = job.size.partition("x")
        extra["image_config"] = {"aspect_ratio": _ratio(int(width), int(height))}
    completion = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": content}], extra_body=extra
    )
    message = completion.choices[0].message if completion.choices else None
    images = (message.model_extra or {}).get("images") if message is not None else None
    for item in images or ():
        url = (item.get("image_url") or {}).get("url") if isinstance(item, dict) else None
        if url:
            tokens = completion.usage.total_tokens if completion.usage else 0
            return _image(_decode(url, model), model, revised_prompt=None, tokens=tokens)
    if message is not None and message.refusal:
        raise _refusal(model)
    said = " ".join(str(getattr(message, "content", "") or "").split())[:300]
    raise NoImage(
        _("`{model}` answered without an image{said}. Is it an image model?").format(
            model=model, said=f": “{said}”" if said else ""
        )
    )


def _ratio(width: int, height: int) -> str:
    from math import gcd

    divisor = gcd(width, height) or 1
    return f"{width // divisor}:{height // divisor}"


async def _draw_a1111(client: openai.AsyncOpenAI, model: str, job: ImageJob) -> DrawnImage:
    body: Dict[str, Any] = {"prompt": job.prompt, "steps": A1111_STEPS, "batch_size": 1, "n_iter": 1}
    if job.size and job.size != "auto":
        width, _x, height = job.size.partition("x")
        body.update(width=int(width), height=int(height))
    if model and model not in ("default", "a1111"):
        body["override_settings"] = {"sd_model_checkpoint": model}
    path = "sdapi/v1/txt2img"
    if job.source is not None:
        body["init_images"] = [base64.b64encode(job.source).decode("ascii")]
        body["denoising_strength"] = 0.6
        path = "sdapi/v1/img2img"
    # The base URL is the server's root; the SDK adds its key and timeout and parses the JSON.
    answer = await client.post(_root_path(client, path), body=body, cast_to=object)
    images = answer.get("images") if isinstance(answer, dict) else None
    if not images:
        raise NoImage(_("`{model}` answered without an image.").format(model=model))
    return _image(_decode(images[0], model), model)


def _root_path(client: openai.AsyncOpenAI, path: str) -> str:
    """A1111's API sits at the server root: drop a ``/v1`` the owner may have put in the base URL."""
    base = str(client.base_url).rstrip("/")
    if base.endswith("/v1"):
        return f"{base[:-3]}/{path}"
    return path
