"""``ai diag``: one command that says why the assistant isn't working, never showing a key."""

from __future__ import annotations

import socket

import pytest
from conftest import KEY, owner, say, text_of
from discord.ext.test import backend as dpy_backend

from skynet_dev.mock_openai import Reply


async def diag(red, author) -> str:
    return text_of(await say(red, "!ai diag", author=author))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_owner_sees_versions_endpoints_model_and_backend_with_the_key_set(bot, provider, red_backend):
    text = await diag(bot, bot.owner)
    assert "**Versions:** skynet 0.1.0 · Red 3.5" in text and "chromadb " in text and "openai " in text
    assert f"**Config backend:** {'JSON' if red_backend == 'json' else 'Postgres'}" in text
    assert "**Prices:** owner overrides, then " in text
    assert "**Tools:** search by nothing (no search backend set up), pages read by `builtin`" in text
    assert "**Long-term memory:** embedded chromadb in the cog's data folder — not opened yet" in text
    assert "embeddings by `mock:text-embedding-3-small`" in text
    assert "**Model here:** `mock:gpt-test` (from global)" in text
    mock_line = next(line for line in text.splitlines() if line.startswith("• **mock**"))
    assert f"<{provider.base_url}>" in mock_line and "key set (`mock`)" in mock_line
    assert "✅ reachable" in mock_line and "3 models" in mock_line
    openai_line = next(line for line in text.splitlines() if line.startswith("• **openai**"))
    assert "**no key** (`!set api openai api_key,<key>`)" in openai_line and "❌" in openai_line
    assert "**Usage counters last stored:** not yet" in text
    assert KEY not in text
    assert all(len(m.content) <= 2000 for m in bot.messages())


async def test_with_the_key_unset_diag_says_so_and_how_to_set_it(bot, provider):
    await owner(bot, "!set api mock api_key,")  # Red removes an empty value
    await bot.bot.remove_shared_api_services("mock")
    text = await diag(bot, bot.owner)
    mock_line = next(line for line in text.splitlines() if line.startswith("• **mock**"))
    assert "**no key** (`!set api mock api_key,<key>`)" in mock_line and "❌" in mock_line
    assert KEY not in text


async def test_a_dead_endpoint_is_reported_unreachable(bot, provider):
    await owner(bot, f"!ai provider add dead http://127.0.0.1:{closed_port()}/v1")
    text = await diag(bot, bot.owner)
    dead_line = next(line for line in text.splitlines() if line.startswith("• **dead**"))
    assert "no key needed" in dead_line and "❌ Couldn't reach **dead**" in dead_line


@pytest.mark.every_backend
async def test_recent_errors_are_listed_redacted_newest_first_and_last_flush_is_shown(bot, provider, cog):
    provider.script(
        Reply.error(404, message=f"no such model, key {KEY}"), Reply.error(401, message="bad key")
    )
    await say(bot, "!ai chat one", author=bot.member)
    await say(bot, "!ai chat two", author=bot.member)
    await cog.usage.flush()
    text = await diag(bot, bot.owner)
    errors = text.split("errors (everywhere), newest first:**")[1].splitlines()[1:3]
    assert "`bad_key`" in errors[0] and "`unknown_model`" in errors[1], errors
    assert "UTC" in errors[0] and "mock:gpt-test" in errors[0]
    assert KEY not in text
    assert "**Usage counters last stored:** 20" in text


async def test_server_admin_sees_only_this_servers_part(bot, provider):
    provider.script(Reply.error(401, message="boom"))
    await say(bot, "!ai chat one", author=bot.member)
    text = await diag(bot, bot.admin)
    assert "**Model here:** `mock:gpt-test`" in text
    assert "• **mock** · key set (`mock`) · ✅ reachable" in text
    assert "Versions" not in text and "Config backend" not in text and provider.base_url not in text
    assert "• **openai**" not in text  # only the endpoint in effect here
    assert "**The last error (in this server):**" in text and "`bad_key`" in text


async def test_a_member_is_told_who_may_use_diag(bot):
    text = await diag(bot, bot.member)
    assert text == "⚠️ Only server admins (or members with Manage Server) can use `ai diag`."


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_twenty_errors_fit_in_messages_of_at_most_2000_characters(bot, provider):
    long_message = "x" * 400
    provider.script(*[Reply.error(401, message=long_message) for _ in range(23)])
    # Spread over five channels: Discord lets one channel take 5 messages per 5 s.
    channels = [dpy_backend.make_text_channel(f"errors-{i}", bot.guild) for i in range(5)]
    for n in range(23):
        await bot.say(f"!ai chat {n}", author=bot.member, channel=channels[n % 5])
        await bot.settle()
    replies = await say(bot, "!ai diag", author=bot.owner)
    assert len(replies) >= 2 and all(len(m.content) <= 2000 for m in replies)
    assert text_of(replies).count("`bad_key`") == 20


async def test_slash_diag_is_only_shown_to_the_caller(bot):
    await bot.enable_slash("ai", "aiset")
    before = {m.id for m in bot.messages()}
    await bot.slash("aiset diag", author=bot.admin)
    await bot.settle()
    new = [m for m in bot.messages() if m.id not in before]
    assert new and all(m.ephemeral for m in new) and "skynet diagnostics" in new[0].content


async def test_diag_names_the_search_backend_and_memory_once_open(bot, provider, cog):
    await owner(bot, "!set api serpapi api_key,serp-key-123456789")
    await owner(bot, "!ai remember I like tea")
    text = await diag(bot, bot.owner)
    assert "**Tools:** search by `serpapi`" in text, text
    assert "embedded chromadb in the cog's data folder — connected" in text, text
    assert "serp-key-123456789" not in text
