"""The cog's one Red ``Translator``: locales live in ``skynet/locales/`` (``messages.pot`` and
one ``<locale>.po`` per language; ``scripts/i18n.py`` regenerates them).

Importing this module also routes the engine's translation hook (:mod:`skynet.engine.i18n`)
through the same translator (and numbers through Red's locale-aware ``humanize_number``), so an
error raised deep in the engine is shown in the server's locale.
"""

from __future__ import annotations

from redbot.core.i18n import Translator
from redbot.core.utils.chat_formatting import humanize_number

from .engine import i18n as engine_i18n

_ = Translator("Skynet", __file__)
engine_i18n.install(_, humanize_number)

__all__ = ["_"]
