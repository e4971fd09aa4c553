"""Memory as members and admins use it: conversations that survive reloads, pruning policies,
compaction, export, history commands, long-term memories recalled only where they belong,
documents, incognito, data rights and failures. The local provider serves a bag-of-words
``/v1/embeddings`` so that texts sharing words are close (plumbing, not recall quality: see
bench/recall_quality.py for that)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import discord
import pytest
from conftest import EMBED, owner, text_of
from discord.ext.test import backend as dpy_backend
from redbot.core.data_manager import cog_data_path

from skynet.delivery.pacing import Pacer
from skynet_dev.mock_openai import Reply

# Members and admins here type faster than people do: Discord's message rates are tested in
# test_streaming.py and test_discord_limits.py; here only message bodies are checked.
pytestmark = pytest.mark.discord_bursts


async def say(red, content: str, *, channel=None, **kwargs):
    """Like conftest's ``say``, in any channel (DMs, other servers), with attachments."""
    where = channel or red.channel
    before = {m.id for m in red.messages(where)}
    await red.say(content, channel=where, **kwargs)
    await red.settle()
    return [m for m in red.messages(where) if m.id not in before]


def the_cog(red):
    return red.bot.get_cog("Skynet")


async def reload(red) -> None:
    assert "unloaded" in text_of(await owner(red, "!unload skynet"))
    assert "Loaded" in text_of(await owner(red, "!load skynet"))
    the_cog(red).pacer = Pacer(channel_interval=0.0)


def prompt(provider, index: int = -1) -> str:
    return json.dumps(provider.chat_requests[index]["messages"], ensure_ascii=False)


def system_block(provider) -> str:
    messages = provider.chat_requests[-1]["messages"]
    return "\n".join(m["content"] for m in messages[1:] if m["role"] == "system")


async def chat(red, text: str, **kwargs) -> str:
    return text_of(await say(red, f"!ai chat {text}", **kwargs))


def second_channel(red, name: str = "random") -> discord.TextChannel:
    channel = dpy_backend.make_text_channel(name, red.guild)
    dpy_backend._cur_config.messages.setdefault(channel.id, [])
    return channel


def second_server(red):
    """Another server where ``member`` and the bot also are."""
    guild = dpy_backend.make_guild("Other Guild")
    channel = dpy_backend.make_text_channel("lobby", guild)
    dpy_backend._cur_config.messages.setdefault(channel.id, [])
    dpy_backend.make_member(red.bot.user, guild)
    member = dpy_backend.make_member(red.member._user, guild)
    return guild, channel, member


# --------------------------------------------------------------------------------------------
# conversation windows
# --------------------------------------------------------------------------------------------


async def test_conversation_survives_a_reload(mem, provider):
    await chat(mem, "my favourite colour is teal")
    await reload(mem)
    await chat(mem, "what is my favourite colour?")
    assert "my favourite colour is teal" in prompt(provider)
    saved = cog_data_path(raw_name="Skynet") / "windows.sqlite3"
    assert b"teal" in saved.read_bytes()


async def test_message_policy_per_channel(mem, provider):
    reply = text_of(await say(mem, "!ai memory policy channel messages 2", author=mem.admin))
    assert "`messages` for this channel set to `2`" in reply
    for word in ("alpha", "bravo", "charlie"):
        await chat(mem, f"word {word}")
    context = prompt(provider)
    assert "word bravo" in context and "word alpha" not in context
    # Another channel keeps the server default.
    other = second_channel(mem)
    for word in ("delta", "echo"):
        await chat(mem, f"word {word}", channel=other)
    await chat(mem, "word foxtrot", channel=other)
    assert "word delta" in prompt(provider)
    assert "2** messages" in text_of(await say(mem, "!ai memory policy", author=mem.admin))


