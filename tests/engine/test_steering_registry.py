"""The steering registry (skynet.delivery.controls): which buttons a reply shows in each state,
and that it forgets old replies (also ones that never ended) instead of growing forever."""

from __future__ import annotations

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
    for _ in range(KEEP_REPLIES + 10):
        steering.ended(steering.open(1, 2, 3), "stop")
    assert len(steering._replies) <= KEEP_REPLIES + 1
