"""The offline console: talk to the real skynet cog as a member of a simulated server.

A real Red bot (``RedHarness``: real Config under ``.skynet-data/console``, dpytest's simulated
guild) loads this checkout's cog. Each line you type is sent as a message in #general; the
bot's messages are printed as they appear, and streamed edits as they grow, with mentions and
timestamps shown the way Discord shows them. Lines starting with ``:`` are the console's own
commands (``:help``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from pathlib import Path
from typing import Callable, List, Optional, TextIO

import discord
import discord.ext.test as dpytest
import discord.ext.test.factories as dpy_factories
from redbot.core import commands

from skynet_dev.discord_limits import DiscordLimits
from skynet_dev.harness import BotEvent, RedHarness
from skynet_dev.markup import guild_names
from skynet_dev.printer import BOT_NAME, MENU_CONTROLS, StreamPrinter

REPO = Path(__file__).resolve().parents[1]

LOCAL_ENDPOINT = "local"
# The model asked for on SKYNET_BASE_URL when SKYNET_MODEL is unset and the server lists none
# (many local servers answer with whatever model they loaded, whatever the name).
FALLBACK_MODEL = "gpt-4o-mini"
PROVIDER_HELP = """\
No AI provider is reachable, so questions will get an error instead of an answer.
Set one when starting the console:
  OPENAI_API_KEY=sk-...  ./scripts/start.sh                          (OpenAI)
  SKYNET_BASE_URL=http://localhost:11434/v1 ./scripts/start.sh       (Ollama, LM Studio, vLLM...)
  optional: SKYNET_MODEL=<model>, SKYNET_API_KEY=<key for SKYNET_BASE_URL>
No model at hand? Run `.venv/bin/python -m skynet_dev.mock_openai --port 8000` in another
terminal and use SKYNET_BASE_URL=http://127.0.0.1:8000/v1 (it echoes what you say).
You can also configure providers from here: `:as owner`, then `!ai provider add ...`."""


PAGE_COMMANDS = {">": ">", "!next": ">", "<": "<", "!prev": "<", "!close": "x"}
OFFERED_SHOWN = 10  # model names listed when saying what a server offers

QUIT_COMMANDS = ("quit", "q", "exit")
# A console command: ``:word`` and its argument. Lowercase only, so ``:D`` and ``:P`` stay messages.
CONSOLE_COMMAND = re.compile(r":([a-z][a-z_-]*)(?:\s+(.*))?$")
CONSOLE_HELP = """\
Console commands (any other line is sent to #general as a message):
  :as owner|admin|member   who you are: the bot owner, a server admin, or a member (the start)
  >  or !next              turn the last menu to its next page; <  or !prev back; !close closes it
  :help                    this list
  :quit, :q, :exit         leave (Ctrl-D too)
The bot's own commands: `!help ai`."""


def offered(models: List[str]) -> str:
    """The models a server offers, as a short list."""
    shown = ", ".join(f"`{m}`" for m in models[:OFFERED_SHOWN])
    return shown + (f"… ({len(models)} in all)" if len(models) > OFFERED_SHOWN else "")


def global_model(harness: RedHarness) -> Optional[str]:
    """The model set globally (``endpoint:model``), if any."""
    # Imported only now: the loaded cog's own modules (Red loaded the package).
    from skynet.stores.settings import GLOBAL, Scope

    model = harness.bot.get_cog("Skynet").settings.layer(Scope(GLOBAL)).model
    return str(model) if model else None


async def set_global_model(harness: RedHarness, ref: str) -> Optional[str]:
    """Run ``!ai model set global <ref>`` as the owner; return the bot's refusal if it was not set."""
    events = await run_as(harness, harness.owner, f"!ai model set global {ref}")
    if global_model(harness) == ref:
        return None
    replies = [e.content for e in events if e.kind in ("send", "edit") and e.content]
    return (replies[-1] if replies else "(no answer)").replace("\n", " ")


async def use_listed_model(harness: RedHarness, endpoint: str, out: TextIO, refused: bool) -> None:
    """Answer with the first model the server lists; if it is down or lists none, still on it."""
    cog = harness.bot.get_cog("Skynet")
    try:
        models = await asyncio.wait_for(cog.catalog.models(endpoint), 30)
    except Exception:
        models = []  # check_provider explains why
    if models:
        await set_global_model(harness, f"{endpoint}:{models[0]}")
        if refused:
            out.write(f"Using `{endpoint}:{models[0]}` instead; **{endpoint}** offers {offered(models)}.\n")
        return
    # The server is down or lists no models: still answer on it (with a clear "couldn't
    # reach" error while it is down), never fall back to another endpoint such as OpenAI.
    from skynet.engine.settings import ModelRef
    from skynet.stores.settings import GLOBAL, Scope

    current = cog.settings.resolve(harness.guild.id, harness.channel.id).model
    name = current.name if current.endpoint == endpoint else FALLBACK_MODEL
    await cog.settings.set_model(Scope(GLOBAL), ModelRef(endpoint, name))


async def configure_provider(harness: RedHarness, out: TextIO) -> Optional[str]:
    """Apply the provider from the environment; return the endpoint to check, if any.

    A ``SKYNET_MODEL`` the cog refuses is reported with the cog's own words; on
    ``SKYNET_BASE_URL`` the console then answers with the first model the server lists."""
    bot, cog = harness.bot, harness.bot.get_cog("Skynet")
    base_url = os.environ.get("SKYNET_BASE_URL", "").strip()
    model = os.environ.get("SKYNET_MODEL", "").strip()
    if base_url:
        service = LOCAL_ENDPOINT if os.environ.get("SKYNET_API_KEY") else None
        if service:  # straight into Red's shared tokens: a typed command would echo the key
            await bot.set_shared_api_tokens(service, api_key=os.environ["SKYNET_API_KEY"].strip())
        await run_as(
            harness, harness.owner, f"!ai provider add {LOCAL_ENDPOINT} {base_url} {service or ''}".strip()
        )
        endpoint = LOCAL_ENDPOINT
    elif os.environ.get("OPENAI_API_KEY"):
        await bot.set_shared_api_tokens("openai", api_key=os.environ["OPENAI_API_KEY"].strip())
        endpoint = "openai"
    else:
        endpoint = cog.settings.resolve(harness.guild.id, harness.channel.id).model.endpoint
        if endpoint == "openai" and not (await bot.get_shared_api_tokens("openai")).get("api_key"):
            return None  # nothing configured, now or in an earlier session
    saved = global_model(harness)
    refusal = await set_global_model(harness, f"{endpoint}:{model}") if model else None
    if refusal:
        out.write(f"SKYNET_MODEL={model} was not applied. skynet answered: {refusal}\n")
    if base_url and (refusal or not model):
        await use_listed_model(harness, endpoint, out, refused=bool(refusal))
        if refusal and saved:  # a stand-in for this session only: the saved choice comes back
            harness.restore_model_at_exit = saved
    return endpoint


def is_menu_task(task: asyncio.Task) -> bool:
    """A Red menu (and anything waiting for the user's next reaction or message, via
    ``bot.wait_for``) runs until its timeout: the console must not wait for it to finish."""
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "")
    filename = getattr(getattr(coro, "cr_code", None), "co_filename", "")
    return (
        (name == "menu" and "menus" in filename)
        or name == "Client.wait_for"
        or (name == "wait_for" and filename.endswith(("asyncio/tasks.py", "asyncio\\tasks.py")))
    )


