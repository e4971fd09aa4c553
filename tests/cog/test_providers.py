"""``ai provider ...``: the owner manages endpoints; keys come from ``[p]set api`` and never show."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from conftest import KEY, owner, say, text_of

from skynet.delivery.pacing import Pacer
from skynet_dev.mock_openai import Reply

WRONG_KEY = "wrong-9f8e7d6c5b4a3210"  # looks like no known key format: only registration can hide it


async def by_owner(red, content: str) -> str:
    return text_of(await owner(red, content))


async def chat(red, text: str = "hello") -> str:
    return text_of(await say(red, f"!ai chat {text}", author=red.member))


@pytest.fixture
def unpaced(cog):
    """These tests are not about Discord's rate limits: replies need not wait a second apart."""
    cog.pacer = Pacer(channel_interval=0.0)


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def endpoint_line(listing: str, name: str) -> str:
    lines = [line for line in listing.splitlines() if line.startswith(f"**{name}**")]
    assert lines, f"{name} is not listed:\n{listing}"
    return lines[0]


# ---------------------------------------------------------------------------------------------
# list / add / remove / timeout
# ---------------------------------------------------------------------------------------------


async def test_list_shows_each_endpoint_and_whether_its_key_is_set_but_never_the_key(bot, provider):
    listing = await by_owner(bot, "!ai provider list")
    assert endpoint_line(listing, "mock") == (
        f"**mock** — <{provider.base_url}> · key set (`mock`) · timeout 60s"
    )
    assert "**no key** — `!set api openai api_key,<key>`" in endpoint_line(listing, "openai")
    assert KEY not in listing


@pytest.mark.discord_bursts  # the script types commands faster than people do
@pytest.mark.parametrize("who", ["admin", "member"])
async def test_provider_commands_are_refused_to_anyone_but_the_owner(bot, provider, who):
    author = getattr(bot, who)
    before = await by_owner(bot, "!ai provider list")
    for command in (
        "!ai provider list",
        "!ai provider test mock",
        "!ai provider add evil http://evil.example/v1 mock",
        "!ai provider add mock http://evil.example/v1 mock",
        "!ai provider timeout mock 5",
        "!ai provider remove openai",
    ):
        replies = await say(bot, command, author=author)
        assert all(provider.base_url not in m.content and "key set" not in m.content for m in replies), (
            command
        )
    assert await by_owner(bot, "!ai provider list") == before
    assert await chat(bot) == "echo: member: hello"


@pytest.mark.parametrize(
    "command, complaint",
    [
        ("!ai provider add local ftp://x", "The base URL must start with http:// or https://"),
        ("!ai provider add local localhost:11434", "The base URL must start with http:// or https://"),
        ("!ai provider add bad!name http://localhost:11434/v1", "An endpoint name is 1-32 letters, digits"),
        (
            f"!ai provider add {'x' * 33} http://localhost:11434/v1",
            "An endpoint name is 1-32 letters, digits",
        ),
        ("!ai provider add local http://localhost:11434/v1 bad/service", "An endpoint name is 1-32 letters"),
    ],
)
async def test_add_refuses_bad_names_and_urls(bot, command, complaint):
    assert complaint in await by_owner(bot, command)
    listing = await by_owner(bot, "!ai provider list")
    assert [line.split("**")[1] for line in listing.splitlines()] == ["mock", "openai"]


async def test_add_says_how_to_set_the_key_of_a_new_endpoint(bot):
    reply = await by_owner(bot, "!ai provider add groq https://api.groq.com/openai/v1 groq")
    assert reply.startswith("Endpoint **groq** added: <https://api.groq.com/openai/v1>.")
    assert "Set its key with `!set api groq api_key,<key>`." in reply
    assert "`!ai model set groq:<model>`" in reply
    assert "**no key**" in endpoint_line(await by_owner(bot, "!ai provider list"), "groq")


@pytest.mark.every_backend
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_add_updates_an_existing_endpoint_and_keeps_its_timeout(bot, provider):
    assert "Endpoint **local** added" in await by_owner(
        bot, f"!ai provider add local http://127.0.0.1:{closed_port()}/v1"
    )
    assert "no key needed" in endpoint_line(await by_owner(bot, "!ai provider list"), "local")
    await by_owner(bot, "!ai provider timeout local 30")

    reply = await by_owner(bot, f"!ai provider add local {provider.base_url}/ mock")
    assert reply.startswith(f"Endpoint **local** updated: <{provider.base_url}>.")
    assert endpoint_line(await by_owner(bot, "!ai provider list"), "local") == (
        f"**local** — <{provider.base_url}> · key set (`mock`) · timeout 30s"
    )
    # The updated endpoint is the one used from now on.
    assert "set to `local:gpt-other`" in await by_owner(bot, "!ai model set local:gpt-other")
    assert await chat(bot) == "echo: member: hello"
    assert provider.chat_requests[-1]["model"] == "gpt-other"


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_remove_is_refused_while_a_model_setting_uses_the_endpoint(bot, provider):
    await by_owner(bot, f"!ai provider add spare {provider.base_url} mock")
    await say(bot, "!ai model set channel spare:gpt-other", author=bot.admin)

    reply = await by_owner(bot, "!ai provider remove spare")
    assert "**spare** is still used by the model setting of 1 scope(s) (this channel)" in reply
    assert "`!ai model set`" in reply
    assert "**spare**" in await by_owner(bot, "!ai provider list")
    assert "(global)" in await by_owner(bot, "!ai provider remove mock")

    await say(bot, "!ai model reset channel", author=bot.admin)
    assert await by_owner(bot, "!ai provider remove spare") == "Endpoint **spare** removed."
    assert "**spare**" not in await by_owner(bot, "!ai provider list")
    assert "no provider endpoint called `spare`" in await by_owner(bot, "!ai provider remove spare")


