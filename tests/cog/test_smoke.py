"""The cog loads in a real Red bot and answers through the local provider."""

from conftest import say, text_of


async def test_ai_chat_answers_through_the_configured_provider(bot, provider):
    reply = await say(bot, "!ai chat hello there")
    assert text_of(reply) == "echo: member: hello there"
    assert provider.chat_requests[-1]["model"] == "gpt-test"


async def test_every_slash_command_fits_discords_limits(bot, cog):
    """Discord refuses a command group with over 25 children: members' commands are under /ai,
    settings under /aiset (see commands/slash.py), and only the few in PREFIX_ONLY have none."""
    from skynet.commands.slash import PREFIX_ONLY

    slash = {command.name for command in cog.ai.app_command.commands}
    settings = {command.name for group in cog.__cog_app_commands__ for command in group.commands}
    assert len(slash) <= 25 and len(settings) <= 25
    assert {"chat", "persona", "remember", "memories", "stats"} <= slash
    assert {"model", "params", "memory", "tools", "listen", "budget", "diag", "pricing", "dm", "timezone"} <= settings
    prefix_only = {command.name for command in cog.ai.commands} - slash - settings
    assert prefix_only == set(PREFIX_ONLY)  # still there for `[p]ai ...`