async def run_as(harness: RedHarness, author, content: str) -> List[BotEvent]:
    """``author`` types ``content``; returns what the bot did until it settled."""
    start = len(harness.events)
    await harness.say(content, author=author, wait=False)
    await harness.settle(timeout=600, ignore=is_menu_task)
    return harness.events[start:]


def is_dm_channel(harness: RedHarness) -> Callable[[int], bool]:
    """Whether a channel id is a DM channel (Red sends help longer than two pages to DMs)."""

    def check(channel_id: int) -> bool:
        return isinstance(harness.bot.get_channel(channel_id), discord.DMChannel)

    return check


def grant_manage_webhooks(harness: RedHarness) -> None:
    """What a server admin does when adding the bot: let it manage #general's webhooks, so
    persona replies come under the persona's name and avatar (not as ``**Name**: …``)."""
    data = dpy_factories.dict_from_channel(harness.channel)
    allow = discord.Permissions(manage_webhooks=True).value
    # A member overwrite is type 1 (dpytest's update_text_channel writes "member", which
    # discord.py does not recognise, so the permission would not apply).
    overwrite = {"id": str(harness.guild.me.id), "type": 1, "allow": str(allow), "deny": "0"}
    data["permission_overwrites"] = [*data.get("permission_overwrites", []), overwrite]
    dpytest.backend.get_state().parse_channel_update(data)


async def turn_page(harness: RedHarness, printer: StreamPrinter, author, direction: str, out: TextIO) -> None:
    """What clicking a menu's arrow does: ``author`` reacts to the last menu with its control."""
    if printer.menu is None:
        out.write("There is no menu to turn (try `!help` after `!helpset usemenus reactions`).\n")
        return
    channel = harness.bot.get_channel(printer.menu[0])
    message = await channel.fetch_message(printer.menu[1])
    await dpytest.add_reaction(author, message, MENU_CONTROLS[direction])
    await harness.settle(timeout=600, ignore=is_menu_task)


def console_command(word: str, argument: str, author: str, out: TextIO) -> str:
    """Run the console's own ``:word`` (never sent to the channel); return who you are now."""
    if word == "help":
        out.write(CONSOLE_HELP + "\n")
    elif word == "as" and argument in ("owner", "admin", "member"):
        return argument
    elif word == "as":
        out.write("Use `:as owner`, `:as admin` or `:as member`.\n")
    else:
        out.write(f"`:{word}` is not a console command (nothing was sent); `:help` lists them.\n")
    return author


