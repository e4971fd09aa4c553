"""Character cards (Tavern/SillyTavern ``chara_card_v2``): import from JSON or PNG, export as JSON.

A PNG card carries the card JSON, base64-encoded, in a ``tEXt`` chunk whose keyword is ``chara``.
Pillow (a dependency already, imported on first use) reads and writes the chunks and checks their
checksums; decoding a card decodes its image, so the command runs it in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import struct
from typing import Any, Dict, Mapping

from ..i18n import _
from .personas import (
    MAX_DESCRIPTION_CHARS,
    MAX_DISPLAY_NAME_CHARS,
    MAX_GREETING_CHARS,
    MAX_NAME_CHARS,
    MAX_PERSONA_PROMPT_CHARS,
    Persona,
    PersonaError,
    validate,
)

MAX_CARD_BYTES = 1_000_000
SPEC = "chara_card_v2"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class CardError(PersonaError):
    kind = "card_invalid"


def load_card(raw: bytes, filename: str = "") -> Dict[str, Any]:
    """The card's JSON object from the bytes of a ``.json`` or ``.png`` file."""
    if len(raw) > MAX_CARD_BYTES:
        raise CardError(
            _("That file is {size} kB; character cards are limited to 1 MB.").format(size=len(raw) // 1024)
        )
    if raw.startswith(PNG_SIGNATURE):
        text = _chara_from_png(raw)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CardError(_("That file is neither a PNG nor a UTF-8 JSON character card.")) from None
    try:
        card = json.loads(text)
    except (ValueError, RecursionError):
        raise CardError(_("The character card is not valid JSON.")) from None
    if not isinstance(card, dict) or card.get("spec") != SPEC or not isinstance(card.get("data"), dict):
        raise CardError(
            _('Only V2 character cards are supported (`"spec": "{spec}"` with a `data` object).').format(
                spec=SPEC
            )
        )
    return card


def _chara_from_png(raw: bytes) -> str:
    from PIL import Image, PngImagePlugin  # deferred: loading the cog must not import Pillow

    try:  # the PNG reader itself (not Image.open, which hides why a file is refused)
        with PngImagePlugin.PngImageFile(io.BytesIO(raw)) as image:
            image.load()  # text chunks after the image data are read with it
            text = image.text.get("chara")
    except Image.DecompressionBombError:
        raise CardError(_("The PNG's image is too large to open.")) from None
    except SyntaxError as exc:  # Pillow's "broken PNG file": a chunk corrupt or failing its checksum
        if str(exc).startswith("broken PNG"):
            raise CardError(_("The PNG file is damaged (a chunk is corrupt or its checksum is wrong).")) from None
        raise CardError(_("The PNG file is cut off or unreadable.")) from None
    except (OSError, ValueError, EOFError, struct.error):
        raise CardError(_("The PNG file is cut off or unreadable.")) from None
    if text is None:
        raise CardError(_("The PNG has no character card in it (no `chara` text chunk)."))
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CardError(_("The card data in the PNG (`chara` chunk) is not valid base64 text.")) from None


def png_with_card(card: Mapping[str, Any], image: bytes) -> bytes:
    """``image`` (a PNG) re-saved with ``card`` in a ``chara`` text chunk (used by tests)."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(json.dumps(card).encode("utf-8")).decode("ascii"))
    out = io.BytesIO()
    with Image.open(io.BytesIO(image)) as source:
        source.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:MAX_NAME_CHARS]
    return slug or "character"


def card_to_persona(card: Mapping[str, Any]) -> Persona:
    """A validated persona from a V2 card. ``{{char}}``/``{{user}}`` become prompt variables."""
    data = card["data"]
    display = _text(data, "name")[:MAX_DISPLAY_NAME_CHARS]
    if not display:
        raise CardError(_("The character card has no `name`."))

    def convert(text: str) -> str:
        # Card macros to skynet variables; braces a card uses otherwise stay as typed (render ignores them).
        text = re.sub(r"\{\{\s*char\s*\}\}", display, text, flags=re.I)
        return re.sub(r"\{\{\s*user\s*\}\}", "{user_display}", text, flags=re.I)

    own = (data.get("extensions") or {}).get("skynet") if isinstance(data.get("extensions"), dict) else None
    if isinstance(own, dict) and _text(data, "system_prompt"):
        return _from_skynet_export(data, own, display)
    sections = [
        _text(data, "system_prompt") or f"You are {display}. Stay in character.",
        _text(data, "description") and f"Character:\n{_text(data, 'description')}",
        _text(data, "personality") and f"Personality:\n{_text(data, 'personality')}",
        _text(data, "scenario") and f"Scenario:\n{_text(data, 'scenario')}",
        _text(data, "post_history_instructions"),
    ]
    prompt = convert("\n\n".join(s for s in sections if s))
    examples = convert(_text(data, "mes_example"))
    if examples and len(prompt) + len(examples) + 30 <= MAX_PERSONA_PROMPT_CHARS:
        prompt += f"\n\nExample messages:\n{examples}"  # only when it fits: examples are the first to go
    if len(prompt) > MAX_PERSONA_PROMPT_CHARS:
        raise CardError(
            _(
                "The card's instructions are {length} characters long; personas are limited to "
                "{limit}. Shorten the card's description or personality."
            ).format(length=len(prompt), limit=MAX_PERSONA_PROMPT_CHARS)
        )
    summary = _text(data, "creator_notes") or _text(data, "description")
    greeting = convert(_text(data, "first_mes"))[:MAX_GREETING_CHARS] or None
    return validate(
        Persona(
            name=_slug(display),
            system_prompt=prompt,
            description=" ".join(convert(summary).split())[:MAX_DESCRIPTION_CHARS],
            display_name=display,
            greeting=greeting,
        )
    )


def _from_skynet_export(data: Mapping[str, Any], own: Mapping[str, Any], display: str) -> Persona:
    """A card exported by skynet round-trips exactly: the prompt as typed, the preset, the name."""
    name = own.get("name") if isinstance(own.get("name"), str) else display
    model = own.get("model") if isinstance(own.get("model"), dict) else None
    params = own.get("params") if isinstance(own.get("params"), dict) else {}
    return validate(
        Persona(
            name=_slug(name),
            system_prompt=_text(data, "system_prompt"),
            description=_text(data, "description")[:MAX_DESCRIPTION_CHARS],
            model={"endpoint": str(model.get("endpoint", "")), "name": str(model.get("name", ""))}
            if model
            else None,
            params=dict(params),
            display_name=display if display != name else None,
            greeting=_text(data, "first_mes")[:MAX_GREETING_CHARS] or None,
        )
    )


def persona_to_card(persona: Persona) -> Dict[str, Any]:
    """A V2 card for ``persona`` (skynet's variables are kept as typed in the prompt)."""
    name = persona.display_name or persona.name
    return {
        "spec": SPEC,
        "spec_version": "2.0",
        "data": {
            "name": name,
            "description": persona.description,
            "personality": "",
            "scenario": "",
            "first_mes": persona.greeting or "",
            "mes_example": "",
            "creator_notes": persona.description,
            "system_prompt": persona.system_prompt,
            "post_history_instructions": "",
            "alternate_greetings": [],
            "tags": [],
            "creator": "",
            "character_version": "",
            "extensions": {
                "skynet": {"name": persona.name, "model": persona.model, "params": dict(persona.params)}
            },
        },
    }
