"""The pacer never lets the bot exceed Discord's limits, even when the event loop stalls.

Time is a fake clock the tests move by hand; ``pump()`` is what the pacer's own timer would call.
No test sleeps: ``settle()`` only lets the tasks the pacer woke run.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Dict, List

import pytest

from skynet.delivery.pacing import FINAL, FIRST, PROGRESS, Pacer
from skynet.delivery.ratelimits import RateLimitFeedback
from skynet_dev.discord_limits import max_in_window


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(rounds: int = 6) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_first_send_and_final_edit_of_a_short_answer_go_at_once(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    await asyncio.wait_for(pacer.acquire(1, FIRST), 0.5)
    await asyncio.wait_for(pacer.acquire(1, FINAL), 0.5)  # no 1 s slot in between
    progress = asyncio.ensure_future(pacer.acquire(1, PROGRESS))
    await settle()
    assert not progress.done()  # intermediate edits are spaced channel_interval apart
    clock.now += pacer.channel_interval
    pacer.pump()
    await settle()
    assert progress.done()


async def test_channel_burst_is_five_per_five_seconds_and_progress_keeps_one_free(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    for _ in range(5):
        await asyncio.wait_for(pacer.acquire(7, FINAL), 0.5)
    blocked = asyncio.ensure_future(pacer.acquire(7, FINAL))
    await settle()
    assert not blocked.done()
    clock.now += 5.1
    pacer.pump()
    await settle()
    assert blocked.done()
    # PROGRESS edits stop at 4 in the window, so a FINAL edit still has room.
    other = Pacer(clock=clock)
    done = 0
    for _ in range(10):
        task = asyncio.ensure_future(other.acquire(8, PROGRESS))
        await settle()
        done += task.done()
        if not task.done():
            task.cancel()
            await settle()
        clock.now += 1.0
        if clock.now - 1000 > 5.0:
            break
    await asyncio.wait_for(other.acquire(8, FINAL), 0.5)


async def test_waiting_operations_go_first_sends_then_final_then_progress(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    for _ in range(5):
        await pacer.acquire(3, FINAL)
    order: List[str] = []

    async def op(name: str, priority: int) -> None:
        await pacer.acquire(3, priority)
        order.append(name)

    tasks = [
        asyncio.ensure_future(op(n, p))
        for n, p in (("progress", PROGRESS), ("final", FINAL), ("first", FIRST))
    ]
    await settle()
    assert order == []
    for _ in range(12):
        clock.now += 1.0
        pacer.pump()
        await settle()
    assert order == ["first", "final", "progress"]
    await asyncio.gather(*tasks)


async def test_replies_sharing_a_channel_take_turns(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    owners: List[str] = []

    async def reply(name: str) -> None:
        for _ in range(4):
            await pacer.acquire(5, PROGRESS, owner=name)
            owners.append(name)

    tasks = [asyncio.ensure_future(reply(n)) for n in ("a", "b")]
    for _ in range(40):
        await settle()
        clock.now += 0.5
        pacer.pump()
    await asyncio.gather(*tasks)
    assert owners[:6] in (["a", "b"] * 3, ["b", "a"] * 3)


async def test_a_command_reply_waits_for_the_bots_window_but_not_for_a_channels(clock: Clock) -> None:
    pacer = Pacer(clock=clock, global_rate=10)
    for _ in range(5):  # a streamed reply used its channel's whole window
        await asyncio.wait_for(pacer.acquire(7, FINAL), 0.5)
    await asyncio.wait_for(pacer.acquire_bot_wide(), 0.5)  # a command reply there is not held back
    for channel in range(20, 24):  # other replies fill the bot's window
        await asyncio.wait_for(pacer.acquire(channel, FIRST), 0.5)
    waiting_edit = asyncio.ensure_future(pacer.acquire(30, PROGRESS))
    command_reply = asyncio.ensure_future(pacer.acquire_bot_wide())
    await settle()
    assert not command_reply.done()  # the bot's budget (10 per second) is spent
    clock.now += 1.01
    pacer.pump()
    await settle()
    assert command_reply.done()  # and it goes before the progress edit that waited longer
    fresh = asyncio.ensure_future(pacer.acquire(31, FIRST))
    await settle()
    assert fresh.done() and waiting_edit.done()
    assert pacer._channel_count(clock.now, 7) == 5  # noqa: SLF001 - the streamed reply's five only


async def test_hurry_turns_a_waiting_progress_edit_into_a_final_one(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    owner = object()
    await pacer.acquire(9, FIRST, owner=owner)
    waiting = asyncio.ensure_future(pacer.acquire(9, PROGRESS, owner=owner))
    await settle()
    assert not waiting.done()
    pacer.hurry(owner)  # the answer is complete: its last edit should not wait for a slot
    await settle()
    assert waiting.done()


async def test_a_stalled_loop_cannot_make_late_operations_burst(clock: Clock) -> None:
    """Many replies in a few channels; the loop sometimes stalls for seconds between granting an
    operation and running it. Neither the channel limit nor the bot limit is ever exceeded,
    typing included, and every operation is made."""
    rng = random.Random(9)
    pacer = Pacer(clock=clock)
    made: Dict[int, List[float]] = {}
    bot_ops: List[float] = []

    def made_now(channel: int) -> None:
        made.setdefault(channel, []).append(clock())
        bot_ops.append(clock())

    async def reply(channel: int) -> None:
        owner = object()
        await pacer.acquire(channel, FIRST, owner=owner)
        made_now(channel)
        for step in range(6):
            await pacer.acquire(channel, FINAL if step == 5 else PROGRESS, owner=owner)
            made_now(channel)

    tasks = [asyncio.ensure_future(reply(channel)) for channel in range(60) for _ in range(2)]
    for _ in range(5000):
        if all(t.done() for t in tasks):
            break
        for channel in rng.sample(range(80), 5):  # typing requests from other work
            if pacer.try_typing(channel):
                bot_ops.append(clock())
        if rng.random() < 0.05:
            pacer.pump()  # grants handed out now...
            clock.now += rng.uniform(1.0, 4.0)  # ...but the loop only runs the tasks much later
        else:
            clock.now += rng.choice([0.01, 0.05, 0.2])
            pacer.pump()
        await settle()
    assert all(t.done() for t in tasks), "some operations never went"
    for channel, times in made.items():
        assert max_in_window(times, 5.0) <= 5, channel
    assert max_in_window(bot_ops, 1.0) <= 45


async def test_a_grant_is_checked_again_when_the_operation_really_runs(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    for _ in range(5):
        await pacer.acquire(6, FINAL)
    op = asyncio.ensure_future(pacer.acquire(6, FINAL))
    await settle()
    clock.now += 5.1
    pacer.pump()  # granted now; the task has not run yet
    pacer.rate_limited(6, 3.0)  # a 429 arrives before it runs
    await settle()
    assert not op.done() and pacer.stats["regrants"] == 1
    clock.now += 3.1
    pacer.pump()
    await settle()
    assert op.done()


async def test_typing_counts_against_the_bot_and_is_dropped_when_the_budget_is_short(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    assert pacer.try_typing(1)
    assert not pacer.try_typing(1)  # one indicator lasts ~10 s: no need to repeat it sooner
    clock.now += 8.0
    assert pacer.try_typing(1)
    granted = sum(pacer.try_typing(channel) for channel in range(100, 200))
    assert 0 < granted < 10  # at most a fifth of the bot's budget goes to typing
    clock.now += 1.0
    for channel in range(200, 223):
        await asyncio.wait_for(pacer.acquire(channel, FIRST), 0.5)
    assert not pacer.try_typing(999)  # half the second's budget is used by replies
    clock.now += 1.0
    waiting = [asyncio.ensure_future(pacer.acquire(5, FINAL)) for _ in range(8)]
    await settle()
    assert not pacer.try_typing(998)  # replies are waiting for slots: text first
    await asyncio.gather(*waiting[:5])
    for task in waiting[5:]:
        task.cancel()


async def test_a_429_blocks_the_channel_for_retry_after_then_slows_it(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    pacer.rate_limited(4, 2.0)
    op = asyncio.ensure_future(pacer.acquire(4, FIRST))
    other = asyncio.ensure_future(pacer.acquire(5, FIRST))
    await settle()
    assert other.done() and not op.done()  # only that channel waits
    clock.now += 2.05
    pacer.pump()
    await settle()
    assert op.done()
    # For a while the channel gets 4 operations per window instead of 5.
    done: List[asyncio.Future] = [asyncio.ensure_future(pacer.acquire(4, FINAL)) for _ in range(4)]
    await settle()
    assert sum(t.done() for t in done) == 3
    for task in done:
        task.cancel()


async def test_a_global_429_blocks_every_channel(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    pacer.rate_limited(None, 1.5, is_global=True)
    ops = [asyncio.ensure_future(pacer.acquire(c, FIRST)) for c in range(3)]
    await settle()
    assert not any(t.done() for t in ops)
    assert not pacer.try_typing(42)
    clock.now += 1.6
    pacer.pump()
    await settle()
    assert all(t.done() for t in ops)


async def test_a_cancelled_wait_gives_its_place_up(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    for _ in range(5):
        await pacer.acquire(2, FINAL)
    first = asyncio.ensure_future(pacer.acquire(2, FINAL))
    second = asyncio.ensure_future(pacer.acquire(2, FINAL))
    await settle()
    first.cancel()
    await settle()
    clock.now += 5.1
    pacer.pump()
    await settle()
    assert second.done() and not second.cancelled()


def test_max_in_window_counts_half_open_windows() -> None:
    assert max_in_window([0, 1, 2, 3, 4, 4.99], 5.0) == 6
    assert max_in_window([0, 1, 2, 3, 4, 5.0], 5.0) == 5


async def test_429s_discord_py_handled_itself_reach_the_pacer_through_its_log(clock: Clock) -> None:
    pacer = Pacer(clock=clock)
    feedback = RateLimitFeedback(lambda: pacer)
    feedback.install()
    log = logging.getLogger("discord.http")
    try:
        log.warning(
            "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds.",
            "PATCH",
            "https://discord.com/api/v10/channels/123/messages/456",
            2.5,
        )
    finally:
        feedback.uninstall()
    blocked = asyncio.ensure_future(pacer.acquire(123, FIRST))
    free = asyncio.ensure_future(pacer.acquire(124, FIRST))
    await settle()
    assert free.done() and not blocked.done()
    clock.now += 2.6
    pacer.pump()
    await settle()
    assert blocked.done()
