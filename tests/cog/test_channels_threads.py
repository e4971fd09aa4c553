"""Answer threads through a real Red bot: a thread per conversation named from the question,
follow-ups without a mention, the thread's own window, archiving after inactivity (also after a
restart), and forum posts answered in their thread."""

from __future__ import annotations

import pytest

from skynet.engine.channels.clock import ManualClock
from skynet_dev import fake_channels
from tests.conftest import owner, say, text_of

START = 1_800_000_000.0


@pytest.fixture
def threaded(bot, cog, monkeypatch):
    fake_channels.install(monkeypatch)
    fake_channels.grant_thread_permissions(bot.guild)
    cog.set_channels_clock(ManualClock(START))
    return bot


def thread_of(red, thread_id):
    return red.guild.get_thread(thread_id)


@pytest.mark.discord_bursts
async def test_a_conversation_opens_a_thread_and_follow_ups_need_no_mention(threaded, cog, provider):
    await owner(threaded, "!ai listen mode mention")
    reply = text_of(await owner(threaded, "!ai threads on 30"))
    assert "open a thread" in reply
    me = threaded.guild.me
    question = await threaded.say(f"<@{me.id}> How do I **reset** my password? https://example.com/x")
    await threaded.settle()
    thread = thread_of(threaded, question.id)
    assert thread is not None and thread.name == "How do I reset my password?"
    in_thread = threaded.messages(thread)
    assert len(in_thread) == 1 and "echo: member: How do I **reset** my password?" in in_thread[0].content
    assert not [m for m in threaded.messages() if "echo:" in m.content]  # nothing in the channel itself

    await threaded.say("and what about my username?", channel=thread)  # no mention
    await threaded.settle()
    assert len(threaded.messages(thread)) == 2
    request = provider.chat_requests[-1]
    window = [m["content"] for m in request["messages"]]
    assert any("reset" in c for c in window)  # the thread's own window
    await threaded.say("unrelated, no mention", channel=threaded.channel)
    await threaded.settle()
    assert len(provider.chat_requests) == 2  # the channel itself still needs a mention
    other = await threaded.say(f"<@{me.id}> Second topic please")
    await threaded.settle()
    second = thread_of(threaded, other.id)
    assert second is not None and second.id != thread.id
    window = [m["content"] for m in provider.chat_requests[-1]["messages"]]
    assert not any("reset" in c for c in window)  # a new conversation, a new window


@pytest.mark.discord_bursts
async def test_threads_are_archived_after_inactivity_also_after_a_restart(threaded, cog, provider):
    await owner(threaded, "!ai listen mode mention")
    await owner(threaded, "!ai threads on 30")
    question = await threaded.say(f"<@{threaded.guild.me.id}> Help with billing?")
    await threaded.settle()
    thread = thread_of(threaded, question.id)
    cog.channels_clock.advance(20 * 60)
    await threaded.say("still there?", channel=thread)
    await threaded.settle()
    cog.channels_clock.advance(20 * 60)  # 20 min since the last message
    await cog.channels_tick()
    assert not thread_of(threaded, thread.id).archived
    await owner(threaded, "!reload skynet")
    cog = threaded.bot.get_cog("Skynet")
    cog.set_channels_clock(ManualClock(START + 40 * 60))
    await cog.channels_load()  # (reload ran it with the real clock; idle time counts from the restart)
    assert cog.threads_open.owns(thread.id)  # still followed after the restart
    cog.channels_clock.advance(31 * 60)
    await cog.channels_tick()
    assert thread_of(threaded, thread.id).archived
    assert not cog.threads_open.owns(thread.id)
    await threaded.say("hello?", channel=thread)
    await threaded.settle()
    assert len(threaded.messages(thread)) == 2  # an archived thread is no longer followed


@pytest.mark.discord_bursts
async def test_forum_posts_are_answered_in_their_thread(threaded, cog, provider):
    forum = fake_channels.make_forum("questions", threaded.guild)
    reply = text_of(await owner(threaded, f"!ai threads on <#{forum.id}>"))
    assert "answered in their thread" in reply
    post = fake_channels.forum_post(threaded, forum, "Server crashes on start", "It says error 42, any idea?")
    await cog.answer_forum_post(post)
    await threaded.settle()
    [answer] = threaded.messages(post)
    assert "Server crashes on start" in provider.chat_requests[-1]["messages"][-1]["content"]
    assert "error 42" in answer.content
    await threaded.say("I tried restarting", channel=post)
    await threaded.settle()
    assert len(threaded.messages(post)) == 2  # follow-ups in the post need no mention
    other = fake_channels.make_forum("other", threaded.guild)
    quiet = fake_channels.forum_post(threaded, other, "Elsewhere", "no answer here")
    await cog.answer_forum_post(quiet)
    await threaded.settle()
    assert threaded.messages(quiet) == []


async def test_threads_settings_need_an_admin(threaded):
    assert "Only server admins" in text_of(await say(threaded, "!ai threads on"))
    await owner(threaded, "!ai threads on")
    assert "archived after 60 min" in text_of(await owner(threaded, "!ai threads show"))
    await owner(threaded, "!ai threads off")
    assert "No channel" in text_of(await owner(threaded, "!ai threads show"))
