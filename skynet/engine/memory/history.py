"""A fact's versions: when a remembered fact is updated, the old record stays, marked superseded,
and every version carries the id of the fact's first version (``fact``), so a fact and its history
are listed, exported and forgotten together.

Metadata of a memory record added for this (records stored before have none of it and are current
facts without history): ``fact`` (the chain id), ``status`` (``current`` | ``superseded``),
``superseded_at`` and ``replaced_by`` on a superseded version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Set

from .selection import is_superseded
from .vector import Record


def chain_of(record: Record) -> str:
    """The id shared by every version of one fact."""
    return str(record.meta.get("fact") or record.id)


@dataclass(frozen=True)
class FactHistory:
    """One fact: its current version and the versions it replaced, newest first."""

    current: Record
    earlier: List[Record]


def histories(records: Sequence[Record]) -> List[FactHistory]:
    """Group a member's records into facts, oldest fact first (``records`` oldest first)."""
    chains: Dict[str, List[Record]] = {}
    for record in sorted(records, key=lambda r: float(r.meta.get("at", 0) or 0)):
        chains.setdefault(chain_of(record), []).append(record)
    found: List[FactHistory] = []
    for versions in chains.values():
        current = [r for r in versions if not is_superseded(r)]
        head = current[-1] if current else versions[-1]
        earlier = [r for r in reversed(versions) if r is not head]
        found.append(FactHistory(head, earlier))
    found.sort(key=lambda h: float(h.current.meta.get("at", 0) or 0))
    return found


def ids_to_forget(records: Sequence[Record], ids: Sequence[str]) -> List[str]:
    """Forgetting a current fact forgets its history too; forgetting an earlier version (its id from
    ``[p]ai memories list``) forgets just that version."""
    wanted = {i.strip() for i in ids if i.strip()}
    by_id = {r.id: r for r in records}
    chosen: Set[str] = set()
    for record_id in wanted & set(by_id):
        record = by_id[record_id]
        if is_superseded(record):
            chosen.add(record_id)
        else:
            chain = chain_of(record)
            chosen |= {r.id for r in records if chain_of(r) == chain}
    return sorted(chosen)
