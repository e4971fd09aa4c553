"""Per-tool telemetry: calls, successes, failures by kind, latency percentiles, last error, cooldowns.

Kept in memory and counted without I/O; the shell persists :meth:`ToolTelemetry.snapshot` in
batches (a periodic flush), never once per call.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Mapping, Optional, Tuple

LATENCY_SAMPLES = 200


@dataclass
class ToolStats:
    calls: int = 0
    successes: int = 0
    failures: Counter = field(default_factory=Counter)
    latencies: Deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    last_error: Optional[str] = None

    def percentile(self, share: float) -> Optional[float]:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
        return ordered[index]

    def to_json(self) -> Dict[str, Any]:
        return {
            "calls": self.calls,
            "successes": self.successes,
            "failures": dict(self.failures),
            "latencies": [round(x, 4) for x in list(self.latencies)[-50:]],
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ToolStats":
        stats = cls(int(data.get("calls", 0)), int(data.get("successes", 0)))
        stats.failures.update({str(k): int(v) for k, v in (data.get("failures") or {}).items()})
        stats.latencies.extend(float(x) for x in data.get("latencies") or [])
        stats.last_error = data.get("last_error")
        return stats


class ToolTelemetry:
    """Counts every tool call; tracks per-user cooldowns. ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stats: Dict[str, ToolStats] = {}
        self._last_call: Dict[Tuple[str, int], float] = {}
        self.dirty = False

    def stats(self, name: str) -> ToolStats:
        return self._stats.setdefault(name, ToolStats())

    def all(self) -> Dict[str, ToolStats]:
        return dict(self._stats)

    def record(
        self, name: str, seconds: float, error_kind: Optional[str] = None, error: Optional[str] = None
    ) -> None:
        stats = self.stats(name)
        stats.calls += 1
        stats.latencies.append(seconds)
        if error_kind is None:
            stats.successes += 1
        else:
            stats.failures[error_kind] += 1
            stats.last_error = (error or error_kind)[:200]
        self.dirty = True

    # -- cooldowns --------------------------------------------------------------------------------

    def cooldown_left(self, name: str, user_id: int, cooldown: float) -> float:
        if cooldown <= 0:
            return 0.0
        last = self._last_call.get((name, user_id))
        if last is None:
            return 0.0
        return max(0.0, cooldown - (self._clock() - last))

    def started(self, name: str, user_id: int) -> None:
        self._last_call[(name, user_id)] = self._clock()
        if len(self._last_call) > 10000:  # bound memory: forget the oldest half
            for key, _ in sorted(self._last_call.items(), key=lambda kv: kv[1])[:5000]:
                del self._last_call[key]

    def longest_cooldown_left(self, name: str, cooldown: float) -> float:
        if cooldown <= 0:
            return 0.0
        users = [user for (tool, user) in self._last_call if tool == name]
        return max((self.cooldown_left(name, user, cooldown) for user in users), default=0.0)

    # -- persistence ------------------------------------------------------------------------------

    def snapshot(self) -> Dict[str, Any]:
        self.dirty = False
        return {name: stats.to_json() for name, stats in self._stats.items()}

    def restore(self, data: Mapping[str, Any]) -> None:
        for name, item in (data or {}).items():
            if isinstance(item, Mapping):
                self._stats[name] = ToolStats.from_json(item)
