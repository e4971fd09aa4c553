"""Steering a reply with buttons, clicked through real component interactions: Stop (the asker
or an admin) ends the stream where it is — nothing more is shown, the provider's stream is closed,
only what was streamed is billed and remembered; anyone else gets a private refusal and the answer
goes on. Regenerate replaces the answer in place and in the conversation; Continue follows a
max_tokens stop; a button of a reply the cog no longer knows is removed cleanly; the Components V2
reply style posts 4,000-character text displays."""

from __future__ import annotations

import asyncio

from conftest import owner, say, text_of

from skynet_dev.clicks import click, custom_ids
from skynet_dev.mock_openai import Reply

LONG = " ".join(f"word{i}" for i in range(300))


def steer_button(red, action: str, message_id=None):
    """(message id, custom id) of the latest ``action`` button the bot showed."""
    for event in reversed(red.events):
        if event.kind in ("send", "edit") and (message_id is None or event.message_id == message_id):
            for cid in custom_ids(event.payload):
                if cid.startswith(f"skynet:steer:{action}:"):
                    return event.message_id, cid
    return None


async def until(predicate, timeout: float = 10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = predicate()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def start(red, text: str, author=None):
    await red.say(text, author=author, wait=False)
    return await until(lambda: steer_button(red, "stop"))


async def test_stop_ends_the_answer_where_it_is_and_bills_what_was_used(bot, provider, cog):
    provider.script(Reply.text(LONG, chunk_size=6, delay=0.02))
    message_id, stop = await start(bot, "!ai chat tell me a long story")
    await until(lambda: len(bot.messages()[-1].content) > 60)
    await click(bot, message_id, stop, author=bot.member)
    await bot.settle(timeout=15)
    events_after = len(bot.events)
    final = bot.messages()[-1].content
    assert "Stopped" in final
    shown = final.rsplit("\n\n", 1)[0]
    assert LONG.startswith(shown) and len(shown) < len(LONG) / 2
    await asyncio.sleep(0.3)
    assert len(bot.events) == events_after  # no further edits
    assert steer_button(bot, "stop", message_id) is not None  # shown while streaming...
    assert "skynet:steer:stop" not in str(bot._message_data[message_id].get("components"))  # ...then gone
    usage = cog.usage.ledger.pending(("global",))
    assert usage.completion_tokens == cog.counter.count(shown)  # estimated from what streamed
    assert cog.memory.turns(f"channel:{bot.channel.id}")[-1].content == shown


async def test_someone_else_cannot_stop_it(bot, provider):
    provider.script(Reply.text(LONG, chunk_size=6, delay=0.005))
    message_id, stop = await start(bot, "!ai chat story please", author=bot.admin)
    await click(bot, message_id, stop, author=bot.member)  # not the asker, not an admin
    refusal = [e for e in bot.events if e.ephemeral and "Only the member who asked" in (e.content or "")]
    assert refusal
    await bot.settle(timeout=20)
    assert "Stopped" not in bot.messages()[-1].content
    assert bot.messages()[-1].content.endswith(LONG[-20:])  # the answer went on to its end


async def test_an_admin_can_stop_a_members_answer(bot, provider):
    provider.script(Reply.text(LONG, chunk_size=6, delay=0.02))
    message_id, stop = await start(bot, "!ai chat story please")
    await click(bot, message_id, stop, author=bot.admin)
    await bot.settle(timeout=15)
    assert "Stopped" in bot.messages()[-1].content


async def test_only_the_asker_regenerates_and_the_answer_is_replaced_in_place(bot, provider, cog):
    provider.script(Reply.text("The first answer."), Reply.text("A better answer."))
    await say(bot, "!ai chat what is up?")
    message_id, regen = steer_button(bot, "regen")
    await click(bot, message_id, regen, author=bot.admin)
    assert any(e.ephemeral and "Only the member who asked" in (e.content or "") for e in bot.events)
    bot.limits.reset_windows()
    await click(bot, message_id, regen, author=bot.member)
    await bot.settle(timeout=15)
    answers = [m for m in bot.messages() if not m.ephemeral]
    assert answers[-1].id == message_id  # the same message, edited
    assert "A better answer." in answers[-1].content
    turns = [t.content for t in cog.memory.turns(f"channel:{bot.channel.id}")]
    assert "A better answer." in turns and "The first answer." not in turns
    assert provider.chat_requests[-1]["messages"][-1] == provider.chat_requests[-2]["messages"][-1]


async def test_continue_after_a_max_tokens_stop(bot, provider):
    provider.script(Reply.text("The start of it", finish_reason="length"), Reply.text(" and the rest."))
    await say(bot, "!ai chat write it")
    message_id, more = steer_button(bot, "more")
    bot.limits.reset_windows()
    await click(bot, message_id, more, author=bot.member)
    await bot.settle(timeout=15)
    assert "and the rest." in bot.messages()[-1].content
    assert "Continue" in str(provider.chat_requests[-1]["messages"][-1]["content"])


async def test_buttons_of_a_reply_the_cog_no_longer_knows_are_removed(bot, provider, cog):
    provider.script(Reply.text("An answer."))
    await say(bot, "!ai chat hi")
    message_id, regen = steer_button(bot, "regen")
    cog.steering._ended.clear()  # as after a restart
    await click(bot, message_id, regen, author=bot.member)
    updates = [e for e in bot.events if e.kind == "interaction_response"]
    assert updates and updates[-1].payload.get("components") == []
    assert any(e.ephemeral and "no longer work" in (e.content or "") for e in bot.events)


async def test_components_v2_style_uses_4000_character_text_displays(bot, provider):
    reply = text_of(await owner(bot, "!ai reply style components"))
    assert "`components`" in reply
    text = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum " * 30 for i in range(14))  # ~5,300 chars
    provider.script(Reply.text(text, chunk_size=200))
    bot.limits.reset_windows()
    messages = await say(bot, "!ai chat a long one")
    assert len(messages) == 2  # the classic style needs 3
    final = []
    for message in messages:  # what each message shows last, as the bot sent it
        payload = [
            e.payload for e in bot.events if e.message_id == message.id and e.kind in ("send", "edit")
        ][-1]
        final.append(payload)
    sends = [e.payload for e in bot.events if e.kind == "send" and e.message_id in {m.id for m in messages}]
    assert all(int(p.get("flags") or 0) & (1 << 15) for p in sends) and not any(
        p.get("content") for p in sends
    )

    def displays(items):
        for item in items or ():
            if item.get("type") == 10:
                yield item["content"]
            yield from displays(item.get("components"))

    shown = [list(displays(p["components"])) for p in final]
    assert all(len(text) <= 4000 for texts in shown for text in texts)
    assert " ".join(t for texts in shown for t in texts).split() == text.split()  # all of it, in order
