"""Usage counters that scale: a SQLite file of per-scope totals, written in one transaction per flush.

The in-memory side (pending deltas per scope) is :mod:`skynet.engine.usage.accounting`; this package is
the durable side. See ``docs/architecture.md`` ("Storage") for why counters are not in Config.
"""

from .counter_db import CounterDB, CounterStore

__all__ = ["CounterDB", "CounterStore"]
