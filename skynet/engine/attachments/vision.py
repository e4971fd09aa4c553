"""Images for vision models: which models can see them, and how a question carries them.

Images travel as OpenAI ``image_url`` content parts holding data URLs made by :mod:`.images`
(decoded, downscaled, re-encoded); for a model known not to see images nothing is downloaded and
the member gets :func:`vision_notice` instead.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..errors import VisionUnsupported, mentions_images, vision_notice  # noqa: F401 (re-exported)

MAX_IMAGES = 4
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # OpenAI's limit per image (Discord allows larger uploads)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})

# Model name patterns, checked in order; the first match decides. Names are lower-cased and
# any "vendor/" prefix (OpenRouter style) is dropped first. Not matching anything means "unknown".
_VISION_TABLE = [
    (r"o1-mini|o3-mini", False),  # the small reasoning models take text only
    (r"gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-4-vision|gpt-5|o1|o3|o4", True),
    (r"claude-3|claude-.*-4", True),
    (r"gemini|gemma-?3", True),
    (r"llava|bakllava|llama-?3\.2-vision|llama-?4|pixtral|qwen.*-?vl|minicpm-v|moondream", True),
    (r".*-vision|.*-vl\b", True),
    (r"gpt-3\.5|gpt-4(-0613|-32k)?$|text-|davinci|babbage", False),
    (r"llama-?[23]|codellama|mixtral|phi|qwen|deepseek|command-r", False),
]
_COMPILED = [(re.compile(pattern), verdict) for pattern, verdict in _VISION_TABLE]


def supports_vision(
    endpoint: str,
    model: str,
    overrides: Mapping[str, bool] = {},  # noqa: B006 (read only)
) -> Optional[bool]:
    """True/False when the owner's override or the model's name says whether it takes images,
    None when unknown. ``overrides``: ``"endpoint:model"`` in lower case -> bool."""
    override = overrides.get(f"{endpoint}:{model}".lower())
    if override is not None:
        return override
    name = model.lower().rsplit("/", 1)[-1]
    for pattern, verdict in _COMPILED:
        if pattern.match(name):
            return verdict
    return None




def user_content(text: str, images: Sequence[str]) -> Any:
    """The user turn's ``content``: the plain text, or content parts when images (data URLs or URLs)
    come with it."""
    if not images:
        return text
    parts: List[Dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in images[:MAX_IMAGES])
    return parts


def image_marker(text: str, images: Sequence[str]) -> str:
    """The text memory keeps for a turn that had images: never the images themselves."""
    if not images:
        return text
    count = len(images)
    return f"{text} [{count} image{'s' if count != 1 else ''}]"
