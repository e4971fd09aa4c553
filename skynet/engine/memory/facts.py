"""What a remembered fact is about, by rules: who it is about, its content words, whether it says
something changed. Used to decide whether a new fact is new, an update or a duplicate when no
model is available (or the model's answer can't be used); see :mod:`.revision`.

Plain text analysis, English only (a fact in another language falls back to embedding similarity,
which is still scoped to the member and place). Similarity alone confuses "I live in Glasgow" with
"my sister lives in Valencia": the *holder* (who a fact is about) keeps them apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Sequence

SELF = "self"

_CONTRACTIONS = {
    "i'm": "i am",
    "i've": "i have",
    "i'd": "i would",
    "i'll": "i will",
    "we're": "we are",
    "we've": "we have",
    "it's": "it is",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "can't": "cannot",
    "won't": "will not",
    "haven't": "have not",
}
_SPELLING = {"favorite": "favourite", "color": "colour", "gray": "grey", "mom": "mum"}
# Words that carry no content for comparing two facts (articles, pronouns, auxiliaries, fillers).
_STOP = frozenset(
    """a an the i me my mine we our us you your am is are was were be been being do does did have has
    had will would shall should can could may might must of to in on at by for with from as and or but
    so that this these those it its there here very really just actually currently still now also too
    indeed quite pretty please remember note""".split()
)
# Who a fact can be about besides the member ("my sister lives in Valencia").
PEOPLE = frozenset(
    """sister brother mother mum mom father dad parent wife husband partner spouse son daughter kid child
    children friend bestie colleague coworker boss manager neighbour neighbor cousin aunt uncle niece nephew
    grandmother grandfather grandma grandpa granny gran grandson granddaughter girlfriend boyfriend fiance
    fiancee flatmate roommate housemate teammate classmate landlord landlady nephews stepson stepdaughter
    stepmother stepfather baby twin sibling family lead""".split()
)
_ADJECTIVES = r"(?:best|closest|oldest|older|younger|youngest|little|big|elder|eldest|ex|new|old|late|team)"
_MY_PERSON = re.compile(r"\bmy\s+(?:" + _ADJECTIVES + r"[\s-]+)?([a-z]+?)(s'|'s|s)?(?=[\s,.;:!?]|$)(.{0,40})")
_NAMED = re.compile(r"^\s*(?:now\s+)?(?:is|was)\s+(?:now\s+)?(?:called\s+|named\s+)?[A-Z]")
# The new fact says something changed: it replaces an older one rather than adding to it.
CHANGE_CUES = re.compile(
    r"\b(now|new|newly|moved|move|switched|switch|changed|change|no longer|any ?more|instead|since|became|"
    r"become|got|stopped|quit|left|replaced|sold|actually|these days|after all|turned|went|gave up|"
    r"cancelled|canceled|renamed|relocated|finished|started|not anymore|broke up|divorced|married|"
    r"went up|went down|lost|gained|took up|deleted|has become|have become)\b"
)
# The new fact adds to what is known ("I also play piano"): never an update.
ADDITIVE_CUES = re.compile(r"\b(also|too|as well|another|second|in addition|additionally)\b")
# The new fact is about the past ("I used to live in Utrecht"): it replaces nothing current.
PAST_CUES = re.compile(
    r"\b(used to|as a (child|kid|student|teenager)|when i was|back then|years ago|formerly)\b"
)


def _plain(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").lower()
    for short, long in _CONTRACTIONS.items():
        text = re.sub(r"\b" + re.escape(short) + r"\b", long, text)
    return text


def _fold(word: str) -> str:
    word = _SPELLING.get(word, word)
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return _SPELLING.get(word, word)


def words(text: str) -> List[str]:
    """Lower-case words with contractions expanded, plurals and spelling variants folded."""
    return [_fold(w) for w in re.findall(r"[a-z0-9]+", _plain(text))]


def content(text: str) -> FrozenSet[str]:
    """The words that carry the fact ("my favourite colour is blue" → colour, favourite, blue)."""
    return frozenset(w for w in words(text) if w not in _STOP)


def squashed(text: str) -> str:
    """The fact with every separator and article removed: "home town" = "hometown", "medium-rare" =
    "medium rare", "an aisle seat" = "aisle seats"."""
    return "".join(w for w in words(text) if w not in {"a", "an", "the"})


def markers(text: str) -> FrozenSet[str]:
    """Numbers, e-mail addresses and capitalised names: two facts that differ in one of them say
    different things however similar they look ("my shoe size is 42" / "... 43")."""
    found = set(re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text.lower()))
    stripped = re.sub(r"[\w.+-]+@[\w-]+\.[\w.]+", " ", text)
    found |= set(re.findall(r"\d+(?:[.,:]\d+)?", stripped))
    tokens = re.findall(r"[A-Za-z][\w'’-]*", stripped)
    for n, token in enumerate(tokens):
        if n and token[0].isupper() and token not in {"I", "I'm", "I’m", "I've", "I'd", "I'll"}:
            found.add(_fold(re.sub(r"['’]s$", "", token.lower())))
    return frozenset(found)


def holder(text: str) -> str:
    """Who the fact is about: ``self`` (the member) or a person word ("sister", "friend").

    "My sister lives in Valencia" is about the sister; "my sister is called Ana" and "my car is
    blue" are about the member (their sister's name, their car); "my son's shoe size" is the son's.
    """
    plain = text.replace("’", "'")
    lowered = plain.lower()
    first_self = re.search(r"\b(i|i'm|i've|i'd|we|we're|our|me)\b", lowered)
    for match in _MY_PERSON.finditer(lowered):
        if first_self and first_self.start() < match.start():
            return SELF  # "I broke up with my partner" is about the member
        noun = _fold(match.group(1) + ("s" if match.group(2) == "s" else ""))
        if noun not in PEOPLE:
            continue
        if match.group(2) in ("'s", "s'"):
            if re.match(r"\s+name\b", match.group(3)):
                return SELF  # "my son's name is Oliver": the member's son's name
            return noun  # "my daughter's shoe size"
        rest_original = plain[match.end(2) if match.group(2) else match.end(1) : match.end(3)]
        if _NAMED.match(rest_original):
            return SELF  # "my partner is called Alex": the member's partner, a fact of the member
        return noun
    return SELF


@dataclass(frozen=True)
class Fact:
    """A fact's features, computed once."""

    text: str
    holder: str
    content: FrozenSet[str]
    squashed: str
    markers: FrozenSet[str]
    change: bool
    additive: bool
    past: bool
    families: FrozenSet[int]

    @classmethod
    def of(cls, text: str) -> "Fact":
        plain = _plain(text)
        return cls(
            text=text,
            holder=holder(text),
            content=content(text),
            squashed=squashed(text),
            markers=markers(text),
            change=bool(CHANGE_CUES.search(plain)),
            additive=bool(ADDITIVE_CUES.search(plain)),
            past=bool(PAST_CUES.search(plain)),
            families=families(text),
        )


