"""``/ai chat`` as a member uses it: typed as a prefix command or a slash command, answered by the
local OpenAI-compatible server over real HTTP, observed as the sends/edits Discord would receive."""

from __future__ import annotations

import random
import re
import socket
import time
from dataclasses import dataclass
from typing import List, Optional

import discord
import pytest
from conftest import KEY, owner, say, text_of
from discord.ext.test import backend as dpy_backend

from skynet_dev.harness import BotEvent, BotMessage, RedHarness
from skynet_dev.mock_openai import Reply

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One ``/ai chat``: what the member sent and everything the bot did for it."""

    red: RedHarness
    asked_at: float  # monotonic time the member sent the command
    events: List[BotEvent]  # every event the bot produced meanwhile
    message: Optional[discord.Message] = None  # the member's message (prefix path)

    @property
    def shown(self) -> List[BotEvent]:
        """Sends and edits of messages, in order."""
        return [e for e in self.events if e.kind in ("send", "edit")]

    @property
    def messages(self) -> List[BotMessage]:
        """Final state of the bot's messages of this exchange, in order."""
        ids = list(dict.fromkeys(e.message_id for e in self.shown))
        return [self.red._messages[i] for i in ids]

    @property
    def text(self) -> str:
        return text_of(self.messages)

    def of(self, message: BotMessage) -> List[BotEvent]:
        return [e for e in self.shown if e.message_id == message.id]


async def ask(red: RedHarness, text: str, *, channel: Optional[discord.TextChannel] = None) -> Exchange:
    """A member types ``!ai chat <text>``; waits until the reply is complete."""
    start, asked_at = len(red.events), time.monotonic()
    message = await red.say(f"!ai chat {text}", channel=channel)
    await red.settle(timeout=20)
    return Exchange(red, asked_at, red.events[start:], message)


async def ask_slash(red: RedHarness, text: str) -> Exchange:
    """A member uses ``/ai chat message:<text>``; waits until the reply is complete."""
    start, asked_at = len(red.events), time.monotonic()
    await red.slash("ai chat", message=text)
    await red.settle(timeout=20)
    return Exchange(red, asked_at, red.events[start:])


def assert_never_pings(events: List[BotEvent]) -> None:
    """Every send and edit carried allowed_mentions that allow no ping at all."""
    assert events
    for event in events:
        am = event.allowed_mentions
        assert am is not None, f"{event.kind} without allowed_mentions: Discord would parse every mention"
        assert am.get("parse") == [], (event.kind, am)
        assert not am.get("users") and not am.get("roles"), (event.kind, am)
        assert not am.get("replied_user"), (event.kind, am)
        assert not event.may_ping


def squash(text: str) -> str:
    return "".join(text.split())


def assert_friendly(text: str, *must_contain: str) -> None:
    """A short, friendly error: one clear sentence or two, what to do, nothing internal."""
    assert text.startswith("⚠️"), text
    assert len(text) < 300, text
    for needle in must_contain:
        assert needle in text, f"{needle!r} not in {text!r}"
    for internal in ("Traceback", "Error code", "Exception", "openai.", "httpx", "{'error'", 'File "'):
        assert internal not in text, text
    assert KEY not in text


