"""A member using an owner- or admin-only command is told who may use it, in one error style."""

from __future__ import annotations

import pytest
from conftest import say, text_of


@pytest.mark.parametrize(
    "command, name",
    [("!ai pricing show", "ai pricing show"), ("!ai provider list", "ai provider list")],
)
async def test_a_member_is_told_only_the_owner_can_use_it(bot, command, name):
    replies = await say(bot, command, author=bot.member)
    assert text_of(replies) == f"⚠️ Only the bot owner can use `{name}`."


async def test_slash_refusal_is_ephemeral(bot):
    await bot.enable_slash("ai", "aiset")
    before = {m.id for m in bot.messages()}
    await bot.slash("aiset provider list", author=bot.member)
    await bot.settle()
    new = [m for m in bot.messages() if m.id not in before]
    assert [m.content for m in new] == ["⚠️ Only the bot owner can use `ai provider list`."]
    assert new[0].ephemeral


async def test_settings_errors_share_the_same_marker(bot):
    replies = await say(bot, "!ai model set global gpt-other", author=bot.admin)
    assert text_of(replies) == "⚠️ Only the bot owner can change global settings."


async def test_slash_subcommands_keep_their_groups_owner_check(bot, cog):
    """discord.py skips a group's checks when a slash subcommand is invoked directly."""
    await bot.enable_slash("ai", "aiset")
    await bot.slash("aiset provider add", author=bot.member, name="evil", base_url="http://evil.example/v1")
    await bot.settle()
    assert "evil" not in cog.providers.endpoints
    await bot.slash("aiset provider add", author=bot.owner, name="fine", base_url="http://127.0.0.1:9/v1")
    await bot.settle()
    assert "fine" in cog.providers.endpoints


@pytest.mark.parametrize(
    "command, expected",
    [
        (
            "!ai persona create onlyname",
            '⚠️ `ai persona create` needs `prompt`. Usage: `!ai persona create ["server"|"global"] <name> <prompt>` '
            "(more with `!help ai persona create`)",
        ),
        (
            "!ai myprompt wrong",
            "⚠️ `wrong` isn't a choice for `action`: use `show`, `set`, `clear`. Usage: "
            '`!ai myprompt ["show"|"set"|"clear"=show] [text]` (more with `!help ai myprompt`)',
        ),
        (
            "!ai crawl https://example.com lots",
            "⚠️ That value for `max_pages` isn't valid. Usage: `!ai crawl <url> [max_pages=5]` "
            "(more with `!help ai crawl`)",
        ),
    ],
)
async def test_a_wrongly_typed_command_says_what_is_wrong_in_the_same_style(bot, command, expected):
    replies = await say(bot, command, author=bot.admin)
    assert [m.content for m in replies] == [expected]
    assert not any(m.embeds for m in replies)  # not Red's bare help embed
