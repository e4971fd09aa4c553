"""`[p]ai draw` through the whole cog against a local server in each documented shape: the image is
posted as a file inside an embed with the prompt and model; image-to-image from an attachment;
the images API's URL answer fetched through the URL guard; chat-completion image output; an
AUTOMATIC1111 server; a content-policy refusal as a clear notice that costs nothing; budgets: the
N+1th image of the day refused, a USD budget charged the image's price; the generate_image tool
off until enabled."""

from __future__ import annotations

import io

import pytest
from conftest import owner, say, text_of
from PIL import Image

from skynet_dev.fake_media import FakeMedia, png_bytes


@pytest.fixture
async def media():
    async with FakeMedia() as server:
        yield server


@pytest.fixture
async def drawing(bot, media):
    await owner(bot, f"!ai provider add media {media.base_url}")
    reply = text_of(await owner(bot, "!ai draw model global media:gpt-image-1"))
    assert "media:gpt-image-1" in reply, (reply, bot.last_error)
    bot.limits.reset_windows()
    return bot


def image_posts(red, messages):
    """(embed, [(filename, bytes)]) of each message that carries an image, as the bot sent it."""
    ids = {m.id for m in messages}
    out = []
    for event in red.events:
        if event.kind == "send" and event.message_id in ids and event.payload.get("embeds"):
            files = red.sent_files.get(event.message_id, [])
            if files:
                out.append((event.payload["embeds"][0], files))
    return out


def decodes(data: bytes):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size


async def test_draw_posts_an_embed_with_the_file_prompt_and_model(drawing, media):
    messages = await say(drawing, "!ai draw a lighthouse at dawn 1024x1536 low")
    [(embed, files)] = image_posts(drawing, messages)
    assert embed["description"] == "a lighthouse at dawn"
    assert "media:gpt-image-1" in embed["footer"]["text"]
    assert "$0.016" in embed["footer"]["text"]  # the price book: gpt-image-1, low, not square
    [(name, data)] = files
    assert embed["image"]["url"] == f"attachment://{name}" and decodes(data) == (64, 64)
    sent = media.requests[-1][1]
    assert (
        sent["prompt"] == "a lighthouse at dawn" and sent["size"] == "1024x1536" and sent["quality"] == "low"
    )


async def test_image_to_image_from_an_attachment(drawing, media, tmp_path):
    source = tmp_path / "photo.png"
    source.write_bytes(png_bytes(color="red"))
    await drawing.say("!ai draw make it purple", attachments=[source])
    await drawing.settle()
    path, fields = media.requests[-1]
    assert path == "/v1/images/edits" and fields["prompt"] == "make it purple"
    assert image_posts(drawing, drawing.messages())


async def test_a_url_answer_is_fetched_through_the_url_guard(drawing, media):
    media.image_answer = "url"
    refused = text_of(await say(drawing, "!ai draw a dog"))
    assert "allow" in refused.lower(), refused  # the guard's refusal: the owner can allow the host
    await owner(drawing, f"!ai tools allow {media.host}")
    drawing.limits.reset_windows()
    messages = await say(drawing, "!ai draw a dog")
    [(embed, files)] = image_posts(drawing, messages)
    assert embed["fields"][0]["value"] == "A picture of a dog"  # dall-e style revised prompt


async def test_chat_image_output_and_automatic1111(drawing, media):
    await owner(drawing, "!ai draw model global media:google/gemini-2.5-flash-image chat")
    drawing.limits.reset_windows()
    assert image_posts(drawing, await say(drawing, "!ai draw a tree"))
    assert media.requests[-1][1]["modalities"] == ["image", "text"]
    await owner(drawing, f"!ai provider add forge {media.root}")
    await owner(drawing, "!ai draw model global forge:default a1111")
    drawing.limits.reset_windows()
    assert image_posts(drawing, await say(drawing, "!ai draw a boat square"))
    assert media.requests[-1][0] == "/sdapi/v1/txt2img"


