"""Faults at the edges, as members meet them (issue 22): a reload while answers are queued, requests
that reach the cog while it closes, the memory worker killed mid-command, a provider streaming a
megabyte, a backing service's failure under a command, a failover note. Each test reproduces the
fault through a real Red bot over dpytest, against Discord's real limits (the strict fake)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from typing import List

import discord
import pytest
from conftest import owner, say, text_of
from discord.ext.test import backend as dpy_backend
from test_chat import ask, unused_port

from skynet.delivery.bounds import FILE_NAME
from skynet.delivery.pacing import Pacer
from skynet.delivery.reply import restarted_note
from skynet.engine.reliability import RetryPolicy
from skynet_dev.mock_openai import Reply

ANSWER_WORDS = "The quick brown fox jumps over the lazy dog. "


def server_sleeping(task: asyncio.Task) -> bool:
    return "Event.wait" in repr(task.get_coro())


def members(red, count: int) -> List[discord.Member]:
    made = []
    for n in range(count):
        user = dpy_backend.make_user(f"asker{n:02d}", "0001", id_num=1200000000000000000 + n)
        made.append(dpy_backend.make_member(user, red.guild))
    return made


def side_channel(red, name: str = "ops") -> discord.TextChannel:
    channel = dpy_backend.make_text_channel(name, red.guild)
    dpy_backend._cur_config.messages.setdefault(channel.id, [])
    return channel


def note_of(chat, message) -> str:
    """What the bot sent as content with a file (dpytest keeps only the file of such a message)."""
    [sent] = [e for e in chat.shown if e.message_id == message.id and e.kind == "send"]
    return sent.payload.get("content") or ""


def replies_to(red, message: discord.Message) -> list:
    """The bot's messages that reply to ``message`` (by message reference)."""
    ids = [
        e.message_id
        for e in red.events
        if e.kind == "send" and int((e.payload.get("message_reference") or {}).get("message_id", 0)) == message.id
    ]
    return [red._messages[i] for i in dict.fromkeys(ids)]


# --------------------------------------------------------------------------------------------
# a reload while answers are queued: clean cut, nothing lost, nothing posted late
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [20])
async def test_a_reload_with_queued_answers_is_a_clean_cut_and_every_member_gets_one_reply(
    bot, provider, cog, count
):
    askers = members(bot, count)
    ops = side_channel(bot)
    start = len(bot.events)
    asked = []
    for n, member in enumerate(askers):  # 20 members ask in one channel within a moment
        asked.append(await bot.say(f"!ai chat question {n}", author=member, wait=False))
    await asyncio.sleep(0.3)

    await bot.say("!reload skynet", author=bot.owner, channel=ops, wait=False)
    reloaded = await bot.wait_for(
        lambda e: e.kind == "send" and e.channel_id == ops.id and "Reloaded" in (e.content or ""),
        timeout=20,
        since=start,
    )
    await bot.settle(timeout=60, ignore=server_sleeping)

    new_cog = bot.bot.get_cog("Skynet")
    assert new_cog is not cog
    before_reload = {e.message_id for e in bot.events[start:] if e.kind == "send" and e.at < reloaded.at}
    late = [e for e in bot.events if e.at > reloaded.at and e.message_id in before_reload]
    assert late == [], [(e.kind, e.content) for e in late]  # the old instance posts nothing later

    for n, question in enumerate(asked):
        [message] = replies_to(bot, question)  # exactly one reply each: none lost, none twice
        complete = message.content == f"echo: {askers[n].display_name}: question {n}"
        assert complete or message.content.endswith(restarted_note()), (n, message.content)
    restarted = sum(m.content.endswith(restarted_note()) for q in asked for m in replies_to(bot, q))
    assert restarted <= 5  # only what was visible at the reload: one channel's allowance


@pytest.mark.parametrize("command", ["reload", "unload"])
async def test_a_request_reaching_the_closing_cog_is_answered_by_the_new_instance_or_told(
    bot, provider, cog, command
):
    """Its command passed Red's checks just before the unload began: it reaches ``answer()``
    while the old instance closes (it used to return in silence)."""
    ops = side_channel(bot)
    [late] = members(bot, 1)
    if command == "unload":
        cog.handover_wait = 0.5  # nobody will take the request: tell its author sooner than 5 s

    async def held_until_closing(ctx) -> None:  # the member's command, in flight during the unload
        if ctx.author.id == late.id and ctx.command.qualified_name == "ai chat":  # past Red's checks
            while not cog.inflight.closed:
                await asyncio.sleep(0.01)

    bot.bot.before_invoke(held_until_closing)
    try:
        question = await bot.say("!ai chat are you there?", author=late, wait=False)
        await asyncio.sleep(0.2)
        await bot.say(f"!{command} skynet", author=bot.owner, channel=ops, wait=False)
        await bot.settle(timeout=20, ignore=server_sleeping)
    finally:
        bot.bot.remove_before_invoke_hook(held_until_closing)

    [message] = replies_to(bot, question)
    if command == "reload":
        assert message.content == f"echo: {late.display_name}: are you there?"
    else:
        assert message.content == restarted_note()
    assert provider.chat_requests == ([] if command == "unload" else provider.chat_requests[:1])


# --------------------------------------------------------------------------------------------
# the memory worker killed by PID
# --------------------------------------------------------------------------------------------


