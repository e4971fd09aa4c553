"""Files attached to ``[p]ai chat``: text files reach the provider inlined with their filename;
images reach vision models as ``image_url`` parts (see test_vision.py); other types are refused
with a clear message, before any request is made."""

from __future__ import annotations

from pathlib import Path
from typing import List

from conftest import text_of
from discord.ext.test import backend as dpy_backend
from discord.ext.test import runner as dpy_runner

from skynet_dev.harness import BotMessage, RedHarness
from skynet_dev.mock_openai import Reply


async def chat_with_files(red: RedHarness, text: str, *paths: Path) -> List[BotMessage]:
    before = {m.id for m in red.messages()}
    attachments = [dpy_backend.make_attachment(p) for p in paths]
    dpy_backend.make_message(f"!ai chat {text}", red.member, red.channel, attachments=attachments)
    await dpy_runner.run_all_events()
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


async def test_text_files_are_inlined_with_their_filename(bot, provider, tmp_path):
    code = tmp_path / "app.py"
    code.write_text("def add(a, b):\n    return a + b\n")
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\nUse ``` fences.")
    provider.script(Reply.text("It adds two numbers."))
    reply = text_of(await chat_with_files(bot, "what does this do?", code, notes))
    assert "It adds two numbers." in reply, (reply, bot.last_error)
    user = provider.chat_requests[-1]["messages"][-1]["content"]
    assert user.startswith("member: what does this do?")
    assert "Attached file `app.py`:\n```py\ndef add(a, b):\n    return a + b\n```" in user
    assert "Attached file `notes.md`:\n````md\n# Notes\nUse ``` fences.\n````" in user


async def test_unsupported_images_and_other_files_are_refused_before_any_request(bot, provider, tmp_path):
    image = tmp_path / "cat.bmp"
    image.write_bytes(b"BM\x00\x00")
    binary = tmp_path / "tool.exe"
    binary.write_bytes(b"MZ\x00\x00")
    big = tmp_path / "huge.txt"
    big.write_text("a" * (200 * 1024 + 1))
    latin = tmp_path / "old.txt"
    latin.write_bytes("café".encode("latin-1"))
    expected = {
        image: "PNG, JPEG, GIF and WebP images",
        binary: "only read text files",
        big: "up to 200 kB",
        latin: "not UTF-8",
    }
    for path, needle in expected.items():
        reply = text_of(await chat_with_files(bot, "look", path))
        assert needle in reply, (path.name, reply)
    assert provider.chat_requests == []


async def test_at_most_four_files(bot, provider, tmp_path):
    paths = []
    for i in range(5):
        path = tmp_path / f"f{i}.txt"
        path.write_text("x")
        paths.append(path)
    assert "at most 4 files" in text_of(await chat_with_files(bot, "read", *paths))
    assert provider.chat_requests == []
