"""The end of a streamed answer never waits for a channel slot (issue 16): progress edits leave room
for what completes the answer — the final edit, and when the text is about to continue in a new
message, the edit completing the current one and the continuation too.

The pacer runs on a fake clock that the test moves: an operation that had to wait for a slot could
only go after the clock moved, so "the answer is complete without moving the clock after the last
token" is the behaviour, with no timing in the test. The fake Discord checks message bodies; the
limits are checked on the fake clock here.
"""

from __future__ import annotations

import asyncio
from typing import List

import discord
import pytest

from skynet.delivery.components import render_for
from skynet.delivery.controls import Steering
from skynet.delivery.pacing import CHANNEL_LIMIT, CHANNEL_WINDOW, FINAL, FIRST, PROGRESS, Pacer
from skynet.delivery.reply import NO_MENTIONS, ReplyStreamer
from skynet_dev.discord_limits import max_in_window
from skynet_dev.harness import RedHarness

pytestmark = pytest.mark.discord_bursts  # real time does not pass here: the fake clock does


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


SENTENCE = "The answer goes on, sentence after sentence, for a while yet. "  # 62 characters


async def stream_answer(
    red: RedHarness, length: int, chars_per_second: float, *, buttons: bool = False
) -> tuple:
    """Stream an answer of ``length`` characters in 31-character pieces at ``chars_per_second``
    (fake time); finish it right after the last piece. With ``buttons``, the reply carries the
    steering buttons (Stop while it streams, Regenerate at the end) as ``ai chat`` replies do.
    Returns (complete in time, op times, text)."""
    clock = Clock()
    pacer = Pacer(clock=clock)
    channel = red.channel
    made: List[float] = []
    red.listeners.append(lambda e: made.append(clock.now) if e.kind in ("send", "edit") else None)

    async def send(content: str, first: bool, **extras) -> discord.Message:
        return await channel.send(content, allowed_mentions=NO_MENTIONS, **extras)

    render, steering, steer = None, None, None
    if buttons:
        steering = Steering(is_admin=lambda user: asyncio.sleep(0, False), clock=clock)
        steer = steering.open(asker_id=1, channel_id=channel.id, guild_id=None)
        render = render_for("classic", steering, steer)
    streamer = ReplyStreamer(send, channel.id, pacer, render=render)
    text = (SENTENCE * (length // len(SENTENCE) + 1))[:length]
    step = 31
    for start in range(0, length, step):
        streamer.append(text[start : start + step])
        clock.now += step / chars_per_second
        pacer.pump()
        await settle()
    # The last token is in: the clock stands still from here on.
    if steer is not None:
        steering.ended(steer, "stop")
    try:
        await asyncio.wait_for(streamer.finish(), 5)
        complete = True
    except asyncio.TimeoutError:
        complete = False
    shown = "".join(m.content for m in red.messages() if any(m.id == s.id for s in streamer.messages))
    return complete, made, text, shown


@pytest.mark.parametrize("length", [1900, 2050, 2150, 2400, 3600, 4100, 4300])
@pytest.mark.parametrize("rate", [150.0, 320.0, 700.0])
async def test_the_end_of_an_answer_goes_out_with_the_last_token(red: RedHarness, length: int, rate: float) -> None:
    complete, made, text, shown = await stream_answer(red, length, rate)
    assert complete, "the continuation or the final edit waited for a channel slot"
    assert "".join(shown.split()) == "".join(text.split())  # the whole answer is visible
    assert max_in_window(made, CHANNEL_WINDOW) <= CHANNEL_LIMIT  # and Discord's limit was kept


@pytest.mark.parametrize("length", [2150, 2400, 4300])
@pytest.mark.parametrize("rate", [150.0, 320.0])
async def test_the_end_of_an_answer_with_buttons_goes_out_with_the_last_token(
    red: RedHarness, length: int, rate: float
) -> None:
    """Stop sits on the newest message, so moving it costs no edit of its own at the end."""
    complete, made, text, shown = await stream_answer(red, length, rate, buttons=True)
    assert complete, "an edit of the buttons waited for a channel slot after the last token"
    assert "".join(shown.split()) == "".join(text.split())
    assert max_in_window(made, CHANNEL_WINDOW) <= CHANNEL_LIMIT


async def test_progress_edits_keep_the_slots_the_end_asks_for() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    await pacer.acquire(1, FIRST)
    clock.now += pacer.channel_interval
    await asyncio.wait_for(pacer.acquire(1, PROGRESS), 1)  # one slot is left for the final edit
    clock.now += pacer.channel_interval
    held = asyncio.ensure_future(pacer.acquire(1, PROGRESS, reserve=3))
    await settle()
    assert not held.done()  # it would leave fewer than 3 slots: the continuation is near
    for _ in range(3):  # the edit completing a message, the continuation, the final edit
        await asyncio.wait_for(pacer.acquire(1, FINAL), 1)
    held.cancel()
    await settle()


async def test_progress_edits_come_at_a_steady_pace() -> None:
    """One edit per interval for as long as the answer streams: no burst of edits then a stall."""
    clock = Clock()
    pacer = Pacer(clock=clock)
    await pacer.acquire(1, FIRST)
    made = []
    for _ in range(200):
        attempt = asyncio.ensure_future(pacer.acquire(1, PROGRESS))
        await settle(3)
        if attempt.done():
            made.append(clock.now)
        else:
            attempt.cancel()
            await settle(3)
        clock.now += 0.05
    gaps = [round(b - a, 2) for a, b in zip(made, made[1:])]
    assert gaps and max(gaps) <= pacer.channel_interval + 0.05


async def test_a_finished_reply_is_not_kept_alive_by_the_pacer(red: RedHarness) -> None:
    # The pacer ranks replies for turn-taking; a finished one must not stay in memory with its
    # messages and context (the soak grew by ~14 MB a minute at 20 messages/s when it did).
    import gc
    import weakref

    pacer = Pacer(clock=Clock())

    async def send(content: str, first: bool, **extras) -> discord.Message:
        return await red.channel.send(content, allowed_mentions=NO_MENTIONS, **extras)

    streamer = ReplyStreamer(send, red.channel.id, pacer)
    streamer.append("A short answer.")
    await asyncio.wait_for(streamer.finish(), 5)
    assert [m.content for m in red.messages()] == ["A short answer."]
    gone = weakref.ref(streamer)
    del streamer
    gc.collect()
    assert gone() is None
