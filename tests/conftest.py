"""Fixtures: a real Red bot (RedHarness) with skynet loaded, talking to a local provider."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional

import discord
import pytest

from skynet_dev.discord_limits import DiscordLimits
from skynet_dev.harness import BotMessage, RedHarness
from skynet_dev.mock_openai import MockOpenAI
from skynet_dev.postgres import LocalPostgres, postgres_available

REPO = Path(__file__).resolve().parents[1]
# Red Config backends the harness-based tests run on (``--red-backend``; default: both).
RED_BACKENDS = ("json", "postgres")
# The modules whose tests are about what is stored (counters, data rights, migrations, memory
# revisions...) run on every backend, and so do tests marked ``every_backend`` in other modules
# (settings, personas, policies... that are stored, shown back or survive a reload); the rest
# (streaming, tools, faults, listening, refusals) on the first, which keeps the suite inside CI's time.
CONFIG_BACKED_MODULES = {
    "test_data",
    "test_faults_storage",
    "test_smoke",
    "test_stats",
    "test_usage_migration",
    "test_privacy_datamap",  # issue 15: the data map covers both backends' stores
    "test_privacy_property",
    "test_memory_revisions",
}
KEY = "sk-test-4f9a1c2e7b3d5a8f6e0c"
MODELS = ["gpt-test", "gpt-other", "llama3:8b"]


@pytest.fixture
async def provider() -> AsyncIterator[MockOpenAI]:
    """A local OpenAI-compatible server that only accepts ``KEY``."""
    async with MockOpenAI(api_key=KEY, models=list(MODELS)) as server:
        yield server


@pytest.fixture
async def red(tmp_path: Path, red_backend: str, request: pytest.FixtureRequest) -> AsyncIterator[RedHarness]:
    """A real Red bot over dpytest, skynet's folder on its cog path, nothing loaded yet.

    Runs once per Config backend chosen with ``--red-backend`` (JSON files, PostgreSQL).

    The fake Discord is as strict as Discord (skynet_dev.discord_limits): over-long messages are
    refused, and a test fails if the bot got any 429. Tests whose *script* sends commands faster
    than people type are marked ``discord_bursts`` (and tests that switch the pacer off are treated
    alike): message bodies are still checked, rates not.
    """
    storage = await red_storage(red_backend, request)
    bursts = request.node.get_closest_marker("discord_bursts") is not None
    # Tests that switch the pacer off (fixtures `unpaced`, `fast`) are not about Discord's rates.
    bursts = bursts or bool({"unpaced", "fast"} & set(request.fixturenames))
    limits = DiscordLimits("bodies" if bursts else "strict")
    # The local provider runs in this event loop: its keep-alive connection handlers are not
    # the bot's work, so settle() must not wait for them.
    harness = RedHarness(
        tmp_path / "red", cog_paths=[REPO], background=MockOpenAI.owns_task, limits=limits, **storage
    )
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


EMBED = "text-embedding-3-small"  # the embeddings model the local provider serves for memory tests


@pytest.fixture
def mem(bot: RedHarness, provider: MockOpenAI, cog) -> RedHarness:
    """skynet with embeddings on the local provider; replies need not wait a second apart."""
    from skynet.delivery.pacing import Pacer

    provider.models.append(EMBED)
    provider.embeddings = "words"
    cog.pacer = Pacer(channel_interval=0.0)
    return bot


# ---------------------------------------------------------------------------------------------
# Config backends: the tests of CONFIG_BACKED_MODULES run on Red's JSON driver and on its
# PostgreSQL driver against a real local PostgreSQL (pgserver), started once per session.
# ---------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--red-backend",
        default=os.environ.get("SKYNET_RED_BACKENDS", ",".join(RED_BACKENDS)),
        help="comma-separated Red Config backends for harness tests: json, postgres "
        "(default: both, or $SKYNET_RED_BACKENDS)",
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: three workers per core, at most 8. Most cog tests wait on Discord's pacing
    (5 messages per 5 s in a channel), not on the CPU, so two workers per core left it idle a
    quarter of the time (measured: 10.3 min of CPU in 7.2 min on 2 cores with 4 workers)."""
    return max(2, min(8, 3 * (os.cpu_count() or 1)))


def pytest_configure(config: pytest.Config) -> None:
    """Collect garbage less often in the test processes: each holds a large heap that lives for the
    whole run (Red, discord.py, openai, the bot's import of skynet) and every test builds a Red bot,
    so Python's default (a collection every 700 allocations) spent ~10 % of a cog test's CPU
    scanning it (measured with ``gc.callbacks`` over ``tests/cog/test_settings.py``: 2.0 s of 19.5 s;
    with this and the freeze below 0.6 s of 16.9 s). The bot's behaviour does not depend on it."""
    gc.set_threshold(20_000, 20, 20)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported stays for the run: frozen, later collections skip it."""
    gc.collect()
    gc.freeze()


# Files with one long test (a pip install, console subprocesses, MCP server processes) start first:
# with one worker per file, a long file that starts last keeps the whole run waiting for it.
SLOW_FILES = ("test_install.py", "test_console.py", "test_mcp.py", "test_faults.py", "test_privacy_property.py")


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FILES.index(name) if name in SLOW_FILES else len(SLOW_FILES)

    items.sort(key=rank)  # stable: the order inside each file and among the others is kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "red_backend" in metafunc.fixturenames:
        chosen = [b.strip() for b in metafunc.config.getoption("--red-backend").split(",") if b.strip()]
        unknown = set(chosen) - set(RED_BACKENDS)
        if unknown:
            raise pytest.UsageError(
                f"--red-backend: unknown {sorted(unknown)}; use {', '.join(RED_BACKENDS)}"
            )
        every = metafunc.definition.get_closest_marker("every_backend") is not None
        if not every and metafunc.module.__name__.rsplit(".", 1)[-1] not in CONFIG_BACKED_MODULES:
            chosen = chosen[:1]  # Config plays no part in what these test: the first backend only
        metafunc.parametrize("red_backend", chosen)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A throw-away PostgreSQL server for the session (skips Postgres tests if unavailable)."""
    why_not = postgres_available()
    if why_not:
        pytest.skip(f"PostgreSQL backend unavailable: {why_not}")
    server = LocalPostgres().start()
    yield server
    server.stop()


async def red_storage(backend: str, request: pytest.FixtureRequest) -> Dict[str, Any]:
    """RedHarness storage arguments for ``backend``; a Postgres database starts empty every test."""
    if backend == "json":
        return {}
    server: LocalPostgres = request.getfixturevalue("postgres_server")
    await server.wipe()  # the previous test's data (Red's driver itself caches nothing)
    return {"storage_type": "Postgres", "storage_details": server.storage_details}


# ---------------------------------------------------------------------------------------------
# Where the suite's CPU goes: with SKYNET_CPU_REPORT=<file>, each test appends its CPU seconds
# (this worker's, and its finished child processes') to the file. ``scripts/cpu_report.py`` sums
# them per file. The suite is CPU-bound on 2 cores; this is how its time is found and cut.
# ---------------------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Optional[pytest.Item]) -> Iterator[None]:
    report = os.environ.get("SKYNET_CPU_REPORT")
    if not report:
        yield
        return
    import resource
    import time

    def cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    start, wall = cpu(), time.monotonic()
    yield
    with open(report, "a") as out:
        out.write(f"{item.nodeid}\t{cpu() - start:.3f}\t{time.monotonic() - wall:.3f}\n")
