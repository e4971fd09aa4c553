"""The cog loads in a real Red bot and answers through the local provider."""

from conftest import say, text_of


async def test_ai_chat_answers_through_the_configured_provider(bot, provider):
    reply = await say(bot, "!ai chat hello there")
    assert text_of(reply) == "echo: member: hello there"
    assert provider.chat_requests[-1]["model"] == "gpt-test"


async def test_every_slash_command_fits_discords_limits(bot, cog):
    """Discord refuses a command group with over 25 children: owner-only and rarely used settings
    (pricing, dm, timezone) are prefix-only so that the members' commands all fit under /ai."""
    slash = {command.name for command in cog.ai.app_command.commands}
    assert len(slash) <= 25
    assert {"chat", "model", "params", "persona", "memory", "tools", "listen", "budget", "diag"} <= slash
    assert not {"pricing", "dm", "timezone"} & slash
    prefix_only = {command.name for command in cog.ai.commands} - slash
    assert prefix_only == {"pricing", "dm", "timezone"}  # still there for `[p]ai ...`
