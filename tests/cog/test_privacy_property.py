"""Privacy as a property (issue 15): random sequences of commands and messages by several members
in a channel, a thread and DMs (chat, context listening, remember, own instructions, budgets and
tool policies about them, consent, incognito), then Red's ``red_delete_data_for_user`` for one
member, or ``[p]ai memory purge`` in the server. A scan of every store — Red Config (JSON or
PostgreSQL), the cog's SQLite files (windows, usage, audit), chromadb (through its API) — then
finds neither that member's id nor any text only they wrote, while the others' data is intact.
Members in incognito, or who never consented where consent is required, leave nothing at all.

Sized for CI: a few examples from a fixed seed (``derandomize``), each on a fresh bot.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Dict, List, Set

import discord
import pytest
from conftest import EMBED, KEY, REPO, red_storage
from discord.ext.test import backend as dpy_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redbot.core.data_manager import cog_data_path

from skynet.delivery.pacing import Pacer
from skynet_dev.discord_limits import DiscordLimits
from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import MockOpenAI

pytestmark = pytest.mark.discord_bursts

KINDS = ("chat", "context", "remember", "myprompt", "budget", "policy", "consent", "incognito", "withdraw")
PLACES = ("channel", "thread", "dm")
EXAMPLES = 2

step = st.tuples(st.sampled_from(KINDS), st.integers(0, 2), st.sampled_from(PLACES))
steps_strategy = st.lists(step, min_size=4, max_size=7)


class World:
    """A fresh bot with three members (index 0 is the one deleted) and the texts each wrote."""

    def __init__(self, red: RedHarness, provider: MockOpenAI) -> None:
        self.red, self.provider = red, provider
        self.cog = red.bot.get_cog("Skynet")
        guild = red.guild
        self.members: List[discord.Member] = [red.member]
        for n, name in enumerate(("bob", "cleo")):
            user = dpy_backend.make_user(name, "0001", id_num=880000000000000100 + n)
            self.members.append(dpy_backend.make_member(user, guild))
        self.thread = red.make_thread("side talk")
        self.written: Dict[int, Set[str]] = {m.id: set() for m in self.members}
        self.in_dms: Set[str] = set()  # words written in DMs (a server purge leaves those)
        self.incognito: Set[int] = set()
        self.counter = 0

    def token(self, who: int) -> str:
        self.counter += 1
        word = f"zq{who}x{self.counter}w"
        return word

    async def say(self, content: str, author, channel=None) -> None:
        await self.red.say(content, author=author, channel=channel or self.red.channel)
        await self.red.settle()

    async def run(self, kind: str, index: int, place: str) -> None:
        member = self.members[index]
        if place == "dm":
            channel = await member.create_dm()
        else:
            channel = self.thread if place == "thread" else self.red.channel
        word = self.token(index)
        mine = member.id not in self.incognito
        if kind == "chat":
            await self.say(f"!ai chat tell me about {word}", member, channel)
        elif kind == "context" and place != "dm":
            await self.say(f"just chatting about {word} here", member, channel)
        elif kind == "remember":
            await self.say(f"!ai remember I like {word}", member, channel)
        elif kind == "myprompt":
            await self.say(f"!ai myprompt set call me {word}", member, channel)
            mine = True  # own instructions are kept in incognito too (the member's explicit choice)
        elif kind == "budget":
            await self.say(f"!ai budget member {member.id} 5000", self.red.admin)
            return
        elif kind == "policy":
            await self.say(f"!ai policy tool deny remember {member.mention}", self.red.admin)
            return
        elif kind == "consent":
            await self.say("!ai consent give", member, channel)
            return
        elif kind == "withdraw":
            await self.say("!ai consent withdraw", member, channel)
            return
        elif kind == "incognito":
            state = "off" if member.id in self.incognito else "on"
            await self.say(f"!ai incognito {state}", member, channel)
            (self.incognito.discard if state == "off" else self.incognito.add)(member.id)
            return
        else:
            return
        if mine:
            self.written[member.id].add(word)
            if place == "dm" or kind == "myprompt":  # own instructions are the member's, not a server's
                self.in_dms.add(word)

    # -- the scan

    async def config_dump(self, choices_of: Set[int] = frozenset()) -> str:
        """Everything in Config. ``choices_of``: members whose only kept values may be their own
        choices (being in incognito, having consented): those are checked and left out."""
        config = self.cog.config
        users = await config.all_users()
        members = await config.all_members()
        for user_id in choices_of:
            own = {k: v for k, v in users.pop(user_id, {}).items() if v not in (None, {}, False)}
            assert set(own) <= {"incognito", "consent_at"}, own
            for guild_members in members.values():
                kept = {k: v for k, v in guild_members.pop(user_id, {}).items() if v not in (None, {}, False)}
                assert set(kept) <= {"consent_at"}, kept
        parts = [await config.all(), await config.all_guilds(), await config.all_channels(), members, users]
        return json.dumps(parts, default=str)

    def sqlite_dump(self) -> str:
        """Every row of the cog's own SQLite files (windows, usage, audit) as SQL text."""
        texts = []
        for path in sorted(cog_data_path(self.cog).rglob("*.sqlite3")):
            if "chroma" in path.parts:
                continue
            db = sqlite3.connect(path)
            texts.append("\n".join(db.iterdump()))
            db.close()
        return "\n".join(texts)

    async def chroma_dump(self) -> str:
        service = self.cog.memory_service
        if service._nothing_stored():
            return ""
        store = await service.ensure_open()
        records = await store.get(None)
        return json.dumps([[r.id, r.text, r.meta] for r in records], default=str)

    async def everything(self, choices_of: Set[int] = frozenset()) -> str:
        await self.cog.usage.flush()
        await self.cog.governance.flush()
        await self.cog.memory_service.windows.flush()
        return "\n".join([await self.config_dump(choices_of), self.sqlite_dump(), await self.chroma_dump()])