# Subjects a changed fact often names in other words ("I live in Glasgow" / "I moved to Valencia").
FAMILIES = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(live[sd]?|living|(?<!was )(?<!been )moved (to|house|back|abroad|in|out)|relocat\w*|home is|based in|resid\w*)\b",
        r"\b(job|career|profession|occupation|employer|works? (as|at|for)|hired|promoted|fired|resigned)\b",
        r"\b(single|married|marry|dating|divorced|engaged|widowed|in a relationship|broke up)\b",
        r"\b(bank\w*|account)\b",
        r"\b(internet|broadband|isp|fibre|fiber)\b",
        r"\b(commut\w*|bus|train|tram|metro|subway|cycle|drive|driving)\b",
        r"\b(\d+ years? old|turned \d+|my age)\b",
    )
)


def families(text: str) -> FrozenSet[int]:
    """Which of :data:`FAMILIES` a fact's text names."""
    plain = _plain(text)
    return frozenset(n for n, family in enumerate(FAMILIES) if family.search(plain))


# Thresholds on cosine similarity. Tuned with all-MiniLM-L6-v2 on bench/update_set.py; other
# embedding models spread similarities differently, which is why the model judge exists.
DUPLICATE_SIMILARITY = 0.9  # rewordings of one fact ("I'm left-handed" / "I am left handed")
UPDATE_SIMILARITY = 0.6  # same holder, plainly the same subject
CHANGED_SIMILARITY = 0.3  # same holder, same family of subject, and the new fact says something changed
SHARED_SIMILARITY = 0.4  # same holder, a word in common, and the new fact says something changed


@dataclass(frozen=True)
class Verdict:
    action: str  # "new" | "update" | "duplicate"
    target: Optional[int] = None  # index of the candidate it updates or repeats
    why: str = ""


NEW, UPDATE, DUPLICATE = "new", "update", "duplicate"


def is_duplicate(new: Fact, old: Fact, similarity: float) -> bool:
    """The same fact said again (possibly in other words): nothing new to store."""
    if new.holder != old.holder:
        return False
    if new.squashed == old.squashed:
        return True
    if new.markers != old.markers:
        return False  # a different number or name: not the same fact
    if not new.content or not old.content:
        return False
    if new.content == old.content:
        return True
    if ("not" in new.content) != ("not" in old.content):
        return False  # "I'm not allergic to penicillin after all"
    if new.content <= old.content or old.content <= new.content:
        if len(new.content ^ old.content) <= 2:  # one adds a filler detail ("at work")
            return similarity >= DUPLICATE_SIMILARITY - 0.1
    return similarity >= DUPLICATE_SIMILARITY and not new.change


def decide(new_text: str, candidates: Sequence[str], similarities: Sequence[float]) -> Verdict:
    """New, update of ``candidates[i]`` or duplicate of ``candidates[i]``, by rules.

    ``candidates``: the member's current facts nearest to the new one, with their cosine
    similarities to it (any order).
    """
    new = Fact.of(new_text)
    olds = [Fact.of(text) for text in candidates]
    order = sorted(range(len(olds)), key=lambda i: -similarities[i])
    for i in order:
        if is_duplicate(new, olds[i], similarities[i]):
            return Verdict(DUPLICATE, i, "same fact")
    if new.additive or new.past:
        return Verdict(NEW, None, "adds to what is known" if new.additive else "about the past")
    best: Optional[int] = None
    best_score = 0.0
    for i in order:
        old, similarity = olds[i], similarities[i]
        if old.holder != new.holder or old.past:
            continue
        shared = len(new.content & old.content)
        family = bool(new.families & old.families)
        score = similarity + 0.05 * min(shared, 3) + (0.2 if family else 0.0)
        if (
            similarity >= UPDATE_SIMILARITY
            or (new.change and family and similarity >= CHANGED_SIMILARITY)
            or (new.change and shared and similarity >= SHARED_SIMILARITY)
        ):
            if best is None or score > best_score:
                best, best_score = i, score
    if best is not None:
        return Verdict(UPDATE, best, "same subject")
    return Verdict(NEW, None, "nothing close enough")
