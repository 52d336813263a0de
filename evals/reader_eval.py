"""The reader alone on a fold of ../shared/qa: each question read over its own paragraph
(no retrieval), short-answer EM/F1 and the no-answer threshold chosen on dev.

    python -m evals.reader_eval [--fold dev|test] [--every N] [--margin M] [--delta FILE]

Without `--margin`, the threshold is the one that minimizes 3 x (an unanswerable question
answered) + 1 x (an answerable one abstained) on the fold: run it on dev, then give that
figure to the test fold. `rag eval --squad` measures the whole pipeline.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from evals.squad_metrics import exact_match, f1
from rag.reader.squad import load_folds

WRONG_ANSWER_COST = 3.0  # an answer to an unanswerable question costs 3 needless abstentions


def choose_margin(margins: np.ndarray, impossible: np.ndarray) -> tuple[float, float]:
    """(threshold, its cost per question): answer when margin >= threshold."""
    best = (0.0, float("inf"))
    for t in np.unique(np.round(margins, 2)):
        answered = margins >= t
        cost = (WRONG_ANSWER_COST * (answered & impossible).sum() + (~answered & ~impossible).sum()) / len(margins)
        if cost < best[1]:
            best = (float(t), float(cost))
    return best


def main() -> None:
    from rag.reader.build import build_span_reader
    from rag.reader.model import DELTA_FILE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", default="../shared/qa")
    parser.add_argument("--fold", default="dev", choices=("dev", "test"))
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--margin", type=float)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--delta", help="a delta other than the shipped one (e.g. a training run's)")
    args = parser.parse_args()
    items = load_folds(args.qa)[args.fold][:: args.every]
    reader = build_span_reader(Path(args.delta) if args.delta else DELTA_FILE, threads=args.threads)
    t0 = time.perf_counter()
    spans = [reader.read(item.question, [item.context])[0] for item in items]
    seconds = time.perf_counter() - t0
    margins = np.array([s.margin if s else -99.0 for s in spans])
    impossible = np.array([item.impossible for item in items])
    threshold, cost = choose_margin(margins, impossible) if args.margin is None else (args.margin, float("nan"))
    answerable = [(s, item) for s, item in zip(spans, items) if not item.impossible]
    golds = [[a.text for a in item.answers] for _, item in answerable]
    em = np.mean([exact_match(s.text if s else "", g) for (s, _), g in zip(answerable, golds)])
    f = np.mean([f1(s.text if s else "", g) for (s, _), g in zip(answerable, golds)])
    answered = margins >= threshold
    result = {
        "fold": args.fold, "questions": len(items), "unanswerable": int(impossible.sum()),
        "em_answerable": round(float(em), 3), "f1_answerable": round(float(f), 3),
        "threshold": threshold, "cost": round(cost, 4),
        "unanswerable_abstained": round(float((~answered & impossible).sum() / max(1, impossible.sum())), 3),
        "answerable_abstained": round(float((~answered & ~impossible).sum() / max(1, (~impossible).sum())), 3),
        "em_with_threshold": round(float(np.mean([
            exact_match(s.text, g) if s and a else 0.0
            for (s, _), g, a in zip(answerable, golds, answered[~impossible])])), 3),
        "seconds": round(seconds, 1),
    }
    by_source: dict[str, list[float]] = {}
    for (s, item), g in zip(answerable, golds):
        by_source.setdefault(item.source, []).append(exact_match(s.text if s else "", g))
    result["em_by_source"] = {k: round(float(np.mean(v)), 3) for k, v in by_source.items()}
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
