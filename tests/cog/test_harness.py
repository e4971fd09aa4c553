"""The offline Red harness (skynet_dev.harness) itself, driven with a throwaway cog."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import AsyncIterator, List, Optional

import discord
import pytest
from discord import app_commands
from redbot.core import Config, commands
from redbot.core.utils.predicates import MessagePredicate

from skynet_dev.harness import BotEvent, RedHarness

FRUITS = ["alpha", "beta", "gamma", "alpine"]


class Demo(commands.Cog):
    """A tiny cog exercising what the skynet cog does: hybrid groups, streaming edits."""

    def __init__(self) -> None:
        super().__init__()
        self.config = Config.get_conf(self, identifier=0x5EED, force_registration=True)
        self.config.register_global(note=None)
        self.seen_interaction: List[bool] = []

    @commands.hybrid_group(name="demo")
    async def demo(self, ctx: commands.Context) -> None:
        """Demo commands."""

    @demo.command(name="echo")
    @app_commands.describe(text="What to say back")
    async def demo_echo(self, ctx: commands.Context, *, text: str) -> None:
        """Say ``text``, then edit it twice (a miniature streamed reply)."""
        self.seen_interaction.append(ctx.interaction is not None)
        async with ctx.typing():
            msg = await ctx.send(text, allowed_mentions=discord.AllowedMentions.none())
        await asyncio.sleep(0.01)
        msg = await msg.edit(content=f"{text} ...")
        await asyncio.sleep(0.01)
        await msg.edit(content=f"{text} (done)")

    @demo.command(name="slow")
    async def demo_slow(self, ctx: commands.Context) -> None:
        """Answers without deferring first, after a pause."""
        await asyncio.sleep(0.2)
        await ctx.send("too late")

    @demo.group(name="sub")
    async def demo_sub(self, ctx: commands.Context) -> None:
        """A nested group."""

    @demo_sub.command(name="pick")
    async def demo_sub_pick(self, ctx: commands.Context, choice: str) -> None:
        """Pick a fruit."""
        await ctx.send(f"picked {choice}")

    @demo_sub_pick.autocomplete("choice")
    async def demo_sub_pick_choice(
        self, interaction: discord.Interaction, current: str
    ) -> List[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

    @commands.command()
    @commands.is_owner()
    async def secret(self, ctx: commands.Context) -> None:
        await ctx.send("owner only")

    @commands.command()
    async def boom(self, ctx: commands.Context) -> None:
        raise RuntimeError("kaboom")

    @commands.command()
    async def later(self, ctx: commands.Context) -> None:
        """Reply from a background task, as a cog streaming outside its command would."""

        async def stream() -> None:
            msg = await ctx.send("thinking")
            for part in ("thinking.", "thinking..", "done"):
                await asyncio.sleep(0.05)
                msg = await msg.edit(content=part)

        asyncio.create_task(stream())

    @commands.command()
    async def confirm(self, ctx: commands.Context) -> None:
        await ctx.send("Sure? (yes/no)")
        predicate = MessagePredicate.yes_or_no(ctx)
        await ctx.bot.wait_for("message", check=predicate, timeout=5)
        await ctx.send("confirmed" if predicate.result else "cancelled")

    @commands.command()
    async def note(self, ctx: commands.Context, *, text: str) -> None:
        await self.config.note.set(text)
        await ctx.send("noted")


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[RedHarness]:
    h = RedHarness(tmp_path / "red")
    await h.start()
    await h.bot.add_cog(Demo())
    yield h
    await h.close()


def kinds(events: List[BotEvent]) -> List[str]:
    return [e.kind for e in events]


async def test_prefix_command_streams_one_send_and_two_edits(harness: RedHarness) -> None:
    await harness.say("!demo echo hi")

    assert kinds(harness.events) == ["typing", "send", "edit", "edit"]
    send, first, second = harness.events[1:]
    assert first.message_id == second.message_id == send.message_id
    assert [e.content for e in (send, first, second)] == ["hi", "hi ...", "hi (done)"]
    assert send.at <= first.at <= second.at
    assert [m.content for m in harness.messages()] == ["hi (done)"]
    assert harness.messages()[0].edits == 2

    # The allowed_mentions payload the bot sent is observable: this send cannot ping anyone,
    # while edits carry Red's bot-wide default (users allowed; Discord never pings on an edit).
    assert send.allowed_mentions == {"parse": []} and not send.may_ping
    assert first.allowed_mentions == {"parse": ["users"], "replied_user": True}

    # dpytest's store has the final content too.
    fetched = await harness.channel.fetch_message(send.message_id)
    assert fetched.content == "hi (done)"
    assert harness.errors == []


async def test_slash_hybrid_command_defers_then_followup_then_edits(harness: RedHarness) -> None:
    with pytest.raises(LookupError, match="enable_slash"):
        await harness.slash("demo echo", text="hi")
    await harness.enable_slash("demo")

    interaction = await harness.slash("demo echo", text="hi")

    assert harness.bot.get_cog("Demo").seen_interaction == [True]
    assert not interaction.command_failed
    assert kinds(harness.events) == ["defer", "send", "edit", "edit"]
    defer, send, first, second = harness.events
    # The first followup after a defer becomes the "thinking" message: same id throughout.
    assert defer.message_id == send.message_id == first.message_id == second.message_id
    assert send.via == "followup" and send.allowed_mentions == {"parse": []}
    assert second.content == "hi (done)"
    [message] = harness.messages()
    assert (message.content, message.edits, message.loading) == ("hi (done)", 2, False)
    assert message.via == "interaction"  # created by the defer, answered by the followup
    fetched = await harness.channel.fetch_message(message.id)
    assert fetched.content == "hi (done)"
    history = [m.content async for m in harness.channel.history(limit=10)]
    assert "hi (done)" in history


async def test_slash_subcommand_of_nested_group_and_autocomplete(harness: RedHarness) -> None:
    await harness.enable_slash("demo")

    await harness.slash("demo sub pick", choice="beta")
    [event] = harness.events
    assert (event.kind, event.via, event.content) == ("send", "interaction", "picked beta")

    choices = await harness.autocomplete("demo sub pick", "choice", "al")
    assert choices == [{"name": "alpha", "value": "alpha"}, {"name": "alpine", "value": "alpine"}]
    assert harness.events[-1].kind == "autocomplete"


async def test_slow_initial_response_is_refused_like_discord_does(harness: RedHarness) -> None:
    await harness.enable_slash("demo")
    harness.interaction_ack_timeout = 0.1  # Discord: 3 s to defer or answer

    await harness.slash("demo slow")

    def chain(error: Optional[BaseException]) -> List[BaseException]:
        found = []
        while error is not None:
            found.append(error)
            error = getattr(error, "original", None) or error.__cause__
        return found

    refused = [e for e in chain(harness.errors[0]) if isinstance(e, discord.NotFound)]
    assert refused and refused[0].code == 10062  # Unknown interaction
    assert harness.messages() == []


async def test_command_waiting_for_a_reply(harness: RedHarness) -> None:
    await harness.say("!confirm", wait=False)  # waiting would deadlock: it waits for our reply
    await harness.wait_for(lambda e: e.content == "Sure? (yes/no)")
    await harness.say("yes")  # waits for every dispatched event, the prompt's command included

    assert [m.content for m in harness.messages()] == ["Sure? (yes/no)", "confirmed"]


async def test_red_core_set_api_stores_shared_tokens(harness: RedHarness) -> None:
    await harness.say("!set api openai api_key,sk-test", author=harness.owner)

    assert await harness.bot.get_shared_api_tokens("openai") == {"api_key": "sk-test"}
    assert harness.errors == []


async def test_owner_only_command_refuses_a_plain_member(harness: RedHarness) -> None:
    await harness.say("!secret", author=harness.member)
    assert isinstance(harness.last_error, commands.CheckFailure)
    assert harness.messages() == []

    await harness.say("!secret", author=harness.owner)
    assert [m.content for m in harness.messages()] == ["owner only"]


async def test_command_exception_surfaces_as_last_error(harness: RedHarness) -> None:
    await harness.say("!boom")

    error = harness.last_error
    assert isinstance(error, commands.CommandInvokeError)
    assert isinstance(error.original, RuntimeError) and str(error.original) == "kaboom"
    assert [m.content for m in harness.messages()] == ["`Error in command 'boom'.`"]

    with pytest.raises(commands.CommandInvokeError):
        await harness.say("!boom", raise_errors=True)


async def test_settle_waits_for_a_reply_streamed_from_a_background_task(harness: RedHarness) -> None:
    await harness.say("!later")
    assert "done" not in [m.content for m in harness.messages()]  # still streaming

    await harness.settle()
    assert [m.content for m in harness.messages()] == ["done"]
    assert kinds(harness.events) == ["send", "edit", "edit", "edit"]


async def test_wait_for_a_specific_event(harness: RedHarness) -> None:
    seen: List[str] = []
    harness.listeners.append(lambda e: seen.append(f"{e.kind}:{e.content}"))
    await harness.say("!later")

    event = await harness.wait_for(lambda e: e.kind == "edit" and e.content == "done", timeout=5)
    assert event.content == "done"
    assert seen == ["send:thinking", "edit:thinking.", "edit:thinking..", "edit:done"]
    await harness.settle()


async def test_red_slash_commands_enable_and_sync(harness: RedHarness) -> None:
    await harness.say("!slash enable demo", author=harness.owner)
    await harness.say("!slash sync", author=harness.owner)  # answered by the fake, no network

    assert [m.content for m in harness.messages()][-1] == "Synced 1 commands."
    await harness.slash("demo sub pick", choice="gamma")
    assert harness.messages()[-1].content == "picked gamma"
    assert harness.errors == []


PROBE_COG = """
from redbot.core import commands


