"""``ai stats`` and ``ai pricing``: who used how many tokens, at what estimated cost."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import owner, say, text_of

from skynet.delivery.pacing import Pacer
from skynet.engine.usage import CounterDB
from skynet.engine.usage.accounting import Counters
from skynet.stores.usage import guild_scope, member_scope
from skynet_dev.mock_openai import Reply


@pytest.fixture
def unpaced(cog):
    """These tests are not about Discord's rate limits: replies need not wait a second apart."""
    cog.pacer = Pacer(channel_interval=0.0)


async def chat(red, provider, author, *, prompt_tokens=None, completion_tokens=None, usage=True) -> str:
    """``author`` asks something; the provider answers reporting the given usage."""
    provider.script(
        Reply.text(
            "The answer is forty-two.",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            usage=usage,
        )
    )
    reply = text_of(await say(red, "!ai chat what is the answer?", author=author))
    assert reply == "The answer is forty-two.", reply
    return reply


async def stats(red, author) -> str:
    return text_of(await say(red, "!ai stats", author=author))


def line(text: str, label: str) -> str:
    """The line of ``ai stats`` starting with ``**label:**``."""
    for candidate in text.splitlines():
        if candidate.startswith(f"**{label}:**"):
            return candidate
    raise AssertionError(f"no {label!r} line in:\n{text}")


def tokens_in_out(stats_line: str):
    found = re.search(r"\(([\d,]+) in / ([\d,]+) out\)", stats_line)
    assert found, stats_line
    return tuple(int(n.replace(",", "")) for n in found.groups())


# ---------------------------------------------------------------------------------------------
# what each person sees
# ---------------------------------------------------------------------------------------------


async def test_stats_show_the_callers_and_the_servers_requests_and_tokens(bot, provider, unpaced):
    await chat(bot, provider, bot.member, prompt_tokens=100, completion_tokens=20)
    await chat(bot, provider, bot.member, prompt_tokens=100, completion_tokens=20)
    await chat(bot, provider, bot.admin, prompt_tokens=7, completion_tokens=3)

    mine = await stats(bot, bot.member)
    assert line(mine, "You, in this server") == (
        "**You, in this server:** 2 requests · 240 tokens (200 in / 40 out) · cost unknown"
    )
    assert (
        line(mine, "This server")
        == "**This server:** 3 requests · 250 tokens (207 in / 43 out) · cost unknown"
    )
    assert "Everywhere" not in mine
    assert "ai pricing" not in mine  # owner-only: members are not pointed at it
    assert "the bot owner's price table" in mine
    assert "`!ai pricing`" in await stats(bot, bot.owner)


async def test_another_member_sees_only_their_own_numbers_plus_the_server(bot, provider, unpaced):
    await chat(bot, provider, bot.member, prompt_tokens=100, completion_tokens=20)
    await chat(bot, provider, bot.admin, prompt_tokens=7, completion_tokens=3)

    theirs = await stats(bot, bot.admin)
    assert line(theirs, "You, in this server").startswith(
        "**You, in this server:** 1 request · 10 tokens (7 in / 3 out)"
    )
    assert line(theirs, "This server").startswith("**This server:** 2 requests · 130 tokens")
    assert "Everywhere" not in theirs


async def test_the_owner_also_sees_the_global_figures(bot, provider, unpaced):
    await chat(bot, provider, bot.member, prompt_tokens=100, completion_tokens=20)
    await chat(bot, provider, bot.admin, prompt_tokens=7, completion_tokens=3)

    figures = await stats(bot, bot.owner)
    assert line(figures, "You, in this server").startswith("**You, in this server:** 0 requests · 0 tokens")
    assert line(figures, "Everywhere (owner only)").startswith(
        "**Everywhere (owner only):** 2 requests · 130 tokens (107 in / 23 out)"
    )


async def test_slash_stats_are_shown_only_to_the_caller(bot, provider):
    await chat(bot, provider, bot.member, prompt_tokens=100, completion_tokens=20)
    await bot.enable_slash("ai")
    before = {m.id for m in bot.messages()}
    await bot.slash("ai stats", author=bot.member)
    await bot.settle()
    [reply] = [m for m in bot.messages() if m.id not in before]
    assert reply.ephemeral
    assert "**You, in this server:** 1 request · 120 tokens" in reply.content
    assert "the bot owner's price table" in reply.content and "ai pricing" not in reply.content


async def test_tokens_are_counted_locally_when_the_provider_reports_none(bot, provider, unpaced):
    await chat(bot, provider, bot.member, usage=False)
    counted = line(await stats(bot, bot.member), "You, in this server")
    assert counted.startswith("**You, in this server:** 1 request · ")
    assert counted.endswith("(tokens of 1 counted locally)")
    prompt, completion = tokens_in_out(counted)
    assert prompt > 20  # the system prompt and the question
    assert 3 <= completion <= 12  # "The answer is forty-two."

    await chat(bot, provider, bot.member, prompt_tokens=100, completion_tokens=20)
    both = line(await stats(bot, bot.member), "You, in this server")
    assert both.startswith("**You, in this server:** 2 requests")
    assert both.endswith("(tokens of 1 counted locally)")
    assert tokens_in_out(both) == (prompt + 100, completion + 20)


# ---------------------------------------------------------------------------------------------
# cost and pricing
# ---------------------------------------------------------------------------------------------


