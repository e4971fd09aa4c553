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


def _english_one(count: int) -> bool:
    return count == 1


_translate: Translate = _identity
_number: Callable[[int], str] = _plain_number
_is_one: Callable[[int], bool] = _english_one


def install(
    translate: Translate,
    number: Optional[Callable[[int], str]] = None,
    is_one: Optional[Callable[[int], bool]] = None,
) -> None:
    """Route every engine translation through ``translate`` (Red's ``Translator``), number
    formatting through ``number`` (Red's locale-aware ``humanize_number``), and the choice between
    a singular and a plural sentence through ``is_one`` (the locale's plural rule)."""
    global _translate, _number, _is_one
    _translate = translate
    _number = number or _plain_number
    _is_one = is_one or _english_one


def _(text: str) -> str:
    """The text in the locale of the current context (the server's, set by Red per command)."""
    return _translate(text)


def plural(count: int, one: str, other: str) -> str:
    """``one`` or ``other`` (both already translated), as the current locale's grammar wants for
    ``count``: French says "0 requête", English "0 requests".

    Call it with both literals: ``plural(n, _("{count} request"), _("{count} requests"))``."""
    return one if _is_one(count) else other


def number(value: int) -> str:
    """``value`` with the digit grouping of the current context's locale ("1,000", "1 000")."""
    return _number(value)
