"""``ai provider pricing``: which genai-prices provider prices an endpoint; overrides still win."""

from __future__ import annotations

import sys

import pytest
from conftest import owner, say, text_of

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="genai-prices needs Python 3.11")

GROQ_MODEL = "llama-3.3-70b-versatile"


async def by_owner(red, content: str) -> str:
    return text_of(await owner(red, content))


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_an_endpoint_priced_as_groq_prices_its_replies(bot, provider, cog):
    provider.models.append(GROQ_MODEL)
    assert "is not priced from the table (inferred from its URL)" in await by_owner(
        bot, "!ai provider pricing mock"
    )
    assert "come from the `groq` table (set by the owner)" in await by_owner(
        bot, "!ai provider pricing mock groq"
    )
    await by_owner(bot, f"!ai model set global mock:{GROQ_MODEL}")
    shown = await by_owner(bot, "!ai pricing show")
    assert "$0.59 in / $0.79 out per 1M tokens (genai-prices)" in shown
    await say(bot, "!ai chat hello", author=bot.member)
    stats = await by_owner(bot, "!ai stats")
    server = next(line for line in stats.splitlines() if line.startswith("**This server:**"))
    assert "1 request" in server and "cost unknown" not in server and "$" in server
    # An owner override wins over the table.
    await by_owner(bot, f"!ai pricing set {GROQ_MODEL} 1 2")
    assert "$1 in / $2 out per 1M tokens (override)" in await by_owner(bot, "!ai pricing show")


async def test_the_builtin_openai_endpoint_is_priced_from_the_table(bot, cog):
    assert "come from the `openai` table (inferred from its URL)" in await by_owner(
        bot, "!ai provider pricing openai"
    )
    assert cog.engine.prices.source("gpt-4o-2024-08-06") == "genai-prices"


async def test_unknown_provider_ids_are_refused_and_auto_goes_back(bot):
    assert "The price table has no provider `nope`" in await by_owner(bot, "!ai provider pricing mock nope")
    await by_owner(bot, "!ai provider pricing mock groq")
    assert "inferred from its URL" in await by_owner(bot, "!ai provider pricing mock auto")


async def test_members_cannot_choose(bot):
    text = text_of(await say(bot, "!ai provider pricing mock groq", author=bot.member))
    assert text == "⚠️ Only the bot owner can use `ai provider pricing`."
