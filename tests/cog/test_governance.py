"""Budgets, rate limits and tool policies as admins set them and members meet them, through
``/ai chat`` and passive replies against the local provider. Time moves by an injected clock."""

from __future__ import annotations

import asyncio
import re

import pytest
from conftest import owner, say, text_of
from discord.ext.test import backend as dpy_backend
from test_listen import post

from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import Reply

DAY = 86_400

# Admins configure and members post faster than people type: Discord's message rates are
# tested in test_streaming.py and test_discord_limits.py; here only message bodies are checked.
pytestmark = pytest.mark.discord_bursts


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(cog) -> Clock:
    clock = Clock()
    cog.governor.clock = clock
    return clock


async def admin(red: RedHarness, content: str) -> str:
    return text_of(await say(red, content, author=red.admin))


async def chat(red: RedHarness, text: str, author=None) -> str:
    return text_of(await say(red, f"!ai chat {text}", author=author))


def usage(prompt: int = 40, completion: int = 30) -> Reply:
    return Reply.text("fine", prompt_tokens=prompt, completion_tokens=completion)


async def test_token_budget_refuses_with_what_is_left_and_when_it_resets(bot, provider, cog, clock):
    assert "set to 100 tokens" in await admin(bot, "!ai budget set user 100")
    await admin(bot, "!ai params set max_tokens 20")
    provider.script(usage(), usage())
    assert await chat(bot, "one") == "fine"
    assert "30 tokens of 100 tokens left" in text_of(await say(bot, "!ai budget show"))
    assert await chat(bot, "two") == "fine"  # something was left: admitted
    refused = await chat(bot, "three")
    resets = int((clock.now // DAY + 1) * DAY)
    assert (
        refused
        == f"⚠️ Your daily AI budget here is used up: 0 tokens of 100 tokens left. It resets <t:{resets}:R>."
    )
    assert len(provider.chat_requests) == 2
    # Another member has their own budget; the next day starts over.
    provider.script(usage(), usage())
    assert await chat(bot, "mine", author=bot.admin) == "fine"
    clock.now = resets + 1
    assert await chat(bot, "four") == "fine"
    stats = text_of(await say(bot, "!ai stats"))
    assert "30 tokens of 100 tokens left" in stats


async def test_reset_hour_moves_the_start_of_the_day(bot, provider, cog, clock):
    clock.now = 1_700_000_000  # 22:13 UTC
    await admin(bot, "!ai budget set user 10")
    assert "start over at 23:00 UTC" in await admin(bot, "!ai budget resethour 23")
    provider.script(usage())
    await chat(bot, "spend it")
    assert "<t:1700002800:R>" in await chat(bot, "refused")  # 23:00 the same day


async def test_server_total_budget(bot, provider, clock):
    assert "whole server set to 50 tokens" in await admin(bot, "!ai budget set server 50")
    provider.script(usage())
    assert await chat(bot, "one") == "fine"
    assert "This server's daily AI budget is used up" in await chat(bot, "two", author=bot.admin)


async def test_rate_limit_refuses_then_allows_again_on_time(bot, provider, clock):
    assert "2 requests per 60 s" in await admin(bot, "!ai ratelimit user 2 60")
    assert await chat(bot, "a") == "echo: member: a"
    await chat(bot, "b")
    refused = await chat(bot, "c")
    assert refused.startswith("⚠️ Too many requests: the limit is 2 requests per 60 s for each member.")
    assert re.search(r"Try again <t:\d+:R>", refused)
    clock.now += 30
    assert await chat(bot, "d") == "echo: member: d"
    assert "server set to 1 request per 10 s" in await admin(bot, "!ai ratelimit server 1 10")
    clock.now += 60
    await chat(bot, "e")
    assert "for this server" in await chat(bot, "f", author=bot.admin)
    assert "Rate limits removed" in await admin(bot, "!ai ratelimit off")
    assert await chat(bot, "g", author=bot.admin) == "echo: admin: g"
    assert "no limit" in text_of(await say(bot, "!ai ratelimit show"))


@pytest.mark.every_backend
async def test_fifty_concurrent_requests_do_not_overspend(bot, provider, cog, clock):
    await admin(bot, "!ai budget set user 1000")
    await admin(bot, "!ai params set max_tokens 50")
    provider.script(*[Reply.text("ok", prompt_tokens=30, completion_tokens=50, delay=0.05)] * 50)
    channels = [dpy_backend.make_text_channel(f"c{i}", bot.guild) for i in range(50)]
    start = len(bot.events)
    for channel in channels:  # one member, fifty channels, all at once
        await bot.say("!ai chat go", channel=channel, wait=False)
    await asyncio.sleep(0)
    await bot.settle(timeout=60)
    sent = [e for e in bot.events[start:] if e.kind == "send"]
    answered = [e for e in sent if e.content == "ok"]
    refused = [e for e in sent if "budget here is used up" in (e.content or "")]
    assert len(answered) + len(refused) == 50
    assert len(provider.chat_requests) == len(answered) >= 1
    spent = cog.remaining_for(bot.member, bot.guild).spent
    assert spent == 80 * len(answered)
    assert spent <= 1000 + 80  # over by at most one request's worth
    assert "0 tokens of 1,000 tokens left" in text_of(await say(bot, "!ai budget show"))


async def test_bypass_roles_and_the_owner_skip_budgets_and_rate_limits(bot, provider, clock):
    await admin(bot, "!ai budget set user 0")
    await admin(bot, "!ai ratelimit user 1 3600")
    assert "budget here is used up" in await chat(bot, "x")
    assert "no longer" not in await admin(bot, f"!ai budget bypass add {bot.admin_role.id}")
    for i in range(3):
        assert await chat(bot, f"a{i}", author=bot.admin) == f"echo: admin: a{i}"
        assert await chat(bot, f"o{i}", author=bot.owner) == f"echo: owner: o{i}"
    assert "unlimited" in await admin(bot, "!ai budget show")
    assert bot.admin_role.mention in await admin(bot, "!ai budget bypass list")
    await admin(bot, f"!ai budget bypass remove {bot.admin_role.mention}")
    assert "budget here is used up" in await chat(bot, "y", author=bot.admin)


async def test_usd_budget_from_the_pricing_book(bot, provider, clock):
    await owner(bot, "!ai pricing set gpt-test 1000 1000")  # $0.001 per token
    assert "set to $0.10" in await admin(bot, "!ai budget set user 0.1 usd")
    await admin(bot, "!ai params set max_tokens 20")
    provider.script(usage(), usage())
    assert await chat(bot, "one") == "fine"  # 70 tokens: $0.07
    assert "$0.03 of $0.10 left" in text_of(await say(bot, "!ai budget show"))
    assert await chat(bot, "two") == "fine"
    assert "$0.00 of $0.10 left" in await chat(bot, "three")
    await owner(bot, "!ai pricing reset gpt-test")
    assert "no known price" in await chat(bot, "four", author=bot.admin)


@pytest.mark.every_backend
async def test_role_and_member_budgets(bot, provider, clock):
    await admin(bot, "!ai budget set user 0")
    assert "set to 500 tokens" in await admin(bot, f"!ai budget role {bot.admin_role.mention} 500")
    provider.script(usage())
    assert await chat(bot, "hi", author=bot.admin) == "fine"
    assert f"<@{bot.member.id}>" in await admin(bot, f"!ai budget member {bot.member.mention} 200")
    assert "200 tokens left today (member override)" in text_of(await say(bot, "!ai budget show"))
    assert "removed" in await admin(bot, f"!ai budget member {bot.member.id} none")
    assert "(server default)" in text_of(await say(bot, "!ai budget show"))


async def test_passive_refusals_are_noticed_once_per_reset_period(bot, provider, clock):
    await admin(bot, "!ai listen mode all")
    await admin(bot, "!ai budget set user 0")
    notices = []
    for text in ("one", "two", "three"):
        notices += await post(bot, text)
    assert len(notices) == 1 and "budget here is used up" in notices[0].content
    clock.now += DAY
    assert len(await post(bot, "four") + await post(bot, "five")) == 1
    assert provider.chat_requests == []


@pytest.mark.every_backend
async def test_tool_policies_and_policy_show(bot, provider):
    other = dpy_backend.make_text_channel("other", bot.guild)
    assert "`web_search` is now denied for the whole server" in await admin(
        bot, "!ai policy tool deny web_search"
    )
    assert "allowed for" in await admin(bot, f"!ai policy tool allow web_search {other.mention}")
    assert "denied for" in await admin(bot, f"!ai policy tool deny scrape {bot.member.mention}")
    assert "allowed for" in await admin(bot, f"!ai policy tool allow scrape {bot.admin_role.mention}")
    shown = text_of(await say(bot, "!ai policy show"))
    assert "⛔ `web_search` — `web_search` is denied for the whole server (server rule)" in shown
    assert "⛔ `scrape` — `scrape` is denied for this member (member rule)" in shown
    # Allowed by policy but switched off: the member is told it won't run, and how it is turned on.
    assert (
        "⛔ `calculator` — no rule for `calculator`: allowed by default · switched off here (default): "
        "`!ai tools enable calculator`" in shown
    ), shown
    await admin(bot, "!ai tools enable all")
    shown = text_of(await say(bot, "!ai policy show"))
    assert "✅ `calculator` — no rule for `calculator`: allowed by default\n" in shown
    assert "Listening: `off` (server)" in shown
    there = text_of(await say(bot, f"!ai policy show {bot.member.mention} {other.mention}"))
    assert f"`web_search` is allowed in <#{other.id}> (channel rule)" in there
    admin_view = await admin(bot, f"!ai policy show {bot.admin.mention}")
    assert "✅ `scrape` — `scrape` is allowed for role" in admin_view and "(role rule)" in admin_view
    assert "Removed the rule" in await admin(bot, "!ai policy tool inherit web_search")
    assert "allowed by default" in text_of(await say(bot, "!ai policy show"))
    # Members see their own policy and budget only
    assert "only admins" in text_of(await say(bot, f"!ai policy show {bot.admin.mention}"))
    assert "only admins" in text_of(await say(bot, f"!ai budget show {bot.admin.mention}"))


async def test_members_cannot_change_governance(bot, provider):
    for command in (
        "!ai budget set user 5",
        "!ai budget resethour 3",
        "!ai ratelimit user 1 1",
        "!ai policy tool deny ping",
        f"!ai budget bypass add {bot.admin_role.id}",
    ):
        assert "Only server admins" in text_of(await say(bot, command)), command


@pytest.mark.every_backend
async def test_bad_input_is_refused_with_the_range_and_nothing_is_stored(bot, provider, cog):
    other_guild = dpy_backend.make_guild("Elsewhere")
    foreign_role = dpy_backend.make_role("Foreign", other_guild)
    foreign_channel = dpy_backend.make_text_channel("foreign", other_guild)
    cases = [
        ("!ai budget set user -5", "from 0 to 1,000,000,000"),
        ("!ai budget set user nan", "not infinity or NaN"),
        ("!ai budget set user 1e12", "out of range"),
        ("!ai budget set user 1\u200b000", "from 0 to 1,000,000,000"),
        ("!ai budget set server 12.5", "without decimals"),
        ("!ai budget set user 1000000 usd", "from 0 to 100,000"),
        ("!ai budget resethour 24", "from 0 to 23"),
        ("!ai budget resethour -1", "from 0 to 23"),
        ("!ai ratelimit user 0 60", "from 1 to 10,000"),
        ("!ai ratelimit user 5 0", "from 1 to 86,400"),
        ("!ai ratelimit server 5 inf", "not infinity or NaN"),
        (f"!ai budget role {foreign_role.id} 5", "isn't a role of this server"),
        (f"!ai budget bypass add {foreign_role.mention}", "isn't a role of this server"),
        ("!ai budget member 123456789012345678 5", "isn't a member of this server"),
        ("!ai policy tool deny hack", "There is no tool called `hack`"),
        (f"!ai policy tool deny ping {foreign_channel.id}", "isn't a channel, role or member of this server"),
        (f"!ai policy tool deny ping {foreign_role.mention}", "isn't a role of this server"),
        (f"!ai policy show {bot.member.mention} {foreign_channel.id}", "isn't a channel of this server"),
        (f"!ai listen channels allow {foreign_channel.id}", "isn't a channel of this server"),
    ]
    for command, needle in cases:
        assert needle in await admin(bot, command), command
    assert cog.governance.data(bot.guild.id) == {}


async def test_slash_commands_for_admins_and_members(bot, provider):
    await bot.enable_slash("ai", "aiset")
    start = len(bot.events)
    await bot.slash("aiset budget set", author=bot.admin, who="user", amount="500", unit="tokens")
    await bot.slash("aiset listen mode", author=bot.admin, mode="mention")
    await bot.slash("aiset policy tool", author=bot.admin, action="deny", tool="ping")
    await bot.slash("aiset policy show")
    await bot.settle()
    shown = "\n".join(e.content or "" for e in bot.events[start:] if e.kind in ("send", "edit"))
    assert "Daily budget of each member set to 500 tokens." in shown
    assert "Listening mode for this server set to `mention`." in shown
    assert "⛔ `ping` — `ping` is denied for the whole server (server rule)" in shown
    assert "500 tokens of 500 tokens left today (server default)" in shown


async def test_passive_mode_sheds_server_rate_limited_messages_silently(bot, provider, clock):
    await admin(bot, "!ai listen mode all")
    await admin(bot, "!ai ratelimit server 1 3600")
    assert len(await post(bot, "first")) == 1
    assert await post(bot, "second", author=bot.admin) == []
    assert await post(bot, "third") == []
    assert len(provider.chat_requests) == 1
    # an explicit /ai chat still says why
    assert "for this server" in await chat(bot, "why not?")


# --------------------------------------------------------------------------------------------
# DMs: the bot owner's limits (no server, so no admins)
# --------------------------------------------------------------------------------------------


async def in_dm(red: RedHarness, content: str, author=None) -> str:
    """``author`` (default: the member) writes ``content`` to the bot in a DM; the bot's answer."""
    author = author or red.member
    dm = await author.create_dm()
    before = {m.id for m in red.messages(dm)}
    await red.say(content, author=author, channel=dm)
    await red.settle()
    return "\n".join(m.content for m in red.messages(dm) if m.id not in before)


async def test_owner_sets_each_members_daily_budget_in_dms(bot, provider, clock):
    assert "each member in DMs set to 100 tokens" in text_of(await owner(bot, "!ai dm budget user 100"))
    provider.script(usage(), usage())
    assert await in_dm(bot, "!ai chat one") == "fine"
    shown = await in_dm(bot, "!ai budget show")
    assert "30 tokens of 100 tokens left today (the bot owner's limit for DMs)" in shown, shown
    assert await in_dm(bot, "!ai chat two") == "fine"
    refused = await in_dm(bot, "!ai chat three")
    resets = int((clock.now // DAY + 1) * DAY)
    assert refused == (
        f"⚠️ Your daily AI budget in DMs is used up: 0 tokens of 100 tokens left. It resets <t:{resets}:R>."
    )
    assert len(provider.chat_requests) == 2
    assert "100 tokens" in await in_dm(bot, "!ai stats")
    # The server has no budget: the same member is not limited there; another member has their own
    # DM budget, and the owner none.
    provider.script(usage(), usage(), usage())
    assert await chat(bot, "in the server") == "fine"
    assert await in_dm(bot, "!ai chat mine", author=bot.admin) == "fine"
    assert await in_dm(bot, "!ai chat boss", author=bot.owner) == "fine"
    clock.now = resets + 1
    provider.script(usage())
    assert await in_dm(bot, "!ai chat next day") == "fine"
    assert "removed" in text_of(await owner(bot, "!ai dm budget user none"))
    assert "no daily budget" in await in_dm(bot, "!ai budget show")


async def test_total_budget_of_all_dms(bot, provider, clock):
    assert "all DMs together set to 50 tokens" in text_of(await owner(bot, "!ai dm budget total 50"))
    provider.script(usage())
    assert await in_dm(bot, "!ai chat one") == "fine"
    refused = await in_dm(bot, "!ai chat two", author=bot.admin)
    assert refused.startswith(
        "⚠️ The daily AI budget of all DMs together is used up: 0 tokens of 50 tokens"
    ), refused
    assert "**All DMs together:** 0 tokens of 50 tokens left" in await in_dm(bot, "!ai budget show")


async def test_rate_limit_in_dms(bot, provider, clock):
    assert "each member in DMs set to 1 request per 60 s" in text_of(
        await owner(bot, "!ai dm ratelimit 1 60")
    )
    assert "1 request per 60 s" in await in_dm(bot, "!ai ratelimit show")
    assert await in_dm(bot, "!ai chat a") == "echo: member: a"
    refused = await in_dm(bot, "!ai chat b")
    assert refused.startswith(
        "⚠️ Too many requests: the limit in DMs is 1 request per 60 s for each member."
    ), refused
    assert await chat(bot, "c") == "echo: member: c"  # servers have their own limits
    clock.now += 61
    assert await in_dm(bot, "!ai chat d") == "echo: member: d"
    assert "removed" in text_of(await owner(bot, "!ai dm ratelimit off"))
    assert await in_dm(bot, "!ai chat e") == "echo: member: e"
    assert await in_dm(bot, "!ai chat f") == "echo: member: f"


async def test_dm_limits_are_shown_kept_and_only_the_owner_sets_them(bot, provider, clock):
    await owner(bot, "!ai dm budget user 2 usd")
    await owner(bot, "!ai dm ratelimit 5 60")
    shown = text_of(await owner(bot, "!ai dm"))
    assert "Chatting in DMs is on." in shown
    assert "each member in DMs: $2.00" in shown, shown
    assert "all DMs together: none" in shown
    assert "5 requests per 60 s" in shown
    refused = await in_dm(bot, "!ai dm budget user 999999")
    assert refused == "⚠️ Only the bot owner can use `ai dm budget`.", refused
    assert "Only the bot owner" in await admin(bot, "!ai dm ratelimit off")
    # Bad values say what is wrong and change nothing.
    assert "A USD budget" in text_of(await owner(bot, "!ai dm budget user lots usd"))
    assert "window in seconds" in text_of(await owner(bot, "!ai dm ratelimit 5"))
    # Settings survive a reload (they are in Red's Config).
    await owner(bot, "!reload skynet")
    shown = text_of(await owner(bot, "!ai dm show"))
    assert "each member in DMs: $2.00" in shown and "5 requests per 60 s" in shown, shown


@pytest.mark.every_backend
async def test_dm_spend_survives_a_reload(bot, provider, clock):
    await owner(bot, "!ai dm budget user 100")
    provider.script(usage())
    assert await in_dm(bot, "!ai chat one") == "fine"
    await owner(bot, "!reload skynet")
    bot.bot.get_cog("Skynet").governor.clock = clock  # the new cog's governor, on the same day
    assert "30 tokens of 100 tokens left" in await in_dm(bot, "!ai budget show")
