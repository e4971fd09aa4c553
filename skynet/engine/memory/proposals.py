"""Automatic memories (optional, off by default): after an answer, the model may notice a lasting
fact in what the member said ("I'm allergic to peanuts") and *propose* it; nothing is stored until
the member confirms (``[p]ai memories confirm``). Where it runs is the shell's decision (the server
allows it and the member opted in, never in incognito); this module makes the one bounded model
call and keeps each member's pending proposal for a few minutes, in memory only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from ..providers.registry import ProviderRegistry
from ..settings import ModelRef
from .revision import UsageSink, ask_briefly, json_object_in

log = logging.getLogger("red.skynet.memory")

MAX_TOKENS = 80
TIMEOUT = 20.0
PROPOSAL_TTL = 600.0  # a proposal not confirmed within 10 minutes is dropped
MAX_FACT_CHARS = 300

PROPOSE_PROMPT = (
    "You help an assistant keep long-term notes about the person it talks with. Read their message. "
    "If it states a lasting fact about themselves that would help in later conversations (a preference, "
    "an allergy or health condition they mention, their job, where they live, their family, a goal), "
    'answer with JSON only: {"fact": "<the fact in the first person, one short sentence>"}. Otherwise '
    "(small talk, a question, something passing, a fact about someone else, anything secret like a "
    'password or card number) answer {"fact": null}.'
)


@dataclass(frozen=True)
class Proposal:
    fact: str
    guild_id: Optional[int]
    user_id: int
    channel_id: int
    at: float


def parse_fact(text: str) -> Optional[str]:
    """``{"fact": "..."}`` → the fact, or None (no fact, or an unusable answer)."""
    data = json_object_in(text)
    fact = data.get("fact") if data is not None else None
    if not isinstance(fact, str):
        return None
    fact = " ".join(fact.split())
    return fact[:MAX_FACT_CHARS] or None


class Proposer:
    """One bounded call per answer where automatic memories are on; one pending proposal per member."""

    def __init__(
        self,
        providers: ProviderRegistry,
        *,
        on_usage: Optional[UsageSink] = None,
        ttl: float = PROPOSAL_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.providers = providers
        self.on_usage = on_usage
        self.ttl = ttl
        self.clock = clock
        self.calls = 0
        self._pending: Dict[Tuple[Optional[int], int], Proposal] = {}

    async def propose(
        self, text: str, model: ModelRef, *, guild_id: Optional[int], user_id: int, channel_id: int
    ) -> Optional[Proposal]:
        """Ask the model whether ``text`` states a fact worth remembering; keep and return it."""
        self.calls += 1
        messages = [
            {"role": "system", "content": PROPOSE_PROMPT},
            {"role": "user", "content": text[:2000]},
        ]
        try:
            answer = await asyncio.wait_for(self._ask(model, messages, (guild_id, user_id)), TIMEOUT)
        except Exception as exc:  # proposing is a nicety: a failure costs nothing but the proposal
            log.info("No memory proposal (%s).", type(exc).__name__)
            return None
        fact = parse_fact(answer)
        if fact is None:
            return None
        proposal = Proposal(fact, guild_id, user_id, channel_id, self.clock())
        self._pending[(guild_id, user_id)] = proposal
        return proposal

    async def _ask(self, model: ModelRef, messages: List[dict], who: Tuple[Optional[int], int]) -> str:
        return await ask_briefly(self.providers, model, messages, MAX_TOKENS, self.on_usage, who)

    def take(self, guild_id: Optional[int], user_id: int) -> Optional[Proposal]:
        """The member's pending proposal (removed), unless it expired."""
        proposal = self._pending.pop((guild_id, user_id), None)
        if proposal is None or self.clock() - proposal.at > self.ttl:
            return None
        return proposal

    def export_user(self, user_id: int) -> dict:
        """The member's pending proposals (for the data map's export)."""
        found = [
            {"fact": p.fact, "server": p.guild_id, "channel": p.channel_id, "at": p.at}
            for (guild_id, uid), p in self._pending.items()
            if uid == user_id
        ]
        return {"pending_proposals": found} if found else {}

    def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        """Data deletion and opting out: drop the member's pending proposals (of one server, or all)."""
        for key in [k for k in self._pending if k[1] == user_id and (guild_id is None or k[0] == guild_id)]:
            del self._pending[key]
