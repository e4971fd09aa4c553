"""MCP through the cog, as the owner, admins and members use it: the owner registers real MCP
servers (the fake server over stdio and streamable HTTP, the published ``mcp-server-time``), an
admin enables them, the model (the local OpenAI-compatible server) calls an MCP tool and answers
from its result. Switches, policies and budgets hold; secrets are never shown; faults end with a
clear message while the chat goes on; unload and reload leave no child process."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import AsyncIterator, Iterator, List

import pytest
from conftest import REPO, owner, say, text_of

from skynet_dev.harness import RedHarness
from skynet_dev.mcp_servers import (
    HttpFakeServer,
    alive,
    children,
    fake_command,
    mcp_task,
    read_pid,
    time_command,
)
from skynet_dev.mock_openai import MockOpenAI, Reply

SECRET = "tok-9f8e7d6c5b4a39281706"


@pytest.fixture
async def red(tmp_path: Path) -> AsyncIterator[RedHarness]:
    """Like conftest's; settle() doesn't wait for the MCP sessions' long-lived tasks."""
    harness = RedHarness(
        tmp_path / "red",
        cog_paths=[REPO],
        background=lambda task: MockOpenAI.owns_task(task) or mcp_task(task),
    )
    await harness.start()
    yield harness
    await harness.close()


@pytest.fixture(scope="module")
def http_server() -> Iterator[HttpFakeServer]:
    with HttpFakeServer() as server:
        yield server


def command_line(words: List[str]) -> str:
    return " ".join(shlex.quote(w) for w in words)


def tool_messages(provider: MockOpenAI, index: int = -1) -> List[str]:
    return [m["content"] for m in provider.chat_requests[index]["messages"] if m["role"] == "tool"]


def offered(provider: MockOpenAI, index: int = 0) -> List[str]:
    return [t["function"]["name"] for t in provider.chat_requests[index].get("tools", [])]


async def admin(bot: RedHarness, content: str) -> str:
    return text_of(await say(bot, content, author=bot.admin))


async def test_model_calls_an_mcp_tool_and_answers_and_unload_stops_the_process(
    bot: RedHarness, provider: MockOpenAI, tmp_path: Path
) -> None:
    pid_file = tmp_path / "fake.pid"
    await owner(bot, f"!set api mcp-fake API_TOKEN,{SECRET}")
    added = text_of(
        await owner(bot, "!ai mcp add fake " + command_line(fake_command("--pid-file", str(pid_file))))
    )
    assert "Added the MCP server `fake` (stdio" in added and "Connected:" in added, added
    assert "off until an admin runs `!ai mcp enable fake`" in added
    first_pid = read_pid(pid_file)

    await say(bot, "!ai chat hello")  # off until enabled: not offered
    assert "tools" not in provider.chat_requests[-1]
    assert "now on for this server" in await admin(bot, "!ai mcp enable fake")

    provider.script(Reply.call("fake__env", {"name": "API_TOKEN"}), Reply.text("Your token is set up."))
    replies = await say(bot, "!ai chat is my token set?")
    await bot.settle(timeout=20)
    assert (
        text_of(replies) == "Your token is set up." or bot.messages()[-1].content == "Your token is set up."
    )
    assert "fake__env" in offered(provider, -2)
    result = tool_messages(provider)[0]
    assert f"API_TOKEN is set ({len(SECRET)} characters)" in result and 'trust="untrusted"' in result

    listing = text_of(await owner(bot, "!ai mcp list"))
    assert "**fake** — connected" in listing and "median call" in listing
    assert "fake__env" in text_of(await owner(bot, "!ai tools stats"))
    tested = text_of(await owner(bot, "!ai mcp test fake"))
    assert "✅ `fake` answers" in tested
    assert all(SECRET not in m.content for m in bot.messages())

    assert "unloaded" in text_of(await owner(bot, "!unload skynet"))
    assert not alive(first_pid)
    assert "Loaded" in text_of(await owner(bot, "!load skynet"))
    # The tools are known at load (cached) and nothing is started until one is used.
    assert "fake__echo" in text_of(await say(bot, "!ai tools list"))
    assert not [p for p in children() if p == read_pid(pid_file)]
    provider.script(Reply.call("fake__echo", {"text": "again"}), Reply.text("Echoed."))
    await say(bot, "!ai chat echo again")
    await bot.settle(timeout=20)
    assert tool_messages(provider)[0].count("again") >= 1
    second_pid = read_pid(pid_file)
    assert second_pid != first_pid and alive(second_pid)
    await owner(bot, "!unload skynet")
    assert not alive(second_pid)


async def test_switches_policies_and_budgets_hold_for_mcp_tools(
    bot: RedHarness, provider: MockOpenAI, http_server: HttpFakeServer
) -> None:
    await owner(bot, f"!set api mcp-web bearer,{SECRET}")
    added = text_of(await owner(bot, f"!ai mcp add web {http_server.url}"))
    assert "streamable HTTP" in added and "Connected:" in added, added
    await admin(bot, "!ai tools enable all")  # the owner's servers are enabled by name, not by `all`
    await admin(bot, "!ai mcp enable web:echo")
    await admin(bot, "!ai mcp enable channel web:auth")
    await admin(bot, "!ai mcp disable channel web:echo")
    await say(bot, "!ai chat hi")
    names = offered(provider, -1)
    assert "web__auth" in names and "web__echo" not in names and "web__add" not in names

    # A policy denies a tool by name for this member: the model is told, the chat goes on.
    await admin(bot, "!ai mcp enable channel web")
    assert "denied for" in await admin(bot, f"!ai policy tool deny web__add {bot.member.mention}")
    provider.script(Reply.call("web__add", {"a": 1, "b": 2}), Reply.text("I may not add here."))
    await say(bot, "!ai chat add 1 and 2")
    await bot.settle(timeout=20)
    assert "web__add" not in offered(provider, -2)  # not offered to this member…
    assert "disabled here" in tool_messages(provider)[0] or "denied" in tool_messages(provider)[0]
    assert bot.messages()[-1].content == "I may not add here."

    # Budgets count the tool steps' tokens.
    await admin(bot, "!ai budget set user 100")
    provider.script(
        Reply.call("web__auth", {}, prompt_tokens=60, completion_tokens=5),
        Reply.text("You sent a token.", prompt_tokens=60, completion_tokens=5),
    )
    await say(bot, "!ai chat did I send a token?")
    await bot.settle(timeout=20)
    assert f"authorization: {len('Bearer ' + SECRET)} characters" in tool_messages(provider)[0]
    refused = text_of(await say(bot, "!ai chat and again?"))
    assert "budget here is used up" in refused
    assert all(SECRET not in m.content for m in bot.messages())
    await owner(bot, "!ai mcp remove web")