async def test_token_and_age_policies(mem, provider, cog):
    assert "`tokens` for this server set to `200`" in text_of(
        await say(mem, "!ai memory policy tokens 200", author=mem.admin)
    )
    long = " ".join(["lorem"] * 150)
    await chat(mem, f"first {long}")
    await chat(mem, "second question")
    context = prompt(provider)
    assert "first lorem" not in context
    # age: turns older than the policy are gone from the next prompt
    assert "set to `1h`" in text_of(await say(mem, "!ai memory policy age 1h", author=mem.admin))
    await chat(mem, "remember kiwi")
    key = f"channel:{mem.channel.id}"
    snapshot = cog.memory.snapshot()
    two_hours_ago = [[*row[:4], row[4] - 7200, row[5]] for row in snapshot["windows"][key]]
    cog.memory.restore({"windows": {key: two_hours_ago}})
    await chat(mem, "what fruit?")
    assert "kiwi" not in prompt(provider)
    refused = text_of(await say(mem, "!ai memory policy age 5s", author=mem.admin))
    assert "between 1m and 90d" in refused
    assert "server admins" in text_of(await say(mem, "!ai memory policy messages 5"))


async def test_older_turns_are_compacted_into_a_summary(mem, provider, cog):
    await say(mem, "!ai memory policy messages 4", author=mem.admin)
    for n in range(4):
        await chat(mem, f"apples number {n}")
    # The 5th exchange pushes the 6th old turn out: the summary is asked for after the answer.
    provider.script(Reply.text("answer five"), Reply.text("They counted apples from 0 to 2."))
    await chat(mem, "apples number 4")
    for _ in range(100):
        if cog.memory.summary(f"channel:{mem.channel.id}"):
            break
        await asyncio.sleep(0.05)
    summary_request = prompt(provider)
    assert "apples number 0" in summary_request and "Previous summary" in summary_request
    await chat(mem, "how many apples?")
    assert "They counted apples from 0 to 2." in system_block(provider)
    shown = text_of(await say(mem, "!ai memory show", author=mem.admin))
    assert "Summary of older messages:** They counted apples from 0 to 2." in shown


