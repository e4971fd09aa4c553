"""Reasoning models through the whole cog, against a local server streaming each documented shape
(`reasoning_content`, `reasoning`, inline `<think>`): the reasoning never appears as answer text
(in any message or edit) nor in the conversation memory; a status line shows while it thinks; the
server's display choice posts it as a spoiler or a file; reasoning tokens are counted; and
`reasoning_effort` is sent only where it is set."""

from __future__ import annotations

import pytest
from conftest import owner, say, text_of

from skynet_dev.fake_media import FakeMedia

REASONING = "Let me think about this greeting carefully. " * 6


@pytest.fixture
async def media():
    async with FakeMedia() as server:
        server.reasoning = REASONING
        yield server


@pytest.fixture
async def thinker(bot, media, cog):
    await owner(bot, f"!ai provider add media {media.base_url}")
    reply = text_of(await owner(bot, "!ai model set global media:deep-reasoner"))
    assert "media:deep-reasoner" in reply, reply
    bot.limits.reset_windows()
    return bot


def shown_texts(red) -> list:
    return [e.content or "" for e in red.events if e.kind in ("send", "edit")]


@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "think"])
async def test_reasoning_is_never_answer_text(thinker, media, cog, shape):
    media.reasoning_shape = shape
    media.delay = 0.03  # the model thinks for a while: the status line has time to show
    messages = await say(thinker, "!ai chat hello")
    assert "Hello there!" in text_of(messages), thinker.last_error
    everything = "\n".join(shown_texts(thinker))
    assert "Let me think" not in everything and "<think>" not in everything and "</think>" not in everything
    assert "thinking…" in everything  # the status line while it thought
    assert "thinking…" not in text_of(thinker.messages())  # ...replaced by the answer
    turns = cog.memory.turns(f"channel:{thinker.channel.id}")
    assert turns[-1].content == "Hello there!"


async def test_spoiler_display(thinker, media):
    await owner(thinker, "!ai params set reasoning_display spoiler")
    thinker.limits.reset_windows()
    messages = await say(thinker, "!ai chat hello")
    spoiler = [m for m in messages if "||" in m.content]
    assert spoiler and "Let me think about this greeting" in spoiler[0].content
    assert spoiler[0].content.count("||") == 2
    assert "Thought for" in spoiler[0].content
    assert not any("Let me think" in m.content for m in messages if m not in spoiler)


async def test_file_display(thinker, media):
    await owner(thinker, "!ai params set channel reasoning_display file")
    thinker.limits.reset_windows()
    messages = await say(thinker, "!ai chat hello")
    files = {name: body for m in messages for name, body in thinker.sent_files.get(m.id, [])}
    assert "reasoning.md" in files
    assert REASONING.strip() in files["reasoning.md"].decode()


async def test_reasoning_tokens_are_counted(thinker, media, cog):
    await say(thinker, "!ai chat hello")
    assert (
        cog.usage.ledger.pending(("global",)).reasoning_tokens == 30
    )  # the provider's completion_tokens_details


async def test_reasoning_effort_is_sent_only_where_set(thinker, media):
    await say(thinker, "!ai chat hello")
    assert "reasoning_effort" not in media.requests[-1][1]
    reply = text_of(await owner(thinker, "!ai params set reasoning_effort high"))
    assert "`high`" in reply
    thinker.limits.reset_windows()
    await say(thinker, "!ai chat hello again")
    assert media.requests[-1][1]["reasoning_effort"] == "high"
    refused = text_of(await owner(thinker, "!ai params set reasoning_effort extreme"))
    assert "`medium`" in refused  # the choices are named; nothing was changed
    await say(thinker, "!ai chat once more")
    assert media.requests[-1][1]["reasoning_effort"] == "high"
    assert "reasoning_display" not in media.requests[-1][1]  # local settings never reach the provider
