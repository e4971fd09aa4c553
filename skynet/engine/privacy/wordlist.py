"""An admin's blocked-words list, matched with safe wildcards (never a raw regular expression).

A pattern is a word or a phrase, matched as whole words, ignoring case and accents' width forms
(NFKC + casefold). ``*`` inside or at the end of a word stands for any letters of that word
(``spam*`` matches "spammer", ``f*ck`` matches "fuck"), never for a space. Nothing else is special:
letters and digits match themselves, punctuation separates words as in messages ("a+b" is the phrase
"a b"),
so admins cannot write a regular expression that hangs the bot: at most :data:`MAX_WILDCARDS`
wildcards, each matched against one word at most.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, Iterable, List, Optional, Pattern, Tuple

from ..errors import InvalidValue
from ..i18n import _

MAX_WORDS = 200
MAX_LENGTH = 60
MAX_WILDCARDS = 3


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _tokens(pattern: str) -> List[str]:
    return re.findall(r"[\w*]+", pattern)


def check_pattern(raw: str) -> str:
    """The pattern as stored (normalised: its words, ``*`` kept), or an :class:`InvalidValue`
    saying what is allowed. Punctuation separates words, as in the messages checked."""
    pattern = " ".join(_tokens(normalise(raw)))
    if not pattern.replace("*", "").replace(" ", ""):
        raise InvalidValue(_("A blocked word needs at least one letter (`*` alone would block everything)."))
    if len(pattern) > MAX_LENGTH:
        raise InvalidValue(_("A blocked word or phrase is at most {limit} characters.").format(limit=MAX_LENGTH))
    if pattern.count("*") > MAX_WILDCARDS:
        raise InvalidValue(_("A blocked word has at most {limit} `*` wildcards.").format(limit=MAX_WILDCARDS))
    for token in pattern.split():
        if token.startswith("*") and len(token.strip("*")) < 3:
            raise InvalidValue(_("A pattern starting with `*` needs at least 3 letters after it."))
    return pattern


def _wildcard_regex(pattern: str) -> str:
    return " ".join(r"\w*".join(re.escape(part) for part in token.split("*")) for token in pattern.split())


REGEX_SAFE_LENGTH = 64  # longer grams are matched without the regex (no backtracking at all)


def glob_match(pattern: str, text: str) -> bool:
    """``*`` = any run of word characters (never a space); linear-time, no backtracking blow-up."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == text[t] and pattern[p] != "*":
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, t, p + 1
        elif star != -1 and text[mark] != " ":
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


class BlockedWords:
    """Compiled once per change. :meth:`find` splits the message into words once, then looks
    whole words and phrases up in sets; only wildcard patterns run a (linear, anchored) regex,
    and only against the message's distinct words and word sequences."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns: Tuple[str, ...] = tuple(dict.fromkeys(check_pattern(p) for p in patterns))
        if len(self.patterns) > MAX_WORDS:
            raise InvalidValue(_("A server blocks at most {limit} words.").format(limit=MAX_WORDS))
        self._exact: Dict[int, Dict[str, str]] = {}  # words in the pattern -> {pattern: pattern}
        wild: Dict[int, List[str]] = {}
        for pattern in self.patterns:
            size = len(pattern.split())
            if "*" in pattern:
                wild.setdefault(size, []).append(pattern)
            else:
                self._exact.setdefault(size, {})[pattern] = pattern
        self._wild: Dict[int, Tuple[Pattern[str], List[str]]] = {
            size: (re.compile("|".join(f"({_wildcard_regex(p)})" for p in found)), found)
            for size, found in wild.items()
        }
        self._sizes = sorted(set(self._exact) | set(self._wild))

    def find(self, text: str) -> Optional[str]:
        """The first blocked pattern found in ``text`` (the pattern, not the text), or None."""
        if not self.patterns or not text:
            return None
        words = re.findall(r"\w+", normalise(text))
        for size in self._sizes:
            grams = {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}
            exact = self._exact.get(size)
            if exact:
                hit = next((g for g in grams if g in exact), None)
                if hit is not None:
                    return exact[hit]
            wild = self._wild.get(size)
            if wild:
                regex, found = wild
                for gram in grams:
                    if len(gram) > REGEX_SAFE_LENGTH:
                        hit = next((p for p in found if glob_match(p, gram)), None)
                        if hit is not None:
                            return hit
                        continue
                    match = regex.fullmatch(gram)
                    if match:
                        return found[match.lastindex - 1]
        return None

    def with_added(self, raw: Iterable[str]) -> "BlockedWords":
        return BlockedWords([*self.patterns, *raw])

    def without(self, raw: Iterable[str]) -> Tuple["BlockedWords", List[str]]:
        drop = {check_pattern(p) for p in raw}
        removed = [p for p in self.patterns if p in drop]
        return BlockedWords(p for p in self.patterns if p not in drop), removed


__all__ = ["BlockedWords", "check_pattern", "normalise", "MAX_WORDS"]
