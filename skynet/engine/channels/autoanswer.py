"""Auto-answer: should a member's question be answered from the server's documents?

Decided on plain data: the shell passes the message's facts and the nearest document passages
(with their cosine similarity); this module says answer, log it to the mods' channel (dry run) or
stay silent, and why. The same question (same words, or nearly the same meaning) is answered at
most once per channel in ``window`` seconds.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Dict, FrozenSet, List, Optional, Sequence, Tuple

DEFAULT_THRESHOLD = 0.55  # cosine similarity of the closest sentence: the lowest with precision ≥ 0.9 on bench/autoanswer.py's tuning set
DEFAULT_WINDOW = 3600.0  # seconds a question is not answered again in a channel
SAME_QUESTION = 0.9  # cosine similarity above which two questions are the same one
MIN_WORDS = 3
MAX_CHARS = 1000  # a longer message is a post, not a support question
PASSAGES = 4
MAX_UNITS = 24  # per passage: a 900-character passage has about 6 sentences

QUESTION_WORDS = frozenset(
    "how what why where when which who whom whose can could does do did is are was were will would "
    "should shall may might has have any anyone anybody is there how's what's where's whats wheres hows "
    "comment pourquoi où ou quand quel quelle quels quelles qui quoi combien est-ce peut-on "
    "puis-je peux-tu faut-il y a-t-il".split()
)


def looks_like_question(text: str) -> bool:
    """A support question: a few words ending in ``?`` or starting with a question word."""
    stripped = text.strip()
    words = re.findall(r"[\w'’-]+", stripped.lower())
    if len(words) < MIN_WORDS or len(stripped) > MAX_CHARS:
        return False
    if "```" in stripped:
        return False
    return stripped.rstrip().endswith("?") or words[0] in QUESTION_WORDS


@dataclass(frozen=True)
class AutoAnswerRules:
    """A server's auto-answer settings (``ai autoanswer``)."""

    channels: FrozenSet[int] = frozenset()  # empty: auto-answer is off
    threshold: float = DEFAULT_THRESHOLD
    ignored_roles: FrozenSet[int] = frozenset()
    helpful_button: bool = False
    dry_run_channel: Optional[int] = None  # set: log what would be answered there, answer nothing
    window: float = DEFAULT_WINDOW

    @classmethod
    def from_json(cls, data: Dict) -> "AutoAnswerRules":
        return cls(
            channels=frozenset(int(c) for c in data.get("channels", ())),
            threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
            ignored_roles=frozenset(int(r) for r in data.get("ignored_roles", ())),
            helpful_button=bool(data.get("helpful_button", False)),
            dry_run_channel=int(data["dry_run_channel"]) if data.get("dry_run_channel") else None,
            window=float(data.get("window", DEFAULT_WINDOW)),
        )


@dataclass(frozen=True)
class Asked:
    """What the decision needs to know about one message."""

    guild_id: int
    channel_id: int  # the settings channel (a thread's parent)
    text: str
    role_ids: Tuple[int, ...] = ()
    addressed_to_bot: bool = False  # a mention or a reply to the bot: the listener answers that


@dataclass(frozen=True)
class Passage:
    document: str
    section: str
    text: str
    similarity: float


@dataclass(frozen=True)
class Verdict:
    action: str  # "answer", "dry_run" or "silent"
    reason: str
    passages: Tuple[Passage, ...] = ()

    @property
    def acts(self) -> bool:
        return self.action != "silent"


SILENT = "silent"


def candidate(rules: AutoAnswerRules, asked: Asked) -> Optional[str]:
    """Why this message is not a candidate (no embedding needed to tell), or None."""
    if asked.channel_id not in rules.channels:
        return "auto-answer is off in this channel"
    if asked.addressed_to_bot:
        return "addressed to the bot: the listener answers it"
    if rules.ignored_roles.intersection(asked.role_ids):
        return "the member has an ignored role"
    if not looks_like_question(asked.text):
        return "not a question"
    return None


def decide(rules: AutoAnswerRules, passages: Sequence[Passage]) -> Verdict:
    """Answer when the best passage reaches the threshold; cite the passages that come close."""
    best = max((p.similarity for p in passages), default=0.0)
    if best < rules.threshold:
        return Verdict(SILENT, f"best similarity {best:.2f} is under the threshold {rules.threshold:.2f}")
    # passages almost as close as the best one support the answer too
    kept = tuple(p for p in sorted(passages, key=lambda p: -p.similarity) if p.similarity >= best - 0.1)
    action = "dry_run" if rules.dry_run_channel else "answer"
    return Verdict(action, f"best similarity {best:.2f} ≥ {rules.threshold:.2f}", kept)


def units_of(section: str, text: str) -> List[str]:
    """The sentences of a passage, and each pair of neighbours, headed by the section's last
    heading. A question is compared with these rather than with the whole passage: a passage
    covers several facts, and its one vector is a blur of them all (bench/autoanswer.py: recall
    0.53 → 0.72 at equal precision)."""
    heading = section.split(" › ")[-1]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]
    return [f"{heading}: {s}" for s in sentences + pairs][:MAX_UNITS]


def rescore(question: Sequence[float], candidates: Sequence[Tuple[str, str, str]],
            unit_vectors: Sequence[Sequence[Sequence[float]]]) -> List[Passage]:
    """``candidates`` (document, section, text) with the vectors of their :func:`units_of`:
    each passage's similarity is that of its closest unit; best first."""
    scored = [
        Passage(doc, section, text, max((cosine(question, v) for v in vectors), default=0.0))
        for (doc, section, text), vectors in zip(candidates, unit_vectors)
    ]
    return sorted(scored, key=lambda p: -p.similarity)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = sum(x * x for x in a) ** 0.5
    nb = sum(y * y for y in b) ** 0.5
    return dot / (na * nb) if na and nb else 0.0


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


@dataclass
class RecentQuestions:
    """Questions answered lately, per channel: the same one is not answered twice in ``window``."""

    capacity: int = 50  # per channel
    _seen: Dict[int, Deque[Tuple[float, str, Tuple[float, ...]]]] = field(default_factory=dict)

    def seen(self, channel_id: int, text: str, vector: Sequence[float], now: float, window: float) -> bool:
        key = normalise(text)
        for at, other, other_vector in self._seen.get(channel_id, ()):
            if now - at > window:
                continue
            if other == key or (vector and other_vector and cosine(vector, other_vector) >= SAME_QUESTION):
                return True
        return False

    def add(self, channel_id: int, text: str, vector: Sequence[float], now: float) -> None:
        queue = self._seen.setdefault(channel_id, deque(maxlen=self.capacity))
        queue.append((now, normalise(text), tuple(vector)))


ANSWER_PROMPT = (
    "You answer a member's support question in a Discord server using ONLY the server's documents "
    "below. Be brief and friendly. Cite the passages you used as [document › section]. If the "
    "documents do not answer the question, reply with exactly NO_ANSWER and nothing else. Never "
    "mention or ping anyone with @."
)
NO_ANSWER = "NO_ANSWER"


def answer_messages(question: str, passages: Sequence[Passage]) -> List[Dict[str, str]]:
    docs = "\n\n".join(f"[{p.document} › {p.section}]\n{p.text}" for p in passages)
    return [
        {"role": "system", "content": ANSWER_PROMPT},
        {"role": "system", "content": "Documents:\n" + docs},
        {"role": "user", "content": question},
    ]


def declined(answer: str) -> bool:
    """The model found the documents don't answer it after all."""
    return not answer.strip() or answer.strip().strip(".").upper().startswith(NO_ANSWER)
