"""What a persona is, the built-in ones, validation, and how the system prompt is composed."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, Iterable, Mapping, Optional

from ..errors import InvalidValue
from ..i18n import _
from ..params import PARAMS, SYSTEM_PROMPT
from .webhook_names import refusal as webhook_name_refusal

MAX_NAME_CHARS = 32
MAX_DESCRIPTION_CHARS = 200
MAX_PERSONA_PROMPT_CHARS = 4000
MAX_GREETING_CHARS = 1000
MAX_DISPLAY_NAME_CHARS = 80  # Discord's limit for webhook names
MAX_PERSONAS_PER_SERVER = 100
MAX_MYPROMPT_CHARS = 500
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
AVATAR_PATTERN = re.compile(r"^https?://\S+$", re.IGNORECASE)
# Fields ``[p]ai persona edit`` can change; model and parameters are the preset.
EDITABLE_FIELDS = (
    "description",
    "prompt",
    "display_name",
    "avatar",
    "greeting",
    "model",
    *(name for name in PARAMS if name != SYSTEM_PROMPT),
)


class PersonaError(InvalidValue):
    """A persona was refused; the message says what is allowed."""

    kind = "persona_invalid"


@dataclass(frozen=True)
class Persona:
    """A character the assistant plays: its instructions and how it presents itself."""

    name: str
    system_prompt: str
    description: str = ""
    model: Optional[Mapping[str, str]] = None  # {"endpoint": ..., "name": ...}; see ModelRef
    params: Mapping[str, Any] = field(default_factory=dict)  # generation parameters preset
    display_name: Optional[str] = None
    avatar_url: Optional[str] = None
    greeting: Optional[str] = None
    builtin: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data.pop("builtin")
        data["params"] = dict(self.params)
        data["model"] = dict(self.model) if self.model else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Persona":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "builtin"}
        return cls(**known)

    def with_field(self, name: str, value: Any) -> "Persona":
        return replace(self, **{name: value})


BUILTIN_PERSONAS: Dict[str, Persona] = {
    p.key: p
    for p in (
        Persona(
            "assistant",
            "You are {bot}, a helpful, neutral assistant in the Discord server {server}. Answer clearly "
            "and accurately, using Discord markdown. Several people may talk to you in one channel; each "
            "user message is prefixed with the speaker's name. Today is {weekday}, {date}.",
            description="A neutral, helpful assistant (the default voice).",
            builtin=True,
        ),
        Persona(
            "concise",
            "You are {bot}, an assistant that answers in as few words as possible: one or two sentences, "
            "or a short list when needed. No preamble, no filler, no follow-up offers. Each user message "
            "is prefixed with the speaker's name.",
            description="Short, direct answers.",
            params={"temperature": 0.3},
            builtin=True,
        ),
        Persona(
            "teacher",
            "You are {bot}, a patient teacher. Explain step by step, check understanding with a short "
            "question at the end, use simple examples, and encourage {user_display} to try things "
            "themselves before giving the full solution. Each user message is prefixed with the "
            "speaker's name.",
            description="Explains step by step and checks understanding.",
            builtin=True,
        ),
    )
}


def check_name(name: str, *, taken: Iterable[str] = ()) -> str:
    """A valid new persona name, or ``PersonaError`` saying why not."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise PersonaError(
            _("A persona name is 1 to {limit} characters; `{name}` has {length}.").format(
                limit=MAX_NAME_CHARS, name=name[:40], length=len(name)
            )
        )
    if not NAME_PATTERN.match(name):
        raise PersonaError(
            _("A persona name is one word of letters, digits, `-` and `_` (for example `pirate`).")
        )
    if name.lower() in BUILTIN_PERSONAS or name.lower() == "none":
        raise PersonaError(_("`{name}` is a built-in persona name; choose another name.").format(name=name))
    if name.lower() in {t.lower() for t in taken}:
        raise PersonaError(
            _("A persona named `{name}` already exists here; edit it or choose another name.").format(
                name=name
            )
        )
    return name


def check_prompt(prompt: str) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise PersonaError(_("A persona needs a system prompt: the instructions it follows."))
    if len(prompt) > MAX_PERSONA_PROMPT_CHARS:
        raise PersonaError(
            _("The prompt is {length} characters long; the limit is {limit}. Shorten it.").format(
                length=len(prompt), limit=MAX_PERSONA_PROMPT_CHARS
            )
        )
    return prompt


def field_label(field_name: str) -> str:
    """A persona field's name as shown in refusals (``"display name"``...), translated."""
    labels = {"description": _("description"), "display name": _("display name"), "greeting": _("greeting")}
    return labels.get(field_name, field_name)


def check_text(field_name: str, text: Optional[str], limit: int) -> Optional[str]:
    text = (text or "").strip() or None
    if text is not None and len(text) > limit:
        raise PersonaError(
            _("The {field} is {length} characters long; the limit is {limit}.").format(
                field=field_label(field_name), length=len(text), limit=limit
            )
        )
    return text


def check_avatar_url(url: Optional[str]) -> Optional[str]:
    url = (url or "").strip() or None
    if url is not None and (len(url) > 2000 or not AVATAR_PATTERN.match(url)):
        raise PersonaError(
            _(
                "An avatar is an `https://` (or `http://`) link to an image (or attach the image to the command)."
            )
        )
    return url


def check_count(existing: int) -> None:
    if existing >= MAX_PERSONAS_PER_SERVER:
        raise PersonaError(
            _(
                "This place already has {limit} personas, the limit. Delete one with "
                "`[p]ai persona delete <name>` first."
            ).format(limit=MAX_PERSONAS_PER_SERVER)
        )


def check_webhook_name(name: Optional[str]) -> Optional[str]:
    """``name`` unchanged, or a :class:`PersonaError` saying what Discord refuses as a webhook name."""
    reason = webhook_name_refusal(name)
    if reason is not None:
        raise PersonaError(reason)
    return name


def validate(persona: Persona) -> Persona:
    """Check every field of a persona made from untrusted data (an import, an edit)."""
    check_prompt(persona.system_prompt)
    check_text("description", persona.description, MAX_DESCRIPTION_CHARS)
    check_text("display name", persona.display_name, MAX_DISPLAY_NAME_CHARS)
    # Replies go out under this name through a webhook: refuse what Discord would refuse there.
    check_webhook_name(persona.display_name or persona.name)
    check_text("greeting", persona.greeting, MAX_GREETING_CHARS)
    check_avatar_url(persona.avatar_url)
    for name, value in persona.params.items():
        if name not in PARAMS or name == SYSTEM_PROMPT:
            raise PersonaError(_("`{name}` is not a parameter a persona can preset.").format(name=name))
        PARAMS[name].parse(str(value))
    return persona


def builtin_description(persona: Persona) -> str:
    """The persona's description as shown to members: a built-in one's in their language."""
    if not persona.builtin:
        return persona.description
    descriptions = {
        "assistant": _("A neutral, helpful assistant (the default voice)."),
        "concise": _("Short, direct answers."),
        "teacher": _("Explains step by step and checks understanding."),
    }
    return descriptions.get(persona.key, persona.description)


def compose_system_prompt(base: str, own_instructions: Optional[str]) -> str:
    """The persona's (or configured) prompt, then the member's own instructions if any."""
    if not own_instructions:
        return base
    return f"{base}\n\nThe member you are answering asked you to follow these personal instructions:\n{own_instructions}"
