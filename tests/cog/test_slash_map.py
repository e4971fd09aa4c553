"""The slash surface (``skynet/commands/slash.py``): members' commands under ``/ai``, settings under
``/aiset``, every group within Discord's 25, and the prefix tree unchanged."""

from __future__ import annotations

from conftest import say, text_of
from discord import app_commands

from skynet.commands.slash import (
    DISCORD_MAX_CHILDREN,
    MEMBER_PARTS,
    MEMBERS,
    PREFIX_ONLY,
    SETTINGS,
    SLASH_HOME,
    SPLIT,
    members_commands,
    slash_hints,
)


def _slash_tree(cog):
    """name of each top-level app command of the cog -> the app command."""
    found = {cog.ai.app_command.name: cog.ai.app_command}
    found.update({command.name: command for command in cog.__cog_app_commands__})
    return found


def test_every_ai_subcommand_has_a_decided_slash_home(cog):
    undecided = [c.name for c in cog.ai.commands if c.name not in SLASH_HOME and c.name not in PREFIX_ONLY]
    assert not undecided, f"add these to SLASH_HOME (or PREFIX_ONLY with a reason): {undecided}"


def test_no_slash_group_passes_discords_limit(cog):
    def groups(command):
        if isinstance(command, app_commands.Group):
            yield command
            for child in command.commands:
                yield from groups(child)

    for top in _slash_tree(cog).values():
        for group in groups(top):
            assert len(group.commands) <= DISCORD_MAX_CHILDREN, (group.qualified_name, len(group.commands))


def test_every_members_command_has_a_slash_form_under_ai(cog):
    tree = _slash_tree(cog)
    for name in members_commands():
        assert tree[MEMBERS].get_command(name) is not None, f"/ai {name} is missing"


def test_settings_live_under_aiset_and_the_prefix_tree_is_unchanged(cog):
    tree = _slash_tree(cog)
    for name, home in SLASH_HOME.items():
        prefix = cog.bot.get_command(f"ai {name}")
        assert prefix is not None, f"[p]ai {name} is gone"
        assert tree[home].get_command(name) is not None, f"/{home} {name} is missing"
        other = SETTINGS if home == MEMBERS else MEMBERS
        if name in MEMBER_PARTS:  # members' subcommands under /ai, the others under /aiset
            for_members = {c.name for c in tree[MEMBERS].get_command(name).commands}
            for_settings = {c.name for c in tree[SETTINGS].get_command(name).commands}
            assert for_members == set(MEMBER_PARTS[name]) and not for_members & for_settings, name
            continue
        if name in SPLIT:  # the root under /ai, the settings subcommands under /aiset
            assert isinstance(tree[other].get_command(name), app_commands.Group), name
            continue
        assert tree[other].get_command(name) is None, f"{name} is under both /ai and /aiset"


async def test_a_prefix_only_command_declared_so_gets_its_slash_form(bot, cog):
    """``ai timezone`` is declared without an app command; the map gives it one under /aiset."""
    await bot.enable_slash("ai", "aiset")
    await bot.slash("aiset timezone", author=bot.admin, zone="Europe/Paris")
    await bot.settle()
    assert "Europe/Paris" in text_of(bot.messages()[-1:])
    replies = await say(bot, "!ai timezone", author=bot.admin)
    assert "Europe/Paris" in text_of(replies)


async def test_a_settings_command_by_slash_keeps_its_checks(bot, cog):
    await bot.enable_slash("ai", "aiset")
    await bot.slash("aiset dm off", author=bot.member)
    await bot.settle()
    last = bot.messages()[-1]
    assert last.ephemeral and "Only the bot owner" in last.content


async def test_a_members_subcommand_of_a_settings_group_runs_from_ai(bot, cog):
    """`/ai panel login` (members) and `/aiset panel status` (the owner) run the same commands."""
    await bot.enable_slash("ai", "aiset")
    await bot.slash("aiset panel status", author=bot.member)
    await bot.settle()
    assert "Only the bot owner" in bot.messages()[-1].content
    await bot.slash("ai panel login", author=bot.member)
    await bot.settle()
    assert "Only the bot owner" not in bot.messages()[-1].content


def test_hints_in_slash_replies_point_at_each_commands_slash_home():
    groups = {"draw": ["model", "limit", "price", "show"], "panel": ["enable", "login"]}
    hint = lambda text: slash_hints(text, lambda name: groups.get(name, []))  # noqa: E731
    assert hint("See `/ai model list`.") == "See `/aiset model list`."
    assert hint("Forget with `/ai forget`, then `/ai diag`.") == "Forget with `/ai forget`, then `/aiset diag`."
    assert hint("`/ai draw a cat` or `/ai draw model dall-e-3`") == "`/ai draw a cat` or `/aiset draw model dall-e-3`"
    assert hint("`/ai panel login` (owner: `/ai panel enable`)") == "`/ai panel login` (owner: `/aiset panel enable`)"
    assert hint("`!ai model set` and /aiset model") == "`!ai model set` and /aiset model"  # prefix forms unchanged