def mistyped_subcommand(harness: RedHarness, line: str) -> Optional[str]:
    """If ``line`` calls a command group with a word that is none of its subcommands, say so: Red
    answers such a line with the group's help, which reads as if the command had worked."""
    prefix = "!"
    if not line.startswith(prefix):
        return None
    words = line[len(prefix) :].split()
    command = None
    for index, word in enumerate(words):
        found = harness.bot.get_command(" ".join(words[: index + 1]))
        if found is None:
            if isinstance(command, commands.Group) and command.commands:
                return (
                    f"(`{word}` is not a subcommand of `{command.qualified_name}`: "
                    f"Red answers with the help of `{command.qualified_name}`.)"
                )
            return None
        command = found
    return None


async def check_provider(harness: RedHarness, endpoint: Optional[str], out: TextIO) -> None:
    cog = harness.bot.get_cog("Skynet")
    if endpoint is None:
        out.write(PROVIDER_HELP + "\n")
        return
    try:
        models = await asyncio.wait_for(cog.catalog.models(endpoint, refresh=True), 30)
    except Exception as exc:  # any failure: explain it the way the cog explains it to users
        message = cog.providers.explain(exc, endpoint).message
        model = cog.settings.resolve(harness.guild.id, harness.channel.id).model
        out.write(
            f"Provider check failed: {message.replace('[p]', '!')}\n"
            f"Questions go to `{model}` and get this error until the server answers.\n\n{PROVIDER_HELP}\n"
        )
        return
    model = cog.settings.resolve(harness.guild.id, harness.channel.id).model
    out.write(f"Provider **{endpoint}** is reachable ({len(models)} models); answering with `{model}`.\n")
    if model.endpoint == endpoint and models and model.name not in models:
        # E.g. kept from an earlier session against another server.
        out.write(
            f"⚠️ **{endpoint}** doesn't offer `{model.name}`, so questions will get an error; it offers "
            f"{offered(models)}. Choose one with `:as owner`, then `!ai model set global {endpoint}:<model>`.\n"
        )


DATA_DIR = Path(".skynet-data") / "console"


async def main(stdin: TextIO = sys.stdin, out: TextIO = sys.stdout, data_dir: Optional[Path] = None) -> int:
    # Provider failures are shown in the replies; only real errors belong on the terminal.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    data_dir = (data_dir or Path.cwd() / DATA_DIR).resolve()
    # Discord's size limits apply; its rates do not: typed-ahead input (or a script) would only
    # wait out simulated 429s, and a menu turned meanwhile would answer after the console quit.
    harness = RedHarness(data_dir, cog_paths=[REPO], limits=DiscordLimits("bodies"), bot_name=BOT_NAME)
    await harness.start()
    grant_manage_webhooks(harness)
    printer = StreamPrinter(out, harness.sent_files, guild_names(harness.guild), is_dm_channel(harness))
    try:
        await run_as(harness, harness.owner, "!load skynet")
        if harness.bot.get_cog("Skynet") is None:
            out.write(f"skynet failed to load: {harness.last_error!r}\n")
            return 1
        await check_provider(harness, await configure_provider(harness, out), out)
        harness.listeners.append(printer)
        authors = {"owner": harness.owner, "admin": harness.admin, "member": harness.member}
        author = "member"
        out.write(
            "\nskynet offline console: you are `member` in #general of Test Guild (prefix !).\n"
            "Try `!ai chat hello`, `!help ai`, `!ai params show`. `:as owner|admin|member` switches who "
            "you are; `>`/`<` turn a menu's pages; `:help` lists the console's commands; `:quit` or "
            "Ctrl-D leaves.\n"
            f"State (settings, keys, usage) is kept in {data_dir} between runs; "
            "start with `./scripts/start.sh --fresh` to begin anew.\n"
        )
        while True:
            out.write(f"\n[{author}] > ")
            out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.strip()
            command = CONSOLE_COMMAND.match(line)
            if command and command.group(1) in QUIT_COMMANDS:
                break
            if command:
                author = console_command(command.group(1), (command.group(2) or "").strip(), author, out)
                continue
            if line in PAGE_COMMANDS:
                await turn_page(harness, printer, authors[author], PAGE_COMMANDS[line], out)
                printer.end_turn()
            elif line:
                note = mistyped_subcommand(harness, line)
                if note:
                    out.write(note + "\n")
                await run_as(harness, authors[author], line)
                printer.end_turn()
        return 0
    finally:
        out.write("\n")
        saved = getattr(harness, "restore_model_at_exit", None)
        if saved and harness.bot.get_cog("Skynet") is not None:
            await set_global_model(harness, saved)
        await harness.close()
