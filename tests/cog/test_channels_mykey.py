"""Members' own keys through a real Red bot: set in DMs only, encrypted at rest (not readable in
any file of the bot's data folder), used for the member's requests instead of the server's budget
but under its rate limits, usage still counted, a failing key noticed privately, and the key never
in logs, exports or error messages."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from skynet.engine.channels.vault import VAULT_SERVICE
from tests.conftest import KEY, owner, say, text_of

MEMBER_KEY = "sk-member-own-9f8e7d6c5b4a3210"


async def in_dm(red, content: str, author=None) -> str:
    author = author or red.member
    dm = await author.create_dm()
    before = {m.id for m in red.messages(dm)}
    await red.say(content, author=author, channel=dm)
    await red.settle()
    return "\n".join(m.content for m in red.messages(dm) if m.id not in before)


def everything_on_disk(red) -> str:
    texts = []
    for path in Path(red.data_dir).rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def keys_sent(provider):
    return [r.headers.get("Authorization") for r in provider.requests if r.path == "/v1/chat/completions"]


@pytest.fixture
def byok(bot, caplog):
    caplog.set_level(logging.DEBUG)
    return bot


@pytest.mark.discord_bursts
async def test_own_key_lifecycle(byok, provider, cog, caplog):
    assert "hasn't allowed" in await in_dm(byok, f"!ai mykey set {MEMBER_KEY}")
    assert "allowed" in text_of(await owner(byok, "!ai mykey allow on"))
    assert (await byok.bot.get_shared_api_tokens(VAULT_SERVICE)).get("key")  # the vault key: Red's tokens

    # in a server: the message is deleted at once and nothing is stored
    leaked = await byok.say(f"!ai mykey set {MEMBER_KEY}")
    await byok.settle()
    assert any(e.kind == "delete" and e.message_id == leaked.id for e in byok.events)
    assert "in a DM" in byok.messages()[-1].content
    assert cog.channels.own_key(byok.member.id) is None

    saved = await in_dm(byok, f"!ai mykey set {MEMBER_KEY}")
    assert "Saved, encrypted" in saved and MEMBER_KEY not in saved
    disk = everything_on_disk(byok)
    assert MEMBER_KEY not in disk and "own_key" in disk  # stored, but only sealed

    # requests use the member's key, the server's budget does not apply, its rate limits do
    provider.api_key = None  # the local provider accepts any key; we look at which one was sent
    await owner(byok, "!ai budget set user 5")
    for _ in range(3):
        await say(byok, "!ai chat hello there")
    assert keys_sent(provider) == [f"Bearer {MEMBER_KEY}"] * 3
    assert len([m for m in byok.messages() if m.content.startswith("echo:")]) == 3
    await owner(byok, "!ai ratelimit user 1 3600")
    await say(byok, "!ai chat one more")
    refused = text_of(await say(byok, "!ai chat and another"))
    assert "Too many requests" in refused
    status = await in_dm(byok, "!ai mykey status")
    assert "in use" in status and "4 requests" in status and MEMBER_KEY not in status

    # data export: that a key exists, never the key
    files = await cog.red_get_data_for_user(user_id=byok.member.id)
    exported = files["skynet_user_data.json"].getvalue().decode()
    assert MEMBER_KEY not in exported and json.loads(exported)["channel_assistant"]["own_key"]["endpoint"] == "mock"
    sealed = cog.channels.own_key(byok.member.id).token
    assert sealed not in exported  # not even the encrypted token
    assert all(MEMBER_KEY not in json.dumps(s) for s in cog.channels._guilds.values())
    assert MEMBER_KEY not in caplog.text


@pytest.mark.discord_bursts
async def test_a_failing_key_gives_a_private_notice(byok, provider, cog, caplog):
    await owner(byok, "!ai mykey allow on")
    await in_dm(byok, f"!ai mykey set {MEMBER_KEY}")
    provider.api_key = KEY  # the provider rejects the member's key
    reply = text_of(await say(byok, "!ai chat hello"))
    assert "own API key" in reply and "private message" in reply
    assert "rejected" not in reply and MEMBER_KEY not in reply
    dm = await byok.member.create_dm()
    notice = byok.messages(dm)[-1].content
    assert "rejected your own API key" in notice and MEMBER_KEY not in notice
    assert "rejected last time" in await in_dm(byok, "!ai mykey status")
    # the set-aside key is not used again: the server's key and budget apply until a new one is set
    await say(byok, "!ai chat hello again")
    assert keys_sent(provider)[-1] == f"Bearer {KEY}"
    assert MEMBER_KEY not in caplog.text
    errors = cog.engine.errors.recent(everywhere=True)
    assert any(e.kind == "bad_key" for e in errors) and all(MEMBER_KEY not in repr(e) for e in errors)
    assert "deleted" in await in_dm(byok, "!ai mykey remove")
    assert MEMBER_KEY not in everything_on_disk(byok)
    assert cog.channels.own_key(byok.member.id) is None


async def test_deleting_a_members_data_deletes_their_key(byok, provider, cog):
    await owner(byok, "!ai mykey allow on")
    await in_dm(byok, f"!ai mykey set {MEMBER_KEY}")
    await cog.red_delete_data_for_user(requester="user", user_id=byok.member.id)
    assert cog.channels.own_key(byok.member.id) is None
    assert "no key" in await in_dm(byok, "!ai mykey status")
