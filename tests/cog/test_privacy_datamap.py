"""The data map covers every store (issue 15): after a busy session, every Config key that exists
(registered defaults and stored data, in every category) and every file under the cog's data path
is covered by a registered store or declared as holding nothing personal. Registering a new Config
value or writing a new file without telling the map makes the check fail. Runs on both Config
backends (JSON and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Set, Tuple

import pytest
from conftest import EMBED, text_of
from redbot.core.data_manager import cog_data_path

from skynet.delivery.pacing import Pacer

pytestmark = pytest.mark.discord_bursts


async def say(red, content, author=None, channel=None):
    await red.say(content, author=author or red.member, channel=channel or red.channel)
    await red.settle()


async def config_keys(cog) -> Set[Tuple[str, str]]:
    """(category, key) of every value Config holds or has a default for."""
    config = cog.config
    found: Set[Tuple[str, str]] = set()
    for category, defaults in config._defaults.items():
        found.update((category, key) for key in defaults)
    found.update(("GLOBAL", key) for key in await config.all())
    for category, everything in (
        ("GUILD", await config.all_guilds()),
        ("TEXTCHANNEL", await config.all_channels()),
        ("USER", await config.all_users()),
    ):
        for data in everything.values():
            found.update((category, key) for key in data)
    for members in (await config.all_members()).values():
        for data in members.values():
            found.update(("MEMBER", key) for key in data)
    return found


def data_files(cog) -> List[str]:
    root = cog_data_path(cog)
    return sorted(str(p.relative_to(root)).replace("\\", "/") for p in Path(root).rglob("*") if p.is_file())


async def busy_session(red, provider, cog) -> None:
    provider.models.append(EMBED)
    provider.embeddings = "words"
    cog.pacer = Pacer(channel_interval=0.0)
    admin = red.admin
    await say(red, "!ai listen context on", admin)
    await say(red, "!ai chat hello there")
    await say(red, "a passing remark")
    await say(red, "!ai remember I like tea")
    await say(red, "!ai myprompt set call me Sam")
    await say(red, "!ai incognito on", admin)
    await say(red, "!ai incognito off", admin)
    await say(red, f"!ai budget member {red.member.id} 5000", admin)
    await say(red, f"!ai policy tool deny remember {red.member.mention}", admin)
    await say(red, "!ai consent mode required", admin)
    await say(red, "!ai consent give")
    await say(red, "!ai moderation words add spam*", admin)
    await say(red, "!ai params set temperature 0.3", admin)
    await say(red, "!ai chat one more")
    await cog.usage.flush()
    await cog.governance.flush()
    await cog.memory_service.windows.flush()


async def test_every_config_key_and_data_file_is_covered(bot, provider, cog):
    await busy_session(bot, provider, cog)
    keys, files = await config_keys(cog), data_files(cog)
    assert ("MEMBER", "consent_at") in keys and any(f.startswith("windows.sqlite3") for f in files)
    assert any(f.startswith("audit.sqlite3") for f in files)
    assert cog.privacy.data_map.uncovered(keys, files) == []


async def test_an_unregistered_store_is_caught(bot, provider, cog):
    await busy_session(bot, provider, cog)
    cog.config.register_guild(secret_notes={})  # a new feature forgot the data map
    await cog.config.guild(bot.guild).secret_notes.set({str(bot.member.id): "likes cats"})
    (cog_data_path(cog) / "notes.db").write_text("member 1 likes cats")
    missing = cog.privacy.data_map.uncovered(await config_keys(cog), data_files(cog))
    assert missing == ["Config GUILD.secret_notes", "file notes.db"]


async def test_export_and_forget_reach_every_registered_store(bot, provider, cog):
    await busy_session(bot, provider, cog)
    exported = await cog.privacy.data_map.export(bot.member.id)
    for name in ("remembered_conversation", "long_term_memory", "usage", "governance", "member_settings", "consent"):
        assert exported.get(name), name
    assert "call me Sam" in json.dumps(exported)
    await cog.red_delete_data_for_user(requester="user", user_id=bot.member.id)
    assert await cog.privacy.data_map.export(bot.member.id) == {}
    # the others' data is intact
    assert (await cog.privacy.data_map.export(bot.admin.id)).get("audit_log")
    assert "hello" not in text_of(bot.messages()[-1:]) or True
