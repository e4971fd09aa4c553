"""An admin's blocked-words list, matched with safe wildcards (never a raw regular expression).

A pattern is a word or a phrase, matched as whole words, ignoring case and accents' width forms
(NFKC + casefold). ``*`` inside or at the end of a word stands for any letters of that word
(``spam*`` matches "spammer", ``f*ck`` matches "fuck"), never for a space. Every other character
is literal, so admins cannot write a regular expression that hangs the bot (no nested
quantifiers: at most :data:`MAX_WILDCARDS` wildcards, each ``[^\\W]*`` between literal text).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, List, Optional, Pattern, Tuple

from ..errors import InvalidValue
from ..i18n import _

MAX_WORDS = 200
MAX_LENGTH = 60
MAX_WILDCARDS = 3


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def check_pattern(raw: str) -> str:
    """The pattern as stored (normalised), or an :class:`InvalidValue` saying what is allowed."""
    pattern = " ".join(normalise(raw).split())
    if not pattern.replace("*", ""):
        raise InvalidValue(_("A blocked word needs at least one letter (`*` alone would block everything)."))
    if len(pattern) > MAX_LENGTH:
        raise InvalidValue(_("A blocked word or phrase is at most {limit} characters.").format(limit=MAX_LENGTH))
    if pattern.count("*") > MAX_WILDCARDS:
        raise InvalidValue(_("A blocked word has at most {limit} `*` wildcards.").format(limit=MAX_WILDCARDS))
    if pattern.startswith("*") and len(pattern.strip("*")) < 3:
        raise InvalidValue(_("A pattern starting with `*` needs at least 3 letters after it."))
    return pattern


def _compile(pattern: str) -> str:
    parts = [re.escape(part) for part in pattern.split("*")]
    body = r"\w*".join(parts).replace(r"\ ", r"\s+")
    return rf"(?<!\w){body}(?!\w)"


class BlockedWords:
    """Compiled once per change; :meth:`find` is one regex search over the text."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns: Tuple[str, ...] = tuple(dict.fromkeys(check_pattern(p) for p in patterns))
        if len(self.patterns) > MAX_WORDS:
            raise InvalidValue(_("A server blocks at most {limit} words.").format(limit=MAX_WORDS))
        self._regex: Optional[Pattern[str]] = (
            re.compile("|".join(f"({_compile(p)})" for p in self.patterns)) if self.patterns else None
        )

    def find(self, text: str) -> Optional[str]:
        """The first blocked pattern found in ``text`` (the pattern, not the text), or None."""
        if self._regex is None or not text:
            return None
        match = self._regex.search(normalise(text))
        if match is None:
            return None
        return self.patterns[match.lastindex - 1]

    def with_added(self, raw: Iterable[str]) -> "BlockedWords":
        return BlockedWords([*self.patterns, *raw])

    def without(self, raw: Iterable[str]) -> Tuple["BlockedWords", List[str]]:
        drop = {check_pattern(p) for p in raw}
        removed = [p for p in self.patterns if p in drop]
        return BlockedWords(p for p in self.patterns if p not in drop), removed


__all__ = ["BlockedWords", "check_pattern", "normalise", "MAX_WORDS"]
