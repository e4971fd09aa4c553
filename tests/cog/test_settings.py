"""Choosing the model and tuning parameters, per scope, as owners, admins and members type them."""

from __future__ import annotations

from typing import List, Optional

import discord
import pytest
from conftest import owner, say, text_of
from discord.ext.test import backend as dpy_backend

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


async def admin(red, content: str) -> str:
    return text_of(await say(red, content, author=red.admin))


async def member(red, content: str) -> str:
    return text_of(await say(red, content, author=red.member))


async def by_owner(red, content: str) -> str:
    return text_of(await owner(red, content))


async def slash(red, command: str, /, *, author: Optional[discord.Member] = None, **options) -> List:
    """Run a slash command; returns the bot's new messages."""
    before = {m.id for m in red.messages()}
    await red.slash(command, author=author, options=options)
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


async def model_sent(red, provider, channel=None) -> str:
    """A member chats; the model name the provider received."""
    await red.say("!ai chat which model?", author=red.member, channel=channel)
    await red.settle()
    return provider.chat_requests[-1]["model"]


async def request_sent(red, provider) -> dict:
    """A member chats; the JSON body the provider received."""
    await member(red, "!ai chat tell me something")
    return provider.chat_requests[-1]


def show_row(show_text: str, name: str) -> str:
    """The line of ``ai params show`` for parameter ``name``."""
    for line in show_text.splitlines():
        if line.startswith(name + " "):
            return " ".join(line.split())
    raise AssertionError(f"no row for {name!r} in:\n{show_text}")


def other_channel(red) -> discord.TextChannel:
    channel = dpy_backend.make_text_channel("other", red.guild)
    dpy_backend._cur_config.messages.setdefault(channel.id, [])
    return channel


# ---------------------------------------------------------------------------------------------
# ai model set / show / reset and scopes
# ---------------------------------------------------------------------------------------------


async def test_model_set_in_a_server_defaults_to_the_server_scope(bot, provider):
    reply = await admin(bot, "!ai model set gpt-other")
    assert reply == "Model for this server set to `mock:gpt-other`."
    assert await model_sent(bot, provider) == "gpt-other"
    show = await member(bot, "!ai model show")
    assert "Model here: `mock:gpt-other` (from this server)." in show
    assert "- This server: `mock:gpt-other`" in show
    assert "- This channel: not set" in show
    assert "- Global: `mock:gpt-test`" in show


@pytest.mark.every_backend
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_most_specific_model_wins_and_show_names_its_source(bot, provider):
    assert "set to `mock:gpt-other`" in await admin(bot, "!ai model set gpt-other")
    assert "Model for this channel set to `mock:llama3:8b`" in await admin(
        bot, "!ai model set channel llama3:8b"
    )

    assert await model_sent(bot, provider) == "llama3:8b"
    assert "`mock:llama3:8b` (from this channel)" in await member(bot, "!ai model show")

    # A channel setting only applies to that channel.
    elsewhere = other_channel(bot)
    assert await model_sent(bot, provider, channel=elsewhere) == "gpt-other"

    reply = await admin(bot, "!ai model reset channel")
    assert "Model for this channel reset. Model here is now `mock:gpt-other`." == reply
    assert await model_sent(bot, provider) == "gpt-other"
    assert "(from this server)" in await member(bot, "!ai model show")

    assert "Model here is now `mock:gpt-test`" in await admin(bot, "!ai model reset")
    assert await model_sent(bot, provider) == "gpt-test"
    assert "`mock:gpt-test` (from global)" in await member(bot, "!ai model show")


async def test_owner_sets_the_global_model(bot, provider):
    assert (
        await by_owner(bot, "!ai model set global gpt-other") == "Model for global set to `mock:gpt-other`."
    )
    assert await model_sent(bot, provider) == "gpt-other"
    assert "(from global)" in await member(bot, "!ai model show")


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_a_plain_member_cannot_change_the_model_anywhere(bot, provider):
    for command in (
        "!ai model set gpt-other",
        "!ai model set channel gpt-other",
        "!ai model set global gpt-other",
        "!ai model reset",
        "!ai model reset global",
    ):
        reply = await member(bot, command)
        assert "Only" in reply and ("server admins" in reply or "bot owner" in reply), (command, reply)
    assert await model_sent(bot, provider) == "gpt-test"
    assert "`mock:gpt-test` (from global)" in await member(bot, "!ai model show")


