"""Fixtures: a real Red bot (RedHarness) with skynet loaded, talking to a local provider."""

from __future__ import annotations

import os
from pathlib import Path
from typing import AsyncIterator, List, Optional

import discord
import pytest

from skynet_dev.discord_limits import DiscordLimits
from skynet_dev.harness import BotMessage, RedHarness
from skynet_dev.mock_openai import MockOpenAI

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-test-4f9a1c2e7b3d5a8f6e0c"
MODELS = ["gpt-test", "gpt-other", "llama3:8b"]


@pytest.fixture
async def provider() -> AsyncIterator[MockOpenAI]:
    """A local OpenAI-compatible server that only accepts ``KEY``."""
    async with MockOpenAI(api_key=KEY, models=list(MODELS)) as server:
        yield server


@pytest.fixture
async def red(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[RedHarness]:
    """A real Red bot over dpytest, skynet's folder on its cog path, nothing loaded yet.

    The fake Discord is as strict as Discord (skynet_dev.discord_limits): over-long messages are
    refused, and a test fails if the bot got any 429. Tests whose *script* sends commands faster
    than people type are marked ``discord_bursts`` (and tests that switch the pacer off are treated
    alike): message bodies are still checked, rates not.
    """
    bursts = request.node.get_closest_marker("discord_bursts") is not None
    # Tests that switch the pacer off (fixtures `unpaced`, `fast`) are not about Discord's rates.
    bursts = bursts or bool({"unpaced", "fast"} & set(request.fixturenames))
    limits = DiscordLimits("bodies" if bursts else "strict")
    # The local provider runs in this event loop: its keep-alive connection handlers are not
    # the bot's work, so settle() must not wait for them.
    harness = RedHarness(tmp_path / "red", cog_paths=[REPO], background=MockOpenAI.owns_task, limits=limits)
    await harness.start()
    yield harness
    await harness.close()
    if limits.rate_limited:
        if os.environ.get("SKYNET_RATE_LIMIT_REPORT"):
            with open(os.environ["SKYNET_RATE_LIMIT_REPORT"], "a") as report:
                report.write(f"{request.node.nodeid} {len(limits.rate_limited)}\n")
        pytest.fail(
            f"Discord would have answered {len(limits.rate_limited)} request(s) with 429: "
            f"{limits.rate_limited[:3]}"
        )


async def owner(red: RedHarness, content: str) -> List[BotMessage]:
    """The bot owner sends ``content``; returns the bot's new messages."""
    return await say(red, content, author=red.owner)


async def say(red: RedHarness, content: str, *, author: Optional[discord.Member] = None) -> List[BotMessage]:
    before = {m.id for m in red.messages()}
    await red.say(content, author=author)
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


def text_of(messages: List[BotMessage]) -> str:
    return "\n".join(m.content for m in messages)


@pytest.fixture
async def bot(red: RedHarness, provider: MockOpenAI) -> RedHarness:
    """skynet loaded by the owner and pointed at the local provider, as an owner would set it up."""
    assert "Loaded `skynet`" in text_of(await owner(red, "!load skynet")), red.last_error
    await owner(red, f"!set api mock api_key,{KEY}")
    await owner(red, f"!ai provider add mock {provider.base_url} mock")
    reply = text_of(await owner(red, "!ai model set global mock:gpt-test"))
    assert "set to `mock:gpt-test`" in reply, reply
    provider.requests.clear()
    red.limits.reset_windows()  # the owner set the bot up long before members chat
    return red


@pytest.fixture
def cog(bot: RedHarness):
    return bot.bot.get_cog("Skynet")
