import time
from conftest import say, owner, text_of, KEY
from skynet_dev.mock_openai import Reply

def dump(bot, t0):
    for e in bot.events[bot._mark:]:
        print("   ", e.kind, round(e.at - t0, 2), e.via, repr(e.content)[:300], e.allowed_mentions)

async def run(bot, cmd, t=None):
    t0 = time.monotonic()
    m = await say(bot, cmd)
    print("==", cmd[:60], round(time.monotonic()-t0,2))
    dump(bot, t0)

async def test_explore(bot, provider):
    provider.script(Reply.text("partial answer here", chunk_size=3, cut_after=3))
    await run(bot, "!ai chat a")
    provider.script(Reply.text("partial answer here", chunk_size=3, end_early_after=3))
    await run(bot, "!ai chat a")
    provider.script(Reply.text("partial answer here", chunk_size=3, malformed_after=3))
    await run(bot, "!ai chat a")
    await run(bot, "!ai provider timeout mock 1")
    provider.script(Reply.text("partial answer here", chunk_size=3, stall_after=2))
    await run(bot, "!ai chat a")
    provider.script(Reply.text("long", finish_reason="length"))
    await run(bot, "!ai chat a")
    provider.script(Reply())
    await run(bot, "!ai chat a")
    provider.script(*[Reply.error(429, retry_after=0)]*3)
    await run(bot, "!ai chat a")
    provider.script(Reply.error(429, code="insufficient_quota"))
    await run(bot, "!ai chat a")
    provider.script(*[Reply.error(500)]*3)
    await run(bot, "!ai chat a")
    provider.script(Reply.error(400, code="context_length_exceeded"))
    await run(bot, "!ai chat a")
    provider.models.remove("gpt-test")
    await run(bot, "!ai chat a")
    provider.models.append("gpt-test")
    await run(bot, f"!set api mock api_key,sk-wrong-key-123456")
    await run(bot, "!ai chat a")
    assert 0
