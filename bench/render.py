"""Render cost of a streamed answer: incremental splitting (what ``ReplyStreamer`` does) vs
re-splitting the whole text on every render (what it did before), for 2k/20k/200k characters.

    .venv/bin/python bench/render.py [--delta 8] [--every 1]

The answer (prose paragraphs with a code block every few paragraphs) arrives in ``--delta``
character pieces; a render happens after every ``--every`` pieces. Worst case: ``--every 1``.
The full re-split is skipped where it would take minutes (it is quadratic).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skynet.delivery.split import IncrementalSplitter, split_message  # noqa: E402


def answer(size: int) -> str:
    prose = "A sentence of a streamed answer, long enough to wrap. " * 6 + "\n\n"
    code = "```python\n" + "".join(f"value_{i} = compute({i})\n" for i in range(12)) + "```\n\n"
    unit = prose * 3 + code
    return (unit * (size // len(unit) + 1))[:size]


def incremental(text: str, delta: int, every: int) -> float:
    splitter = IncrementalSplitter()
    start = time.process_time()
    for n, i in enumerate(range(0, len(text), delta)):
        splitter.append(text[i : i + delta])
        if n % every == 0:
            splitter.chunks()
    result = splitter.chunks()
    elapsed = time.process_time() - start
    assert result == split_message(text)
    return elapsed


def full_resplit(text: str, delta: int, every: int) -> float:
    start = time.process_time()
    for n, i in enumerate(range(0, len(text), delta)):
        if n % every == 0:
            split_message(text[: i + delta])
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delta", type=int, default=8, help="characters per streamed piece")
    parser.add_argument("--every", type=int, default=1, help="render after every N pieces")
    args = parser.parse_args()
    print("| answer | renders | incremental | full re-split per render |")
    print("|---|---|---|---|")
    for size in (2_000, 20_000, 200_000):
        text = answer(size)
        renders = len(range(0, size, args.delta)) // args.every
        inc = incremental(text, args.delta, args.every)
        if renders * size <= 400_000_000:
            full = f"{full_resplit(text, args.delta, args.every):.2f} s"
        else:
            full = "skipped (quadratic: minutes)"
        print(f"| {size:,} chars | {renders:,} | {inc:.3f} s | {full} |")


if __name__ == "__main__":
    main()