async def test_cost_of_a_model_with_a_known_price(bot, provider):
    provider.models.append("gpt-4o-mini")  # $0.15 in / $0.60 out per 1M tokens
    await say(bot, "!ai model set gpt-4o-mini", author=bot.admin)
    await chat(bot, provider, bot.member, prompt_tokens=1_000_000, completion_tokens=1_000_000)

    assert line(await stats(bot, bot.member), "You, in this server") == (
        "**You, in this server:** 1 request · 2,000,000 tokens (1,000,000 in / 1,000,000 out) · ~$0.75"
    )
    shown = text_of(await owner(bot, "!ai pricing show"))
    # The same price from the genai-prices table (for the configured openai endpoint) where it
    # is installed (Python 3.11+), else from the built-in table.
    source = "genai-prices" if sys.version_info >= (3, 11) else "default"
    assert shown == f"Model here: `mock:gpt-4o-mini` — $0.15 in / $0.6 out per 1M tokens ({source})"


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_an_owner_price_override_sets_the_cost(bot, provider, unpaced):
    assert text_of(await owner(bot, "!ai pricing show")) == (
        "Model here: `mock:gpt-test` — no known price (cost shows as unknown)"
    )
    reply = text_of(await owner(bot, "!ai pricing set gpt-test 1 2"))
    assert reply == "Price for `gpt-test` set to $1 in / $2 out per 1M tokens."
    shown = text_of(await owner(bot, "!ai pricing show"))
    assert "Model here: `mock:gpt-test` — $1 in / $2 out per 1M tokens (override)" in shown
    assert "Overrides: `gpt-test` $1/$2" in shown

    await chat(bot, provider, bot.member, prompt_tokens=1_000_000, completion_tokens=500_000)
    assert line(await stats(bot, bot.member), "You, in this server").endswith(" · ~$2.00")


async def test_an_override_beats_a_default_price(bot, provider):
    provider.models.append("gpt-4o-mini")
    await say(bot, "!ai model set gpt-4o-mini", author=bot.admin)
    await owner(bot, "!ai pricing set gpt-4o-mini 10 0")
    await chat(bot, provider, bot.member, prompt_tokens=100_000, completion_tokens=100_000)
    assert line(await stats(bot, bot.member), "This server").endswith(" · ~$1.00")


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_resetting_an_override_makes_the_cost_unknown_again(bot, provider, unpaced):
    await owner(bot, "!ai pricing set gpt-test 1 2")
    await chat(bot, provider, bot.member, prompt_tokens=1_000_000, completion_tokens=500_000)

    assert text_of(await owner(bot, "!ai pricing reset gpt-test")) == "Price override for `gpt-test` removed."
    assert "no known price" in text_of(await owner(bot, "!ai pricing show"))
    assert "⚠️ There is no price override for `gpt-test`." == text_of(
        await owner(bot, "!ai pricing reset gpt-test")
    )

    await chat(bot, provider, bot.member, prompt_tokens=1_000_000, completion_tokens=500_000)
    assert line(await stats(bot, bot.member), "You, in this server").endswith(
        " · ~$2.00 (1 without a known price)"
    )


@pytest.mark.parametrize(
    "typed, complaint",
    [
        ("-1 2", "The price can't be negative."),
        ("abc 2", "'abc' is not a number."),
        ("1 5000", "That's over $1,000 per 1M tokens"),
        ("inf 1", "The price must be a regular number"),
        ("2_5 1", "'2_5' is not a number."),
    ],
)
async def test_invalid_prices_are_refused(bot, typed, complaint):
    await owner(bot, "!ai pricing set gpt-test 1 2")
    assert complaint in text_of(await owner(bot, f"!ai pricing set gpt-test {typed}"))
    assert "Overrides: `gpt-test` $1/$2" in text_of(await owner(bot, "!ai pricing show"))


async def test_a_dollar_sign_is_accepted_in_a_price(bot):
    assert "set to $2.5 in / $0 out" in text_of(await owner(bot, "!ai pricing set gpt-test $2.50 0"))


@pytest.mark.parametrize("who", ["admin", "member"])
async def test_pricing_is_owner_only(bot, who):
    author = getattr(bot, who)
    await owner(bot, "!ai pricing set gpt-test 1 2")
    for command in ("!ai pricing show", "!ai pricing set gpt-test 0 0", "!ai pricing reset gpt-test"):
        replies = text_of(await say(bot, command, author=author))
        assert "$" not in replies and "override" not in replies.lower(), (command, replies)
    assert "Overrides: `gpt-test` $1/$2" in text_of(await owner(bot, "!ai pricing show"))


# ---------------------------------------------------------------------------------------------
# batching
# ---------------------------------------------------------------------------------------------


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_usage_is_kept_in_memory_and_stored_in_a_batch_on_unload(bot, provider, cog, unpaced):
    for _ in range(3):
        await chat(bot, provider, bot.member, prompt_tokens=100, completion_tokens=20)

    member, guild = member_scope(bot.guild.id, bot.member.id), guild_scope(bot.guild.id)
    # (compared as JSON: the bot imports its own copy of the cog's classes)
    assert (await cog.usage.counters.get(member)).to_json() == Counters().to_json()  # no write per message...
    assert (await cog.usage.counters.get(guild)).to_json() == Counters().to_json()
    assert line(await stats(bot, bot.member), "You, in this server").startswith(
        "**You, in this server:** 3 requests · 360 tokens"  # ...yet stats already count them
    )

    assert "unloaded" in text_of(await owner(bot, "!unload skynet"))
    stored = CounterDB(cog.usage.path)
    stored.open()
    try:
        usage = stored.get(member)
        assert (usage.requests, usage.prompt_tokens, usage.completion_tokens) == (3, 300, 60)
        assert stored.get(guild).requests == 3
    finally:
        stored.close()

    assert "Loaded `skynet`" in text_of(await owner(bot, "!load skynet"))
    after = await stats(bot, bot.member)
    assert line(after, "You, in this server").startswith("**You, in this server:** 3 requests · 360 tokens")
    assert line(after, "This server").startswith("**This server:** 3 requests · 360 tokens")