class Probe(commands.Cog):
    @commands.command()
    async def probe(self, ctx):
        await ctx.send("probe ok")


async def setup(bot):
    await bot.add_cog(Probe())
"""


async def test_red_load_command_loads_a_cog_from_a_cog_path(tmp_path: Path) -> None:
    package = tmp_path / "cogs" / "harnessprobe"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PROBE_COG, encoding="utf-8")

    async with RedHarness(tmp_path / "red", cog_paths=[tmp_path / "cogs"]) as h:
        await h.say("!load harnessprobe", author=h.owner)
        await h.say("!probe")
        assert [m.content for m in h.messages()] == ["Loaded `harnessprobe`.", "probe ok"]
        assert h.errors == []


# Two consecutive tests, each with its own harness (and event loop): nothing carries over.
async def test_isolation_first_sets_data(harness: RedHarness) -> None:
    await harness.say("!set api openai api_key,sk-first", author=harness.owner)
    await harness.say("!note remember me")
    assert await harness.bot.get_shared_api_tokens("openai") == {"api_key": "sk-first"}
    assert await harness.bot.get_cog("Demo").config.note() == "remember me"


async def test_isolation_second_sees_nothing(harness: RedHarness) -> None:
    assert await harness.bot.get_shared_api_tokens("openai") == {}
    assert await harness.bot.get_cog("Demo").config.note() is None
    assert harness.events == [] and harness.errors == []


async def test_harnesses_one_after_another_in_one_loop(tmp_path: Path) -> None:
    async with RedHarness(tmp_path / "a") as first:
        await first.say("!set api openai api_key,sk-a", author=first.owner)
    async with RedHarness(tmp_path / "b") as second:
        assert await second.bot.get_shared_api_tokens("openai") == {}
    # The same folder again: the data persisted on disk comes back (console restarts).
    async with RedHarness(tmp_path / "a") as again:
        assert await again.bot.get_shared_api_tokens("openai") == {"api_key": "sk-a"}


async def test_bot_name_is_opt_in(tmp_path: Path) -> None:
    async with RedHarness(tmp_path / "a") as default:
        assert default.guild.me.display_name == "FakeApp_nick"  # dpytest's names, unless asked
    async with RedHarness(tmp_path / "b", bot_name="Skynet") as named:
        assert named.bot.user.name == named.guild.me.display_name == "Skynet"


async def test_start_and_close_are_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    h = RedHarness(tmp_path / "red")
    await h.start()
    await h.close()
    elapsed = time.perf_counter() - started
    print(f"start()+close(): {elapsed * 1000:.0f} ms")
    assert elapsed < 5  # generous: ~0.15 s on the 2-core dev machine
