"""The media settings of a place, read from its resolved settings (most specific scope wins).

They are stored with the scope's parameters under names the providers never receive (only the
names in :data:`~skynet.engine.params.PARAMS` are sent), so they get scopes, inheritance and
``reset`` for free:

- ``image_model``: ``{"endpoint", "name", "api"}`` — what ``ai draw`` uses;
- ``images_per_day``: each member's daily image count (server scope);
- ``transcribe``: voice messages and audio files are transcribed and answered (off by default);
- ``speak``: replies are also spoken (off by default); ``speech_model``, ``speech_voice``,
  ``transcribe_model``: ``{"endpoint", "name"}`` / a voice name;
- ``reply_style``: ``classic`` or ``components`` (Components V2 text displays);
- ``reasoning_display`` is a parameter of its own (``ai params set reasoning_display spoiler``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .images import IMAGES
from .reasoning import DEFAULT_DISPLAY, DISPLAYS

IMAGE_MODEL = "image_model"
IMAGES_PER_DAY = "images_per_day"
TRANSCRIBE = "transcribe"
TRANSCRIBE_MODEL = "transcribe_model"
SPEAK = "speak"
SPEECH_MODEL = "speech_model"
SPEECH_VOICE = "speech_voice"
REPLY_STYLE = "reply_style"
REASONING_DISPLAY = "reasoning_display"
MEDIA_KEYS = (
    IMAGE_MODEL,
    IMAGES_PER_DAY,
    TRANSCRIBE,
    TRANSCRIBE_MODEL,
    SPEAK,
    SPEECH_MODEL,
    SPEECH_VOICE,
    REPLY_STYLE,
)

DEFAULT_IMAGE = ("openai", "gpt-image-1", IMAGES)
DEFAULT_TRANSCRIBE = ("openai", "whisper-1")
DEFAULT_SPEECH = ("openai", "tts-1")
DEFAULT_VOICE = "alloy"


@dataclass(frozen=True)
class MediaModel:
    endpoint: str
    name: str
    api: str = IMAGES

    def __str__(self) -> str:
        return f"{self.endpoint}:{self.name}"


@dataclass(frozen=True)
class MediaSettings:
    image: MediaModel
    images_per_day: Optional[int]
    transcribe: bool
    transcribe_model: MediaModel
    speak: bool
    speech_model: MediaModel
    voice: str
    reply_style: str
    reasoning_display: str


def _model(value: Any, default: tuple) -> MediaModel:
    if isinstance(value, Mapping) and value.get("endpoint") and value.get("name"):
        return MediaModel(str(value["endpoint"]), str(value["name"]), str(value.get("api") or IMAGES))
    return MediaModel(*default)


def media_settings(params: Mapping[str, Any]) -> MediaSettings:
    per_day = params.get(IMAGES_PER_DAY)
    display = params.get(REASONING_DISPLAY)
    return MediaSettings(
        image=_model(params.get(IMAGE_MODEL), DEFAULT_IMAGE),
        images_per_day=int(per_day) if per_day is not None else None,
        transcribe=bool(params.get(TRANSCRIBE)),
        transcribe_model=_model(params.get(TRANSCRIBE_MODEL), DEFAULT_TRANSCRIBE),
        speak=bool(params.get(SPEAK)),
        speech_model=_model(params.get(SPEECH_MODEL), DEFAULT_SPEECH),
        voice=str(params.get(SPEECH_VOICE) or DEFAULT_VOICE),
        reply_style=str(params.get(REPLY_STYLE) or "classic"),
        reasoning_display=display if display in DISPLAYS else DEFAULT_DISPLAY,
    )
