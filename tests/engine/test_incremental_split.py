"""Incremental splitting (what the streamer renders) gives exactly ``split_message`` of the text,
at every step of the stream, while only re-splitting the last chunk."""

from __future__ import annotations

import time
from typing import List

from hypothesis import given, settings
from hypothesis import strategies as st

from skynet.delivery.split import IncrementalSplitter, split_message

# Pieces that exercise every kind of cut: paragraphs, lines, sentences, spaces, inline code and
# links, fenced code (with info strings, tildes, indentation), long words, combining marks, CJK.
FRAGMENTS = [
    "word ",
    "Sentence ends here. ",
    "Why? ",
    "\n",
    "\n\n",
    "  ",
    "\t",
    "`code span` ",
    "``",
    "[a link](https://example.com/x) ",
    "[",
    "](",
    ")",
    "```python\n",
    "```\n",
    "~~~\n",
    "    ```\n",
    "x = 1  # comment\n",
    "averyveryverylongwordwithoutanyspaceinside",
    "e\u0301",
    "\U0001f44d\U0001f3fd",
    "\u200d",
    "これは文です。",
    "- item\n",
    "> quote\n",
]


@st.composite
def streamed_text(draw) -> List[str]:
    pieces = draw(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=80))
    text = "".join(pieces)
    # Cut the text into the deltas the provider might stream (any boundaries).
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(1, len(text) - 1)), max_size=30)))
    bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


@settings(max_examples=400, deadline=None)
@given(deltas=streamed_text(), limit=st.sampled_from([12, 25, 40, 64, 120, 300]))
def test_incremental_split_equals_a_full_split_at_every_step(deltas: List[str], limit: int) -> None:
    splitter = IncrementalSplitter(limit)
    text = ""
    for delta in deltas:
        splitter.append(delta)
        text += delta
        assert splitter.chunks() == split_message(text, limit)


@settings(max_examples=100, deadline=None)
@given(deltas=streamed_text(), limit=st.sampled_from([16, 50, 2000]))
def test_rendering_only_now_and_then_gives_the_same_messages(deltas: List[str], limit: int) -> None:
    splitter = IncrementalSplitter(limit)
    for index, delta in enumerate(deltas):
        splitter.append(delta)
        if index % 3 == 0:
            splitter.chunks()
    assert splitter.chunks() == split_message("".join(deltas), limit)


def test_finished_chunks_are_frozen_and_the_cost_is_linear() -> None:
    paragraph = "This is a sentence of a long streamed answer. " * 8 + "\n\n"
    delta = 7

    def render_cost(total: int) -> float:
        text = (paragraph * (total // len(paragraph) + 1))[:total]
        splitter = IncrementalSplitter()
        start = time.process_time()
        for i in range(0, len(text), delta):
            splitter.append(text[i : i + delta])
            splitter.chunks()
        return time.process_time() - start

    small, large = render_cost(20_000), render_cost(200_000)
    # Linear: 10x the text costs about 10x (quadratic would be 100x). Generous for noisy CI.
    assert large < small * 30, (small, large)
    splitter = IncrementalSplitter()
    splitter.append(paragraph * 40)
    chunks = splitter.chunks()
    assert len(splitter.frozen) == len(chunks) - 1 > 0
