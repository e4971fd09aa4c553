"""What the console prints for each kind of thing the bot does (StreamPrinter on BotEvents)."""

from __future__ import annotations

import io
import time

from skynet_dev.harness import BotEvent
from skynet_dev.markup import render_markup
from skynet_dev.printer import StreamPrinter


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


NAMES = {("#", 200): "general", ("@", 401): "owner", ("@&", 300): "Admin"}


def names(kind, snowflake):
    return NAMES.get((kind, snowflake))


def test_mentions_show_names_from_the_server():
    text = "Listening in <#200>; ask <@401> or <@!401> (role <@&300>). Gone: <#9>, <@9>, <@&9>."
    assert render_markup(text, names) == (
        "Listening in #general; ask @owner or @owner (role @Admin). Gone: #unknown, @unknown-user, @deleted-role."
    )


def test_timestamps_show_as_dates_or_relative_phrases():
    now = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    at = int(now)
    assert render_markup(f"resets <t:{at + 3 * 3600 + 20}:R>", now=now) == "resets in 3 hours"
    assert render_markup(f"<t:{at - 5 * 60}:R>", now=now) == "5 minutes ago"
    soon, later, long_ago = at + 10, at + 40 * 86400, at - 3 * 365 * 86400
    assert render_markup(f"<t:{soon}:R> <t:{later}:R> <t:{long_ago}:R>", now=now) == (
        "in a few seconds in a month 3 years ago"
    )
    assert render_markup(f"<t:{at}> <t:{at}:t> <t:{at}:d> <t:{at}:F>", now=now) == (
        "14 November 2023 22:13 UTC 22:13 UTC 2023-11-14 Tuesday, 14 November 2023 22:13 UTC"
    )


def test_markup_in_code_and_markdown_stay_as_typed():
    text = "**Bold** <#200> `<#200>` and\n```\n<t:0:R> <@401>\n```"
    assert render_markup(text, names) == "**Bold** #general `<#200>` and\n```\n<t:0:R> <@401>\n```"


def test_printed_messages_and_embeds_show_names_but_files_stay_raw():
    out = io.StringIO()
    printer = StreamPrinter(out, {14: [("log.txt", b"<#200>")]}, names)
    later = int(time.time()) + 2 * 3600 + 30
    embed = {"description": f"Resets <t:{later}:R>, ask <@&300>"}
    printer(event("send", 14, "Allowed: <#200>", embeds=[embed]))
    text = out.getvalue()
    assert "skynet › Allowed: #general" in text and "│ Resets in 2 hours, ask @Admin" in text
    assert "┆ <#200>" in text


def test_edits_of_a_webhook_message_keep_its_display_name():
    out = io.StringIO()
    printer = StreamPrinter(out)
    printer(event("send", 15, "Ahoy", username="Captain"))
    printer(event("send", 16, "(a note)"))
    printer(event("edit", 15, "Ahoy, matey"))  # a webhook edit carries no username
    assert out.getvalue().endswith("\nCaptain (webhook) (edited) › Ahoy, matey")