async def test_a_content_policy_refusal_is_a_clear_notice(drawing, media, cog):
    await owner(drawing, "!ai budget set user 1 usd")
    media.refuse = True
    drawing.limits.reset_windows()
    reply = text_of(await say(drawing, "!ai draw something forbidden"))
    assert "content policy" in reply and "nothing was charged" in reply.lower()
    assert "safety system" not in reply  # not the provider's dump
    rules = cog.governance.rules(drawing.guild.id)
    assert cog.governor.remaining(rules.budgets, drawing.guild.id, drawing.member.id, ()).spent == 0


async def test_the_n_plus_first_image_of_the_day_is_refused(drawing, media):
    reply = text_of(await owner(drawing, "!ai draw limit 2"))
    assert "2 images a day" in reply
    for index in range(2):
        drawing.limits.reset_windows()
        assert image_posts(drawing, await say(drawing, f"!ai draw picture {index}"))
    drawing.limits.reset_windows()
    before = len(media.requests)
    reply = text_of(await say(drawing, "!ai draw one more"))
    assert "2 images for today" in reply
    assert len(media.requests) == before  # the provider was not asked


async def test_images_are_charged_to_a_usd_budget(drawing, media, cog):
    await owner(drawing, "!ai budget set user 0.02 usd")
    await owner(drawing, "!ai draw model global media:dall-e-3")
    drawing.limits.reset_windows()
    assert image_posts(drawing, await say(drawing, "!ai draw a cat"))  # $0.04: admitted (0.02 left)
    rules = cog.governance.rules(drawing.guild.id)
    spent = cog.governor.remaining(rules.budgets, drawing.guild.id, drawing.member.id, ()).spent
    assert spent == pytest.approx(0.04)
    drawing.limits.reset_windows()
    reply = text_of(await say(drawing, "!ai draw another cat"))
    assert "used up" in reply


async def test_an_unpriced_model_under_a_usd_budget_needs_a_price(drawing, media):
    await owner(drawing, "!ai budget set user 1 usd")
    await owner(drawing, "!ai draw model global media:flux-dev")
    drawing.limits.reset_windows()
    assert "no known price" in text_of(await say(drawing, "!ai draw a cat"))
    await owner(drawing, "!ai draw price flux-dev 0.003")
    drawing.limits.reset_windows()
    assert image_posts(drawing, await say(drawing, "!ai draw a cat"))


async def test_the_generate_image_tool_is_off_until_enabled(drawing, cog):
    tool = cog.tool_service.registry.get("generate_image")
    assert tool is not None and tool.default_enabled is False
    listing = text_of(await owner(drawing, "!ai tools list"))
    assert "generate_image" in listing


async def test_the_model_draws_with_the_tool_once_enabled(drawing, media, provider):
    from skynet_dev.mock_openai import Reply

    provider.script(Reply.text("No tool here."))
    await say(drawing, "!ai chat draw me a cat")
    assert "tools" not in provider.chat_requests[-1]  # off by default: not offered to the model
    reply = text_of(await owner(drawing, "!ai tools enable generate_image"))
    assert "generate_image" in reply, reply
    provider.script(
        Reply.call("generate_image", {"prompt": "a cat on a sofa"}), Reply.text("Here is your cat.")
    )
    drawing.limits.reset_windows()
    messages = await say(drawing, "!ai chat draw me a cat")
    [(embed, files)] = image_posts(drawing, messages)
    assert embed["description"] == "a cat on a sofa"
    assert "Here is your cat." in text_of(messages)
    assert media.requests[-1][1]["prompt"] == "a cat on a sofa"


async def test_draw_by_slash_under_ai_and_its_settings_under_aiset(drawing, media):
    """`[p]ai draw` is a group whose root draws: `/ai draw` draws, `/aiset draw …` configures."""
    await drawing.enable_slash("ai", "aiset")
    before = {m.id for m in drawing.messages()}
    await drawing.slash("ai draw", prompt="a red kite 1024x1024 low")
    await drawing.settle()
    new = [m for m in drawing.messages() if m.id not in before]
    [posted] = [m for m in new if m.embeds]  # the interaction's follow-up
    embed = posted.embeds[0]
    assert embed["description"] == "a red kite" and embed["image"]["url"].startswith("attachment://")
    assert media.requests[-1][1]["size"] == "1024x1024"
    await drawing.slash("aiset draw show", author=drawing.member)
    await drawing.settle()
    assert "Model: `media:gpt-image-1`" in drawing.messages()[-1].content
