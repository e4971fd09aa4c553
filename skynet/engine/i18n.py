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

from typing import Callable

Translate = Callable[[str], str]


def _identity(text: str) -> str:
    return text


_translate: Translate = _identity


def install(translate: Translate) -> None:
    """Route every engine translation through ``translate`` (Red's ``Translator``)."""
    global _translate
    _translate = translate


def _(text: str) -> str:
    """The text in the locale of the current context (the server's, set by Red per command)."""
    return _translate(text)
