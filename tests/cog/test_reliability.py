"""Reliability as a member sees it: every provider fault ends in a complete answer or one clean
note, fallbacks answer when the model is unavailable, unloading ends replies at once, deletion
wins over a streaming answer, and every command's message fits Discord."""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, List

import pytest
from conftest import KEY, owner, say, text_of
from test_chat import ask, unused_port

from skynet.delivery.pacing import Pacer
from skynet.delivery.reply import restarted_note
from skynet.engine.reliability import RetryPolicy
from skynet_dev.mock_openai import MockOpenAI, Reply

ANSWER = "The answer is forty-two."
PARTIAL = "Once upon a time, there was a"
FOOTER = "answered by backup:backup-model because "
KEY_RUNS = {KEY[i : i + 8] for i in range(len(KEY) - 7)}


@pytest.fixture
async def backup() -> AsyncIterator[MockOpenAI]:
    """A second, keyless provider that echoes."""
    async with MockOpenAI(models=["backup-model"]) as server:
        yield server


@pytest.fixture
def fast(cog):
    """Short waits: backoff and Retry-After sleeps are recorded and cut to at most 50 ms."""
    waits: List[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.05))

    cog.engine.reliability.policy = RetryPolicy(
        max_attempts=2, base_delay=0.01, max_delay=0.05, retry_after_cap=5, deadline=30, status_after=3
    )
    cog.engine.reliability.sleep = sleep
    cog.pacer = Pacer(channel_interval=0.0)  # these tests are not about Discord's rate limits
    return waits


def assert_no_key_anywhere(red, caplog) -> None:
    shown = "\n".join(e.content or "" for e in red.events)
    for run in KEY_RUNS:
        assert run not in shown and run not in caplog.text, run


def final_message(chat) -> str:
    [message] = chat.messages  # no duplicate message
    assert chat.shown[-1].content == message.content  # the last thing shown is the final state
    assert "⏳" not in message.content  # no status line left behind: not frozen
    return message.content


# --------------------------------------------------------------------------------------------
# the fault matrix: (one endpoint, a fallback chain) × every fault
# --------------------------------------------------------------------------------------------

STALLED = Reply.text(ANSWER, first_delay=5)
FAULTS = {
    # fault: (replies scripted on mock, needs a 1 s timeout, single-endpoint outcome, chain outcome)
    "401": ([Reply.error(401, code="invalid_api_key")], False, "rejected the API key", "same"),
    "404": ([Reply.error(404, code="model_not_found")], False, "isn't available", "same"),
    "400_echoed_key": (
        [Reply.error(400, message=f"Invalid request with key {KEY[2:14]}… and body <html>@everyone</html>")],
        False,
        "refused the request",
        "same",
    ),
    "429_short": ([Reply.error(429, retry_after=1), Reply.text(ANSWER)], False, "answer", "answer"),
    "429_long": ([Reply.error(429, retry_after=120)], False, "rate-limiting", "fallback"),
    "429_quota": ([Reply.error(429, code="insufficient_quota")], False, "credit", "fallback"),
    "500": ([Reply.error(500)] * 2, False, "problems", "fallback"),
    "502": ([Reply.error(502)] * 2, False, "problems", "fallback"),
    "503": ([Reply.error(503)] * 2, False, "problems", "fallback"),
    "refused": ([], False, "Couldn't reach **dead**", "fallback"),
    "timeout_first_token": ([STALLED] * 2, True, "took too long", "fallback"),
    "stall_mid_stream": (
        [Reply.text(PARTIAL, chunk_size=3, stall_after=3)],
        True,
        "partial:too long",
        "same",
    ),
    "cut_stream": ([Reply.text(PARTIAL, chunk_size=3, cut_after=3)], False, "partial:broke off", "same"),
    "malformed_chunk": (
        [Reply.text(PARTIAL, chunk_size=3, malformed_after=3)],
        False,
        "partial:broke off",
        "same",
    ),
}