class KillWorkerOnEmbeddings(list):
    """The provider's request log; recording an embeddings request kills the chromadb worker:
    ``ai remember`` has counted the member's memories and is waiting for the vector."""

    def __init__(self, cog) -> None:
        super().__init__()
        self.cog, self.killed = cog, None

    def append(self, request) -> None:
        super().append(request)
        store = self.cog.memory_service.store
        if request.path == "/v1/embeddings" and store is not None and self.killed is None:
            self.killed = store._runner.process.pid
            os.kill(self.killed, signal.SIGKILL)


async def test_the_memory_worker_killed_mid_remember_gives_the_memory_message_and_comes_back(
    mem, provider, cog
):
    assert "I'll remember that" in text_of(await say(mem, "!ai remember I like tea"))
    provider.requests = KillWorkerOnEmbeddings(cog)

    reply = text_of(await say(mem, "!ai remember I like coffee"))

    assert provider.requests.killed is not None
    assert reply.startswith("⚠️ Long-term memory stopped working"), reply
    assert "Error in command" not in reply and "nothing was stored" in reply
    # The next command starts a new worker at once (no 30 s back-off after a worker death).
    assert "I'll remember that" in text_of(await say(mem, "!ai remember I like coffee"))
    listing = text_of(await say(mem, "!ai memories list"))
    assert listing.count("coffee") == 1 and "tea" in listing
    diag = text_of(await owner(mem, "!ai diag"))
    assert "`service_memory`" in diag, diag


# --------------------------------------------------------------------------------------------
# a provider streaming a megabyte: the answer caps, then a file
# --------------------------------------------------------------------------------------------


@pytest.fixture
def quick(cog):
    """Replies need not wait for Discord's per-channel allowance (not what these tests are about)."""
    cog.pacer = Pacer(channel_interval=0.0, channel_limit=50)
    return cog


@pytest.mark.discord_bursts
async def test_a_megabyte_stream_posts_at_most_the_cap_then_the_whole_answer_as_a_file(bot, provider, quick):
    huge = (ANSWER_WORDS * (1_000_000 // len(ANSWER_WORDS) + 1))[:1_000_000]
    provider.script(Reply.text(huge, chunk_size=5000))

    chat = await ask(bot, "tell me everything")

    *texts, attached = chat.messages
    assert len(texts) == 10, [len(m.content) for m in texts]
    assert all(len(m.content) <= 2000 for m in texts)
    shown = "".join("".join(m.content.split()) for m in texts)
    assert "".join(huge.split()).startswith(shown)  # the start of the answer, in order, nothing twice
    note = note_of(chat, attached)
    assert note.startswith("📎 This answer is longer than 10 messages") and "1,000,000 characters" in note, note
    [(name, data)] = bot.sent_files[attached.id]
    assert name == FILE_NAME and data.decode() == huge  # the whole answer, as streamed


@pytest.mark.discord_bursts
async def test_owner_caps_bind_and_max_tokens_still_comes_first(bot, provider, quick):
    await owner(bot, "!ai answers messages 2")
    provider.script(Reply.text(ANSWER_WORDS * 200, chunk_size=50))  # 9,000 characters
    chat = await ask(bot, "long")
    assert len(chat.messages) == 3 and "longer than 2 messages" in note_of(chat, chat.messages[-1])

    await owner(bot, "!ai answers messages 10")
    await owner(bot, "!ai answers characters 1000")
    provider.script(Reply.text(ANSWER_WORDS * 200, chunk_size=50))
    chat = await ask(bot, "long again")
    *texts, attached = chat.messages
    assert sum(len(m.content) for m in texts) <= 1000 and "longer than 1,000 characters" in note_of(chat, attached)

    provider.script(Reply.text(ANSWER_WORDS * 10, chunk_size=50, finish_reason="length"))
    chat = await ask(bot, "short, cut by max_tokens")  # under the caps: no file, the usual note
    [message] = chat.messages
    assert "max_tokens" in message.content and bot.sent_files.get(message.id) is None


# --------------------------------------------------------------------------------------------
# a failover note names only fallbacks
# --------------------------------------------------------------------------------------------


@pytest.mark.discord_bursts
async def test_the_failover_note_names_only_the_fallbacks(bot, provider, cog):
    cog.engine.reliability.policy = RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.05, deadline=30)
    cog.pacer = Pacer(channel_interval=0.0)
    for name in ("p0", "p1"):
        await owner(bot, f"!ai provider add {name} http://127.0.0.1:{unused_port()}/v1")
    await owner(bot, "!ai model set global p0:m")
    await owner(bot, "!ai model fallbacks global p1:m mock:gpt-test")
    provider.script(Reply.error(401, code="invalid_api_key"))

    chat = await ask(bot, "hello")

    note = chat.messages[-1].content
    assert "rejected the API key" in note, note
    assert "`p1:m`" in note and "p0:m" not in note, note


# --------------------------------------------------------------------------------------------
# a backing service failing under a command: its message, never Red's generic error
# --------------------------------------------------------------------------------------------


async def test_a_broken_usage_database_gives_its_own_message_and_is_in_diag(bot, cog, tmp_path):
    broken = tmp_path / "usage.sqlite3"
    broken.write_bytes(b"this is not a database" * 200)  # the file was overwritten under the bot
    healthy, cog.usage.counters.db._db = cog.usage.counters.db._db, sqlite3.connect(
        str(broken), check_same_thread=False
    )

    reply = text_of(await say(bot, "!ai stats"))

    assert reply.startswith("⚠️ The usage counters' database"), reply
    assert "Error in command" not in reply
    assert "`service_usage_db`" in text_of(await owner(bot, "!ai diag"))
    cog.usage.counters.db._db.close()
    cog.usage.counters.db._db = healthy
