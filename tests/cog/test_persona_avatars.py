"""A persona's avatar given as a link: fetched through the cog's URL guard (public addresses only,
also after redirects; the owner's allow-list lets the test's 127.0.0.1 server through), and saved only
if it is an image of at most 8 MB. Attached avatars are checked by their content too."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, List

import pytest
from conftest import owner, text_of
from discord.ext.test import backend as dpy_backend
from discord.ext.test import runner as dpy_runner

from skynet_dev.fake_images import FakeImages, png_bytes
from skynet_dev.harness import BotMessage, RedHarness

pytestmark = pytest.mark.discord_bursts  # admins here type faster than people do


@pytest.fixture
async def images(bot: RedHarness) -> AsyncIterator[FakeImages]:
    async with FakeImages() as server:
        await owner(bot, f"!ai tools allow {server.host}")
        await admin(bot, "!ai persona create guide You guide visitors.")
        yield server


async def admin(red: RedHarness, content: str) -> List[BotMessage]:
    before = {m.id for m in red.messages()}
    await red.say(content, author=red.admin)
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


async def shown_avatar(red: RedHarness) -> str:
    shown = text_of(await admin(red, "!ai persona show guide"))
    return next((line for line in shown.splitlines() if line.startswith("Avatar:")), "")


async def test_a_link_to_an_image_is_fetched_and_saved(bot, images):
    link = f"{images.url}/face.png"
    assert "Persona `guide` has a new avatar." in text_of(
        await admin(bot, f"!ai persona avatar guide {link}")
    )
    assert images.requests == ["/face.png"]
    assert await shown_avatar(bot) == f"Avatar: <{link}>"


async def test_a_link_to_something_else_is_refused(bot, images):
    for name in ("notes.txt", "fake.png"):  # plain text, and text that claims to be a PNG
        reply = text_of(await admin(bot, f"!ai persona avatar guide {images.url}/{name}"))
        assert "That link isn't an image (PNG, JPEG, GIF or WebP)" in reply, reply
    reply = text_of(await admin(bot, f"!ai persona avatar guide {images.url}/missing.png"))
    assert "I couldn't download the avatar from that link (The page answered with HTTP 404)" in reply, reply
    assert await shown_avatar(bot) == ""  # nothing was saved


async def test_an_image_over_8_mb_is_refused(bot, images):
    reply = text_of(await admin(bot, f"!ai persona avatar guide {images.url}/huge.png"))
    assert "The image at that link is over 8 MB; choose a smaller one." in reply, reply
    assert await shown_avatar(bot) == ""


async def test_private_addresses_are_refused_also_after_a_redirect(bot, images):
    reply = text_of(await admin(bot, "!ai persona avatar guide http://192.168.1.20/face.png"))
    assert "I can't use that avatar link: That address is on a private network" in reply, reply
    reply = text_of(await admin(bot, "!ai persona edit guide avatar http://169.254.169.254/latest/meta-data"))
    assert "private network" in reply, reply
    # The allow-listed test server redirects to 10.1.2.3: the guard checks every hop.
    reply = text_of(await admin(bot, f"!ai persona avatar guide {images.url}/to-private.png"))
    assert "private network" in reply, reply
    # Without the owner's allow-list entry, the test server itself is refused (loopback, odd port).
    await owner(bot, f"!ai tools allow {images.host}")
    reply = text_of(await admin(bot, f"!ai persona avatar guide {images.url}/face.png"))
    assert "I can't use that avatar link" in reply, reply
    assert images.requests == ["/to-private.png"]
    assert await shown_avatar(bot) == ""


async def test_edit_avatar_checks_the_link_too(bot, images):
    assert "`avatar` updated" in text_of(
        await admin(bot, f"!ai persona edit guide avatar {images.url}/face.png")
    )
    reply = text_of(await admin(bot, f"!ai persona edit guide avatar {images.url}/notes.txt"))
    assert "isn't an image" in reply, reply
    assert await shown_avatar(bot) == f"Avatar: <{images.url}/face.png>"


async def test_an_attached_file_named_png_that_is_not_an_image_is_refused(bot, images, tmp_path: Path):
    fake = tmp_path / "face.png"
    fake.write_bytes(b"MZ\x90\x00 definitely not a picture")
    before = {m.id for m in bot.messages()}
    dpy_backend.make_message(
        "!ai persona avatar guide", bot.admin, bot.channel, attachments=[dpy_backend.make_attachment(fake)]
    )
    await dpy_runner.run_all_events()
    await bot.settle()
    reply = text_of([m for m in bot.messages() if m.id not in before])
    assert "An avatar must be an image (PNG, JPEG, GIF or WebP)." in reply, reply
    fake.write_bytes(png_bytes())
    dpy_backend.make_message(
        "!ai persona avatar guide", bot.admin, bot.channel, attachments=[dpy_backend.make_attachment(fake)]
    )
    await dpy_runner.run_all_events()
    await bot.settle()
    assert (await shown_avatar(bot)).startswith("Avatar: <")