@pytest.mark.parametrize("mode", ["one_endpoint", "fallback_chain"])
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_every_fault_ends_in_an_answer_or_one_clean_note(
    bot, provider, backup, cog, fast, caplog, fault, mode
):
    replies, short_timeout, single, chained = FAULTS[fault]
    expected = single if mode == "one_endpoint" or chained == "same" else chained
    if short_timeout:
        await owner(bot, "!ai provider timeout mock 1")
    if fault == "refused":
        await owner(bot, f"!ai provider add dead http://127.0.0.1:{unused_port()}/v1")
        await owner(bot, "!ai model set global dead:x")
    if mode == "fallback_chain":
        await owner(bot, f"!ai provider add backup {backup.base_url}")
        assert "backup:backup-model" in text_of(
            await owner(bot, "!ai model fallbacks global backup:backup-model")
        )
    provider.script(*replies)

    chat = await ask(bot, "hello")

    content = final_message(chat)
    if expected == "answer":
        assert content == ANSWER
    elif expected == "fallback":
        answer, _, footer = content.rpartition("\n\n")
        assert answer == "echo: member: hello" and FOOTER in footer, content
    else:
        head, _, note = content.rpartition("\n\n")
        assert note.startswith("⚠️") and content.count("⚠️") == 1, content
        if expected.startswith("partial:"):
            expected = expected.split(":", 1)[1]
            assert PARTIAL.startswith(head) and head, content  # the text shown is kept, not restarted
        else:
            assert head == "", content
        assert expected in note, note
        assert "@everyone" not in note and "<html>" not in note
        assert backup.chat_requests == []  # refusals and cut answers are not silently re-run
    assert_no_key_anywhere(bot, caplog)


# --------------------------------------------------------------------------------------------
# status line while waiting
# --------------------------------------------------------------------------------------------


async def test_a_long_retry_after_shows_a_status_line_that_the_answer_replaces(bot, provider, cog, fast):
    provider.script(Reply.error(429, retry_after=4), Reply.text(ANSWER))

    chat = await ask(bot, "hello")

    [message] = chat.messages
    assert chat.shown[0].content == "*⏳ The provider is busy, retrying in 4 s…*"
    assert message.content == ANSWER
    assert fast == [4.0]


# --------------------------------------------------------------------------------------------
# failover from Discord, circuit breaker shown by the provider commands
# --------------------------------------------------------------------------------------------


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_fallbacks_command_sets_shows_and_removes_the_chain(bot, provider, backup, cog, fast):
    await owner(bot, f"!ai provider add backup {backup.base_url}")
    reply = text_of(await owner(bot, "!ai model fallbacks backup:backup-model mock:gpt-other"))
    assert reply == "Fallbacks for this server: `backup:backup-model`, then `mock:gpt-other`."
    shown = text_of(await say(bot, "!ai model fallbacks"))
    assert "`backup:backup-model`, then `mock:gpt-other` (from this server)" in shown
    refused = text_of(await owner(bot, "!ai model fallbacks nowhere:model"))
    assert "no endpoint `nowhere`" in refused or "There is no endpoint" in refused, refused
    assert "removed" in text_of(await owner(bot, "!ai model fallbacks none"))
    assert "Fallbacks here: none" in text_of(await say(bot, "!ai model fallbacks"))
    assert (
        "only" in text_of(await say(bot, "!ai model fallbacks backup:backup-model")).lower()
    )  # members can't


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_an_endpoint_that_keeps_failing_opens_its_circuit_and_the_fallback_answers(
    bot, provider, cog, fast
):
    await owner(bot, f"!ai provider add dead http://127.0.0.1:{unused_port()}/v1")
    await owner(bot, "!ai model set global dead:x")
    await owner(bot, "!ai model fallbacks global mock:gpt-test")
    for _ in range(5):  # one failure per request (its retries included): the 5th opens the circuit
        chat = await ask(bot, "hello")
        assert "answered by mock:gpt-test because dead was unavailable" in final_message(chat)
    listing = text_of(await owner(bot, "!ai provider list"))
    assert "paused for" in listing and "after 5 failed requests in a row" in listing, listing
    assert "(" not in listing.split("paused for")[0].rsplit("·", 1)[-1], listing  # no nested brackets
    test = text_of(await owner(bot, "!ai provider test dead"))
    assert test.startswith("⚠️") and "Requests to it: paused for" in test, test


# --------------------------------------------------------------------------------------------
# unload and reload end every reply at once
# --------------------------------------------------------------------------------------------

PHASES = {
    "waiting_out_retry_after": [Reply.error(429, retry_after=20), Reply.text(ANSWER)],
    "before_first_token": [Reply.text(ANSWER, first_delay=30)],
    "mid_stream": [Reply.text(PARTIAL * 3, chunk_size=3, delay=0.2, prompt_tokens=70, completion_tokens=7)],
}


def server_sleeping(task: asyncio.Task) -> bool:
    """The local server's handler sleeping out a scripted delay (not the bot's work)."""
    return "Event.wait" in repr(task.get_coro())


