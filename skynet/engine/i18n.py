"""Translation hook for the Discord-free layers.

The engine and the rendering layer may not import Red, so they translate through this hook; the
cog installs Red's ``Translator`` into it at import (:mod:`skynet.i18n`). Until then (plain-Python
tests, benchmarks) text passes through unchanged.

Rules for every user-facing string (checked by ``tests/test_i18n.py``):
- wrap the literal itself: ``_("Model {model} set.").format(model=name)``, never an f-string, so
  ``redgettext`` can extract it and a translator sees whole sentences with named placeholders;
- translate when the text is shown, not at import: a module constant would be frozen in the
  locale active at load time, while Red sets the locale per server for every command.
"""

from __future__ import annotations

from typing import Callable, Optional

Translate = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def _plain_number(value: int) -> str:
    return f"{value:,}"


_translate: Translate = _identity
_number: Callable[[int], str] = _plain_number


def install(translate: Translate, number: Optional[Callable[[int], str]] = None) -> None:
    """Route every engine translation through ``translate`` (Red's ``Translator``), and number
    formatting through ``number`` (Red's locale-aware ``humanize_number``)."""
    global _translate, _number
    _translate = translate
    _number = number or _plain_number


def _(text: str) -> str:
    """The text in the locale of the current context (the server's, set by Red per command)."""
    return _translate(text)


def number(value: int) -> str:
    """``value`` with the digit grouping of the current context's locale ("1,000", "1 000")."""
    return _number(value)
