"""Memory that stays true, through the cog (issue 21): a fact said again is not stored twice, a
changed fact updates the old one (kept as history, marked in prompts about the past, never sent as
current), members are told what happened, and the history goes with the fact everywhere — list,
forget, export, deletion — while incognito stores nothing. Every path runs on both Config backends
(this module is in conftest's CONFIG_BACKED_MODULES) and on both chromadb modes: the embedded store
and a real ``chroma run`` server.

The local provider's bag-of-words embeddings and scripted answers stand in for the embedder and the
model judge: plumbing and rules, not recall quality (bench/recall_quality.py measures that).
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from conftest import owner, text_of
from test_memory import chat, remember, say, system_block
from test_memory_server import CHROMA, ChromaServer

from skynet_dev.mock_openai import Reply

pytestmark = pytest.mark.discord_bursts

JUDGE = "keep one person's long-term memory consistent"


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[ChromaServer]:
    if CHROMA is None:
        pytest.skip("the chroma CLI is not installed")
    server = ChromaServer(tmp_path_factory.mktemp("chroma-revisions"))
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "server"])
async def store(request, mem, cog):
    """The memory store in both modes; on the shared server, every test starts with nobody's data."""
    if request.param == "server":
        server = request.getfixturevalue("chroma_server")
        reply = text_of(await owner(mem, f"!ai memory backend server 127.0.0.1 {server.port}"))
        assert "connected" in reply, reply
        for user in (mem.member, mem.admin):
            await cog.memory_service.delete_user(user.id)
    return request.param


def judge_requests(provider) -> list:
    return [r for r in provider.chat_requests if JUDGE in json.dumps(r["messages"])]


async def test_the_command_updates_repeats_and_keeps_history(mem, provider, cog, store):
    assert "I'll remember that" in await remember(mem, "I live in Glasgow")
    # The same fact again: not stored twice, and no model call for the same words.
    again = await remember(mem, "I live in Glasgow.")
    assert "already remember" in again and judge_requests(provider) == []
    # A change: the model is asked once, with the member's close facts; its tokens are counted.
    provider.script(Reply.text('{"action": "update", "fact": 1}'))
    updated = await remember(mem, "Now I live in Valencia")
    assert "Updated" in updated and "I live in Glasgow" in updated
    [asked] = judge_requests(provider)
    assert "1. I live in Glasgow" in asked["messages"][1]["content"] and asked["max_tokens"] == 120
    counted = (await cog.usage.of_user(mem.member.id))[("member", mem.guild.id, mem.member.id)]
    assert counted.requests == 1 and counted.prompt_tokens > 0
    # Asked about now: the current fact only, with when it was told.
    await chat(mem, "where do I live now?")
    block = system_block(provider)
    assert "Now I live in Valencia" in block and "Glasgow" not in block and "told just now" in block
    # Asked about the past: the old fact comes, marked, after the current one.
    await chat(mem, "where did I live before?")
    block = system_block(provider)
    assert block.index("Now I live in Valencia") < block.index("I live in Glasgow")
    assert "NO LONGER TRUE" in block.split("I live in Glasgow")[0].splitlines()[-1]
    # The list shows the fact with its earlier version; forgetting it forgets both.
    listed = text_of(await say(mem, "!ai memories list"))
    assert "**1 memory:**" in listed and "Now I live in Valencia" in listed
    assert "earlier" in listed and "I live in Glasgow" in listed
    current_id = next(line.split("`")[1] for line in listed.splitlines() if "Valencia" in line)
    assert "Forgot 2 memories" in text_of(await say(mem, f"!ai memories forget {current_id}"))
    assert await cog.memory_service.list_memories(mem.guild.id, mem.member.id) == []


