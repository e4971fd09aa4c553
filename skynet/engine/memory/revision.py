"""Deciding what a newly remembered fact does to the member's memory: adds a fact (new), replaces
one (update: the old one is kept as history, never recalled as current) or repeats one
(duplicate: nothing is stored).

The rules of :mod:`.facts` decide first. When a candidate is close enough for the answer to be in
doubt, and a model is configured, one small bounded call asks the model (≤ ``MAX_TOKENS`` tokens
out, a timeout, at most ``calls_per_hour`` calls, its tokens reported to ``on_usage`` so they are
counted like any other request); if that call fails or answers something unusable, the rules'
verdict stands. Plain data in, plain data out: the service does the storing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from ..providers.completion import complete
from ..providers.registry import ProviderRegistry
from ..settings import ModelRef
from . import facts
from .facts import DUPLICATE, NEW, UPDATE, Verdict

log = logging.getLogger("red.skynet.memory")

CANDIDATES = 8  # the member's nearest current facts compared with a new one
MIN_SIMILARITY = 0.25  # farther than this, a stored fact is not a candidate at all
MAX_TOKENS = 120
TIMEOUT = 20.0

JUDGE_PROMPT = (
    "You keep one person's long-term memory consistent. You get the facts already stored about them "
    "(numbered) and a NEW fact they just told. Answer with JSON only, no prose: "
    '{"action": "new" | "update" | "duplicate", "fact": <number or null>}.\n'
    "- duplicate: NEW says the same thing as fact <number> (other words are fine).\n"
    "- update: NEW replaces fact <number>: same person and same subject, and what was true has "
    "changed (a move, a new job, a new phone, a corrected value).\n"
    '- new: anything else, e.g. a fact about someone else ("my sister lives in X" does not replace '
    '"I live in Y"), or an additional fact ("I also play piano").'
)


@dataclass(frozen=True)
class Candidate:
    """A stored current fact of the member, with its similarity to the new one."""

    id: str
    text: str
    similarity: float


@dataclass(frozen=True)
class Revision:
    action: str  # NEW | UPDATE | DUPLICATE
    target: Optional[Candidate] = None  # the fact updated or repeated
    decided_by: str = "rules"  # or "model"


# model, prompt tokens, completion tokens, estimated, who asked (guild id or None, user id)
UsageSink = Callable[[ModelRef, int, int, bool, Optional[Tuple[Optional[int], int]]], None]


async def ask_briefly(
    providers: ProviderRegistry,
    model: ModelRef,
    messages: List[dict],
    max_tokens: int,
    on_usage: Optional["UsageSink"],
    who: Optional[Tuple[Optional[int], int]],
) -> str:
    """One small model call (the judge's, a proposal's): its text, its tokens given to ``on_usage``
    (estimated at about 4 characters a token when the provider reports none)."""
    provider = await providers.provider(model.endpoint)
    text, usage = await complete(provider, model.name, messages, {"max_tokens": max_tokens})
    if on_usage is not None:
        if usage is not None:
            on_usage(model, usage.prompt_tokens, usage.completion_tokens, False, who)
        else:
            prompt = sum(len(m["content"]) for m in messages) // 4
            on_usage(model, prompt, max(1, len(text) // 4), True, who)
    return text


class FactJudge:
    """Asks a chat model whether a new fact is new, an update or a duplicate (one bounded call)."""

    def __init__(
        self,
        providers: ProviderRegistry,
        model: Callable[[], Optional[ModelRef]],
        *,
        on_usage: Optional[UsageSink] = None,
        calls_per_hour: int = 120,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.providers = providers
        self.model = model
        self.on_usage = on_usage
        # Whether the member (guild id or None, user id) may still spend: no call past a budget.
        self.may_spend: Callable[[Optional[Tuple[Optional[int], int]]], bool] = lambda who: True
        self.calls_per_hour = calls_per_hour
        self.timeout = timeout
        self.clock = clock
        self.calls = 0  # every call made (for [p]ai diag and tests)
        self.unusable = 0  # calls that failed or answered nothing usable
        self._recent: List[float] = []

    def available(self) -> bool:
        now = self.clock()
        self._recent = [at for at in self._recent if now - at < 3600]
        return self.model() is not None and len(self._recent) < self.calls_per_hour

    async def judge(
        self, new_text: str, candidates: Sequence[Candidate], who: Optional[Tuple[Optional[int], int]] = None
    ) -> Optional[Verdict]:
        """The model's verdict, or None (no model, over the hourly cap, failed, unusable)."""
        model = self.model()
        if model is None or not self.available() or not self.may_spend(who):
            return None
        self._recent.append(self.clock())
        self.calls += 1
        listing = "\n".join(f"{n}. {c.text}" for n, c in enumerate(candidates, 1))
        messages = [
            {"role": "system", "content": JUDGE_PROMPT},
            {"role": "user", "content": f"Stored facts:\n{listing}\n\nNEW: {new_text}"},
        ]
        try:
            text = await asyncio.wait_for(self._ask(model, messages, who), self.timeout)
        except Exception as exc:  # a slow or failing provider: the rules decide
            log.info("The memory judge did not answer (%s); deciding by rules.", type(exc).__name__)
            self.unusable += 1
            return None
        verdict = parse_verdict(text, len(candidates))
        if verdict is None:
            self.unusable += 1
        return verdict

    async def _ask(
        self, model: ModelRef, messages: List[dict], who: Optional[Tuple[Optional[int], int]]
    ) -> str:
        return await ask_briefly(self.providers, model, messages, MAX_TOKENS, self.on_usage, who)


def json_object_in(text: str) -> Optional[dict]:
    """The first flat JSON object in a model's answer (possibly inside prose or a code fence)."""
    match = re.search(r"\{.*?\}", text or "", re.S)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def parse_verdict(text: str, count: int) -> Optional[Verdict]:
    """``{"action": ..., "fact": n}`` (possibly inside prose or a code fence) → a verdict."""
    data = json_object_in(text)
    if data is None:
        return None
    action = str(data.get("action", "")).strip().lower()
    if action == NEW:
        return Verdict(NEW, None, "model")
    if action not in (UPDATE, DUPLICATE):
        return None
    try:
        number = int(data.get("fact"))
    except (TypeError, ValueError):
        return None
    if not 1 <= number <= count:
        return None
    return Verdict(action, number - 1, "model")


def needs_judge(new_text: str, candidates: Sequence[Candidate], rules: Verdict) -> bool:
    """Whether asking the model could change anything: a candidate is close, and the rules'
    verdict is not a certainty (the same words again)."""
    if not candidates:
        return False
    if rules.action == DUPLICATE and rules.target is not None:
        if facts.squashed(new_text) == facts.squashed(candidates[rules.target].text):
            return False
    return max(c.similarity for c in candidates) >= facts.CHANGED_SIMILARITY


async def revise(
    new_text: str,
    candidates: Sequence[Candidate],
    judge: Optional[FactJudge] = None,
    who: Optional[Tuple[Optional[int], int]] = None,
) -> Revision:
    """Decide what ``new_text`` does, given the member's nearest current facts."""
    candidates = [c for c in candidates if c.similarity >= MIN_SIMILARITY][:CANDIDATES]
    rules = facts.decide(new_text, [c.text for c in candidates], [c.similarity for c in candidates])
    verdict, decided_by = rules, "rules"
    if judge is not None and needs_judge(new_text, candidates, rules):
        answer = await judge.judge(new_text, candidates, who)
        if answer is not None:
            verdict, decided_by = answer, "model"
    target = candidates[verdict.target] if verdict.target is not None else None
    return Revision(verdict.action, target, decided_by)
