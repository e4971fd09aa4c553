"""The README's first command without DISCORD_TOKEN: the offline console, run as a real process."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import List, Sequence, Tuple

from skynet_dev.mock_openai import MockOpenAI, Reply, demo_server

REPO = Path(__file__).resolve().parents[1]


async def run_console(
    cwd: Path, lines: List[str], args: Sequence[str] = (), **env: str
) -> List[Tuple[float, str]]:
    """Run ``python -m skynet_dev.start`` with ``lines`` as input; return (time, chunk) of its output."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "OPENAI_API_KEY")}
    environment.update(env, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "skynet_dev.start",
        *args,
        cwd=cwd,
        env=environment,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    process.stdin.write("".join(line + "\n" for line in lines).encode())
    await process.stdin.drain()
    process.stdin.close()
    chunks: List[Tuple[float, str]] = []

    async def read() -> None:
        while data := await process.stdout.read(4096):
            chunks.append((time.monotonic(), data.decode()))

    await asyncio.wait_for(read(), 120)
    assert await process.wait() == 0, "".join(c for _, c in chunks)
    return chunks


def output(chunks: List[Tuple[float, str]]) -> str:
    return "".join(text for _, text in chunks)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_console_answers_through_a_local_server_and_prints_the_stream_as_it_grows(tmp_path):
    answer = "one two three four five six seven eight nine ten"
    async with MockOpenAI() as server:
        server.script(Reply.text(answer, chunk_size=4, delay=0.25))
        chunks = await run_console(tmp_path, ["!ai chat count to ten"], SKYNET_BASE_URL=server.base_url)
    text = output(chunks)
    assert "Provider **local** is reachable (2 models)" in text
    assert f"skynet › {answer}\n" in text
    # The answer arrived in several writes spread over time: edits were printed as they happened.
    pieces = [(at, c) for at, c in chunks if any(word in c for word in answer.split())]
    assert len(pieces) >= 2 and pieces[-1][0] - pieces[0][0] > 0.5, pieces
    assert server.chat_requests[-1]["messages"][-1]["content"] == "member: count to ten"


async def test_console_without_a_provider_says_so_and_how_to_set_one(tmp_path):
    text = output(await run_console(tmp_path, ["!ai chat hi"]))
    assert "No AI provider is reachable" in text and "SKYNET_BASE_URL=" in text and "OPENAI_API_KEY=" in text
    assert "No API key is set for **openai**" in text  # the chat itself answers with the friendly error


async def test_console_with_an_unreachable_server_explains_the_failure(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    text = output(await run_console(tmp_path, ["!ai chat hi"], SKYNET_BASE_URL=url))
    assert "Provider check failed: Couldn't reach **local**" in text
    assert "Questions go to `local:gpt-4o-mini`" in text
    assert "SKYNET_BASE_URL=" in text
    # The question goes to the configured server and says it is down, not "no key for openai".
    assert "skynet › ⚠️ Couldn't reach **local**; it may be down." in text
    assert "openai" not in text.split("[member] >", 1)[1]


async def test_console_uses_skynet_model_when_the_server_is_down(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    text = output(await run_console(tmp_path, [], SKYNET_BASE_URL=url, SKYNET_MODEL="llama3.2"))
    assert "Questions go to `local:llama3.2`" in text


async def test_console_prints_help_embeds_menus_and_errors_a_member_sees(tmp_path):
    lines = [
        "!help ai",
        "!ai pricing show",
        ":as owner",
        "!helpset usemenus reactions",
        "!help",
        ">",
        "<",
    ]
    text = output(await run_console(tmp_path, lines))
    assert "State (settings, keys, usage) is kept in" in text and ".skynet-data/console" in text
    # Red's help is an embed: its title, fields and footer are printed.
    help_ai = text.split("[member] > ", 2)[1]
    assert "┌ embed" in help_ai and "Help Menu" in help_ai
    assert "▸ **__Subcommands:__**" in help_ai and "**chat** Ask the AI assistant" in help_ai
    assert "— Type !help <command> for more info" in help_ai
    assert "Skynet Help Menu" in help_ai and "FakeApp" not in text  # the console's bot is "Skynet"
    # A member trying an owner command is told who may use it.
    assert "skynet › ⚠️ Only the bot owner can use `ai pricing show`." in text
    # The full help is a reaction menu; `>` turns to page 2 and `<` back to page 1.
    assert "reactions: ⬅️ ❌ ➡️" in text
    menu = text[text.index("*Page 1 of") :]
    assert "skynet (edited) › " in menu
    turned = menu.split("skynet (edited) › ")
    assert "*Page 2 of" in turned[1] and "*Page 1 of" in turned[2]


async def test_fresh_starts_with_a_new_data_folder(tmp_path):
    await run_console(tmp_path, [":as owner", "!ai params set global temperature 1.5"])
    kept = output(await run_console(tmp_path, [":as owner", "!ai params show"]))
    assert "1.5" in kept
    fresh = output(await run_console(tmp_path, [":as owner", "!ai params show"], args=["--fresh"]))
    assert "Starting fresh: removed" in fresh and "1.5" not in fresh.split("[owner] >", 1)[1]


async def test_a_refused_skynet_model_is_shown_and_the_console_says_which_model_answers(tmp_path):
    async with MockOpenAI() as server:
        text = output(
            await run_console(tmp_path, ["!ai chat hi"], SKYNET_BASE_URL=server.base_url, SKYNET_MODEL="nope")
        )
    # The cog's own refusal, then what the console does instead and what the server offers.
    assert "SKYNET_MODEL=nope was not applied. skynet answered: ⚠️ **local** has no model `nope`." in text
    assert "Using `local:gpt-other` instead; **local** offers `gpt-other`, `gpt-test`." in text
    assert "answering with `local:gpt-other`" in text and "answering with `openai:" not in text
    assert "skynet › echo: member: hi" in text
    assert server.chat_requests[-1]["model"] == "gpt-other"


async def test_a_refused_skynet_model_does_not_replace_the_saved_model(tmp_path):
    async with MockOpenAI() as server:
        await run_console(tmp_path, [], SKYNET_BASE_URL=server.base_url, SKYNET_MODEL="gpt-test")
        await run_console(tmp_path, [], SKYNET_BASE_URL=server.base_url, SKYNET_MODEL="nope")
        text = output(await run_console(tmp_path, []))  # the next session, with the stored settings
    assert "answering with `local:gpt-test`" in text  # the stand-in was for that session only


async def test_a_model_the_server_no_longer_offers_is_warned_about(tmp_path):
    async with MockOpenAI() as server:
        await run_console(tmp_path, [], SKYNET_BASE_URL=server.base_url, SKYNET_MODEL="gpt-test")
        server.models = ["llama3.2", "qwen2.5"]  # another model loaded on the same server
        text = output(await run_console(tmp_path, []))  # the next session, with the stored settings
    assert "answering with `local:gpt-test`" in text
    assert "⚠️ **local** doesn't offer `gpt-test`" in text and "it offers `llama3.2`, `qwen2.5`." in text


async def test_the_readme_echo_server_remembers_facts(tmp_path):
    lines = ["!ai remember I like green tea", "!ai memories list", "!ai chat what tea do I like?"]
    async with demo_server(delay=0) as server:
        text = output(await run_console(tmp_path, lines, SKYNET_BASE_URL=server.base_url))
    assert "I'll remember that (memory `" in text
    assert re.search(r"skynet › \*\*1 memor(y|ies):\*\*\n`\w+` I like green tea", text), text
    # Recalled into the next question's prompt (the echo server embeds texts by their words).
    assert any("I like green tea" in str(body["messages"]) for body in server.chat_requests)


async def test_persona_replies_come_under_the_persona_name(tmp_path):
    lines = [
        ":as admin",
        "!ai persona create captain You are a pirate.",
        "!ai persona edit captain display_name Captain",
        "!ai persona use captain",
        "!ai chat ahoy",
    ]
    async with MockOpenAI() as server:
        text = output(await run_console(tmp_path, lines, SKYNET_BASE_URL=server.base_url))
    assert "\nCaptain (webhook) › echo: admin: ahoy" in text
    assert "**Captain**:" not in text  # not the fallback for a bot without Manage Webhooks


async def test_console_commands_help_and_unknown_ones_are_not_posted(tmp_path):
    lines = [":as admin", "!ai listen mode all", ":help", ":foo bar", ":D", "hello"]
    async with MockOpenAI() as server:
        text = output(await run_console(tmp_path, lines, SKYNET_BASE_URL=server.base_url))
        said = [body["messages"][-1]["content"] for body in server.chat_requests]
    assert "`:help` lists the console's commands" in text  # the banner
    help_text = text[text.index("Console commands") :]
    assert ":as owner|admin|member" in help_text and ":quit" in help_text and "!next" in help_text
    assert "`:foo` is not a console command (nothing was sent); `:help` lists them." in text
    # With the bot answering every message, only `:D` (an emoticon) and `hello` reached #general.
    assert said == ["admin: :D", "admin: hello"], said


async def test_mentions_and_timestamps_are_shown_as_members_see_them(tmp_path):
    lines = [
        ":as admin",
        "!ai listen channels allow general",
        "!ai listen show",
        "!ai budget set user 100 tokens",
        "!ai budget role Admin 50",
        "!ai budget member member 10",
        "!ai budget show",
    ]
    text = output(await run_console(tmp_path, lines))
    assert "**Allowed channels:** #general" in text
    assert "Daily budget of role @Admin set to 50 tokens." in text
    assert "Daily budget of @member set to 10 tokens." in text
    assert re.search(r"resets in (a few seconds|a minute|an hour|\d+ (minutes|hours))", text), text
    assert not re.search(r"<(#|@|t:)", text.split("[admin] >", 1)[1]), text


async def test_the_console_shows_dms_typing_and_a_mistyped_subcommand_as_discord_does(tmp_path):
    async with demo_server(delay=0.0) as server:
        lines = ["!help ai", "!ai chat hello", "!ai chatt hello"]
        text = output(await run_console(tmp_path, lines, SKYNET_BASE_URL=server.base_url))
    turns = text.split("[member] > ")
    # Red sends help longer than two pages to the member's DMs, and nothing in the channel.
    assert "skynet (DM to you) › " in turns[1] and "\nskynet › " not in turns[1]
    assert "Skynet is typing…" in turns[2] and "echo: member: hello" in turns[2]
    assert "(`chatt` is not a subcommand of `ai`: Red answers with the help of `ai`.)" in turns[3]


async def test_the_demo_echo_shows_the_persona_and_recalled_memories(tmp_path):
    async with demo_server(delay=0.0) as server:
        lines = [
            "!ai remember I keep bees in Lisbon",
            ":as admin",
            "!ai persona create Hook You are Captain Hook, a pirate.",
            "!ai persona use Hook",
            ":as member",
            "!ai chat do you know where I keep bees",
        ]
        text = output(await run_console(tmp_path, lines, SKYNET_BASE_URL=server.base_url))
    answer = text.split("[member] > ")[-2]
    assert "-# system prompt: You are Captain Hook, a pirate." in answer
    assert "I keep bees in Lisbon" in answer.split("-# system prompt:")[1]
