"""Reliability: one retry policy, a circuit breaker per endpoint, an ordered failover chain, and
deletion tombstones that every write-back checks. Discord-free; time is injectable for tests."""

from .circuit import CircuitBreaker, Circuits
from .deletion import DeletionLedger, WriteGuard
from .failover import AttemptFailed, Reliability
from .retry import RetryPolicy, Verdict, classify

__all__ = [
    "AttemptFailed",
    "CircuitBreaker",
    "Circuits",
    "DeletionLedger",
    "Reliability",
    "RetryPolicy",
    "Verdict",
    "WriteGuard",
    "classify",
]