async def test_rules_decide_without_a_model_and_other_people_stay_apart(mem, provider, cog, store):
    assert "rules only" in text_of(await owner(mem, "!ai memory judge off"))
    await remember(mem, "I live in Glasgow")
    # About the sister: a new fact, however alike.
    assert "I'll remember that" in await remember(mem, "My sister lives in Glasgow")
    # A move, in other words: an update of the member's fact, not the sister's.
    moved = await remember(mem, "I moved to Valencia, I live there now")
    assert "Updated" in moved and "I live in Glasgow" in moved
    assert judge_requests(provider) == []  # no model call at all
    records = await cog.memory_service.list_memories(mem.guild.id, mem.member.id)
    status = {r.text: r.meta["status"] for r in records}
    assert status == {
        "I live in Glasgow": "superseded",
        "My sister lives in Glasgow": "current",
        "I moved to Valencia, I live there now": "current",
    }
    # An unusable answer from the model also leaves it to the rules.
    await owner(mem, "!ai memory judge on")
    provider.script(Reply.text("Hmm, hard to say."))
    assert "already remember" in await remember(mem, "My sister lives in Glasgow!")
    # Another member's facts are theirs: nothing is compared across members.
    assert "I'll remember that" in await remember(mem, "I live in Glasgow", author=mem.admin)


async def test_the_model_tool_updates_too_and_tells_the_model(mem, provider, cog, store):
    await say(mem, "!ai tools enable remember", author=mem.admin)
    await remember(mem, "My phone is a Pixel 6")
    provider.script(
        Reply.call("remember", {"fact": "My phone is now a Pixel 8"}),
        Reply.text('{"action": "update", "fact": 1}'),  # the judge, during the tool call
        Reply.text("Got it, Pixel 8."),
    )
    assert "Got it, Pixel 8." in await chat(mem, "I got a new phone, a Pixel 8")
    tool_result = next(m["content"] for m in provider.chat_requests[-1]["messages"] if m["role"] == "tool")
    assert "replaces the older fact 'My phone is a Pixel 6'" in tool_result
    provider.script(
        Reply.call("remember", {"fact": "My phone is now a Pixel 8"}), Reply.text("Already knew.")
    )
    await chat(mem, "remember my phone is a Pixel 8")
    tool_result = next(m["content"] for m in provider.chat_requests[-1]["messages"] if m["role"] == "tool")
    assert "Already remembered" in tool_result
    texts = [r.text for r in await cog.memory_service.list_memories(mem.guild.id, mem.member.id)]
    assert texts == ["My phone is a Pixel 6", "My phone is now a Pixel 8"]


async def test_export_and_deletion_reach_every_version(mem, provider, cog, store):
    await owner(mem, "!ai memory judge off")
    await remember(mem, "My shoe size is 42")
    await remember(mem, "My shoe size is actually 43")
    await remember(mem, "I like jazz", author=mem.admin)
    files = await cog.red_get_data_for_user(user_id=mem.member.id)
    exported = json.loads(files["skynet_user_data.json"].getvalue())["long_term_memories"]
    by_text = {m["text"]: m for m in exported}
    assert by_text["My shoe size is 42"]["status"] == "superseded"
    assert by_text["My shoe size is 42"]["replaced_by"] == by_text["My shoe size is actually 43"]["id"]
    assert by_text["My shoe size is actually 43"]["status"] == "current"
    assert by_text["My shoe size is 42"]["fact"] == by_text["My shoe size is actually 43"]["fact"]
    assert "jazz" not in json.dumps(exported)
    await cog.red_delete_data_for_user(requester="user", user_id=mem.member.id)
    assert await cog.memory_service.store.get({"user": str(mem.member.id)}) == []
    assert [r.text for r in await cog.memory_service.store.get({"user": str(mem.admin.id)})] == [
        "I like jazz"
    ]


async def test_incognito_stores_no_fact_and_no_version(mem, provider, cog, store):
    await remember(mem, "I live in Glasgow")
    await say(mem, "!ai incognito on")
    refused = await remember(mem, "I moved to Valencia, I live there now")
    assert "incognito" in refused
    await say(mem, "!ai tools enable remember", author=mem.admin)
    provider.script(Reply.call("remember", {"fact": "I live in Valencia now"}), Reply.text("Not saved."))
    await chat(mem, "I live in Valencia now")
    records = await cog.memory_service.list_memories(mem.guild.id, mem.member.id)
    assert [(r.text, r.meta["status"]) for r in records] == [("I live in Glasgow", "current")]
    assert judge_requests(provider) == []  # not even a model call about it
