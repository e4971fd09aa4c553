"""What privacy costs on the hot path (issue 15), each beside a reference in the same run:

- the storing gate's decision per message vs. the single set lookup it replaced (incognito only);
- blocked words: one search of a 1,500-character message against 200 patterns (wildcards
  included) vs. 200 plain ``in`` substring checks;
- the audit log: recording one settings change (a worker-thread SQLite insert) per command.

    /work/main/.venv/bin/python bench/privacy.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet.engine.privacy.audit import AuditEntry, AuditLog  # noqa: E402
from skynet.engine.privacy.gate import StoringGate  # noqa: E402
from skynet.engine.privacy.wordlist import BlockedWords  # noqa: E402


def per_call(fn, n: int) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n)
    return statistics.median(runs)


def main() -> None:
    gate = StoringGate()
    gate.incognito.update(range(1000))
    gate.excluded_channels.update(range(10_000, 10_050))
    incognito = set(range(1000))
    gate_s = per_call(lambda: gate.may_store(5000, guild_id=1, channel_id=2, parent_id=3), 200_000)
    set_s = per_call(lambda: 5000 not in incognito, 200_000)
    print(f"gate.may_store: {gate_s * 1e6:.2f} µs/message   reference (incognito set lookup): {set_s * 1e6:.3f} µs")

    words = [f"word{n}" for n in range(150)] + [f"sp{n}m*" for n in range(40)] + [f"bad {n} phrase" for n in range(10)]
    blocked = BlockedWords(words)
    text = ("a perfectly ordinary message about the weather and lunch plans " * 25)[:1500]
    find_s = per_call(lambda: blocked.find(text), 2_000)
    lowered = text.lower()
    plain = [w.replace("*", "") for w in words]
    in_s = per_call(lambda: any(w in lowered for w in plain), 2_000)
    print(f"blocked words (200 patterns, 1,500 chars): {find_s * 1e6:.1f} µs/message   reference (200 substring checks): {in_s * 1e6:.1f} µs")

    async def audit() -> None:
        with tempfile.TemporaryDirectory() as folder:
            log = AuditLog(Path(folder) / "audit.sqlite3")
            entry = AuditEntry(time.time(), 1, 2, "ai params set", "server 1", "params.temperature", "0.5", "0.7")
            await log.record([entry])  # opens the file
            n = 200
            start = time.perf_counter()
            for _ in range(n):
                await log.record([entry])
            record_s = (time.perf_counter() - start) / n
            start = time.perf_counter()
            for _ in range(n):
                await asyncio.to_thread(lambda: None)
            hop_s = (time.perf_counter() - start) / n
            log.close()
        print(f"audit record: {record_s * 1e3:.2f} ms/settings change   reference (bare worker-thread hop): {hop_s * 1e3:.3f} ms")

    asyncio.run(audit())


if __name__ == "__main__":
    main()
