"""The steering registry (skynet.delivery.controls): which buttons a reply shows in each state,
and that it forgets old replies (also ones that never ended) instead of growing forever."""

from __future__ import annotations

import sys

from skynet.delivery.controls import KEEP_REPLIES, KEEP_SECONDS, Steering


async def allow_nobody(user) -> bool:
    return False


async def test_buttons_follow_the_reply_state():
    steering = Steering(allow_nobody)
    steer = steering.open(1, 2, 3)
    assert [b.action for b in steering.buttons(steer, steer.state)] == ["stop"]
    steering.ended(steer, "stop")
    assert steering.buttons(steer, steer.state) == []  # no regenerate action given
    steer.regenerate = steer.resume = lambda *a: None
    assert [b.action for b in steering.buttons(steer, steer.state)] == ["regen"]
    steering.ended(steer, "length")
    assert [b.action for b in steering.buttons(steer, steer.state)] == ["regen", "more"]
    assert steering.buttons(steer, "streaming")[0].item.custom_id == f"skynet:steer:stop:{steer.key}"


async def test_old_and_abandoned_replies_are_forgotten():
    now = [0.0]
    steering = Steering(allow_nobody, clock=lambda: now[0])
    abandoned = steering.open(1, 2, 3)  # failed before streaming: never ended
    ended = steering.open(1, 2, 3)
    steering.ended(ended, "stop")
    now[0] += KEEP_SECONDS + 1
    fresh = steering.open(1, 2, 3)
    assert steering.get(abandoned.key) is None and steering.get(ended.key) is None
    assert steering.get(fresh.key) is fresh
    replies = [steering.open(1, 2, 3) for _ in range(KEEP_REPLIES + 10)]
    for steer in replies:
        steering.ended(steer, "stop")
    # the newest ended replies can still be regenerated; the oldest are forgotten
    assert all(steering.get(s.key) is s for s in replies[-KEEP_REPLIES:])
    assert all(steering.get(s.key) is None for s in replies[:10])
    assert steering.get(fresh.key) is fresh  # still streaming: kept until KEEP_SECONDS


def lines_run(action) -> int:
    """How many lines of Python ``action()`` executes (a count of work, not a time)."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        count += event == "line"
        return tracer

    sys.settrace(tracer)
    try:
        action()
    finally:
        sys.settrace(None)
    return count


async def test_thousands_of_streaming_replies_do_not_make_each_new_one_slower():
    """A backlog (replies opened, not yet ended) is kept whole; opening one more looks at the
    oldest ones only, whatever the backlog's size."""
    steering = Steering(allow_nobody, clock=lambda: 0.0)
    small = lines_run(lambda: [steering.open(1, 2, 3) for _ in range(10)])
    backlog = [steering.open(1, 2, 3) for _ in range(5000)]
    for steer in backlog[:600]:
        steering.ended(steer, "stop")
    large = lines_run(lambda: [steering.open(1, 2, 3) for _ in range(10)])
    assert large <= small * 1.5, (small, large)
    assert all(steering.get(s.key) is s for s in backlog[600:])
