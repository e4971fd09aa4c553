"""The cog's one Red ``Translator``: locales live in ``skynet/locales/`` (``messages.pot`` and
one ``<locale>.po`` per language; ``scripts/i18n.py`` regenerates them).

Importing this module also routes the engine's translation hook (:mod:`skynet.engine.i18n`)
through the same translator (and numbers through Red's locale-aware ``humanize_number``), so an
error raised deep in the engine is shown in the server's locale.
"""

from __future__ import annotations

from redbot.core.i18n import Translator, get_babel_locale
from redbot.core.utils.chat_formatting import humanize_number

from .engine import i18n as engine_i18n

_ = Translator("Skynet", __file__)


def _is_one(count: int) -> bool:
    """The current locale's plural rule (CLDR, through babel): French counts 0 as singular."""
    return get_babel_locale().plural_form(count) == "one"


engine_i18n.install(_, humanize_number, _is_one)

plural = engine_i18n.plural

__all__ = ["_", "plural"]
