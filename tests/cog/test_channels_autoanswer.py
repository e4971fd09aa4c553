"""Auto-answer through a real Red bot, the server's documents in chromadb and embeddings from the
local provider (bag of words: texts sharing words are close). Answer quality with a real model is
measured in bench/autoanswer.py."""

from __future__ import annotations

import pytest
from discord.ext.test import backend as dpy_backend

from skynet.engine.channels.clock import ManualClock
from skynet_dev import fake_channels
from skynet_dev.mock_openai import Reply
from tests.conftest import owner, text_of

GUIDE = """# Guide
## Password
Reset your password from Settings, then Account, then Reset password. A reset link arrives by email.
## Parking
Members park behind the gym, in the rows marked with a green sign. Guests park on the street.
"""
QUESTION = "How do I reset my password?"
ANSWER = "Open Settings › Account › Reset password; the link comes by email [guide.md › Guide › Password]"


@pytest.fixture
async def auto(mem, cog, provider, monkeypatch, tmp_path):
    fake_channels.install(monkeypatch)
    cog.set_channels_clock(ManualClock(1_800_000_000))
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    await mem.say("!ai docs add", author=mem.admin, attachments=[path])
    await mem.settle()
    assert "Added" in mem.messages()[-1].content
    await owner(mem, "!ai autoanswer channel on")
    await owner(mem, "!ai autoanswer threshold 0.4")
    provider.requests.clear()
    mem.limits.reset_windows()
    return mem


def chats(provider):
    return provider.chat_requests


@pytest.mark.discord_bursts
async def test_a_question_the_documents_answer_is_answered_citing_them(auto, provider, cog):
    provider.script(Reply.text(ANSWER))
    sent = await auto.say(QUESTION)
    await auto.settle()
    [request] = chats(provider)
    documents = request["messages"][1]["content"]
    assert "[guide.md › Guide › Password]" in documents and "Reset your password" in documents
    assert request["messages"][-1]["content"] == QUESTION
    [answer] = [m for m in auto.messages() if ANSWER in m.content]
    assert "📄 Answered from the server's documents (guide.md › Guide › Password" in answer.content
    event = [e for e in auto.events if e.kind == "send" and e.content and ANSWER in e.content][0]
    assert not event.may_ping
    assert sent.id in cog.listener._answered
    # the same question again, worded the same or nearly, is not answered twice in the window
    await auto.say("how do I reset my password")
    await auto.settle()
    assert len(chats(provider)) == 1
    # other questions the documents don't answer: silence, and no model call
    await auto.say("What's the weather like on Mars today?")
    await auto.say("lol nice")
    await auto.settle()
    assert len(chats(provider)) == 1


@pytest.mark.discord_bursts
async def test_the_model_can_still_decline_and_settings_apply(auto, provider, cog):
    provider.script(Reply.text("NO_ANSWER"))
    await auto.say("Where do guests park their car?")
    await auto.settle()
    assert len(chats(provider)) == 1 and not [m for m in auto.messages() if "NO_ANSWER" in m.content]
    # members with an ignored role are not auto-answered
    staff = dpy_backend.make_role("Staff", auto.guild)
    await owner(auto, f"!ai autoanswer ignore add <@&{staff.id}>")
    dpy_backend.update_member(auto.member, roles=[staff])
    await auto.say(QUESTION)
    await auto.settle()
    assert len(chats(provider)) == 1
    dpy_backend.update_member(auto.member, roles=[])
    # a question addressed to the bot is the listener's, not auto-answer's
    await auto.say(f"<@{auto.guild.me.id}> {QUESTION}")
    await auto.settle()
    assert len(chats(provider)) == 1  # listening is off here: nobody answers
    # off in other channels
    await owner(auto, "!ai autoanswer channel off")
    await auto.say(QUESTION)
    await auto.settle()
    assert len(chats(provider)) == 1


@pytest.mark.discord_bursts
async def test_dry_run_posts_to_the_mods_channel_only(auto, provider, cog):
    mods = dpy_backend.make_text_channel("mods", auto.guild)
    dpy_backend._cur_config.messages.setdefault(mods.id, [])
    reply = text_of(await owner(auto, f"!ai autoanswer dryrun <#{mods.id}>"))
    assert "Dry run" in reply
    before = len(auto.messages())
    provider.script(Reply.text(ANSWER))
    question = await auto.say(QUESTION)
    await auto.settle()
    [logged] = auto.messages(mods)
    assert question.jump_url in logged.content and ANSWER in logged.content
    assert len(auto.messages()) == before  # nothing in the channel itself
    server = cog.governor.server_remaining(cog.governance.rules(auto.guild.id).budgets, auto.guild.id)
    assert server.spent == 0  # no server budget set: nothing reserved, nothing refused


@pytest.mark.discord_bursts
async def test_helpful_button_and_budgets(auto, provider, cog):
    await owner(auto, "!ai autoanswer button on")
    provider.script(Reply.text(ANSWER))
    await auto.say(QUESTION)
    await auto.settle()
    event = [e for e in auto.events if e.kind == "send" and e.content and ANSWER in e.content][0]
    rows = event.payload.get("components") or []
    buttons = [(c["label"], c["custom_id"]) for row in rows for c in row["components"]]
    assert buttons == [("👍", "skynet:helpful:y"), ("👎", "skynet:helpful:n")]
    cog.count_helpful(auto.guild.id, event.message_id, auto.member.id, True)  # what a click does
    cog.count_helpful(auto.guild.id, event.message_id, auto.member.id, True)  # once per member
    cog.count_helpful(auto.guild.id, event.message_id, auto.admin.id, False)
    shown = text_of(await owner(auto, "!ai autoanswer show"))
    assert "Threshold:** 0.40" in shown and "Helpful button:** on (1 👍, 1 👎)" in shown
    # a member whose budget is used up is silently not auto-answered
    await owner(auto, "!ai budget set user 1")
    provider.script(Reply.text("Guests park on the street [guide.md › Guide › Parking]"))
    await auto.say("Where do guests park?")
    await auto.settle()
    asked = len(chats(provider))
    await auto.say("Where do members park?")
    await auto.settle()
    assert len(chats(provider)) == asked
    assert not [m for m in auto.messages() if "used up" in m.content]