async def test_an_admin_may_set_server_and_channel_but_not_global(bot, provider):
    assert "this server set to `mock:gpt-other`" in await admin(bot, "!ai model set server gpt-other")
    assert "this channel set to `mock:llama3:8b`" in await admin(bot, "!ai model set channel llama3:8b")
    assert (
        await admin(bot, "!ai model set global gpt-other")
        == "⚠️ Only the bot owner can change global settings."
    )
    show = await member(bot, "!ai model show")
    assert "- Global: `mock:gpt-test`" in show


async def test_an_unknown_model_is_refused_with_suggestions_and_the_old_one_kept(bot, provider):
    await admin(bot, "!ai model set gpt-other")
    reply = await admin(bot, "!ai model set gpt-tset")
    assert "**mock** has no model `gpt-tset`." in reply
    assert "Did you mean `gpt-test`" in reply
    assert "!ai model list" in reply  # the prefix, not [p]
    assert await model_sent(bot, provider) == "gpt-other"
    assert "- This server: `mock:gpt-other`" in await member(bot, "!ai model show")


async def test_a_model_the_provider_just_added_can_be_chosen_right_away(bot, provider):
    await member(bot, "!ai model list")  # the list is cached now
    provider.models.append("gpt-fresh")
    assert await admin(bot, "!ai model set gpt-fresh") == "Model for this server set to `mock:gpt-fresh`."
    assert await model_sent(bot, provider) == "gpt-fresh"


@pytest.mark.parametrize("typed", ["llama3:8b", "mock:llama3:8b"])
async def test_a_model_name_with_a_colon_works_with_or_without_the_endpoint(bot, provider, typed):
    assert await admin(bot, f"!ai model set {typed}") == "Model for this server set to `mock:llama3:8b`."
    assert await model_sent(bot, provider) == "llama3:8b"


async def test_a_model_on_an_endpoint_that_does_not_exist_is_refused(bot, provider):
    reply = await admin(bot, "!ai model set nope:gpt-test")
    assert "set to" not in reply
    assert "There is no endpoint called `nope`" in reply
    assert await model_sent(bot, provider) == "gpt-test"
    assert "- This server: not set" in await member(bot, "!ai model show")


# ---------------------------------------------------------------------------------------------
# ai model list, autocomplete and slash
# ---------------------------------------------------------------------------------------------


async def test_model_list_shows_the_providers_models(bot, provider):
    reply = await member(bot, "!ai model list")
    assert "**3 models on mock**" in reply
    for model in ("`gpt-test`", "`gpt-other`", "`llama3:8b`"):
        assert model in reply


async def test_model_list_asks_the_provider_and_says_when_it_shows_an_old_list(bot, provider):
    await member(bot, "!ai model list")
    provider.models.append("gpt-fresh")
    assert "`gpt-fresh`" in await member(bot, "!ai model list")  # not the cached list
    provider.api_key = "rotated"  # the provider now refuses us
    reply = await member(bot, "!ai model list")
    assert "`gpt-fresh`" in reply
    assert "⚠️ **mock** isn't answering now:" in reply and "rejected the API key" in reply
    assert "These are the models it listed <t:" in reply


async def test_model_list_filters_by_text(bot, provider):
    reply = await member(bot, "!ai model list LLAMA")
    assert "**1 model on mock**" in reply and "`llama3:8b`" in reply and "gpt" not in reply
    assert await member(bot, "!ai model list claude") == "No models on **mock** match `claude`."


async def test_model_autocomplete_answers_from_the_cached_list(bot, provider):
    await bot.enable_slash("ai", "aiset")
    fetches = lambda: sum(1 for r in provider.requests if r.path == "/v1/models")  # noqa: E731
    await member(bot, "!ai model list")
    before = fetches()

    choices = await bot.autocomplete("aiset model set", "model", "gpt")
    assert [c["value"] for c in choices] == ["gpt-other", "gpt-test"]
    assert [c["value"] for c in await bot.autocomplete("aiset model set", "model", "8b")] == ["llama3:8b"]
    assert fetches() == before  # no provider round trip while the user types

    # A model the provider added shows up once the list is refreshed (provider test refreshes it).
    provider.models.append("gpt-new")
    assert "gpt-new" not in [c["value"] for c in await bot.autocomplete("aiset model set", "model", "gpt")]
    assert "4 models." in await by_owner(bot, "!ai provider test mock")
    assert "gpt-new" in [c["value"] for c in await bot.autocomplete("aiset model set", "model", "gpt")]


async def test_slash_model_set_works(bot, provider):
    await bot.enable_slash("ai", "aiset")
    reply = await slash(bot, "aiset model set", author=bot.admin, model="gpt-other")
    assert text_of(reply) == "Model for this server set to `mock:gpt-other`."
    reply = await slash(bot, "aiset model set", author=bot.admin, model="llama3:8b", scope="channel")
    assert text_of(reply) == "Model for this channel set to `mock:llama3:8b`."
    assert await model_sent(bot, provider) == "llama3:8b"


