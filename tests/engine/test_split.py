"""Tests for skynet.delivery.split: Discord-sized, Markdown-aware, prefix-stable splitting."""

from __future__ import annotations

import random
import re
from typing import List, Optional

import pytest

from skynet.delivery.split import DISCORD_LIMIT, LOOKAHEAD, split_message

FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
BARE_FENCE = re.compile(r"`{3,}|~{3,}")
NONWS = re.compile(r"\S")


# --- helpers ------------------------------------------------------------------------------------


def open_fence(chunk: str) -> Optional[str]:
    """The fence left open at the end of ``chunk`` rendered on its own (independent tracker)."""
    fence: Optional[str] = None
    for line in chunk.split("\n"):
        m = FENCE.match(line)
        if not m:
            continue
        run, info = m.groups()
        if fence is None:
            if not (run[0] == "`" and "`" in info):
                fence = run
        elif run[0] == fence[0] and len(run) >= len(fence) and not info.strip():
            fence = None
    return fence


def assert_reconstructs(text: str, chunks: List[str]) -> None:
    """Chunks minus added fences, in order, separated only by whitespace, give back ``text``.

    A chunk that ends with an added closing fence makes the next one start with an added reopening
    line; which closing lines were added is found by a small search over both choices per chunk.
    """
    # (chunk index, text position, whether the chunk starts with an added fence line)
    todo, seen = [(0, 0, False)], set()
    while todo:
        i, pos, reopened = todo.pop()
        if i == len(chunks):
            if not text[pos:].strip():
                return
            continue
        if (i, pos, reopened) in seen:
            continue
        seen.add((i, pos, reopened))
        lines = chunks[i].split("\n")
        if reopened:
            if len(lines) < 2 or not FENCE.fullmatch(lines[0]):
                continue
            lines = lines[1:]
        for closed in (False, True):
            if closed and (len(lines) < 2 or not BARE_FENCE.fullmatch(lines[-1])):
                continue
            core = "\n".join(lines[:-1] if closed else lines)
            nonws = NONWS.search(text, pos)
            gap_end = nonws.start() if nonws else len(text)  # the core starts in the whitespace gap
            idx = text.find(core, pos, gap_end + len(core))
            if idx >= 0 and not text[pos:idx].strip():
                todo.append((i + 1, idx + len(core), closed))
    raise AssertionError("chunks do not reproduce the text")


def check(text: str, limit: int, chunks: Optional[List[str]] = None) -> List[str]:
    """All the invariants every split must satisfy."""
    if chunks is None:
        chunks = split_message(text, limit)
    for chunk in chunks:
        assert 0 < len(chunk) <= limit
        assert chunk.strip(), "whitespace-only chunk"
        assert chunk == chunk.rstrip(), "trailing whitespace"
        assert not chunk.startswith("\n"), "leading blank line"
    assert_reconstructs(text, chunks)
    return chunks


WORDS = (
    "the model answer streams into Discord message token of a x émigré naïve 日本語 テスト 🚀 👍🏽 "
    '👨\u200d👩\u200d👧\u200d👦 e\u0301t\u0301e\u0301 supercalifragilistic e.g. (see) "quoted."'
).split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 14))]
    roll = rng.random()
    if roll < 0.1:
        words.insert(rng.randrange(len(words)), "`inline code span`")
    elif roll < 0.2:
        words.insert(rng.randrange(len(words)), "[a link text](https://example.com/some_path)")
    elif roll < 0.25:
        words.insert(rng.randrange(len(words)), "https://example.com/" + "q" * rng.randint(30, 400))
    return " ".join(words).capitalize() + rng.choice(".!?:")


