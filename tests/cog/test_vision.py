"""Images for vision models: attached to ``[p]ai chat`` or to the message it replies to, they reach
the provider as ``image_url`` content parts holding data URLs, downscaled to the vision limits
(at most 4); a file that does not decode is refused and nothing is sent; a model known not to see
images gets a clear notice and no request is made; memory keeps only text."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from conftest import text_of
from discord.ext.test import backend as dpy_backend
from discord.ext.test import factories as dpy_factories
from discord.ext.test import runner as dpy_runner
from PIL import Image

from skynet_dev.harness import BotMessage, RedHarness
from skynet_dev.mock_openai import Reply


def png(tmp_path: Path, name: str, size=(64, 48), color="red") -> Path:
    """A real image file (its format from the file's suffix)."""
    path = tmp_path / name
    Image.new("RGB", size, color).save(path)
    return path


def decoded(data_url: str) -> Image.Image:
    head, payload = data_url.split(",", 1)
    assert head.startswith("data:image/") and head.endswith(";base64"), head
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image


async def chat(
    red: RedHarness, text: str, *paths: Path, reply_to: Optional[Dict[str, Any]] = None
) -> List[BotMessage]:
    """``[p]ai chat text`` with ``paths`` attached, optionally as a reply to the message ``reply_to``."""
    before = {m.id for m in red.messages()}
    attachments = [dpy_backend.make_attachment(p) for p in paths]
    data = dpy_factories.make_message_dict(
        red.channel, red.member, content=f"!ai chat {text}", attachments=attachments, guild_id=red.guild.id
    )
    if reply_to is not None:
        data["message_reference"] = {
            "message_id": reply_to["id"],
            "channel_id": red.channel.id,
            "guild_id": red.guild.id,
        }
        data["referenced_message"] = reply_to
        data["type"] = 19  # a reply
    dpy_backend._cur_config.messages.setdefault(red.channel.id, []).append(data)
    dpy_backend.get_state().parse_message_create(data)
    await dpy_runner.run_all_events()
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


def sent_content(provider) -> Any:
    return provider.chat_requests[-1]["messages"][-1]["content"]


def image_urls(content: Any) -> List[str]:
    return [p["image_url"]["url"] for p in content if p["type"] == "image_url"]


async def test_an_image_reaches_the_model_as_a_data_url_part(bot, provider, tmp_path):
    image = png(tmp_path, "cat.png")
    provider.script(Reply.text("A cat."))
    reply = text_of(await chat(bot, "what is this?", image))
    assert "A cat." in reply, (reply, bot.last_error)
    content = sent_content(provider)
    assert content[0] == {"type": "text", "text": "member: what is this?"}
    [url] = image_urls(content)
    assert url.startswith("data:image/png;base64,")  # a small PNG stays PNG
    assert decoded(url).size == (64, 48)


async def test_a_large_photo_is_sent_downscaled_to_the_vision_limits(bot, provider, tmp_path):
    import os

    path = tmp_path / "holiday.png"  # 3000x2000 of noise: a 17 MB PNG, like a camera photo
    Image.frombytes("RGB", (3000, 2000), os.urandom(3000 * 2000 * 3)).save(path, compress_level=1)
    provider.script(Reply.text("A beach."))
    reply = text_of(await chat(bot, "where is this?", path))
    assert "A beach." in reply, (reply, bot.last_error)
    [url] = image_urls(sent_content(provider))
    image = decoded(url)
    assert url.startswith("data:image/jpeg;base64,") and image.format == "JPEG"
    assert image.size == (1152, 768)  # within 2048x2048, shorter side 768, aspect kept
    assert len(url) < path.stat().st_size / 10


async def test_an_image_that_does_not_decode_is_refused_and_nothing_is_sent(bot, provider, tmp_path):
    broken = tmp_path / "cat.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # claims to be a PNG
    reply = text_of(await chat(bot, "what is this?", broken))
    assert "`cat.png` is not a readable image" in reply, reply
    assert "your message was not sent" in reply
    assert provider.chat_requests == []
    # Nothing else is lost: the same question with a good image goes through.
    provider.script(Reply.text("A cat."))
    assert "A cat." in text_of(await chat(bot, "what is this?", png(tmp_path, "good.png")))


@pytest.mark.discord_bursts  # the setup and the four requests come faster than people type
async def test_admission_comes_before_any_image_is_read_and_a_refused_image_costs_nothing(
    bot, provider, tmp_path
):
    broken = tmp_path / "cat.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    await bot.say("!ai budget set user 100000", author=bot.admin)
    await bot.say("!ai ratelimit user 2 3600", author=bot.admin)
    await bot.settle()
    # A refused image refunds its budget reservation (the attempt still counts for the rate limit:
    # reading and decoding images is work the limit protects).
    assert "is not a readable image" in text_of(await chat(bot, "what is this?", broken))
    shown = text_of(await bot_says(bot, "!ai budget show"))
    assert "100,000 tokens of 100,000 tokens left" in shown, shown
    provider.script(Reply.text("A cat."))
    assert "A cat." in text_of(await chat(bot, "and this?", png(tmp_path, "good.png")))
    # Over the limit: refused before the images are downloaded or decoded, so the member sees the
    # rate limit, not the broken file.
    refused = text_of(await chat(bot, "again?", broken))
    assert refused.startswith("⚠️ Too many requests"), refused
    assert len(provider.chat_requests) == 1


async def bot_says(red: RedHarness, content: str) -> List[BotMessage]:
    before = {m.id for m in red.messages()}
    await red.say(content, author=red.member)
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


async def test_text_files_and_images_together(bot, provider, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    provider.script(Reply.text("ok"))
    await chat(bot, "compare", notes, png(tmp_path, "a.webp"))
    content = sent_content(provider)
    assert "Attached file `notes.txt`" in content[0]["text"]
    assert len(image_urls(content)) == 1


async def test_five_images_are_refused_like_five_files(bot, provider, tmp_path):
    paths = [png(tmp_path, f"{i}.png") for i in range(5)]
    assert "at most 4 files" in text_of(await chat(bot, "look", *paths))
    assert provider.chat_requests == []


async def test_a_model_that_cannot_see_gets_a_clear_notice_and_no_request(bot, provider, tmp_path):
    provider.models.append("gpt-3.5-turbo")  # a text-only model the provider serves
    await bot.say("!ai model set gpt-3.5-turbo", author=bot.admin)
    reply = text_of(await chat(bot, "what is this?", png(tmp_path, "cat.png")))
    assert "`gpt-3.5-turbo` can't see images" in reply, reply
    assert "!ai model set" in reply
    assert provider.chat_requests == []


async def test_a_provider_refusing_images_is_explained_the_same_way(bot, provider, tmp_path):
    # gpt-test is not in the vision table (unknown): the images are sent, the provider refuses them.
    provider.script(
        Reply.error(400, message="Invalid content type. image_url is only supported by certain models.")
    )
    reply = text_of(await chat(bot, "what is this?", png(tmp_path, "cat.png")))
    assert "`gpt-test` can't see images" in reply, reply
    assert len(provider.chat_requests) == 1


async def test_memory_keeps_text_and_a_marker_never_the_image(bot, provider, tmp_path):
    provider.script(Reply.text("A cat."), Reply.text("Yes."))
    await chat(bot, "what is this?", png(tmp_path, "cat.png"), png(tmp_path, "dog.png"))
    await chat(bot, "are you sure?")
    messages = provider.chat_requests[-1]["messages"]
    assert any("what is this? [2 images]" in m["content"] for m in messages if m["role"] == "user"), messages
    assert all(isinstance(m["content"], str) for m in messages), messages  # no image parts remembered


async def test_images_on_the_replied_to_message_are_included_up_to_four(bot, provider, tmp_path):
    colors = ["blue", "lime", "yellow"]
    shared = [png(tmp_path, f"shared{i}.png", color=c) for i, c in enumerate(colors)]
    parent = dpy_backend.make_message(
        "look at these", bot.member, bot.channel, attachments=[dpy_backend.make_attachment(p) for p in shared]
    )
    parent_data = next(
        d for d in dpy_backend._cur_config.messages[bot.channel.id] if int(d["id"]) == parent.id
    )
    provider.script(Reply.text("Four pictures."))
    own = png(tmp_path, "mine.png")
    reply = text_of(await chat(bot, "which is best?", own, reply_to=parent_data))
    assert "Four pictures." in reply, (reply, bot.last_error)
    urls = image_urls(sent_content(provider))
    assert len(urls) == 4 and all(url.startswith("data:image/png;base64,") for url in urls)
    shown = [decoded(url).convert("RGB").getpixel((0, 0)) for url in urls]
    assert shown == [Image.new("RGB", (1, 1), c).getpixel((0, 0)) for c in ["red", *colors]]
    # Five in total: the message's own come first, the replied-to ones fill up to four.
    provider.script(Reply.text("ok"))
    await chat(bot, "and now?", own, png(tmp_path, "mine2.png"), reply_to=parent_data)
    assert len(image_urls(sent_content(provider))) == 4


async def test_the_owner_overrides_the_vision_table(bot, provider, tmp_path):
    # gpt-test is unknown to the name table; the owner says it can't see, then lets its name decide.
    assert "can't see images." in text_of(await owner_says(bot, "!ai model vision gpt-test off"))
    assert "`gpt-test` can't see images" in text_of(await chat(bot, "what is this?", png(tmp_path, "a.png")))
    assert provider.chat_requests == []
    assert "unknown (images are sent) (by its name)" in text_of(
        await owner_says(bot, "!ai model vision gpt-test auto")
    )
    provider.script(Reply.text("A cat."))
    assert "A cat." in text_of(await chat(bot, "and now?", png(tmp_path, "a.png")))


async def owner_says(red: RedHarness, content: str) -> List[BotMessage]:
    before = {m.id for m in red.messages()}
    await red.say(content, author=red.owner)
    return [m for m in red.messages() if m.id not in before]


async def slash_chat(red: RedHarness, text: str, file: Path) -> str:
    """``/ai chat message:<text> file:<file>``; what the member sees once the answer is complete."""
    before = {m.id for m in red.messages()}
    await red.slash("ai chat", message=text, file=file)
    await red.settle()
    return text_of([m for m in red.messages() if m.id not in before])


async def test_slash_chat_takes_an_image_or_a_text_file(bot, provider, tmp_path):
    await bot.enable_slash("ai")
    provider.script(Reply.text("A red square."))
    reply = await slash_chat(bot, "what is this?", png(tmp_path, "square.png"))
    assert "A red square." in reply, (reply, bot.last_error)
    content = sent_content(provider)
    assert content[0] == {"type": "text", "text": "member: what is this?"}
    [url] = image_urls(content)
    assert decoded(url).size == (64, 48)
    notes = tmp_path / "todo.md"
    notes.write_text("- buy milk\n")
    provider.script(Reply.text("Milk."))
    assert "Milk." in await slash_chat(bot, "what do I need?", notes)
    assert "Attached file `todo.md`:\n```md\n- buy milk\n```" in sent_content(provider)
    # A type it can't read is refused before any request, as for the prefix command.
    binary = tmp_path / "tool.exe"
    binary.write_bytes(b"MZ\x00\x00")
    asked = len(provider.chat_requests)
    assert "only read text files" in await slash_chat(bot, "run this", binary)
    assert len(provider.chat_requests) == asked
