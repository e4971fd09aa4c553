"""Refusals that save a provider call: a prompt with nothing visible in it."""

from __future__ import annotations

import unicodedata

from ..errors import BlankPrompt
from ..i18n import _

# Characters that render as nothing but are not in a "format" or "space" category.
INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u034f", "\u17b4", "\u17b5"}


def is_visible(char: str) -> bool:
    if char.isspace() or char in INVISIBLE:
        return False
    return unicodedata.category(char) not in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me", "Co", "Cn", "Cs")


def check_visible(text: str) -> str:
    """Raise :class:`BlankPrompt` when ``text`` has no visible character."""
    if not any(is_visible(ch) for ch in text):
        raise BlankPrompt(_("Your message has no visible text. Please type a question."))
    return text