async def test_faults_end_with_a_clear_message_and_the_chat_goes_on(
    bot: RedHarness, provider: MockOpenAI, tmp_path: Path
) -> None:
    pid_file = tmp_path / "odd.pid"
    await owner(bot, "!ai mcp add fake " + command_line(fake_command("--odd", "--pid-file", str(pid_file))))
    await admin(bot, "!ai mcp enable fake")
    tools = text_of(await owner(bot, "!ai mcp tools fake"))
    assert "`not_an_object` ⚠️ skipped: its input schema is of type `string`, not `object`" in tools
    assert "`fake__get_weather_2`" in tools and "(schema repaired)" in tools

    # An image result: shown to a vision model as an image part, and attached to the reply.
    await owner(bot, "!ai model vision gpt-test on")
    provider.script(Reply.call("fake__image", {}), Reply.text("A tiny transparent pixel."))
    await say(bot, "!ai chat show me the image")
    await bot.settle(timeout=20)
    last = provider.chat_requests[-1]["messages"][-1]
    assert last["role"] == "user" and "untrusted data" in last["content"][0]["text"]
    assert last["content"][1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    files = [f for sent in bot.sent_files.values() for f in sent]
    assert files and files[-1][0] == "tool-image-1.png" and files[-1][1].startswith(b"\x89PNG")

    # Crash mid-call: the model reads what happened and answers; the server comes back.
    provider.script(Reply.call("fake__crash", {}), Reply.text("The tool crashed, sorry."))
    await say(bot, "!ai chat crash it")
    await bot.settle(timeout=20)
    assert "stopped during the call" in tool_messages(provider)[0]
    assert bot.messages()[-1].content == "The tool crashed, sorry."

    # A hang is cut at the owner's timeout; a huge result is capped.
    assert "up to 1 s" in text_of(await owner(bot, "!ai mcp timeout fake 1"))
    provider.script(
        Reply.call("fake__sleep", {"seconds": 60}, ("fake__huge", {"chars": 500_000})), Reply.text("Done.")
    )
    await say(bot, "!ai chat sleep and be huge")
    await bot.settle(timeout=30)
    slept, huge = tool_messages(provider)
    assert "took longer than 1 s" in slept
    assert len(huge) < 12_000 and "truncated" in huge
    await owner(bot, "!ai mcp timeout fake 30")

    # Removed while a call runs: the call ends with a message, the answer still comes.
    provider.script(Reply.call("fake__sleep", {"seconds": 60}), Reply.text("It went away."))
    pid = read_pid(pid_file)
    await bot.say("!ai chat sleep long", wait=False)
    for _ in range(100):
        if (
            len(provider.chat_requests)
            and provider.chat_requests[-1]["messages"][-1]["content"] == "sleep long"
        ):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    assert "Removed the MCP server `fake`" in text_of(await owner(bot, "!ai mcp remove fake"))
    await bot.settle(timeout=20)
    assert "removed while the call ran" in tool_messages(provider)[0]
    assert "It went away." in [m.content for m in bot.messages()]  # the reply (sent before the removal)
    assert not alive(pid)

    # Bad input for the owner: clear, nothing registered.
    reply = text_of(await owner(bot, "!ai mcp add nope definitely-not-a-command-xyz"))
    assert "can't be reached yet" in reply and "was not found" in reply
    assert "There is no MCP server `ghost`" in text_of(await owner(bot, "!ai mcp test ghost"))
    assert "Only the bot owner" in text_of(await say(bot, "!ai mcp add x y"))
    assert "Only server admins" in await say_text(bot, "!ai mcp enable nope")
    await owner(bot, "!ai mcp remove nope")
    assert all(len(m.content) <= 2000 for m in bot.messages())


async def say_text(bot: RedHarness, content: str) -> str:
    return text_of(await say(bot, content))


async def test_published_time_server_through_the_cog(bot: RedHarness, provider: MockOpenAI) -> None:
    added = text_of(await owner(bot, "!ai mcp add time " + command_line(time_command())))
    assert "`time__get_current_time`" in added, added
    await admin(bot, "!ai mcp enable time")
    provider.script(
        Reply.call("time__get_current_time", {"timezone": "Asia/Tokyo"}),
        Reply.text("It is evening in Tokyo."),
    )
    await say(bot, "!ai chat what time is it in Tokyo?")
    await bot.settle(timeout=20)
    assert '"timezone": "Asia/Tokyo"' in tool_messages(provider)[0]
    assert bot.messages()[-1].content == "It is evening in Tokyo."
    await owner(bot, "!unload skynet")
    assert not [c for c in children() if "mcp_server_time" in " ".join(_cmdline(c))]


def _cmdline(pid: int) -> List[str]:
    import psutil

    try:
        return psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:
        return []
