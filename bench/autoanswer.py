"""Auto-answer precision and recall with a real sentence embedder (all-MiniLM-L6-v2).

    bash ../shared/tools/minilm/setup.sh .venv            # once (or a copy of the tool elsewhere)
    .venv/bin/python bench/autoanswer.py --minilm ../shared/tools/minilm

The server guide of bench/autoanswer_set.py is split into passages by the cog's own document
parser; each question goes through the cog's own decision (``looks_like_question``, ``candidate``,
``decide``) with its nearest passages and their cosine similarity, as chromadb's cosine space
returns them. An answer counts as right only when the question should be answered *and* the best
passage is from the section that answers it; answering a question the guide does not answer, or
from the wrong section, is a false positive. ``TUNING`` chose the default threshold; ``HELD_OUT``
gives the figures (goal: precision ≥ 0.9 with recall ≥ 0.6 at the default threshold).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from autoanswer_set import GUIDE, HELD_OUT, TUNING  # noqa: E402

from skynet.engine.channels.autoanswer import (  # noqa: E402
    DEFAULT_THRESHOLD,
    PASSAGES,
    Asked,
    AutoAnswerRules,
    Passage,
    candidate,
    decide,
    rescore,
    units_of,
)
from skynet.engine.memory.documents import parse_document  # noqa: E402

CHANNEL = 1


def score(
    questions: Sequence[Tuple[str, Optional[str]]], ranked: List[List[Passage]], threshold: float
) -> dict:
    rules = AutoAnswerRules(channels=frozenset({CHANNEL}), threshold=threshold)
    tp = fp = fn = tn = 0
    wrong: List[str] = []
    for (question, expected), passages in zip(questions, ranked):
        verdict = decide(rules, passages)
        answered = candidate(rules, Asked(1, CHANNEL, question)) is None and verdict.acts
        top = passages[0].section if passages else None
        cited = {p.section for p in verdict.passages}
        if answered and expected is not None and expected in cited:
            tp += 1
        elif answered:
            fp += 1
            wrong.append(f"answered: {question!r} from {top!r} (expected {expected!r}, {passages[0].similarity:.2f})")
        elif expected is not None:
            fn += 1
            wrong.append(f"silent:   {question!r} ({passages[0].similarity:.2f})")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / sum(1 for _q, e in questions if e is not None)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": precision, "recall": recall, "wrong": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minilm", type=Path, required=True, help="the minilm tool folder (with model/)")
    parser.add_argument("--verbose", action="store_true", help="list every wrong decision")
    args = parser.parse_args()
    sys.path.insert(0, str(args.minilm))
    import numpy as np
    from minilm import embed

    chunks = parse_document("guide.md", GUIDE.encode())
    passages = np.asarray(embed([c.text for c in chunks]))  # what chromadb stores
    units = [units_of(c.section, c.text) for c in chunks]
    unit_vectors = [np.asarray(embed(u)) for u in units]  # the cog embeds these per question

    def ranked(questions, rerank=True):
        vectors = np.asarray(embed([q for q, _e in questions]))
        sims = vectors @ passages.T  # unit vectors: cosine similarity, as chromadb's cosine space
        out = []
        for vector, row in zip(vectors, sims):
            order = np.argsort(-row)[:PASSAGES]  # the nearest passages, as search_documents gives them
            if not rerank:
                out.append([Passage("guide.md", chunks[i].section, chunks[i].text, float(row[i])) for i in order])
                continue
            candidates = [("guide.md", chunks[i].section, chunks[i].text) for i in order]
            out.append(rescore(vector.tolist(), candidates, [unit_vectors[i].tolist() for i in order]))
        return out

    plain = score(HELD_OUT, ranked(HELD_OUT, rerank=False), DEFAULT_THRESHOLD)
    tuning, held_out = ranked(TUNING), ranked(HELD_OUT)
    print(f"{len(chunks)} passages; tuning set {len(TUNING)} questions, held-out set {len(HELD_OUT)} "
          f"({sum(1 for _q, e in HELD_OUT if e)} answerable)")
    print("threshold  tuning P / R     held-out P / R")
    for threshold in (0.40, 0.45, 0.50, 0.55, 0.60, 0.65):
        t, h = score(TUNING, tuning, threshold), score(HELD_OUT, held_out, threshold)
        mark = "  <- default" if abs(threshold - DEFAULT_THRESHOLD) < 1e-9 else ""
        print(f"  {threshold:.2f}     {t['precision']:.2f} / {t['recall']:.2f}      "
              f"{h['precision']:.2f} / {h['recall']:.2f}{mark}")
    result = score(HELD_OUT, held_out, DEFAULT_THRESHOLD)
    print(f"held-out at the default threshold {DEFAULT_THRESHOLD}: precision {result['precision']:.3f}, "
          f"recall {result['recall']:.3f} (tp {result['tp']}, fp {result['fp']}, fn {result['fn']}, tn {result['tn']})")
    print(f"reference, passages' own vectors without sentence scoring, same threshold: precision "
          f"{plain['precision']:.3f}, recall {plain['recall']:.3f}")
    if args.verbose:
        print("\n".join(result["wrong"]))


if __name__ == "__main__":
    main()
