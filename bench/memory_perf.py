"""Memory performance: ingestion, event-loop lag while ingesting, recall latency at scale, and
window persistence writes at 50 messages/s. Results go in docs/performance.md.

    .venv/bin/python bench/memory_perf.py [--size 100000] [--queries 300]

Embeddings come from a local deterministic function (a seeded random 384-dim unit vector per
text), so the figures are the cog's and chromadb's cost, not a provider's.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet.engine.memory import USER, ConversationMemory  # noqa: E402
from skynet.engine.memory.persistence import WindowStore  # noqa: E402
from skynet.engine.memory.recall import memory_filter, memory_place, render, within_budget  # noqa: E402
from skynet.engine.memory.vector import BackendConfig, VectorStore  # noqa: E402

DIMS = 384
MODEL = "bench:local-hash"
SERVERS, MEMBERS = 100, 50  # memories spread over 100 servers x 50 members


def embed(texts: Sequence[str]) -> List[List[float]]:
    """Deterministic: the same text always gives the same unit vector."""
    out = np.empty((len(texts), DIMS), dtype=np.float32)
    for i, text in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        out[i] = np.random.default_rng(seed).standard_normal(DIMS)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.tolist()


def pct(samples: List[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class LoopLag:
    """Measures how late the event loop wakes a task that sleeps 5 ms at a time."""

    def __init__(self) -> None:
        self.samples: List[float] = []
        self._task = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            self.samples.append((time.perf_counter() - start - 0.005) * 1000)

    def __enter__(self) -> "LoopLag":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()


def make_batch(first: int, n: int, batch: int):
    """Texts, embeddings and metadata of one batch (all of one server), built off the loop."""
    ids = [f"m{first + i}" for i in range(n)]
    texts = [f"member fact number {first + i} about topic {(first + i) % 997}" for i in range(n)]
    guild_id = 1000 + (first // batch) % SERVERS
    metas = [
        {
            "kind": "memory",
            "guild": str(guild_id),
            "user": str(5000 + (first + i) % MEMBERS),
            "scope": "member",
            "at": 1.7e9,
        }
        for i in range(n)
    ]
    return memory_place(guild_id), ids, texts, embed(texts), metas


async def ingest(store: VectorStore, size: int, batch: int = 2000) -> None:
    """Embedding the next batch (a worker thread) overlaps storing this one (the chroma worker)."""
    start = time.perf_counter()
    with LoopLag() as lag:
        starts = list(range(0, size, batch))
        pending = asyncio.ensure_future(asyncio.to_thread(make_batch, 0, min(batch, size), batch))
        for index in range(len(starts)):
            place, ids, texts, vectors, metas = await pending
            if index + 1 < len(starts):
                following = starts[index + 1]
                pending = asyncio.ensure_future(
                    asyncio.to_thread(make_batch, following, min(batch, size - following), batch)
                )
            await store.add(MODEL, place, ids, texts, vectors, metas)
    elapsed = time.perf_counter() - start
    print(
        f"ingestion: {size} memories in {elapsed:.1f} s = {size / elapsed:,.0f} memories/s (batches of {batch})"
    )
    print(
        f"event-loop lag while ingesting: p50 {pct(lag.samples, 0.5):.1f} ms, p99 {pct(lag.samples, 0.99):.1f} ms, "
        f"max {max(lag.samples):.1f} ms (n={len(lag.samples)})"
    )


async def recall_latency(store: VectorStore, queries: int, label: str) -> None:
    count = lambda text: len(text.split())  # noqa: E731
    samples, found = [], []
    for q in range(queries):
        guild, user = 1000 + q % SERVERS, 5000 + (q * 7) % MEMBERS
        vector = embed([f"question {q} about topic {q % 997}"])[0]
        start = time.perf_counter()
        records = await store.query(MODEL, memory_place(guild), vector, memory_filter(guild, user), 10)
        render(within_budget(records, 1200, count), [])
        samples.append((time.perf_counter() - start) * 1000)
        found.append(len(records))
    print(
        f"recall, {label} (query filtered by server+member, top 10, rendered): p50 {pct(samples, 0.5):.1f} ms, "
        f"p95 {pct(samples, 0.95):.1f} ms, max {max(samples):.1f} ms over {queries} queries; "
        f"{statistics.mean(found):.1f} memories returned on average"
    )


async def window_writes(conversations: int, seconds: int = 10, rate: int = 50) -> None:
    folder = Path(tempfile.mkdtemp())
    memory = ConversationMemory(lambda text: len(text.split()))
    for c in range(conversations):  # a bot with this many conversations of 20 turns
        for t in range(20):
            memory.add(f"channel:{c}", USER, f"earlier message {t} " * 10, user_id=t, name="someone")
    store = WindowStore(memory, folder / "windows.sqlite3", interval=1.0)
    store.start()
    start = time.perf_counter()
    with LoopLag() as lag:
        for n in range(seconds * rate):
            memory.add(
                f"channel:{n % conversations}", USER, f"message {n} " * 10, user_id=n % 40, name="someone"
            )
            await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.perf_counter()))
    elapsed = time.perf_counter() - start
    await store.stop()
    size = (folder / "windows.sqlite3").stat().st_size
    shutil.rmtree(folder, ignore_errors=True)
    print(
        f"window persistence ({conversations} conversations of 20 turns): {seconds * rate} messages at {rate}/s over {elapsed:.1f} s -> {store.writes} writes "
        f"({store.writes / elapsed:.2f}/s, file {size / 1024:.0f} KiB); loop lag p99 {pct(lag.samples, 0.99):.1f} ms"
    )


async def main(size: int, queries: int, batch: int, windows: bool, conversations: int) -> None:
    if windows:
        await window_writes(conversations)
    if not size:
        return
    folder = Path(tempfile.mkdtemp())
    store = VectorStore(BackendConfig(), folder / "chroma")
    start = time.perf_counter()
    await store.open()
    print(f"chromadb import + open: {time.perf_counter() - start:.1f} s")
    await ingest(store, size, batch)
    await recall_latency(store, queries, "first query of each server (index loaded from disk)")
    await recall_latency(store, queries, "servers already queried")
    await store.close()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=500, help="memories per chromadb add")
    parser.add_argument("--no-windows", action="store_true", help="skip the window persistence part")
    parser.add_argument("--conversations", type=int, default=300, help="conversations held (window part)")
    args = parser.parse_args()
    asyncio.run(main(args.size, args.queries, args.batch, not args.no_windows, args.conversations))
