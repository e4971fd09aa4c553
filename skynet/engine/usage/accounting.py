"""Usage counters, accumulated in memory and drained in batches by the shell.

Writing Config per message costs a whole-file rewrite with Red's JSON driver, so the hot path
only adds to in-memory deltas; the shell flushes them every few seconds and on unload.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Dict, Hashable, Iterable, Mapping, Optional, Tuple

from ..events import Usage

# ("global",), ("guild", guild_id), ("member", guild_id, user_id), ("user", user_id)
ScopeKey = Tuple[Hashable, ...]


@dataclass
class Counters:
    """Totals for one scope."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    estimated_requests: int = 0  # tokens counted locally because the provider sent no usage
    unpriced_requests: int = 0  # the model had no known price
    reasoning_tokens: int = 0  # part of completion_tokens: reasoning models' thinking

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: "Counters") -> "Counters":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def to_json(self) -> Dict[str, float]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, float]]) -> "Counters":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})

    @classmethod
    def of(cls, usage: Usage) -> "Counters":
        return cls(
            requests=1,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd or 0.0,
            estimated_requests=int(usage.estimated),
            unpriced_requests=int(usage.cost_usd is None),
            reasoning_tokens=usage.reasoning_tokens,
        )


class UsageLedger:
    """Pending usage deltas per scope, not yet written to the store."""

    def __init__(self) -> None:
        self._pending: Dict[ScopeKey, Counters] = {}

    def record(self, scopes: Iterable[ScopeKey], usage: Usage) -> None:
        delta = Counters.of(usage)
        for scope in scopes:
            self._pending.setdefault(scope, Counters()).add(delta)

    def pending(self, scope: ScopeKey) -> Counters:
        """The not-yet-flushed delta for ``scope`` (zero if none)."""
        return Counters().add(self._pending.get(scope, Counters()))

    def drain(self) -> Dict[ScopeKey, Counters]:
        """Take every pending delta; give them back with :meth:`restore` if storing fails."""
        pending, self._pending = self._pending, {}
        return pending

    def restore(self, deltas: Mapping[ScopeKey, Counters]) -> None:
        for scope, delta in deltas.items():
            self._pending.setdefault(scope, Counters()).add(delta)

    def __len__(self) -> int:
        """How many scopes have a pending delta."""
        return len(self._pending)

    def pending_of_user(self, user_id: int) -> Dict[ScopeKey, Counters]:
        """Copies of the pending deltas that belong to ``user_id`` (their member and DM scopes)."""
        return {
            scope: Counters().add(delta)
            for scope, delta in self._pending.items()
            if _owned_by(scope, user_id)
        }

    def discard_user(self, user_id: int, guild_id: Optional[int] = None) -> None:
        """Drop pending deltas that belong to ``user_id`` (data deletion requests), everywhere or
        only their member scope in ``guild_id``."""
        for scope in [s for s in self._pending if _owned_by(s, user_id)]:
            if guild_id is None or (scope[0] == "member" and scope[1] == guild_id):
                del self._pending[scope]


def _owned_by(scope: ScopeKey, user_id: int) -> bool:
    return scope[0] in ("member", "user") and scope[-1] == user_id