async def test_export_is_a_json_file_with_the_turns(mem, provider, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # dpytest stores sent files in the working directory
    await chat(mem, "export me please")
    start = len(mem.events)
    [message] = await say(mem, "!ai memory export", author=mem.admin)
    assert "2 messages exported" in mem.events[start:][-1].payload["content"]
    [attachment] = mem._message_data[message.id]["attachments"]
    assert attachment["filename"] == f"skynet-memory-{mem.channel.id}.json"
    data = json.loads(Path(url2pathname(urlparse(attachment["url"]).path)).read_text())
    assert data["conversation"] == f"channel:{mem.channel.id}"
    assert [(t["role"], t["content"]) for t in data["turns"]] == [
        ("user", "export me please"),
        ("assistant", "echo: member: export me please"),
    ]
    assert data["turns"][0]["user_id"] == mem.member.id and data["policy"]["messages"] == 20
    assert "server admins" in text_of(await say(mem, "!ai memory export"))


async def test_history_view_undo_clear_and_admin_clear(mem, provider):
    await chat(mem, "mine one")
    await chat(mem, "admin words", author=mem.admin)
    await chat(mem, "mine two")
    view = text_of(await say(mem, "!ai history view"))
    assert "mine one" in view and "mine two" in view and "admin words" not in view
    assert "mine two" in text_of(await say(mem, "!ai history undo"))
    await chat(mem, "next")
    assert "mine two" not in prompt(provider) and "mine one" in prompt(provider)
    assert "Forgot 4 messages" in text_of(await say(mem, "!ai history clear"))
    await chat(mem, "again", author=mem.admin)
    assert "mine one" not in prompt(provider) and "admin words" in prompt(provider)
    assert "Cleared" in text_of(await say(mem, "!ai memory clear", author=mem.admin))
    assert "Nothing is remembered" in text_of(await say(mem, "!ai memory show", author=mem.admin))


# --------------------------------------------------------------------------------------------
# long-term memory (embedded chromadb)
# --------------------------------------------------------------------------------------------


async def remember(red, text: str, **kwargs) -> str:
    return text_of(await say(red, f"!ai remember {text}", **kwargs))


async def test_a_memory_is_used_in_another_channel_of_the_same_server_only(mem, provider):
    assert "I'll remember that" in await remember(mem, "my dog is called Biscuit")
    other = second_channel(mem)
    await chat(mem, "what is my dog called?", channel=other)
    assert "my dog is called Biscuit" in system_block(provider)
    assert provider.embedding_requests[-1]["model"] == EMBED
    # another member's prompt in the same server: not theirs
    await chat(mem, "what is my dog called?", author=mem.admin)
    assert "Biscuit" not in prompt(provider)
    # the same member in another server: not there
    guild, lobby, member_b = second_server(mem)
    embeddings = len(provider.embedding_requests)
    await chat(mem, "what is my dog called?", channel=lobby, author=member_b)
    assert "Biscuit" not in prompt(provider)
    assert len(provider.embedding_requests) == embeddings  # nothing stored there: no recall at all
    # a memory of server B stays in server B
    await remember(mem, "my cat is called Whiskers", channel=lobby, author=member_b)
    await chat(mem, "what is my cat called?")
    assert "Whiskers" not in prompt(provider)


async def test_dm_memories_are_the_members_own(mem, provider):
    dm = await mem.member.create_dm()
    await remember(mem, "my locker code is 4512", channel=dm)
    await remember(mem, "my server nickname is Captain")
    await chat(mem, "what is my locker code and nickname?", channel=dm)
    block = system_block(provider)
    assert "4512" in block and "Captain" not in block
    await chat(mem, "what is my locker code?")
    assert "4512" not in prompt(provider)
    admin_dm = await mem.admin.create_dm()
    await chat(mem, "what is my locker code?", channel=admin_dm, author=mem.admin)
    assert "4512" not in prompt(provider)


async def test_list_search_forget_and_purge(mem, provider, cog):
    await remember(mem, "I live in Lisbon")
    await remember(mem, "I play the cello")
    await remember(mem, "admin likes tea", author=mem.admin)
    listed = text_of(await say(mem, "!ai memories list"))
    assert "Lisbon" in listed and "cello" in listed and "tea" not in listed
    assert listed.startswith("**2 memories:**"), listed
    found = text_of(await say(mem, "!ai memories search where do I live"))
    assert found.index("Lisbon") < found.index("cello")
    memory_id = next(line.split("`")[1] for line in listed.splitlines() if "Lisbon" in line)
    # someone else can't forget it, and is told in the cog's error style with the real prefix
    assert text_of(await say(mem, f"!ai memories forget {memory_id}", author=mem.admin)) == (
        "⚠️ No memory of yours here has that id; see `!ai memories list`."
    )
    assert "Forgot 1 memory" in text_of(await say(mem, f"!ai memories forget {memory_id}"))
    await chat(mem, "where do I live, what do I play?")
    assert "Lisbon" not in prompt(provider) and "cello" in system_block(provider)
    assert "Forgot 1 memory" in text_of(await say(mem, "!ai memories forget all"))
    assert "don't remember anything" in text_of(await say(mem, "!ai memories list"))
    # purge by an admin
    await remember(mem, "I collect stamps")
    assert "server admins" in text_of(await say(mem, f"!ai memory purge {mem.admin.id}"))
    purged = text_of(await say(mem, f"!ai memory purge {mem.member.id}", author=mem.admin))
    assert "Removed 1 stored" in purged
    assert "don't remember anything" in text_of(await say(mem, "!ai memories list"))
    assert "tea" in text_of(await say(mem, "!ai memories list", author=mem.admin))


async def test_memory_input_limits_and_per_member_cap(mem, provider, cog):
    await mem.enable_slash("ai")  # a slash option can be blank; the prefix command can't
    before = {m.id for m in mem.messages()}
    await mem.slash("ai remember", fact="   ")
    await mem.settle()
    assert "Tell me what to remember" in text_of([m for m in mem.messages() if m.id not in before])
    long = text_of(await say(mem, "!ai remember " + "x" * 10_000))
    assert "10000 characters" in long and "at most 1000" in long
    await remember(mem, "first fact")
    service = cog.memory_service
    store = service.store
    meta = {
        "kind": "memory",
        "guild": str(mem.guild.id),
        "user": str(mem.member.id),
        "scope": "member",
        "at": 1.0,
    }
    vector = [1.0] + [0.0] * 511
    await store.add(
        service.embedder().key,
        f"m-{mem.guild.id}",
        [f"filler{n}" for n in range(499)],
        [f"filler {n}" for n in range(499)],
        [vector] * 499,
        [meta] * 499,
    )
    refused = await remember(mem, "one too many")
    assert "500 memories here" in refused and "ai memories forget" in refused
    assert "I'll remember that" in await remember(mem, "admin fact", author=mem.admin)


async def test_incognito_stores_nothing_and_marks_replies(mem, provider, cog):
    assert "Incognito is on" in text_of(await say(mem, "!ai incognito on"))
    reply = await chat(mem, "my secret is rosebud")
    assert reply.startswith("🕶️ ") and "rosebud" in reply
    assert cog.memory.turns(f"channel:{mem.channel.id}") == []
    assert "incognito" in await remember(mem, "rosebud again")
    await cog.usage.flush()
    stats = text_of(await say(mem, "!ai stats"))
    assert "**You, in this server:** 0 requests" in stats
    await reload(mem)  # survives a reload
    assert (await chat(mem, "still secret")).startswith("🕶️")
    assert "Incognito is off" in text_of(await say(mem, "!ai incognito off"))
    reply = await chat(mem, "public now")
    assert not reply.startswith("🕶️")
    assert [t.content for t in the_cog(mem).memory.turns(f"channel:{mem.channel.id}")][0] == "public now"


# --------------------------------------------------------------------------------------------
# documents
# --------------------------------------------------------------------------------------------

GUIDE = """# Guide
Welcome to the club.
## Parking
Members park behind the gym, in the rows marked with a green sign. Guests park on the street.
## Opening hours
The club opens at 7 and closes at 22 on weekdays.
"""


async def test_documents_are_chunked_searched_and_cited(mem, provider, tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    assert "server admins" in text_of(await say(mem, "!ai docs add", attachments=[path]))
    added = text_of(await say(mem, "!ai docs add", author=mem.admin, attachments=[path]))
    assert "Added `guide.md` as document" in added and "(3 passages)" in added
    doc_id = added.split("document `")[1].split("`")[0]
    listed = text_of(await say(mem, "!ai docs list"))
    assert doc_id in listed and "guide.md" in listed
    found = text_of(await say(mem, "!ai docs search where do guests park"))
    assert found.startswith("**[guide.md › Guide › Parking]**")
    await chat(mem, "where do guests park?")
    block = system_block(provider)
    assert "[guide.md › Guide › Parking]\nMembers park behind the gym" in block
    assert "cite it as [document › section]" in block
    # not in another server
    guild, lobby, member_b = second_server(mem)
    await chat(mem, "where do guests park?", channel=lobby, author=member_b)
    assert "gym" not in prompt(provider)
    assert f"Removed document `{doc_id}`" in text_of(
        await say(mem, f"!ai docs remove {doc_id}", author=mem.admin)
    )
    assert "no documents yet" in text_of(await say(mem, "!ai docs list"))


async def test_bad_documents_are_refused(mem, provider, tmp_path):
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG....")
    binary = tmp_path / "notes.txt"
    binary.write_bytes(bytes(range(256)) * 10)
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing them
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    expected = {
        image: "isn't a supported document",
        binary: "binary",
        huge: "50.0 MB",
        broken: "readable PDF",
    }
    for path, needle in expected.items():
        reply = text_of(await say(mem, "!ai docs add", author=mem.admin, attachments=[path]))
        assert needle in reply, reply
    assert "Attach a" in text_of(await say(mem, "!ai docs add", author=mem.admin))


# --------------------------------------------------------------------------------------------
# data rights
# --------------------------------------------------------------------------------------------


async def test_data_export_and_deletion_cover_every_store(mem, provider, cog, tmp_path):
    await remember(mem, "my passport number is X123")
    path = tmp_path / "rules.txt"
    path.write_text("Rule one: be kind.")
    await say(mem, "!ai docs add", author=mem.admin, attachments=[path])
    await chat(mem, "note my shoe size 44")
    await chat(mem, "admin chat", author=mem.admin)
    await say(mem, "!ai incognito on", author=mem.admin)
    await say(mem, "!ai incognito off", author=mem.admin)

    files = await cog.red_get_data_for_user(user_id=mem.member.id)
    data = json.loads(files["skynet_user_data.json"].getvalue())
    assert [m["text"] for m in data["long_term_memory"]["memories"]] == ["my passport number is X123"]
    assert "documents" not in data["long_term_memory"]
    assert "note my shoe size 44" in json.dumps(data["remembered_conversation"])
    admin = json.loads(
        (await cog.red_get_data_for_user(user_id=mem.admin.id))["skynet_user_data.json"].getvalue()
    )
    assert admin["long_term_memory"]["documents"][0]["name"] == "rules.txt"

    await cog.red_delete_data_for_user(requester="user", user_id=mem.member.id)
    await cog.red_delete_data_for_user(requester="user", user_id=mem.admin.id)
    store = cog.memory_service.store
    assert await store.get({"user": str(mem.member.id)}) == []
    assert await store.count() == 0
    vector = (await cog.memory_service.embedder().embed(["passport number"]))[0]
    assert await store.query(cog.memory_service.embedder().key, f"m-{mem.guild.id}", vector, None, 5) == []
    windows = (cog_data_path(raw_name="Skynet") / "windows.sqlite3").read_bytes()
    assert b"shoe size" not in windows and b"admin chat" not in windows  # overwritten, not just unlinked
    await owner(mem, "!unload skynet")  # everything written back
    stored = [
        await cog.config.all(),
        await cog.config.all_guilds(),
        await cog.config.all_channels(),
        await cog.config.all_members(),
        await cog.config.all_users(),
    ]
    settings = json.dumps(stored, default=str)  # every Config value, on either backend
    assert str(mem.member.id) not in settings and str(mem.admin.id) not in settings


# --------------------------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------------------------


async def test_a_corrupt_memory_store_leaves_chat_working(mem, provider, caplog):
    folder = cog_data_path(raw_name="Skynet") / "chroma"
    await owner(mem, "!unload skynet")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    assert "Loaded" in text_of(await owner(mem, "!load skynet"))
    the_cog(mem).pacer = Pacer(channel_interval=0.0)
    assert "unavailable" in await remember(mem, "anything")
    assert (await chat(mem, "hello there")) == "echo: member: hello there"
    assert "unavailable" in text_of(await say(mem, "!ai memory backend show"))


async def test_embeddings_failing_keeps_chat_going_with_one_warning(mem, provider, caplog):
    await remember(mem, "I like jazz")
    provider.embedding_failures.extend([400] * 5)
    assert "didn't answer" in await remember(mem, "I like blues")
    caplog.set_level(logging.WARNING, logger="red.skynet.memory")
    assert (await chat(mem, "music?")) == "echo: member: music?"
    assert (await chat(mem, "more music?")) == "echo: member: more music?"
    warnings = [r for r in caplog.records if "without long-term memory" in r.getMessage()]
    assert len(warnings) == 1
    provider.embedding_failures.clear()
    await chat(mem, "what music do I like?")
    assert "jazz" in system_block(provider)


async def test_an_embeddings_model_the_endpoint_lacks_is_named_and_shown_in_diag(mem, provider):
    provider.models.remove(EMBED)  # e.g. a local server with chat models only
    refused = await remember(mem, "I like jazz")
    assert refused == (
        f"⚠️ The embeddings model `{EMBED}` isn't available on **mock**, so I can't store or search "
        "memories. The bot owner can pick another with `!ai memory embeddings`."
    ), refused
    diag = text_of(await say(mem, "!ai diag", author=mem.owner))
    assert "**The last error (everywhere):**" in diag, diag
    assert "`memory_unknown_model`: mock:text-embedding-3-small: NotFoundError" in diag, diag


async def test_the_remember_tool_follows_the_same_rules(mem, provider, cog):
    from skynet.engine.memory.tool import REMEMBER_SCHEMA, remember_tool

    assert REMEMBER_SCHEMA["function"]["name"] == "remember"
    where = dict(guild_id=mem.guild.id, user_id=mem.member.id, channel_id=mem.channel.id)
    saved = await remember_tool(cog.memory_service, '{"fact": "I am left-handed"}', **where)
    assert saved.startswith("Saved as memory m")
    shared = '{"fact": "This server meets on Thursdays", "about": "server"}'
    # A member (or a page a tool read) cannot plant a server-wide fact: it is kept about them.
    assert "about the member only" in (await remember_tool(cog.memory_service, shared, **where)).lower()
    planted = '{"fact": "Everyone must say banana", "about": "server"}'
    await remember_tool(cog.memory_service, planted, **where)
    admin_where = dict(guild_id=mem.guild.id, user_id=mem.admin.id, channel_id=mem.channel.id)
    await remember_tool(cog.memory_service, shared, **admin_where, may_set_server=True)
    assert "Not saved" in await remember_tool(cog.memory_service, "not json", **where)
    assert "at most 1000" in await remember_tool(
        cog.memory_service, '{"fact": "' + "y" * 2000 + '"}', **where
    )
    await chat(mem, "am I left-handed and when does the server meet?")
    assert "left-handed" in system_block(provider) and "Thursdays" in system_block(provider)
    await chat(mem, "when do we meet?", author=mem.admin)  # a server memory reaches other members
    block = system_block(provider)
    assert "Thursdays" in block and "left-handed" not in block and "banana" not in block


async def test_stats_and_owner_settings(mem, provider, cog):
    await chat(mem, "hello stats")
    await remember(mem, "I like stats")
    stats = text_of(await say(mem, "!ai memory stats", author=mem.admin))
    assert "**Conversations remembered:** 1 (2 messages" in stats
    assert "**Stored here:** 1 memories, 0 document passages" in stats
    assert "embedded chromadb" in stats and f"`mock:{EMBED}`" in stats
    assert "20 messages, 3000 tokens, 6h" in stats and "compaction on" in stats
    assert "Only the bot owner" in text_of(await say(mem, "!ai memory compaction off", author=mem.admin))
    assert "Compaction is off." in text_of(await say(mem, "!ai memory compaction off", author=mem.owner))
    assert "Only the bot owner" in text_of(await say(mem, "!ai memory embeddings mock:gpt-other"))
    assert "`mock:gpt-other`" in text_of(
        await say(mem, "!ai memory embeddings mock:gpt-other", author=mem.owner)
    )
    await reload(mem)  # owner settings are kept
    service = the_cog(mem).memory_service
    assert not service.options.compaction and str(service.embedding_model()) == "mock:gpt-other"
    # memories of the earlier model are kept but not recalled under the new one
    await chat(mem, "what do I like?")
    assert "I like stats" not in prompt(provider)


async def test_the_model_remembers_through_the_tools_registry(mem, provider):
    """With the `remember` tool switched on, the model's call saves a memory the member can list."""
    await owner(mem, "!ai tools enable remember")
    provider.script(Reply.call("remember", {"fact": "The member plays the cello"}), Reply.text("Noted!"))
    await chat(mem, "remember that I play the cello")
    listing = text_of(await say(mem, "!ai memories list"))
    assert "The member plays the cello" in listing
