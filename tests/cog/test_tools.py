"""Tools as members and admins use them: the model searches the web through a fake SearXNG and
answers with citations while a status line shows; admins list, enable, disable and inspect tools;
a second cog adds a tool the model then calls; direct ``ai search``/``scrape`` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import AsyncIterator

import pytest
from conftest import REPO, owner, say, text_of

from skynet_dev.fake_search import FakeBackends
from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import MockOpenAI, Reply


@pytest.fixture
async def red(tmp_path: Path) -> AsyncIterator[RedHarness]:
    """Like conftest's, plus the test cogs folder (``toolecho``)."""
    harness = RedHarness(
        tmp_path / "red", cog_paths=[REPO, REPO / "tests" / "cogs"], background=MockOpenAI.owns_task
    )
    await harness.start()
    yield harness
    await harness.close()


@pytest.fixture
async def search() -> AsyncIterator[FakeBackends]:
    async with FakeBackends() as server:
        yield server


@pytest.fixture
async def web(bot: RedHarness, search: FakeBackends) -> RedHarness:
    await owner(bot, f"!set api searxng api_url,{search.url}")
    return bot


async def test_model_searches_the_web_and_answers_with_citations(
    web: RedHarness, provider: MockOpenAI
) -> None:
    reply = text_of(await owner(web, "!ai tools enable web_search"))
    assert "`web_search` is now on for this server" in reply
    provider.script(
        Reply.call("web_search", {"query": "searx"}),
        Reply.text("SearX A says first [1].\n\n[1] SearX A — https://searx.example/a"),
    )
    start = len(web.events)
    await web.say("!ai chat what does searx say?")
    await web.settle(timeout=20)
    shown = [e.content for e in web.events[start:] if e.kind in ("send", "edit")]
    assert "*🔎 Searching the web for “searx”…*" in shown  # the status line, then replaced
    assert shown[-1].startswith("SearX A says first [1].") and "Searching" not in shown[-1]
    first, second = provider.chat_requests
    assert [t["function"]["name"] for t in first["tools"]] == ["web_search"]
    result = [m for m in second["messages"] if m["role"] == "tool"][0]["content"]
    assert "https://searx.example/a" in result and 'trust="untrusted"' in result


async def test_disabled_or_unconfigured_tools_are_not_offered(bot: RedHarness, provider: MockOpenAI) -> None:
    await owner(bot, "!ai tools enable web_search")  # no search backend configured yet
    await owner(bot, "!ai tools enable calculator")
    await owner(bot, "!ai tools disable channel calculator")
    await say(bot, "!ai chat hi")
    assert "tools" not in provider.chat_requests[-1]
    listing = text_of(await say(bot, "!ai tools list"))
    assert (
        "**web_search** ✅ on (this server): not offered until the owner sets up a search backend" in listing
    )
    assert "**calculator** ⛔ off (this channel)" in listing
    assert "`!set api serpapi api_key,<key>`" in listing
    info = text_of(await say(bot, "!ai tools info web_search"))
    assert "Available: no, needs a search backend" in info and "`query`*" in info
    assert all(len(m.content) <= 2000 for m in bot.messages())


async def test_admin_only_switches_and_unknown_tool(bot: RedHarness) -> None:
    reply = text_of(await say(bot, "!ai tools enable calculator"))
    assert "Only server admins" in reply
    reply = text_of(await owner(bot, "!ai tools enable nosuch"))
    assert "There is no tool `nosuch`" in reply
    reply = text_of(await owner(bot, "!ai tools backend search bing"))
    assert "serpapi, searxng, firecrawl" in reply


