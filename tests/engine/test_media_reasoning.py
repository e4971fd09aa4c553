"""Reasoning kept apart from the answer (skynet.engine.media.reasoning): inline <think> tags cut at
any point between chunks, the dedicated delta fields, the reasoning token count, and how a server
sees the reasoning (spoiler text, file)."""

from __future__ import annotations

import pytest

from skynet.engine.errors import InvalidValue
from skynet.engine.events import TextDelta
from skynet.engine.media.reasoning import (
    ReasoningDelta,
    ThinkTags,
    parse_display,
    parse_effort,
    reasoning_of,
    reasoning_tokens_of,
    spoiler_text,
)

STREAM = "<think>The user greets me.\nI should greet back.</think>\n\nHello! How can I help?"


def run(chunks):
    tags = ThinkTags()
    pieces = [piece for chunk in chunks for piece in tags.split(chunk)] + tags.flush()
    answer = "".join(p.text for p in pieces if isinstance(p, TextDelta))
    thought = "".join(p.text for p in pieces if isinstance(p, ReasoningDelta))
    return answer, thought


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 11, 1000])
def test_think_tags_cut_anywhere_never_reach_the_answer(size):
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    answer, thought = run(chunks)
    assert answer == "Hello! How can I help?"
    assert thought == "The user greets me.\nI should greet back."


def test_text_without_tags_passes_untouched_including_angle_brackets():
    answer, thought = run(["Use `a < b` and ", "<b>bold</b> ", "or <thin", "k of it>"])
    assert answer == "Use `a < b` and <b>bold</b> or <think of it>"
    assert thought == ""


def test_an_unfinished_think_block_stays_reasoning():
    answer, thought = run(["<think>still pond", "ering at the end"])
    assert answer == ""
    assert thought == "still pondering at the end"


def test_a_held_tag_fragment_at_the_end_is_answer_text():
    assert run(["the end <thi"]) == ("the end <thi", "")


def test_delta_fields_and_usage_details():
    assert reasoning_of({"reasoning_content": "a"}) == "a"
    assert reasoning_of({"reasoning": "b", "content": None}) == "b"
    assert reasoning_of({"content": "c"}) == ""
    assert reasoning_tokens_of({"completion_tokens_details": {"reasoning_tokens": 30}}) == 30
    assert reasoning_tokens_of({"completion_tokens": 3}) == 0


def test_effort_and_display_values_are_checked_with_the_choices_named():
    assert parse_effort(" High ") == "high"
    with pytest.raises(InvalidValue, match="`low`"):
        parse_effort("extreme")
    assert parse_display("SPOILER") == "spoiler"
    with pytest.raises(InvalidValue, match="hidden"):
        parse_display("shown")


def test_spoiler_text_cannot_be_closed_early_and_fits_one_message():
    text = spoiler_text("a || b", 3)
    assert text.count("||") == 2 and "3 s" in text
    long = spoiler_text("x" * 5000, 12)
    assert len(long) <= 2000 and "shortened" in long