async def test_slash_model_set_by_a_member_is_refused_privately(bot, provider):
    await bot.enable_slash("ai", "aiset")
    [reply] = await slash(bot, "aiset model set", author=bot.member, model="gpt-other")
    assert reply.ephemeral and "Only server admins" in reply.content
    assert await model_sent(bot, provider) == "gpt-test"


async def test_a_slash_refusal_names_the_slash_commands_that_help(bot, provider):
    """Hints written as `[p]ai model list` point at where the command is in the slash menu."""
    await bot.enable_slash("ai", "aiset")
    [reply] = await slash(bot, "aiset model set", author=bot.admin, model="gpt-nonexistent")
    assert "See `/aiset model list`." in reply.content, reply.content
    assert "/ai model" not in reply.content


# ---------------------------------------------------------------------------------------------
# ai params
# ---------------------------------------------------------------------------------------------

# name, a valid value as typed, as sent to the provider, refused values, the allowed range as shown
PARAM_CASES = [
    ("temperature", "2", 2.0, ["2.01", "-0.1", "warm", "nan"], "a number from 0 to 2"),
    ("top_p", "0.25", 0.25, ["1.5", "-1", "inf"], "a number from 0 to 1"),
    ("max_tokens", "256", 256, ["0", "128001", "1.5", "lots"], "a whole number from 1 to 128000"),
    ("presence_penalty", "-2", -2.0, ["-2.5", "3", "x"], "a number from -2 to 2"),
    ("frequency_penalty", "1.25", 1.25, ["2.5", "-3", "1,5"], "a number from -2 to 2"),
]