async def test_second_cog_registers_a_tool_the_model_calls(bot: RedHarness, provider: MockOpenAI) -> None:
    assert "Loaded `toolecho`" in text_of(await owner(bot, "!load toolecho")), bot.last_error
    echo = bot.bot.get_cog("ToolEcho")
    assert echo.tool_name == "toolecho__weather"
    provider.script(Reply.call("toolecho__weather", {"city": "Paris"}), Reply.text("It is sunny in Paris."))
    replies = await say(bot, "!ai chat weather in paris?")
    assert text_of(replies) == "It is sunny in Paris."
    assert echo.calls == [({"city": "Paris"}, bot.member.id)]
    assert "toolecho__weather" in text_of(await say(bot, "!ai tools list"))
    schema_text = text_of(await say(bot, "!ai tools schema"))
    assert '"name": "toolecho__weather"' in schema_text
    await owner(bot, "!unload toolecho")
    assert "toolecho__weather" not in text_of(await say(bot, "!ai tools list"))


async def test_direct_search_scrape_and_stats(web: RedHarness, search: FakeBackends) -> None:
    reply = text_of(await say(web, "!ai search searx"))
    assert "disabled here" in reply  # the same switch as for the model
    await owner(web, "!ai tools enable all")
    reply = text_of(await say(web, "!ai search searx"))
    assert "[1] SearX A" in reply and "<https://searx.example/a>" in reply
    reply = text_of(await say(web, "!ai scrape http://169.254.169.254/latest/meta-data/"))
    assert "private network" in reply
    reply = text_of(await say(web, "!ai search " + "q" * 600))
    assert "at most 500 characters" in reply
    reply = text_of(await say(web, "!ai crawl https://example.com"))
    assert "needs" in reply and "firecrawl" in reply
    stats = text_of(await owner(web, "!ai tools stats"))
    assert "web_search" in stats and "scrape" in stats and "private_address" in stats
    await owner(web, "!unload skynet")  # telemetry is flushed on unload
    assert "Loaded" in text_of(await owner(web, "!load skynet"))
    stats = text_of(await owner(web, "!ai tools stats"))
    assert "web_search" in stats


async def test_schema_pages_are_valid_json_and_short(bot: RedHarness) -> None:
    messages = await say(bot, "!ai tools schema")
    assert all(len(m.content) <= 2000 for m in messages)
    body = "".join(m.content.removeprefix("```json\n").removesuffix("```") for m in messages)
    names = [tool["function"]["name"] for tool in json.loads(body)]
    assert names[:9] == [
        "autosearch", "calculator", "crawl", "generate_image", "ping", "remember", "remind_me", "scrape", "web_search"
    ]


async def test_tool_loop_stops_at_the_owners_step_limit_and_counts_every_step(
    bot: RedHarness, provider: MockOpenAI, cog
) -> None:
    assert "up to 2 rounds" in text_of(await owner(bot, "!ai tools steps 2"))
    await owner(bot, "!ai tools enable calculator")
    provider.default_reply = Reply.call(
        "calculator", {"expression": "1+1"}, prompt_tokens=100, completion_tokens=10
    )
    replies = await say(bot, "!ai chat add forever")
    assert "⚠️ I stopped after 2 rounds of tool use" in text_of(replies)
    assert len(provider.chat_requests) == 3
    # Every step's usage is recorded (3 requests × 110 tokens), although no answer came.
    assert cog.usage.ledger.pending(("global",)).total_tokens == 330


async def test_builtin_scrape_reads_an_allow_listed_intranet_page(
    bot: RedHarness, search: FakeBackends
) -> None:
    host = search.url.removeprefix("http://")
    reply = text_of(await owner(bot, f"!ai tools allow {host}"))
    assert f"`{host}`" in reply
    await owner(bot, "!ai tools enable scrape")
    reply = text_of(await say(bot, f"!ai scrape {search.url}/article"))
    assert "# Cats and dogs" in reply and "Dogs are loyal" in reply
    await owner(bot, f"!ai tools allow {host}")  # toggled off again
    assert "cooling down" in text_of(await say(bot, f"!ai scrape {search.url}/article"))
    reply = text_of(await owner(bot, f"!ai scrape {search.url}/article"))  # another user: no cooldown
    assert "Port" in reply and "isn't allowed" in reply