def block(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        sep = rng.choice([" ", " ", " ", "\n"])
        return sep.join(sentence(rng) for _ in range(rng.randint(1, 8)))
    if kind < 0.6:
        bullets = ["- ", "* ", "1. ", "  - ", "    - "]
        return "\n".join(rng.choice(bullets) + sentence(rng) for _ in range(rng.randint(2, 8)))
    if kind < 0.65:
        return "これは日本語の文です。" * rng.randint(1, 30)
    fence = rng.choice(["```", "```", "~~~", "````"])
    lang = rng.choice(["", "python", "js", "bash"])
    lines = []
    for _ in range(rng.randint(1, 40)):
        roll = rng.random()
        if roll < 0.1:
            lines.append("")
        elif roll < 0.15:
            lines.append("x = '" + "y" * rng.randint(40, 300) + "'")
        else:
            indent = " " * rng.choice([0, 0, 2, 4, 8])
            lines.append(f"{indent}value_{rng.randint(0, 99)} = call(arg, {rng.random():.3f})")
    return f"{fence}{lang}\n" + "\n".join(lines) + f"\n{fence}"


def make_text(seed: int, blocks: int) -> str:
    rng = random.Random(seed)
    text = rng.choice(["\n".join, "\n\n".join, "\n\n\n".join])([block(rng) for _ in range(blocks)])
    if rng.random() < 0.3:  # a reply cut off mid code block, as while streaming
        text += "\n\n```python\nstill_streaming = True\n    more = 1"
    return text


# --- basics -------------------------------------------------------------------------------------


def test_defaults() -> None:
    assert DISCORD_LIMIT == 2000
    assert LOOKAHEAD == 0
    assert split_message("x" * 2001) == ["x" * 2000, "x"]


@pytest.mark.parametrize("text", ["", " ", "\n\n  \t\n"])
def test_empty_or_blank_gives_no_chunks(text: str) -> None:
    assert split_message(text) == []


def test_short_text_unchanged() -> None:
    text = "Hello **world**!\n\n- a list\n  - nested\n\n```python\n    indented()\n```"
    assert split_message(text) == [text]


def test_outer_whitespace_dropped() -> None:
    assert split_message("\n\nHello there.  \n\n") == ["Hello there."]
    # Indentation is content (nested lists, code): only blank lines go.
    assert split_message("\n \n    indented line\n") == ["    indented line"]


def test_exactly_limit() -> None:
    text = ("word " * 400)[:-1] + "!"
    assert len(text) == 2000
    assert split_message(text) == [text]
    chunks = check(text + "x", 2000)
    assert len(chunks) == 2 and chunks[1] == "word!x"


def test_invalid_limit() -> None:
    with pytest.raises(ValueError):
        split_message("text", 0)


# --- boundary preference ------------------------------------------------------------------------


def test_paragraph_break_preferred() -> None:
    p1 = "Alpha beta gamma delta. Epsilon zeta eta theta iota kappa."
    p2 = "Line one here.\nLine two here. More words follow and run on past the limit."
    assert 50 <= len(p1) and len(p2) <= 100
    assert split_message(p1 + "\n\n" + p2, 100) == [p1, p2]


def test_line_break_preferred_over_sentence() -> None:
    l1 = "first line of words that has no sentence end at all here ok"
    l2 = "Second line. It keeps going. And more words run past the limit."
    assert split_message(l1 + "\n" + l2, 100) == [l1, l2]


def test_sentence_end_preferred_over_whitespace() -> None:
    s1 = "This opening sentence is long enough to fill half of the room."
    s2 = "then words without any end run on and on past the limit for sure"
    assert split_message(s1 + " " + s2, 100) == [s1, s2]


@pytest.mark.parametrize("end", ["!", "?", '."', ".)"])
def test_other_sentence_ends(end: str) -> None:
    s1 = "This opening sentence is long enough to fill half of the room" + end
    s2 = "then words without any end run on and on past the limit for sure"
    assert split_message(s1 + " " + s2, 100)[0] == s1


def test_whitespace_preferred_over_hard_cut() -> None:
    text = " ".join(["lorem", "ipsum", "dolor", "sit", "amet"] * 12)
    chunks = check(text, 100)
    for chunk in chunks:
        assert chunk.split(" ")[0] in {"lorem", "ipsum", "dolor", "sit", "amet"}
        assert chunk.split(" ")[-1] in {"lorem", "ipsum", "dolor", "sit", "amet"}
    assert len(chunks[0]) > 90
    assert " ".join(chunks) == text


def test_hard_cut_when_no_boundary() -> None:
    assert split_message("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_tiny_chunk_avoided() -> None:
    # A blank line at char 6 vs line breaks near the limit: the line break wins.
    lines = "\n".join(f"line of text {i:02d}" for i in range(12))
    chunks = check("Short.\n\n" + lines, 100)
    assert chunks[0].startswith("Short.\n\nline of text 00") and len(chunks[0]) > 80


def test_tiny_chunk_avoided_at_default_limit() -> None:
    intro = "A short opening paragraph of about fifty characters."
    lines = "\n".join(f"- list item number {i:03d} with some words" for i in range(60))
    chunks = check(f"{intro}\n\n{lines}", DISCORD_LIMIT)
    assert chunks[0].startswith(intro + "\n\n- list item number 000")
    assert len(chunks[0]) > 1950


def test_short_chunk_accepted_rather_than_splitting_code() -> None:
    code = "```\n" + "\n".join(f"row {i}" for i in range(20)) + "\n```"
    assert len(code) <= 140 < len(code) + len("Intro.\n\n")
    assert split_message("Intro.\n\n" + code, 140) == ["Intro.", code]


def test_inline_code_span_not_cut() -> None:
    head = "Some words here that lead to the span:"
    span = "`a code span with spaces in it`"
    chunks = check(f"{head} {span} and more words after.", 60)
    assert chunks[0] == head and chunks[1].startswith(span)


def test_link_not_cut() -> None:
    head = "Some words here that lead to the link:"
    link = "[the link text with spaces](https://example.com/a/b)"
    chunks = check(f"{head} {link} and more words after it.", 60)
    assert chunks[0] == head and chunks[1].startswith(link)


# --- code blocks --------------------------------------------------------------------------------


def test_code_block_kept_whole_when_possible() -> None:
    intro = "Here is the code you asked for, with a short introduction."
    code = "```python\n" + "\n".join(f"    value_{i} = compute({i})" for i in range(6)) + "\n```"
    outro = "That is all."
    chunks = check(f"{intro}\n\n{code}\n\n{outro}", 200)
    assert chunks[0] == intro
    assert chunks[1].startswith(code)


@pytest.mark.parametrize(
    ("opener", "closer"), [("```python", "```"), ("~~~sh", "~~~"), ("````markdown", "````")]
)
def test_long_code_block_split_with_fences(opener: str, closer: str) -> None:
    body = ["def main() -> None:"] + [f"    print('line {i}')  # comment" for i in range(40)]
    if closer == "````":
        body[5] = "```python"  # a shorter fence inside a longer one is content
    text = f"Intro paragraph.\n\n{opener}\n" + "\n".join(body) + f"\n{closer}\n\nDone."
    chunks = check(text, 120)
    inner = [c for c in chunks if c.startswith(opener)]
    assert len(inner) >= 10
    for chunk in chunks[:-1]:
        assert open_fence(chunk) is None, chunk
    for chunk in inner[1:]:
        first_line = chunk.split("\n")[1]
        assert first_line in body  # indentation of the continued code is kept
    assert all(c.endswith("\n" + closer) for c in inner[:-1])
    assert any(c.startswith(opener + "\n    print") for c in inner)


def test_single_line_triple_backticks_are_not_a_fence() -> None:
    text = "Use ```inline``` here. " + "Then plain words continue for quite a while here. " * 4
    for chunk in check(text, 60):
        assert not chunk.endswith("\n```")


def test_long_code_line_hard_cut_inside_fence() -> None:
    text = "```\n" + "z" * 300 + "\n```"
    chunks = check(text, 100)
    assert [len(c) for c in chunks] == [100, 100, 100, 32]
    assert all(c.startswith("```\nz") and c.endswith("z\n```") for c in chunks)


# --- unicode ------------------------------------------------------------------------------------


def test_unicode_counted_in_code_points() -> None:
    assert split_message("😀" * 150, 100) == ["😀" * 100, "😀" * 50]
    text = "これは日本語の文です。" * 30  # no spaces: cut after the ideographic full stop
    chunks = check(text, 50)
    assert "".join(chunks) == text and all(c.endswith("。") for c in chunks)


@pytest.mark.parametrize(
    ("unit", "limit"),
    [("👨\u200d👩\u200d👧\u200d👦", 10), ("👍🏽", 5), ("e\u0301", 5), ("🇫🇷", 5)],
)
def test_hard_cut_keeps_grapheme_sequences(unit: str, limit: int) -> None:
    chunks = check(unit * 20, limit)
    assert "".join(chunks) == unit * 20
    if unit != "🇫🇷":  # regional-indicator pairs are best effort (even lengths happen to align)
        assert all(c.replace(unit, "") == "" for c in chunks)


# --- properties over random texts ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("limit", [1, 3, 7, 20, 50, 120, 400, 2000])
def test_random_texts_invariants(seed: int, limit: int) -> None:
    text = make_text(seed, 40 if limit >= 400 else 12)
    chunks = check(text, limit)
    if limit >= 50:  # fences fit: every message renders its code blocks closed
        for chunk in chunks[:-1]:
            assert open_fence(chunk) is None


def assert_prefix_stable(text: str, limit: int, lengths: List[int]) -> int:
    """Whenever a prefix's chunk is followed by another chunk, it is already the final chunk."""
    final = split_message(text, limit)
    checked = 0
    for n in lengths:
        chunks = split_message(text[:n], limit)
        check(text[:n], limit, chunks)
        for i, chunk in enumerate(chunks[:-1]):
            assert chunk == final[i], (n, i)
            checked += 1
    return checked


@pytest.mark.parametrize("limit", [40, 120])
def test_prefix_stable_char_by_char(limit: int) -> None:
    text = make_text(99, 10)[:2500]
    assert assert_prefix_stable(text, limit, list(range(len(text) + 1))) > 1000


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("limit", [20, 50, 300, 2000])
def test_prefix_stable_random_pieces(seed: int, limit: int) -> None:
    rng = random.Random(seed)
    text = make_text(seed, {20: 6, 50: 10, 300: 25}.get(limit, 60))
    lengths, n = [], 0
    while n < len(text):
        n += rng.randint(1, max(8, limit // 2))
        lengths.append(min(n, len(text)))
    assert assert_prefix_stable(text, limit, lengths) > 0


def test_large_text_splits() -> None:
    text = make_text(7, 150)
    assert len(text) > 20_000
    chunks = check(text, DISCORD_LIMIT)
    assert len(chunks) >= len(text) // DISCORD_LIMIT