@pytest.mark.parametrize("command", ["unload", "reload"])
@pytest.mark.parametrize("phase", list(PHASES))
async def test_unload_ends_the_reply_at_once_with_a_restart_note(bot, provider, cog, phase, command):
    """A visible reply ends with the restart note; a request with nothing visible yet is answered
    by the reloaded instance, or (a plain unload: nobody takes it) its author is told to ask again."""
    cog.pacer = Pacer(channel_interval=0.0)
    if command == "unload":
        cog.handover_wait = 0.5  # nobody will take what was not visible: tell its author sooner than 10 s
    provider.script(*PHASES[phase])
    start = len(bot.events)
    await bot.say("!ai chat hello", wait=False)
    deadline = time.monotonic() + 5
    while not provider.chat_requests and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    if phase == "mid_stream":
        await bot.wait_for(lambda e: e.kind == "send", since=start)
    else:
        await asyncio.sleep(0.3)

    await bot.say(f"!{command} skynet", author=bot.owner, wait=False)
    # Before the fix the reply kept waiting (Retry-After 20 s, first token 30 s): settle timed out.
    # The local server's handler still sleeping out its scripted delay is not the bot's.
    await bot.settle(timeout=8, ignore=server_sleeping)

    mine = [e for e in bot.events[start:] if e.kind in ("send", "edit") and "skynet" not in (e.content or "")]
    final = bot._messages[mine[-1].message_id].content
    if phase == "before_first_token" and command == "reload":  # nothing was visible: answered anew
        assert final == "echo: member: hello", [(e.kind, e.content) for e in bot.events[start:]]
    else:
        assert final.endswith(restarted_note()), [(e.kind, e.content) for e in bot.events[start:]]
    assert "Couldn't reach" not in final and "broke off" not in final
    if phase == "mid_stream":
        assert final.startswith(PARTIAL[:3])
    settled = len(bot.events)
    await asyncio.sleep(1.0)
    assert [e.kind for e in bot.events[settled:]] == []  # nothing posted or typed afterwards
    if command == "reload":
        before = len(bot.events)
        await bot.say("!ai stats")
        await bot.settle(ignore=server_sleeping)
        stats = "\n".join(e.content or "" for e in bot.events[before:])
        counted = "1 request" in stats
        # Partial answers' tokens are counted; a request answered by the new instance counts once.
        assert counted == (phase in ("mid_stream", "before_first_token")), stats


# --------------------------------------------------------------------------------------------
# deletion wins over a streaming answer
# --------------------------------------------------------------------------------------------


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_deleting_a_members_data_while_their_answer_streams_writes_nothing_back(bot, provider, cog):
    cog.pacer = Pacer(channel_interval=0.0)
    provider.script(Reply.text(PARTIAL * 2, chunk_size=4, delay=0.1, prompt_tokens=50, completion_tokens=9))
    start = len(bot.events)
    await bot.say("!ai chat my secret plan", wait=False)
    await bot.wait_for(lambda e: e.kind == "send", since=start)

    await cog.red_delete_data_for_user(requester="user", user_id=bot.member.id)
    await bot.settle(timeout=10)

    assert bot.messages()[-1].content == PARTIAL * 2  # the member still got the answer
    await cog.usage.flush()
    assert await cog.config.member_from_ids(bot.guild.id, bot.member.id).usage() == {}
    assert cog.memory.turns_of(bot.member.id) == {}
    await ask(bot, "what was my plan?")
    assert "secret plan" not in str(provider.chat_requests[-1]["messages"])


# --------------------------------------------------------------------------------------------
# refusals that need no provider call; messages that fit Discord
# --------------------------------------------------------------------------------------------


async def test_a_prompt_of_only_invisible_characters_is_refused_without_a_provider_call(
    bot, provider, cog, fast
):
    chat = await ask(bot, "\u200b\u200d\u2060\u3164")
    assert "no visible text" in final_message(chat)
    assert provider.chat_requests == []


async def test_an_over_long_base_url_is_refused_clearly(bot):
    url = "https://example.com/v1/" + "a" * 3900
    reply = text_of(await owner(bot, f"!ai provider add long {url}"))
    assert "limit is 300" in reply and len(reply) <= 2000, reply[:300]
    assert "long" not in text_of(await owner(bot, "!ai provider list")).split("**")[1::2]


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_a_long_provider_list_is_paginated_within_discords_limit(bot):
    for n in range(12):
        await owner(bot, f"!ai provider add ep{n:02d} https://example.com/{'x' * 270}/{n}")
    messages = await owner(bot, "!ai provider list")
    assert len(messages) >= 2 and all(len(m.content) <= 2000 for m in messages)
    listing = text_of(messages)
    assert all(f"**ep{n:02d}**" in listing for n in range(12))