async def test_tools_commands_work_as_slash_commands(bot: RedHarness) -> None:
    await bot.enable_slash("ai", "aiset")
    start = len(bot.events)
    await bot.slash("aiset tools enable", tool="calculator", author=bot.owner)
    await bot.slash("aiset tools list")
    await bot.settle()
    shown = "\n".join(e.content or "" for e in bot.events[start:])
    assert "`calculator` is now on for this server" in shown
    assert "**calculator** ✅ on (this server)" in shown


async def test_status_line_trails_text_already_shown(bot: RedHarness, provider: MockOpenAI) -> None:
    await owner(bot, "!ai tools enable calculator")
    provider.script(
        Reply(
            chunks=["Let me ", "calculate."],
            tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}],
        ),
        Reply.text("It is 42.", first_delay=3),  # the model thinks: the status line gets its edit
    )
    start = len(bot.events)
    await bot.say("!ai chat what is 6 times 7?")
    await bot.settle(timeout=20)
    shown = [e.content for e in bot.events[start:] if e.kind in ("send", "edit")]
    assert "Let me calculate.\n\n*🧮 Calculating `6*7`…*" in shown
    assert shown[-1] == "Let me calculate.\n\nIt is 42."


async def test_a_failure_after_a_tool_step_still_counts_its_tokens(
    bot: RedHarness, provider: MockOpenAI, cog
) -> None:
    await owner(bot, "!ai tools enable calculator")
    provider.script(
        Reply.call("calculator", {"expression": "1+1"}, prompt_tokens=100, completion_tokens=10),
        Reply.error(400, message="Something else is wrong"),
    )
    replies = await say(bot, "!ai chat add")
    assert "⚠️" in text_of(replies) and "Something else is wrong" in text_of(replies)
    assert cog.usage.ledger.pending(("global",)).total_tokens == 110


async def test_governance_policy_denies_a_tool_to_a_member(bot: RedHarness, provider: MockOpenAI) -> None:
    """A tool switched on for the server but denied to a member by policy is not offered to them,
    and a call the model makes anyway is refused when it runs (the gate asks governance)."""
    await owner(bot, "!ai tools enable calculator")
    await owner(bot, "!ai tools enable ping")
    await owner(bot, f"!ai policy tool deny calculator {bot.member.mention}")
    await say(bot, "!ai chat hi")
    assert [t["function"]["name"] for t in provider.chat_requests[-1]["tools"]] == ["ping"]

    provider.script(Reply.call("calculator", {"expression": "6*7"}), Reply.text("I can't calculate here."))
    await say(bot, "!ai chat what is 6 times 7?")
    result = [m for m in provider.chat_requests[-1]["messages"] if m["role"] == "tool"][0]["content"]
    assert "ERROR (disabled)" in result and "42" not in result  # not offered, so refused if called

    await owner(bot, f"!ai policy tool inherit calculator {bot.member.mention}")
    await say(bot, "!ai chat hi again")
    assert sorted(t["function"]["name"] for t in provider.chat_requests[-1]["tools"]) == ["calculator", "ping"]


async def test_a_failure_after_a_tool_ran_does_not_run_the_tool_again(
    bot: RedHarness, provider: MockOpenAI
) -> None:
    """The retry policy re-runs a request that failed before anything was shown, but a tool that
    already ran (a web search costs money; `remember` saves) must not run twice."""
    await owner(bot, "!ai tools enable calculator")
    provider.script(
        Reply.call("calculator", {"expression": "6*7"}),
        Reply.error(500, message="upstream broke"),
        Reply.text("never asked for"),
    )
    reply = text_of(await say(bot, "!ai chat what is 6 times 7?"))
    assert len(provider.chat_requests) == 2  # the tool step, then the failed answer: no retry
    assert "⚠️" in reply  # one clean note
    assert "never asked for" not in reply