async def new_world(backend: str, request) -> tuple:
    storage = await red_storage(backend, request)
    provider = MockOpenAI(api_key=KEY, models=["gpt-test", EMBED])
    await provider.__aenter__()
    provider.embeddings = "words"
    red = RedHarness(
        Path(tempfile.mkdtemp(prefix="skynet-privacy-")) / "red",
        cog_paths=[REPO],
        background=MockOpenAI.owns_task,
        limits=DiscordLimits("bodies"),
        **storage,
    )
    await red.start()
    owner = red.owner
    for command in (
        "!load skynet",
        f"!set api mock api_key,{KEY}",
        f"!ai provider add mock {provider.base_url} mock",
        "!ai model set global mock:gpt-test",
    ):
        await red.say(command, author=owner)
        await red.settle()
    world = World(red, provider)
    world.cog.pacer = Pacer(channel_interval=0.0)
    await world.say("!ai listen context on", red.admin)
    return world


async def close_world(world: World) -> None:
    await world.red.close()
    await world.provider.__aexit__(None, None, None)


def assert_gone(dump: str, member_id: int, words: Set[str]) -> None:
    assert str(member_id) not in dump
    for word in words:
        assert word not in dump, word


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(steps=steps_strategy, purge=st.booleans())
async def test_deleting_a_member_leaves_nothing_of_theirs_and_keeps_the_others(steps, purge, red_backend, request):
    world = await new_world(red_backend, request)
    try:
        # Every kind of data about the member to delete, then a random interleaving by everyone.
        prologue = [("budget", 0, "channel"), ("policy", 0, "channel"), ("remember", 0, "thread"),
                    ("context", 0, "channel"), ("chat", 0, "dm"), ("myprompt", 0, "channel")]
        for kind, index, place in prologue + steps:
            await world.run(kind, index, place)
        # make sure the deleted member wrote something and others did too
        await world.run("chat", 0, "thread")
        await world.run("chat", 1, "channel")
        target = world.members[0]
        if purge:  # an admin purges them in this server: what is theirs outside it stays
            await world.say(f"!ai memory purge {target.id}", world.red.admin)
            dump = await world.everything()
            for word in world.written[target.id] - world.in_dms:
                assert word not in dump, word
            assert all(key.startswith("dm:") for key in world.cog.memory.turns_of(target.id))
            members = await world.cog.config.all_members()
            assert target.id not in members.get(world.red.guild.id, {})
            assert str(target.id) not in json.dumps(world.cog.governance.data(world.red.guild.id))
        else:
            await world.cog.red_delete_data_for_user(requester="user", user_id=target.id)
            dump = await world.everything()
            assert_gone(dump, target.id, world.written[target.id])
        other = world.members[1]  # the others' data is intact (their last chat at least)
        assert not world.written[other.id] or any(w in dump for w in world.written[other.id])
    finally:
        await close_world(world)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(steps=steps_strategy)
async def test_incognito_and_non_consenting_members_leave_nothing(steps, red_backend, request):
    world = await new_world(red_backend, request)
    try:
        quiet, refuser = world.members[1], world.members[2]
        await world.say("!ai incognito on", quiet)
        await world.say("!ai consent mode required", world.red.admin)
        await world.say("!ai consent give", world.members[0])
        await world.say("!ai consent give", quiet)
        for kind, index, place in steps:
            if kind in ("consent", "withdraw", "incognito", "myprompt", "budget", "policy"):
                kind = "chat"  # here the two members never change their choice, nor get admin rules
            if place == "dm":
                place = "channel"  # consent is the server's; DMs follow the owner's default (off)
            await world.run(kind, index, place)
        await world.run("chat", 1, "thread")
        await world.run("context", 2, "channel")
        await world.run("remember", 2, "channel")
        dump = await world.everything(choices_of={quiet.id, refuser.id})
        words = {f"zq1x{n}w" for n in range(world.counter + 1)} | {f"zq2x{n}w" for n in range(world.counter + 1)}
        for member in (quiet, refuser):
            assert str(member.id) not in dump
        for word in words:
            assert word not in dump, word
        assert any(w in dump for w in world.written[world.members[0].id]) or not world.written[world.members[0].id]
    finally:
        await close_world(world)
