"""Usage counters move out of Config (schema 1) into the counter store (schema 2) on load, once,
and a flush of thousands of users makes no Config write at all."""

from __future__ import annotations

import json

import pytest
from conftest import owner, say, text_of
from redbot.core import Config
from redbot.core import config as red_config

from skynet.engine.events import Usage
from skynet.stores.config import CONFIG_IDENTIFIER, SCHEMA_VERSION
from skynet.stores.usage import global_scope, guild_scope, member_scope, user_scope

OTHER_GUILD = 1100000000000009999
DM_USER = 1100000000000008888


def counters(requests, prompt, completion, cost=0.0):
    return {
        "requests": requests,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_usd": cost,
        "estimated_requests": 0,
        "unpriced_requests": 0,
    }


def stored_config() -> Config:
    """skynet's Config as the test's own handle (not registered: raw reads and writes)."""
    return Config.get_conf(None, identifier=CONFIG_IDENTIFIER, cog_name="Skynet")


async def write_schema_1(red) -> None:
    """What a schema-1 skynet left in Config: usage values next to settings."""
    conf = stored_config()
    await conf.set_raw("schema_version", value=1)
    await conf.set_raw("usage", value=counters(5, 500, 50, 0.25))
    await conf.guild_from_id(red.guild.id).set_raw("usage", value=counters(4, 400, 40))
    await conf.guild_from_id(red.guild.id).set_raw("model", value={"endpoint": "mock", "name": "gpt-other"})
    await conf.member_from_ids(red.guild.id, red.member.id).set_raw("usage", value=counters(3, 300, 30))
    await conf.member_from_ids(red.guild.id, red.admin.id).set_raw("usage", value=counters(1, 100, 10))
    await conf.member_from_ids(red.guild.id, red.admin.id).set_raw("note", value="kept")  # not usage
    await conf.member_from_ids(OTHER_GUILD, red.member.id).set_raw("usage", value=counters(1, 7, 7))
    await conf.user_from_id(DM_USER).set_raw("usage", value=counters(1, 9, 9))
    # The cog must build its own Config object (registered defaults), not reuse this handle.
    red_config._config_cache.pop(("Skynet", str(CONFIG_IDENTIFIER)), None)


async def load(red):
    assert "Loaded `skynet`" in text_of(await owner(red, "!load skynet")), red.last_error
    return red.bot.get_cog("Skynet")


async def stats(red, author) -> str:
    return text_of(await say(red, "!ai stats", author=author))


async def exported(cog, user_id: int) -> dict:
    files = await cog.red_get_data_for_user(user_id=user_id)
    return json.loads(files["skynet_user_data.json"].getvalue())


async def assert_schema_1_numbers_are_shown(red, cog) -> None:
    assert "**You, in this server:** 3 requests · 330 tokens (300 in / 30 out)" in await stats(
        red, red.member
    )
    figures = await stats(red, red.owner)
    assert "**This server:** 4 requests · 440 tokens" in figures
    assert "**Everywhere (owner only):** 5 requests · 550 tokens (500 in / 50 out) · ~$0.25" in figures
    data = await exported(cog, red.member.id)
    assert {g: u["requests"] for g, u in data["usage"].items()} == {
        f"server {red.guild.id}": 3,
        f"server {OTHER_GUILD}": 1,
    }
    assert (await exported(cog, DM_USER))["usage"]["dms"]["prompt_tokens"] == 9


async def assert_usage_gone_from_config(red) -> None:
    conf = stored_config()
    assert await conf.get_raw("schema_version") == SCHEMA_VERSION == 2
    assert await conf.get_raw("usage", default={}) == {}
    guild = (await conf._get_base_group(Config.GUILD).all())[str(red.guild.id)]
    assert "usage" not in guild and guild["model"] == {"endpoint": "mock", "name": "gpt-other"}
    members = await conf._get_base_group(Config.MEMBER).all()
    assert members == {str(red.guild.id): {str(red.admin.id): {"note": "kept"}}}
    assert await conf._get_base_group(Config.USER).all() == {}


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_schema_1_usage_is_moved_to_the_counter_store_on_load(red):
    await write_schema_1(red)
    cog = await load(red)
    await assert_schema_1_numbers_are_shown(red, cog)
    await assert_usage_gone_from_config(red)

    # Reloading (schema 2 now) counts nothing twice.
    await owner(red, "!unload skynet")
    cog = await load(red)
    await assert_schema_1_numbers_are_shown(red, cog)


async def test_an_interrupted_migration_does_not_count_twice(red):
    await write_schema_1(red)
    cog = await load(red)
    await owner(red, "!unload skynet")
    # As if the last run stopped after the import but before Config was cleaned and the version set.
    await write_schema_1(red)
    cog = await load(red)
    await assert_schema_1_numbers_are_shown(red, cog)
    await assert_usage_gone_from_config(red)


async def test_a_flush_of_thousands_of_users_makes_no_config_write(bot, cog, monkeypatch):
    driver_class = type(cog.config._driver)  # every Config write of every cog goes through it
    writes = []
    real_set = driver_class.set

    async def counting_set(self, *args, **kwargs):
        writes.append(args)
        return await real_set(self, *args, **kwargs)

    monkeypatch.setattr(driver_class, "set", counting_set)
    for n in range(3000):
        user = 10**17 + n
        cog.usage.ledger.record(
            [global_scope(), guild_scope(bot.guild.id), member_scope(bot.guild.id, user)], Usage(10, 2)
        )
    cog.usage.ledger.record([global_scope(), user_scope(bot.member.id)], Usage(7, 1))
    await cog.usage.flush()
    monkeypatch.undo()
    assert writes == []
    assert cog.usage.last_flush_scopes == 3000 + 3
    figures = await stats(bot, bot.owner)
    assert "**This server:** 3,000 requests · 36,000 tokens" in figures
    assert "**Everywhere (owner only):** 3,001 requests · 36,008 tokens" in figures
    assert (await exported(cog, 10**17 + 1234))["usage"][f"server {bot.guild.id}"]["requests"] == 1


async def test_migrating_thousands_of_members_takes_a_few_config_writes(red, monkeypatch):
    members = {str(10**17 + n): {"usage": counters(1, 10, 1)} for n in range(2000)}
    conf = stored_config()
    await conf.set_raw("schema_version", value=1)
    await conf._get_base_group(Config.MEMBER).set({str(red.guild.id): members})
    red_config._config_cache.pop(("Skynet", str(CONFIG_IDENTIFIER)), None)

    driver_class = type(conf._driver)
    skynet_writes = []
    for name in ("set", "clear"):
        real = getattr(driver_class, name)

        async def counting(self, identifier_data, *args, _real=real, **kwargs):
            if identifier_data.cog_name == "Skynet":
                skynet_writes.append(identifier_data)
            return await _real(self, identifier_data, *args, **kwargs)

        monkeypatch.setattr(driver_class, name, counting)
    cog = await load(red)
    monkeypatch.undo()

    assert len(skynet_writes) <= 3  # the member category once, the schema version
    assert cog.usage.counters.db.count() == 2000
    assert (await cog.usage.totals(member_scope(red.guild.id, 10**17 + 1999))).requests == 1
    assert await conf._get_base_group(Config.MEMBER).all() == {}
