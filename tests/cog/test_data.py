"""Red's end-user data API: what skynet keeps about a user, and forgetting it on request.

Red 3.5's ``[p]mydata getmydata`` is not implemented yet ("Coming Soon"), so the export is read by
calling ``red_get_data_for_user`` as Red would. Deletion goes through Red's real
``[p]mydata forgetme`` command, confirmation prompt included.
"""

from __future__ import annotations

import json

import pytest
from conftest import owner, say, text_of

from skynet.delivery.pacing import Pacer
from skynet.engine.usage import CounterDB
from skynet.stores.usage import member_scope
from skynet_dev.mock_openai import Reply


@pytest.fixture
def unpaced(cog):
    """These tests are not about Discord's rate limits: replies need not wait a second apart."""
    cog.pacer = Pacer(channel_interval=0.0)


async def chat(red, provider, author, text: str) -> None:
    provider.script(Reply.text(f"Noted: {text}", prompt_tokens=100, completion_tokens=20))
    assert text_of(await say(red, f"!ai chat {text}", author=author)) == f"Noted: {text}"


async def exported(cog, user_id: int) -> dict:
    files = await cog.red_get_data_for_user(user_id=user_id)
    assert list(files) == ["skynet_user_data.json"]
    return json.loads(files["skynet_user_data.json"].getvalue())


def remembered(data: dict) -> list:
    return [turn["content"] for turns in data["remembered_conversation"].values() for turn in turns]


async def forgetme(red, author) -> str:
    """``author`` runs Red's ``[p]mydata forgetme`` and types the confirmation it asks for."""
    await red.say("!mydata forgetme", author=author, wait=False)
    prompt = await red.wait_for(
        lambda e: e.kind == "send" and "respond with the following" in (e.content or "")
    )
    token = prompt.content.split()[-1]
    return text_of(await say(red, token, author=author))


def sent_to_provider(provider) -> str:
    return json.dumps(provider.chat_requests[-1]["messages"])


async def test_get_data_returns_the_users_usage_and_remembered_turns(bot, provider, cog, unpaced):
    await chat(bot, provider, bot.member, "my cat is called Tom")
    await chat(bot, provider, bot.admin, "the admin's own question")

    data = await exported(cog, bot.member.id)
    usage = data["usage"][f"server {bot.guild.id}"]
    assert (usage["requests"], usage["prompt_tokens"], usage["completion_tokens"]) == (1, 100, 20)
    assert remembered(data) == ["my cat is called Tom", "Noted: my cat is called Tom"]
    assert list(data["remembered_conversation"]) == [f"channel:{bot.channel.id}"]
    assert "dms" not in data["usage"]


async def test_get_data_for_someone_unknown_is_empty(bot, cog):
    assert await exported(cog, 1234567890123) == {}  # each store's part appears only when it holds something


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_forgetme_deletes_the_users_usage_and_conversation_but_not_others(bot, provider, cog, unpaced):
    await chat(bot, provider, bot.member, "first question")
    # Reloading stores the usage counted so far: the member now has stored AND pending usage.
    await owner(bot, "!unload skynet")
    await owner(bot, "!load skynet")
    cog = bot.bot.get_cog("Skynet")
    cog.pacer = Pacer(channel_interval=0.0)
    assert (await cog.usage.counters.get(member_scope(bot.guild.id, bot.member.id))).requests == 1
    await chat(bot, provider, bot.member, "my secret plan")
    await chat(bot, provider, bot.admin, "what is the weather")

    reply = await forgetme(bot, bot.member)
    assert "I've deleted any non-operational data about you" in reply
    assert "did not handle deletion" not in reply and "errored" not in reply

    # Gone: usage and what they said.
    assert "**You, in this server:** 0 requests" in text_of(await say(bot, "!ai stats", author=bot.member))
    assert await exported(cog, bot.member.id) == {}
    await chat(bot, provider, bot.admin, "and tomorrow?")
    context = sent_to_provider(provider)
    assert "secret plan" not in context
    assert "what is the weather" in context  # the other user's turns are still remembered

    # Kept: the other user's usage and conversation.
    admin_data = await exported(cog, bot.admin.id)
    assert admin_data["usage"][f"server {bot.guild.id}"]["requests"] == 2
    assert "what is the weather" in remembered(admin_data)

    # The deleted pending usage is not written back at the next flush.
    await owner(bot, "!unload skynet")
    stored = CounterDB(cog.usage.path)
    stored.open()
    try:
        assert stored.of_user(bot.member.id) == {}
        assert stored.get(member_scope(bot.guild.id, bot.admin.id)).requests == 2
    finally:
        stored.close()


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_delete_data_for_user_removes_pending_usage_and_turns(bot, provider, cog, unpaced):
    await chat(bot, provider, bot.member, "remember this")
    await chat(bot, provider, bot.admin, "and this")

    await cog.red_delete_data_for_user(requester="user", user_id=bot.member.id)

    assert "**You, in this server:** 0 requests" in text_of(await say(bot, "!ai stats", author=bot.member))
    assert "**You, in this server:** 1 request" in text_of(await say(bot, "!ai stats", author=bot.admin))
    await chat(bot, provider, bot.member, "hello again")
    context = sent_to_provider(provider)
    assert "remember this" not in context and "and this" in context