@pytest.mark.parametrize("name, typed, sent, refused, allowed", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_each_parameter_accepts_its_range_refuses_the_rest_and_reaches_the_provider(
    bot, provider, name, typed, sent, refused, allowed
):
    assert await admin(bot, f"!ai params set {name} {typed}") == f"`{name}` for this server set to `{sent}`."
    for value in refused:
        reply = await admin(bot, f"!ai params set {name} {value}")
        assert allowed in reply, (value, reply)
        assert "set to" not in reply
    assert show_row(await member(bot, "!ai params show"), name) == f"{name} {sent} [this server]"
    body = await request_sent(bot, provider)
    assert body[name] == sent and type(body[name]) is type(sent)


async def test_parameters_not_set_are_not_sent(bot, provider):
    body = await request_sent(bot, provider)
    for name in (
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
    ):
        assert name not in body


async def test_params_show_lists_every_parameter_with_its_allowed_range(bot):
    show = await member(bot, "!ai params show")
    for name, *_, allowed in PARAM_CASES:
        assert f"- `{name}`: {allowed}." in show
        assert show_row(show, name) == f"{name} provider default [-]"
    assert "- `system_prompt`: text of at most 4000 characters." in show
    assert show_row(show, "system_prompt").endswith("[default]")


async def test_an_unknown_parameter_is_refused_with_the_list_of_parameters(bot):
    reply = await admin(bot, "!ai params set creativity 11")
    assert reply == (
        "⚠️ There is no parameter `creativity`. Choose one of: temperature, top_p, max_tokens, "
        "presence_penalty, frequency_penalty, system_prompt, reasoning_effort, reasoning_display."
    )


async def test_a_system_prompt_with_spaces_becomes_the_system_message(bot, provider):
    reply = await admin(bot, "!ai params set channel system_prompt You are a pirate.")
    assert reply == "`system_prompt` for this channel set to `You are a pirate.`."
    body = await request_sent(bot, provider)
    assert body["messages"][0] == {"role": "system", "content": "You are a pirate."}
    assert (
        show_row(await member(bot, "!ai params show"), "system_prompt")
        == "system_prompt You are a pirate. [this channel]"
    )


async def test_an_empty_or_over_long_system_prompt_is_refused_and_the_old_one_kept(bot, provider):
    await bot.enable_slash("ai", "aiset")
    await admin(bot, "!ai params set system_prompt Be brief.")

    reply = await admin(bot, "!ai params set system_prompt " + "x" * 4001)
    assert "`system_prompt` is 4001 characters long; the limit is 4000." in reply
    [empty] = await slash(bot, "aiset params set", author=bot.admin, name="system_prompt", value="   ")
    assert empty.ephemeral and "`system_prompt` can't be empty" in empty.content
    # By prefix, a missing value gets Red's usage help instead.
    assert "set to" not in await admin(bot, "!ai params set system_prompt")

    body = await request_sent(bot, provider)
    assert body["messages"][0]["content"] == "Be brief."


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_a_plain_member_cannot_set_or_reset_params(bot, provider):
    await admin(bot, "!ai params set temperature 0.5")
    assert "Only server admins" in await member(bot, "!ai params set temperature 1.5")
    assert "Only server admins" in await member(bot, "!ai params reset")
    assert "Only the bot owner" in await admin(bot, "!ai params set global temperature 1.5")
    assert (await request_sent(bot, provider))["temperature"] == 0.5


@pytest.mark.every_backend
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_params_show_reports_where_each_value_comes_from(bot, provider):
    await by_owner(bot, "!ai params set global top_p 0.9")
    await by_owner(bot, "!ai params set global temperature 1.9")
    await admin(bot, "!ai params set temperature 0.5")  # the server overrides global
    await admin(bot, "!ai params set channel system_prompt You are a pirate.")

    show = await member(bot, "!ai params show")
    assert show_row(show, "temperature") == "temperature 0.5 [this server]"
    assert show_row(show, "top_p") == "top_p 0.9 [global]"
    assert show_row(show, "system_prompt") == "system_prompt You are a pirate. [this channel]"
    assert show_row(show, "max_tokens") == "max_tokens provider default [-]"

    body = await request_sent(bot, provider)
    assert (body["temperature"], body["top_p"]) == (0.5, 0.9)


@pytest.mark.every_backend
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_params_reset_one_then_all(bot, provider):
    await admin(bot, "!ai params set temperature 0.5")
    await admin(bot, "!ai params set top_p 0.5")
    await by_owner(bot, "!ai params set global temperature 1.5")

    assert await admin(bot, "!ai params reset temperature") == "Reset `temperature` for this server."
    show = await member(bot, "!ai params show")
    assert show_row(show, "temperature") == "temperature 1.5 [global]"  # falls back to the next scope
    assert show_row(show, "top_p") == "top_p 0.5 [this server]"

    assert await admin(bot, "!ai params reset") == "Reset `top_p` for this server."
    assert await admin(bot, "!ai params reset") == "Nothing to reset for this server."
    body = await request_sent(bot, provider)
    assert body["temperature"] == 1.5 and "top_p" not in body


async def test_slash_params_set_with_name_autocomplete(bot, provider):
    await bot.enable_slash("ai", "aiset")
    choices = await bot.autocomplete("aiset params set", "name", "pen", author=bot.admin)
    assert [c["value"] for c in choices] == ["presence_penalty", "frequency_penalty"]
    assert len(await bot.autocomplete("aiset params set", "name", "")) == 8

    reply = await slash(bot, "aiset params set", author=bot.admin, name="presence_penalty", value="0.5")
    assert text_of(reply) == "`presence_penalty` for this server set to `0.5`."
    [refused] = await slash(bot, "aiset params set", author=bot.admin, name="presence_penalty", value="9")
    assert refused.ephemeral and "a number from -2 to 2" in refused.content
    assert (await request_sent(bot, provider))["presence_penalty"] == 0.5


# ---------------------------------------------------------------------------------------------
# Config is the store of record
# ---------------------------------------------------------------------------------------------


@pytest.mark.every_backend
@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_settings_survive_unloading_and_loading_the_cog(bot, provider):
    await admin(bot, "!ai model set llama3:8b")
    await admin(bot, "!ai params set channel temperature 0.3")
    await admin(bot, "!ai params set max_tokens 42")
    await by_owner(bot, "!ai params set global system_prompt Answer in French.")

    assert "unloaded" in await by_owner(bot, "!unload skynet")
    assert "Loaded `skynet`" in await by_owner(bot, "!load skynet")

    assert "`mock:llama3:8b` (from this server)" in await member(bot, "!ai model show")
    show = await member(bot, "!ai params show")
    assert show_row(show, "temperature") == "temperature 0.3 [this channel]"
    assert show_row(show, "system_prompt") == "system_prompt Answer in French. [global]"
    body = await request_sent(bot, provider)
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("llama3:8b", 0.3, 42)
    assert body["messages"][0]["content"] == "Answer in French."


async def test_replies_that_echo_what_was_typed_ping_nobody(bot, provider):
    mention = f"<@{bot.admin.id}>"
    start = len(bot.events)
    await admin(bot, f"!ai model set {mention}")  # refused: echoes the "model name"
    await admin(bot, f"!ai params set system_prompt Always greet {mention} and @everyone")  # accepted: echoed
    sent = [e for e in bot.events[start:] if e.kind == "send"]
    assert len(sent) == 2 and all(mention in e.content for e in sent)
    for event in sent:
        assert event.allowed_mentions is not None and not event.may_ping, event.allowed_mentions
