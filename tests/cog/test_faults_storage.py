"""Storage faults as the owner and members meet them, on Red's JSON driver and on PostgreSQL.

A settings write that fails (the disk is full; PostgreSQL cannot extend a table) is rolled back:
the member is told in the cog's error style that nothing changed, ``params show`` and the store of
record agree, the old value is still in force after a reload, and ``ai diag`` shows the failure.
The answer caps (``ai answers``) are settings like the others.
"""

from __future__ import annotations

import json

import pytest
from conftest import owner, say, text_of
from test_settings import show_row

from skynet_dev.failing_storage import failing_writes

pytestmark = pytest.mark.discord_bursts  # the script types commands faster than people do

UNSET = "temperature provider default [-]"  # the row of ``ai params show`` for a value never set


async def admin(red, content: str) -> str:
    return text_of(await say(red, content, author=red.admin))


def memory_agrees_with_disk(cog) -> None:
    """JSON driver only: what Red keeps in memory is what its file says (else no-op)."""
    driver = getattr(cog.config._driver, "inner", cog.config._driver)
    if not hasattr(driver, "_save"):
        return
    on_disk = json.loads(driver.data_path.read_text())
    assert on_disk == json.loads(json.dumps(driver.data)), "Red's memory and its settings.json disagree"


async def test_a_settings_write_that_fails_changes_nothing_and_says_so(bot, cog):
    with failing_writes(cog.config) as failing:
        reply = await admin(bot, "!ai params set temperature 0.3")
    assert failing.failures == 1
    assert reply.startswith("⚠️ I couldn't save that"), reply
    assert "Nothing changed" in reply and "Error in command" not in reply, reply
    assert "disk is full" in reply or "DiskFullError" in reply, reply
    assert show_row(await admin(bot, "!ai params show"), "temperature") == UNSET
    memory_agrees_with_disk(cog)

    # What reloading reads (Red's copy of the store) still has the old value.
    assert "Reloaded" in text_of(await owner(bot, "!reload skynet"))
    cog = bot.bot.get_cog("Skynet")
    assert show_row(await admin(bot, "!ai params show"), "temperature") == UNSET
    assert (await cog.config.guild(bot.guild).params()) == {}

    diag = text_of(await owner(bot, "!ai diag"))
    assert "storage_write_failed" not in diag  # the reload started a fresh error log
    # With room on the disk again the same command works.
    assert "set to `0.3`" in await admin(bot, "!ai params set temperature 0.3")
    assert show_row(await admin(bot, "!ai params show"), "temperature") == "temperature 0.3 [this server]"
    memory_agrees_with_disk(cog)


async def test_a_failed_write_is_recorded_for_diag(bot, cog):
    with failing_writes(cog.config):
        reply = text_of(await owner(bot, "!ai model set global mock:gpt-other"))
    assert reply.startswith("⚠️ I couldn't save that"), reply
    assert "mock:gpt-test" in text_of(await owner(bot, "!ai model show"))  # still the old model
    diag = text_of(await owner(bot, "!ai diag"))
    assert "`storage_write_failed`" in diag, diag


async def test_every_store_rolls_back(bot, cog):
    """Incognito (a user value), budgets (governance): each write path goes through the same guard."""
    for command in ("!ai incognito on", "!ai budget set user 1000"):
        with failing_writes(cog.config) as failing:
            reply = text_of(await say(bot, command, author=bot.owner))
        assert failing.failures >= 1, command
        assert reply.startswith("⚠️ I couldn't save that"), (command, reply)
        memory_agrees_with_disk(cog)
    assert bot.owner.id not in cog.memory_service.incognito  # the failed "on" left no trace
    shown = text_of(await say(bot, "!ai budget show"))  # what the member sees: no budget was set
    assert "1000" not in shown and "1,000" not in shown, shown


async def test_the_answer_caps_are_owner_settings_that_survive_a_reload(bot, cog):
    assert "10 messages" in text_of(await owner(bot, "!ai answers"))
    refused = text_of(await say(bot, "!ai answers messages 3", author=bot.admin))
    assert "Only the bot owner" in refused, refused
    assert "3 messages" in text_of(await owner(bot, "!ai answers messages 3"))
    assert "between 1 and 50" in text_of(await owner(bot, "!ai answers messages 500"))
    assert "4,000 characters" in text_of(await owner(bot, "!ai answers characters 4000"))
    await owner(bot, "!reload skynet")
    shown = text_of(await owner(bot, "!ai answers"))
    assert "3 messages" in shown and "4,000 characters" in shown, shown


async def test_a_failed_write_of_memory_options_leaves_the_options_in_force(bot, cog):
    """`ai memory compaction` changes the options in memory before storing them: a failed write
    puts the stored ones back in force too."""
    before = cog.memory_service.options.compaction
    with failing_writes(cog.config):
        reply = text_of(await owner(bot, f"!ai memory compaction {'off' if before else 'on'}"))
    assert reply.startswith("⚠️ I couldn't save that"), reply
    assert cog.memory_service.options.compaction == before
    memory_agrees_with_disk(cog)
