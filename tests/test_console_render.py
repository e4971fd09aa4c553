"""What the console prints for each kind of thing the bot does (StreamPrinter on BotEvents)."""

from __future__ import annotations

import io

from skynet_dev.console import StreamPrinter
from skynet_dev.harness import BotEvent


def event(kind, message_id, content="", **payload) -> BotEvent:
    return BotEvent(kind, 1, message_id, content, None, 0.0, payload)


def test_streamed_edits_print_only_what_they_add():
    out = io.StringIO()
    printer = StreamPrinter(out)
    printer(event("send", 10, "Hello"))
    printer(event("edit", 10, "Hello, world"))
    assert out.getvalue() == "\nskynet › Hello, world"


def test_embeds_files_reactions_and_webhook_names_are_printed():
    out = io.StringIO()
    printer = StreamPrinter(
        out, {11: [("notes.txt", b"line one\nline two"), ("image.png", b"\x89PNG\x00\xff")]}
    )
    printer(
        event(
            "send",
            11,
            "",
            embeds=[
                {
                    "title": "Usage",
                    "description": "This week",
                    "fields": [{"name": "Tokens", "value": "1,234"}],
                    "footer": {"text": "estimates"},
                }
            ],
        )
    )
    printer(event("reaction", 11, "👍"))
    printer(event("send", 12, "I am the pirate persona", username="Captain"))
    text = out.getvalue()
    assert "┌ embed\n  │ [Usage]\n  │ This week\n  │ ▸ Tokens\n  │   1,234\n  │ — estimates" in text
    assert "📎 notes.txt (17 bytes)\n  ┆ line one\n  ┆ line two" in text
    assert "📎 image.png (6 bytes)" in text and "PNG" not in text.split("image.png")[1]
    assert "reactions: 👍" in text
    assert "\nCaptain (webhook) › I am the pirate persona" in text


def test_a_content_only_edit_keeps_the_embed():
    out = io.StringIO()
    printer = StreamPrinter(out)
    printer(event("send", 13, "a", embeds=[{"title": "T"}]))
    printer(event("edit", 13, "ab"))
    assert out.getvalue().endswith("[T]") and "skynet (edited) › ab" in out.getvalue()
