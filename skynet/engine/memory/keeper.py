"""Long-term facts that stay true, on the vector store: storing a fact as new, as an update of an
older one (kept as superseded history) or not at all (a duplicate); recalling the few facts worth a
prompt; a member's facts with their versions. The service calls these with its open store.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .facts import DUPLICATE, NEW, UPDATE
from .history import chain_of
from .revision import CANDIDATES, Candidate, FactJudge, revise
from .selection import CURRENT, SUPERSEDED, SelectionLimits, is_superseded, select, similarity
from .vector import Record, VectorStore

RECALL_CANDIDATES = 16  # nearest records fetched per prompt, before the cut-off and diversity


@dataclass(frozen=True)
class Remembered:
    """What remembering a fact did: ``record`` is the stored fact (or, for a duplicate, the one
    already there); ``replaced`` the fact it superseded."""

    action: str  # NEW | UPDATE | DUPLICATE
    record: Record
    replaced: Optional[Record] = None
    decided_by: str = "rules"

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def text(self) -> str:
        return self.record.text


def new_id() -> str:
    return "m" + uuid.uuid4().hex[:7]


async def remember(
    store: VectorStore,
    model: str,
    place: str,
    text: str,
    vector: Sequence[float],
    meta: Mapping[str, Any],
    judge: Optional[FactJudge] = None,
) -> Remembered:
    """Store ``text`` for ``meta['user']`` unless it repeats a current fact; supersede the fact it
    updates. Only the member's own current facts of the same scope are compared."""
    nearest = await store.query(model, place, vector, {"user": str(meta["user"])}, CANDIDATES * 2)
    current = [
        r
        for r in nearest
        if not is_superseded(r) and r.meta.get("scope", "member") == meta.get("scope", "member")
    ][:CANDIDATES]
    candidates = [Candidate(r.id, r.text, similarity(r)) for r in current]
    guild = meta.get("guild")
    who = (int(guild) if str(guild).isdigit() else None, int(meta["user"]))
    revision = await revise(text, candidates, judge, who)
    by_id = {r.id: r for r in current}
    target = by_id.get(revision.target.id) if revision.target is not None else None
    if revision.action == DUPLICATE and target is not None:
        return Remembered(DUPLICATE, target, None, revision.decided_by)
    record_id = new_id()
    stored: Dict[str, Any] = dict(meta)
    stored["status"] = CURRENT
    stored["fact"] = chain_of(target) if revision.action == UPDATE and target is not None else record_id
    await store.add(model, place, [record_id], [text], [vector], [stored])
    record = Record(record_id, text, stored)
    if revision.action != UPDATE or target is None:
        return Remembered(NEW, record, None, revision.decided_by)
    old = dict(target.meta)
    old.update(
        status=SUPERSEDED,
        superseded_at=float(stored.get("at", time.time())),
        replaced_by=record_id,
        fact=chain_of(target),
    )
    await store.update(model, place, [target.id], [old])
    return Remembered(UPDATE, record, Record(target.id, target.text, old), revision.decided_by)


async def recall(
    store: VectorStore,
    model: str,
    place: str,
    vector: Sequence[float],
    where: Mapping[str, Any],
    question: str,
    limits: SelectionLimits,
) -> List[Record]:
    """The few memories worth sending with ``question`` (see :mod:`.selection`)."""
    records, vectors = await store.query_with_vectors(model, place, vector, dict(where), RECALL_CANDIDATES)
    return select(records, question, limits, vectors)


__all__ = ["Remembered", "remember", "recall", "NEW", "UPDATE", "DUPLICATE", "RECALL_CANDIDATES"]
