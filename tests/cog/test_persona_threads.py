"""Persona replies in threads: a thread has no webhooks of its own, so the reply goes through the
PARENT channel's persona webhook with ``thread=`` the thread, and streams by editing that webhook
message in the thread. The harness gives the test guild a real ``discord.Thread``
(``RedHarness.make_thread``) and records each webhook request's ``thread_id``."""

from __future__ import annotations

from typing import List

import discord
import pytest
from discord.ext.test import backend as dpy_backend

from skynet_dev.harness import BotEvent, RedHarness
from skynet_dev.mock_openai import Reply

pytestmark = pytest.mark.discord_bursts  # the admin's setup commands come faster than people type

ANSWER = "Ahoy! The treasure lies beyond the third reef, past the old lighthouse."


async def setup_persona(red: RedHarness, *, manage_webhooks: bool = True) -> None:
    if manage_webhooks:
        role = dpy_backend.make_role(
            "Webhooks",
            red.guild,
            permissions=discord.Permissions(manage_webhooks=True, send_messages=True).value,
        )
        me = red.guild.me
        dpy_backend.update_member(me, roles=[*me.roles[1:], role])
    for command in (
        "!ai persona create guide You guide visitors in {thread}.",
        "!ai persona edit guide display_name Tour Guide",
        "!ai persona use guide",  # chosen for the server: the thread follows its parent
    ):
        await red.say(command, author=red.admin)
    await red.settle()


async def chat_in(red: RedHarness, provider, channel, text: str = "where?") -> List[BotEvent]:
    provider.script(Reply.text(ANSWER, chunk_size=15, delay=0.5))
    start = len(red.events)
    await red.say(f"!ai chat {text}", channel=channel)
    await red.settle(timeout=20)
    return [e for e in red.events[start:] if e.kind in ("send", "edit")]


async def test_a_persona_answers_in_a_thread_through_the_parents_webhook(bot, provider):
    await setup_persona(bot)
    thread = bot.make_thread("Weekend plans")
    assert bot.bot.get_channel(thread.id) is thread
    in_parent = len(bot.messages(bot.channel))

    events = await chat_in(bot, provider, thread)
    assert events and all(e.via == "webhook" for e in events), [(e.kind, e.via) for e in events]
    assert {e.channel_id for e in events} == {thread.id}  # posted in the thread, not the parent
    first = events[0]
    assert first.kind == "send" and first.payload["username"] == "Tour Guide"
    assert any(e.kind == "edit" for e in events)  # streamed by editing the webhook message
    assert {e.message_id for e in events} == {first.message_id}
    assert bot.messages(thread)[-1].content == ANSWER
    assert len(bot.messages(bot.channel)) == in_parent  # nothing in the parent channel

    # One webhook, the parent's; every execution and edit named the thread.
    [hook] = bot.channel_webhooks.values()
    assert int(hook["channel_id"]) == bot.channel.id
    methods = {method for method, _, _ in bot.webhook_requests}
    assert methods == {"POST", "PATCH"}
    assert all(
        (channel_id, thread_id) == (bot.channel.id, thread.id)
        for _, channel_id, thread_id in bot.webhook_requests
    ), bot.webhook_requests
    # The persona's prompt saw the thread (variables), and the settings came from the parent.
    system = provider.chat_requests[-1]["messages"][0]["content"]
    assert system == "You guide visitors in Weekend plans."

    # The same webhook then answers in the parent channel, without thread_id.
    bot.webhook_requests.clear()
    events = await chat_in(bot, provider, bot.channel, "and here?")
    assert {e.channel_id for e in events} == {bot.channel.id} and len(bot.channel_webhooks) == 1
    assert bot.webhook_requests and all(thread_id is None for _, _, thread_id in bot.webhook_requests)


async def test_in_a_thread_without_manage_webhooks_the_reply_is_a_named_bot_message(bot, provider):
    await setup_persona(bot, manage_webhooks=False)
    thread = bot.make_thread("Questions")
    events = await chat_in(bot, provider, thread)
    assert events and all(e.via == "channel" and e.channel_id == thread.id for e in events)
    assert bot.messages(thread)[-1].content == f"**Tour Guide**: {ANSWER}"
    assert not bot.channel_webhooks and not bot.webhook_requests
