"""The cog loads in a real Red bot and answers through the local provider."""

from conftest import say, text_of


async def test_ai_chat_answers_through_the_configured_provider(bot, provider):
    reply = await say(bot, "!ai chat hello there")
    assert text_of(reply) == "echo: member: hello there"
    assert provider.chat_requests[-1]["model"] == "gpt-test"
