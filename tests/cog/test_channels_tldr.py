"""``ai tldr`` through a real Red bot: long histories bounded and chunked, real jump links,
only channels the member can read, budgets and the per-channel cooldown."""

from __future__ import annotations

import re
from datetime import timedelta

import discord
import pytest
from discord.ext.test import backend as dpy_backend

from skynet.engine.channels.clock import ManualClock
from skynet_dev import fake_channels
from skynet_dev.mock_openai import Reply
from tests.conftest import owner, say, text_of


@pytest.fixture
def chan(bot, cog, monkeypatch):
    from skynet.delivery.pacing import Pacer

    fake_channels.install(monkeypatch)
    cog.pacer = Pacer(channel_interval=0.0)
    cog.set_channels_clock(ManualClock(1_800_000_000))
    return bot


def post_history(red, count: int, channel=None, start=None, step=timedelta(seconds=30)):
    """``count`` messages by members, oldest first, without dispatching them (history only)."""
    channel = channel or red.channel
    authors = [red.member, red.admin]
    start = start or discord.utils.utcnow() - step * (count + 1)
    sent = []
    for i in range(count):
        snowflake = discord.utils.time_snowflake(start + step * i)
        sent.append(dpy_backend.make_message(f"message {i}: topic {i // 50}", authors[i % 2], channel, id_num=snowflake))
    return sent


def summary_messages(bot):
    return [m for m in bot.messages() if m.content.startswith("**Summary")]


async def test_long_history_is_chunked_then_combined_with_real_jump_links(chan, provider):
    history = post_history(chan, 400)
    by_id = {m.id: m for m in history}
    # every chunk cites its first message; the combination keeps them
    def chunk_reply(n):
        return Reply.text(f"- talk about things [{n}]")

    provider.script(*(chunk_reply(n) for n in (1, 2, 3, 4, 5, 6, 7, 8)))
    await say(chan, "!ai tldr 300")
    requests = provider.chat_requests
    bodies = [r["messages"][-1]["content"] for r in requests]
    chunks = [b for b in bodies if b.startswith("[")]
    combined = [b for b in bodies if b.startswith("Part 1")]
    assert len(chunks) >= 2 and len(combined) == 1
    lines = [line for b in chunks for line in b.splitlines()]
    # the last 300 messages read (the owner's setup commands and the bot's replies among them are
    # left out), each in exactly one chunk, numbered once across chunks, oldest first
    numbers = [int(re.match(r"\[(\d+)\] \w+: message (\d+):", line).group(2)) for line in lines]
    assert numbers == list(range(numbers[0], 400)) and 290 <= len(numbers) <= 300
    assert [int(line.split("]")[0][1:]) for line in lines] == list(range(1, len(lines) + 1))
    [summary] = summary_messages(chan)
    links = re.findall(r"\(<(https://discord\.com/channels/\d+/\d+/(\d+))>\)", summary.content)
    assert links
    for url, message_id in links:
        message = by_id[int(message_id)]
        assert url == message.jump_url and message.channel.id == chan.channel.id
    assert summary.content.count("@") == 0


async def test_tokens_bound_what_is_read(chan, provider, cog):
    post_history(chan, 200)
    from skynet.commands.channels import tldr

    tldr_max = tldr.MAX_INPUT_TOKENS
    tldr.MAX_INPUT_TOKENS = 400
    try:
        await say(chan, "!ai tldr 200")
    finally:
        tldr.MAX_INPUT_TOKENS = tldr_max
    lines = [line for r in provider.chat_requests for line in r["messages"][-1]["content"].splitlines() if line.startswith("[")]
    assert 0 < len(lines) < 200 and "message 199:" in lines[-1]  # the newest that fit


async def test_period_member_and_question(chan, provider):
    now = discord.utils.utcnow()
    post_history(chan, 50, start=now - timedelta(hours=5), step=timedelta(minutes=1))  # 5 h ago
    recent = post_history(chan, 20, start=now - timedelta(minutes=30), step=timedelta(seconds=30))
    await say(chan, f"!ai tldr 1h <@{chan.admin.id}> what did they decide?")
    [request] = provider.chat_requests
    body = request["messages"][-1]["content"].splitlines()
    assert len(body) == 10 and all("admin:" in line for line in body)  # last hour, admin only
    assert "what did they decide?" in request["messages"][0]["content"]
    assert f"by {chan.admin.display_name}" in summary_messages(chan)[0].content
    assert recent


async def test_a_channel_the_member_cannot_read_is_refused(chan, provider):
    secret = dpy_backend.make_text_channel("staff", chan.guild)
    dpy_backend._cur_config.messages.setdefault(secret.id, [])
    post_history(chan, 5, channel=secret)
    hidden = discord.PermissionOverwrite(view_channel=False)
    dpy_backend.update_text_channel(secret, chan.guild.default_role, hidden)
    reply = text_of(await say(chan, f"!ai tldr <#{secret.id}>"))
    assert "can't read that channel" in reply
    assert provider.chat_requests == []


@pytest.mark.discord_bursts  # the script types five commands in a row
async def test_cooldown_per_channel_and_budget(chan, provider, cog):
    post_history(chan, 30)
    await owner(chan, "!ai budget set user 100")  # the member's budget counts summaries
    await say(chan, "!ai tldr")
    assert len(summary_messages(chan)) == 1
    again = text_of(await say(chan, "!ai tldr"))
    assert "was just made" in again and len(provider.chat_requests) == 1
    cog.channels_clock.advance(61)
    refused = text_of(await say(chan, "!ai tldr"))  # the first summary spent more than 100 tokens
    assert "budget" in refused.lower() and len(summary_messages(chan)) == 1
    await say(chan, f"!ai tldr <#{chan.channel.id}>", author=chan.owner)  # the owner has no limits,
    assert len(summary_messages(chan)) == 2  # and the refusal did not start the cooldown


async def test_nothing_to_summarise(chan, provider):
    reply = text_of(await say(chan, "!ai tldr"))
    assert "nothing to summarise" in reply


async def test_tldr_as_a_slash_command(chan, provider):
    post_history(chan, 40)
    await chan.enable_slash("ai", "aiset")
    await chan.slash("ai tldr", args="20")
    await chan.settle()
    [request] = provider.chat_requests
    assert len(request["messages"][-1]["content"].splitlines()) <= 20
    assert summary_messages(chan)


async def test_a_private_slash_summary_is_shown_to_the_asker_only(chan, provider):
    post_history(chan, 30)
    await chan.enable_slash("ai", "aiset")
    await chan.slash("ai tldr", visibility="private", args="20")
    await chan.settle()
    [summary] = summary_messages(chan)
    assert summary.ephemeral
    # the prefix form still reads its first word as the channel, period or question
    assert not summary_messages(chan)[0].content.startswith("**Summary of private")