def assert_no_secret_leaked(red: RedHarness, caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Neither what the bot showed nor what it logged contains a key."""
    shown = "\n".join(e.content or "" for e in red.events)
    for secret in (KEY, *secrets):
        assert secret not in shown
        assert secret not in caplog.text


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------
# 1-2. prefix chat, streaming by throttled edits
# --------------------------------------------------------------------------------------------


async def test_prefix_chat_replies_to_the_message_after_showing_typing(bot, provider):
    answer = "Hello! Paris is the capital of France."
    provider.script(Reply.text(answer, chunk_size=6))

    chat = await ask(bot, "what is the capital of France?")

    assert chat.events[0].kind == "typing", [e.kind for e in chat.events]
    first = chat.shown[0]
    assert first.kind == "send" and first.at >= chat.events[0].at
    reference = first.payload.get("message_reference") or {}
    assert int(reference.get("message_id", 0)) == chat.message.id, first.payload
    assert [m.content for m in chat.messages] == [answer]
    assert provider.chat_requests[-1]["messages"][-1] == {
        "role": "user",
        "content": "member: what is the capital of France?",
    }


DELAY = 0.35
STREAMED = "The quick brown fox jumps over the lazy dog while the cat watches it."
CHUNK = 7  # 10 chunks, one every DELAY seconds: the stream runs for about 3.5 s


async def test_answer_streams_in_by_throttled_edits_of_one_message(bot, provider):
    chunks = [STREAMED[i : i + CHUNK] for i in range(0, len(STREAMED), CHUNK)]
    assert len(chunks) == 10
    provider.script(Reply.text(STREAMED, chunk_size=CHUNK, delay=DELAY))

    chat = await ask(bot, "tell me a story")

    [message] = chat.messages
    assert message.content == STREAMED
    shown = chat.of(message)
    first, final = shown[0], shown[-1]
    assert first.kind == "send" and all(e.kind == "edit" for e in shown[1:])
    # The first text is shown as soon as it exists, long before the stream is over...
    assert first.at - chat.asked_at < 1.2
    assert final.at - first.at > 2.5
    assert first.content and len(first.content) < len(STREAMED)
    # ...then edited at most about once a second, a few times, each time with more of the answer;
    # the final edit does not wait for a 1 s slot (the channel's 5-per-5 s burst has room).
    channel_ops = [e for e in chat.events if e.kind in ("send", "edit")]
    for before, after in zip(channel_ops, channel_ops[1:-1]):
        assert after.at - before.at >= 0.9, [round(e.at - chat.asked_at, 2) for e in channel_ops]
    for index, op in enumerate(channel_ops):  # Discord's limit: 5 operations per 5 s per channel
        assert sum(1 for later in channel_ops[index:] if later.at - op.at < 5.0) <= 5
    assert 2 <= message.edits <= 5
    contents = [e.content for e in shown]
    for before, after in zip(contents, contents[1:]):
        assert len(after) > len(before) and after.startswith(before), contents
    assert all(STREAMED.startswith(c) for c in contents)
    # Each edit shows the latest text, and the complete answer is up right after the last chunk
    # (produced ~9 * DELAY after the first one), not a pacing slot later.
    assert final.at - first.at <= 9 * DELAY + 0.45, [round(e.at - first.at, 2) for e in shown]
    assert_never_pings(shown)


# --------------------------------------------------------------------------------------------
# 3. long answers are split at natural boundaries, never inside a code block
# --------------------------------------------------------------------------------------------


def long_answer() -> tuple[str, str]:
    rng = random.Random(7)
    words = "model token stream reply channel server member answer context prompt cache edit".split()

    def paragraph(n: int) -> str:
        sentences = []
        while sum(len(s) + 1 for s in sentences) < 300:
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 12)))
            sentences.append(sentence.capitalize() + ".")
        return f"Paragraph {n}. " + " ".join(sentences)

    code_lines = [f"def step_{i}(value):\n    return value * {i} + {i}  # step {i}" for i in range(15)]
    code = "```python\n" + "\n".join(code_lines) + "\n```"
    parts = [paragraph(n) for n in range(1, 6)] + [code] + [paragraph(n) for n in range(6, 13)]
    return "\n\n".join(parts), code


async def test_long_answer_is_split_into_messages_without_breaking_the_code_block(bot, provider):
    answer, code = long_answer()
    assert 4000 < len(answer) < 5500 and 700 < len(code) < 900
    start_of_code = answer.index(code)
    assert start_of_code < 2000 < start_of_code + len(code)  # the code block straddles the limit
    provider.script(Reply.text(answer, chunk_size=300, delay=0.05))

    chat = await ask(bot, "explain it with code")

    messages = chat.messages
    assert len(messages) == 3, [len(m.content) for m in messages]
    for message in messages:
        assert 0 < len(message.content) <= 2000
        fences = [line for line in message.content.splitlines() if line.lstrip().startswith("```")]
        assert len(fences) % 2 == 0, message.content
        # Cut at paragraph boundaries: every message is whole paragraphs of the answer.
        assert message.content in answer
        assert message.content == message.content.strip()
    assert any(code in m.content for m in messages), "the code block was split across messages"
    assert squash("".join(m.content for m in messages)) == squash(answer)
    assert [e.kind for e in chat.shown].count("send") == 3
    # Only the first message is a reply to the member; all of them are silent.
    sends = [e for e in chat.shown if e.kind == "send"]
    assert "message_reference" in sends[0].payload
    assert all("message_reference" not in e.payload for e in sends[1:])
    assert_never_pings(chat.shown)


# --------------------------------------------------------------------------------------------
# 4. a hostile answer pings nobody
# --------------------------------------------------------------------------------------------


def hostile(red: RedHarness) -> str:
    return f"@everyone @here <@&{red.admin_role.id}> <@{red.member.id}> <@!{red.owner.id}> hi"


async def test_hostile_answer_is_shown_but_pings_nobody(bot, provider):
    text = hostile(bot)
    provider.script(Reply.text(text, chunk_size=40, delay=0.2))  # a send, then an edit

    chat = await ask(bot, "say hi to everyone")

    assert [m.content for m in chat.messages] == [text]
    assert len(chat.shown) >= 2  # the send and at least one edit, all checked
    assert chat.shown[-1].content == text
    assert_never_pings(chat.shown)


async def test_hostile_answer_to_a_slash_command_pings_nobody(bot, provider):
    await bot.enable_slash("ai")
    text = hostile(bot)
    provider.script(Reply.text(text, chunk_size=40, delay=0.2))

    chat = await ask_slash(bot, "say hi to everyone")

    assert [m.content for m in chat.messages] == [text]
    assert len(chat.shown) >= 2
    assert_never_pings(chat.shown)


# --------------------------------------------------------------------------------------------
# 5. follow-ups remember the channel's conversation; /ai forget clears it
# --------------------------------------------------------------------------------------------


async def test_follow_up_sends_the_previous_exchange_of_this_channel(bot, provider):
    first = await ask(bot, "my name is Ada")
    assert first.text == "echo: member: my name is Ada"

    await ask(bot, "what is my name?")

    messages = provider.chat_requests[-1]["messages"]
    assert messages[0]["role"] == "system"
    assert messages[1:] == [
        {"role": "user", "content": "member: my name is Ada"},
        {"role": "assistant", "content": "echo: member: my name is Ada"},
        {"role": "user", "content": "member: what is my name?"},
    ]


async def test_another_channel_does_not_see_this_channels_conversation(bot, provider):
    await ask(bot, "my name is Ada")
    other = dpy_backend.make_text_channel("other", bot.guild)

    chat = await ask(bot, "what is my name?", channel=other)

    assert chat.text == "echo: member: what is my name?"
    assert all(m.channel_id == other.id for m in chat.messages)
    messages = provider.chat_requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Ada" not in str(messages)


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_forget_clears_the_channel_memory_and_says_how_much(bot, provider):
    await ask(bot, "my name is Ada")
    await ask(bot, "I like tea")

    reply = text_of(await say(bot, "!ai forget"))
    assert "4" in reply and "forg" in reply.lower(), reply

    await ask(bot, "what is my name?")
    messages = provider.chat_requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == "member: what is my name?"
    await say(bot, "!ai forget")
    assert "nothing to forget" in text_of(await say(bot, "!ai forget")).lower()


# --------------------------------------------------------------------------------------------
# 6. slash command
# --------------------------------------------------------------------------------------------


async def test_slash_chat_defers_then_fills_the_deferred_message_and_edits_it(bot, provider):
    await bot.enable_slash("ai")
    answer = "Slash answers arrive in the deferred message, then grow."
    provider.script(Reply.text(answer, chunk_size=20, delay=0.2))

    chat = await ask_slash(bot, "hello")

    defer = chat.events[0]
    assert defer.kind == "defer", [e.kind for e in chat.events]
    assert defer.at - chat.asked_at < 1.0  # Discord drops interactions not acknowledged in 3 s
    first = chat.shown[0]
    assert first.kind == "send" and first.via == "followup"
    assert first.message_id == defer.message_id  # fills "Bot is thinking...", no second message
    assert len(chat.shown) >= 2 and all(e.kind == "edit" for e in chat.shown[1:])
    [message] = chat.messages
    assert message.content == answer and not message.loading
    assert provider.chat_requests[-1]["messages"][-1]["content"] == "member: hello"


# --------------------------------------------------------------------------------------------
# 7. a failure mid-stream ends the message with a clear note
# --------------------------------------------------------------------------------------------

PARTIAL = "Once upon a time, there was a"


def assert_ends_with_note(chat: Exchange, *needles: str) -> str:
    [message] = chat.messages
    content = message.content
    assert content.startswith(PARTIAL[:9]), content  # 3 deltas of 3 characters were shown
    head, _, note = content.rpartition("\n\n")
    assert PARTIAL.startswith(head), content
    assert note.startswith("⚠️"), content
    for needle in needles:
        assert needle in note, note
    assert chat.of(message)[-1].content == content  # the last thing the bot did shows the note
    assert KEY not in content
    return note


@pytest.mark.parametrize(
    "fault", [{"cut_after": 3}, {"end_early_after": 3}, {"malformed_after": 3}], ids=lambda f: next(iter(f))
)
async def test_stream_breaking_off_mid_answer_keeps_the_text_and_ends_with_a_note(bot, provider, fault):
    provider.script(Reply.text(PARTIAL, chunk_size=3, **fault))

    chat = await ask(bot, "tell me a story")

    note = assert_ends_with_note(chat, "broke off")
    assert "try again" in note.lower()


async def test_stalled_stream_ends_with_the_timeout_note(bot, provider):
    assert "1 second" in text_of(await owner(bot, "!ai provider timeout mock 1"))
    provider.script(Reply.text(PARTIAL, chunk_size=3, stall_after=3))

    chat = await ask(bot, "tell me a story")

    assert_ends_with_note(chat, "too long", "!ai provider timeout mock")
    assert chat.shown[-1].at - chat.asked_at < 6


# --------------------------------------------------------------------------------------------
# 8. errors before any text: one short, friendly message saying what to do
# --------------------------------------------------------------------------------------------


async def error_reply(red: RedHarness, text: str = "hello") -> str:
    chat = await ask(red, text)
    [message] = chat.messages
    assert message.content == chat.shown[-1].content
    return message.content


async def test_missing_key_says_how_to_set_it(bot, provider, caplog):
    await owner(bot, "!set api remove mock")

    text = await error_reply(bot)

    assert_friendly(text, "No API key", "!set api mock api_key,")
    assert provider.chat_requests == []
    assert_no_secret_leaked(bot, caplog)


async def test_bad_key_says_the_owner_must_set_a_valid_one(bot, provider, caplog):
    await owner(bot, "!set api mock api_key,sk-wrong-key-123456")

    text = await error_reply(bot)

    assert_friendly(text, "rejected the API key", "!set api mock api_key,<key>")
    assert "sk-wrong-key-123456" not in text
    assert_no_secret_leaked(bot, caplog, "sk-wrong-key-123456")


async def test_unknown_model_points_to_model_list(bot, provider, caplog):
    provider.models.remove("gpt-test")

    text = await error_reply(bot)

    assert_friendly(text, "gpt-test", "!ai model list", "!ai model set")
    assert_no_secret_leaked(bot, caplog)


@pytest.mark.parametrize(
    "errors, needles",
    [
        pytest.param(
            [Reply.error(429, retry_after=0)] * 3, ["rate-limiting", "try again"], id="rate_limited"
        ),
        pytest.param(
            [Reply.error(429, code="insufficient_quota", retry_after=0)] * 3,
            ["credit", "billing"],
            id="quota",
        ),
        pytest.param(
            [Reply.error(500, retry_after=0)] * 3, ["problems", "try again later"], id="provider_down"
        ),
        pytest.param(
            [Reply.error(400, code="context_length_exceeded")],
            ["too long", "!ai forget"],
            id="context_too_long",
        ),
    ],
)
async def test_provider_error_gets_a_friendly_message(bot, provider, caplog, errors, needles):
    provider.script(*errors)

    text = await error_reply(bot)

    assert_friendly(text, *needles)
    assert_no_secret_leaked(bot, caplog)


async def test_unreachable_endpoint_says_it_may_be_down(bot, provider, caplog):
    port = unused_port()
    await owner(bot, f"!ai provider add dead http://127.0.0.1:{port}/v1")
    reply = text_of(await owner(bot, "!ai model set global dead:x"))
    assert "set to `dead:x`" in reply and "couldn't check" in reply.lower(), reply

    text = await error_reply(bot)

    assert_friendly(text, "Couldn't reach **dead**", "try again")
    assert_no_secret_leaked(bot, caplog)


async def test_over_long_message_is_refused_before_calling_the_provider(bot, provider):
    # The engine refuses a message over ChatLimits.max_input_tokens (4000). Prefix messages stop
    # at 4000 characters on Discord; a slash option holds up to 6000. A pasted hex dump is dense.
    rng = random.Random(3)
    dump = " ".join(f"{rng.randrange(256):02x}" for _ in range(2000))[:6000]
    await bot.enable_slash("ai")

    chat = await ask_slash(bot, dump)

    [message] = chat.messages
    assert_friendly(message.content, "too long", "shorten")
    assert re.search(r"\d+ tokens; the limit is 4000", message.content), message.content
    assert provider.chat_requests == []


# --------------------------------------------------------------------------------------------
# 9-10. incomplete and empty answers
# --------------------------------------------------------------------------------------------


async def test_answer_cut_by_max_tokens_ends_with_a_note(bot, provider):
    provider.script(Reply.text("The answer is long and it goes on and", finish_reason="length"))

    chat = await ask(bot, "write an essay")

    [message] = chat.messages
    head, _, note = message.content.rpartition("\n\n")
    assert head == "The answer is long and it goes on and"
    assert "max_tokens" in note


async def test_empty_answer_gets_a_note_instead_of_nothing(bot, provider):
    provider.script(Reply())

    chat = await ask(bot, "say nothing")

    [message] = chat.messages
    assert "empty answer" in message.content.lower()


# --------------------------------------------------------------------------------------------
# 11. usage
# --------------------------------------------------------------------------------------------


async def test_reported_usage_is_counted_in_stats(bot, provider):
    provider.script(Reply.text("Counted.", prompt_tokens=123, completion_tokens=45))
    await ask(bot, "count me")

    stats = text_of(await say(bot, "!ai stats"))

    lines = {line.split(":**")[0].strip("*"): line for line in stats.splitlines() if ":**" in line}
    for label in ("You, in this server", "This server"):
        assert "1 request " in lines[label], stats
        assert "168 tokens (123 in / 45 out)" in lines[label], stats
        assert "counted locally" not in lines[label], stats


async def test_usage_is_estimated_when_the_provider_reports_none(bot, provider):
    provider.script(Reply.text("Counted without usage.", usage=False))
    await ask(bot, "count me")

    stats = text_of(await say(bot, "!ai stats"))

    server = next(line for line in stats.splitlines() if line.startswith("**This server:**"))
    assert "1 request " in server and "counted locally" in server, stats
    assert " 0 tokens" not in server, stats
