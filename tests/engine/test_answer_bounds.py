"""The answer caps: what one answer may show, counted exactly as the streamer splits it."""

from __future__ import annotations

from skynet.delivery.bounds import HARD_LIMIT, NOTE_ROOM, AnswerBounds, BoundedAnswer
from skynet.delivery.split import split_message

PARAGRAPH = "A sentence of an answer that goes on. " * 10 + "\n\n"


def feed(answer: BoundedAnswer, text: str, step: int = 7) -> str:
    shown = []
    for i in range(0, len(text), step):
        shown.append(answer.take(text[i : i + step]))
    return "".join(shown)


def test_a_short_answer_is_shown_whole_and_needs_no_file():
    answer = BoundedAnswer(AnswerBounds())
    assert feed(answer, "Hello there.") == "Hello there." and answer.overflow is None


def test_the_message_cap_counts_messages_as_the_streamer_splits_them():
    text = PARAGRAPH * 200  # about 80,000 characters
    for cap, step in ((1, 7), (3, 7), (10, 7), (10, 5000), (4, 30_000)):
        answer = BoundedAnswer(AnswerBounds(max_messages=cap, max_characters=100_000))
        shown = feed(answer, text, step)  # a provider may send big pieces: they are cut to fit
        chunks = split_message(shown)
        assert len(chunks) == cap and answer.overflow == "messages"
        assert len(chunks[-1]) > 2000 - NOTE_ROOM - 200  # the last message is (nearly) full
        assert len(chunks[-1]) <= 2000 - NOTE_ROOM  # the reply's own notes still fit in the last one
        assert text.startswith(shown) and answer.text == text  # the file has everything


def test_the_character_cap():
    answer = BoundedAnswer(AnswerBounds(max_messages=50, max_characters=5000))
    shown = feed(answer, PARAGRAPH * 100)
    assert len(shown) <= 5000 - NOTE_ROOM and answer.overflow == "characters"
    assert "5,000 characters" in answer.note()


def test_a_runaway_stream_is_kept_up_to_the_hard_limit_only():
    answer = BoundedAnswer(AnswerBounds())
    block = "x" * 100_000
    while not answer.full:
        answer.take(block)
    assert len(answer.text) == HARD_LIMIT and "stopped at" in answer.note()


def test_bounds_round_trip_and_defaults():
    assert AnswerBounds.from_json(None) == AnswerBounds(10, 25_000)
    assert AnswerBounds.from_json(AnswerBounds(3, 4000).to_json()) == AnswerBounds(3, 4000)