@pytest.mark.parametrize("seconds", ["0", "0.5", "601", "-5"])
async def test_timeout_out_of_range_is_refused(bot, seconds):
    reply = await by_owner(bot, f"!ai provider timeout mock {seconds}")
    assert reply == "⚠️ The timeout must be between 1 and 600 seconds."
    assert "timeout 60s" in endpoint_line(await by_owner(bot, "!ai provider list"), "mock")


@pytest.mark.every_backend
async def test_timeout_in_range_is_stored(bot):
    assert await by_owner(bot, "!ai provider timeout mock 600") == "Timeout for **mock** set to 600 seconds."
    assert await by_owner(bot, "!ai provider timeout mock 2.5") == "Timeout for **mock** set to 2.5 seconds."
    assert "timeout 2.5s" in endpoint_line(await by_owner(bot, "!ai provider list"), "mock")
    assert "no provider endpoint called `ghost`" in await by_owner(bot, "!ai provider timeout ghost 5")


# ---------------------------------------------------------------------------------------------
# test
# ---------------------------------------------------------------------------------------------


async def test_test_reports_success_and_the_number_of_models(bot, provider):
    reply = await by_owner(bot, "!ai provider test mock")
    assert reply.startswith("✅ **mock** answered in ")
    assert reply.endswith(" ms and offers 3 models.")


async def test_test_with_a_bad_key_says_so_without_showing_any_key(bot, provider):
    await by_owner(bot, f"!set api mock api_key,{WRONG_KEY}")
    reply = await by_owner(bot, "!ai provider test mock")
    assert reply == (
        "⚠️ **mock** rejected the API key. The bot owner can set a valid one with `!set api mock api_key,<key>`."
    )


async def test_test_of_a_dead_endpoint_says_it_cannot_be_reached(bot):
    await by_owner(bot, f"!ai provider add dead http://127.0.0.1:{closed_port()}/v1 mock")
    reply = await by_owner(bot, "!ai provider test dead")
    assert reply == "⚠️ Couldn't reach **dead**; it may be down. Please try again later."


async def test_test_of_an_endpoint_without_its_key_says_how_to_set_it(bot):
    await by_owner(bot, "!ai provider add groq https://api.groq.com/openai/v1 groq")
    reply = await by_owner(bot, "!ai provider test groq")
    assert reply.startswith("⚠️ No API key is set for **groq**.")
    assert "`!set api groq api_key,<key>`" in reply


# ---------------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------------


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_a_new_key_takes_effect_on_the_next_request_without_reloading(bot, provider, unpaced):
    assert await chat(bot, "one") == "echo: member: one"

    await by_owner(bot, f"!set api mock api_key,{WRONG_KEY}")
    failed = await chat(bot, "two")
    assert "**mock** rejected the API key" in failed and "`!set api mock api_key,<key>`" in failed

    await by_owner(bot, f"!set api mock api_key,{KEY}")
    assert await chat(bot, "three") == "echo: member: three"
    assert provider.requests[-1].headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.every_backend
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_no_key_ever_appears_in_a_message_or_a_log_record(bot, provider, unpaced, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, red.* included
    await by_owner(bot, "!ai provider list")
    await by_owner(bot, "!ai provider test mock")
    await chat(bot, "hi")
    # Providers echo keys in error bodies; a 401 and a 400 that quote ours.
    provider.script(Reply.error(401, "invalid_api_key", f"Incorrect API key provided: {KEY}."))
    assert "rejected the API key" in await chat(bot, "again")
    provider.script(Reply.error(400, None, f"Bad request from key {KEY} (Authorization: Bearer {KEY})"))
    echoed = await chat(bot, "and again")
    assert "**mock** refused the request: Bad request from key" in echoed  # the body was shown, minus the key
    await by_owner(bot, f"!set api mock api_key,{WRONG_KEY}")
    await chat(bot, "with the wrong key")
    await by_owner(bot, "!ai provider test mock")
    await by_owner(bot, "!ai model list")
    await by_owner(bot, f"!set api mock api_key,{KEY}")
    await by_owner(bot, f"!ai provider add dead http://127.0.0.1:{closed_port()}/v1 mock")
    await by_owner(bot, "!ai provider test dead")
    await by_owner(bot, "!ai model set gpt-nope")
    await chat(bot, "bye")
    await by_owner(bot, "!ai stats")

    said = [json.dumps([e.content, e.payload]) for e in bot.events]
    assert said and not [s for s in said if KEY in s or WRONG_KEY in s]
    logged = [r for r in caplog.records if r.name.startswith("red.skynet")]
    assert logged, "the failures above should have been logged"
    for text in [caplog.text, *(r.getMessage() for r in caplog.records)]:
        assert KEY not in text and WRONG_KEY not in text


async def test_a_rejected_key_names_the_service_that_holds_it_not_the_endpoint(bot, provider):
    await by_owner(bot, f"!ai provider add other {provider.base_url} othersvc")
    await by_owner(bot, "!set api othersvc api_key,sk-wrong-key-987654321")
    for command in ("!ai provider test other", "!ai model list other", "!ai model set global other:gpt-test"):
        reply = await by_owner(bot, command)
        assert "`!set api othersvc api_key,<key>`" in reply, (command, reply)
        assert "sk-wrong-key-987654321" not in reply
