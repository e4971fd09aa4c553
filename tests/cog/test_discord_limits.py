"""The fake Discord refuses what Discord refuses (skynet_dev.discord_limits), as discord.py would
surface it to the bot: 400 Invalid Form Body, 404 Unknown Message, 429 with retry_after/global."""

from __future__ import annotations

import discord
import pytest

from skynet_dev.discord_limits import DiscordLimits, body_errors


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    "body, where",
    [
        ({"content": "x" * 2001}, "content"),
        ({"embeds": [{"title": "t" * 257}]}, "embeds"),
        ({"embeds": [{"description": "d" * 4097}]}, "embeds"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, "embeds"),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, "embeds"),
        ({"embeds": [{}] * 11}, "embeds"),
    ],
)
def test_bodies_over_discords_limits_are_refused(body, where):
    assert where in body_errors(body)


def test_bodies_at_the_limits_pass():
    assert (
        body_errors({"content": "x" * 2000, "embeds": [{"title": "t" * 256, "description": "d" * 4096}]})
        == {}
    )


async def test_an_over_long_message_raises_discords_400(red):
    with pytest.raises(discord.HTTPException) as caught:
        await red.channel.send("x" * 2001)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "Must be 2000 or fewer in length" in caught.value.text


async def test_editing_a_deleted_message_is_404_unknown_message(red):
    message = await red.channel.send("hello")
    await message.delete()
    with pytest.raises(discord.NotFound) as caught:
        await message.edit(content="again")
    assert caught.value.code == 10008


async def test_a_sixth_message_in_five_seconds_gets_a_429_and_waits_like_discord_py():
    clock = FakeClock()
    limits = DiscordLimits(clock=clock, sleep=clock.sleep)

    async def ok():
        return "sent"

    for _ in range(5):
        assert await limits.request("send", 1, ok) == "sent"
        clock.now += 0.5
    assert await limits.request("edit", 1, ok) == "sent"  # edits share the channel's budget
    [hit] = limits.rate_limited
    assert hit.kind == "edit" and not hit.is_global and 2.4 < hit.retry_after < 2.6
    assert clock.slept == [hit.retry_after]
    assert await limits.request("send", 2, ok) == "sent"  # another channel is not limited


async def test_a_long_retry_after_raises_rate_limited_past_max_ratelimit_timeout():
    clock = FakeClock()
    limits = DiscordLimits(clock=clock, sleep=clock.sleep, max_ratelimit_timeout=1.0)

    async def ok():
        return None

    for _ in range(5):
        await limits.request("send", 1, ok)
    with pytest.raises(discord.RateLimited):
        await limits.request("send", 1, ok)


async def test_the_bot_wide_budget_is_50_requests_per_second():
    clock = FakeClock()
    limits = DiscordLimits(clock=clock, sleep=clock.sleep)

    async def ok():
        return None

    for channel in range(50):
        await limits.request("send", channel, ok)
    await limits.request("typing", 99, ok)
    [hit] = limits.rate_limited
    assert hit.is_global and hit.kind == "typing"
