"""Choose the constants in rag/tuned.py on the `dev` split only.

    python -m evals.tune [--set evals/shipped.yaml] [--folds 5]

Each point measured is a rag.tuned.Tuning of its own (`Pipeline.with_tuning`): nothing
is patched, and the pipeline's own Tuning is left as it was.

1. The answer gate: a logistic regression over the evidence features of every dev item
   (label: the item is answerable), fitted with L2 regularisation; k-fold
   cross-validation over dev reports how well it generalises to unseen dev items.
2. Sentence scoring: a small grid over sim_floor / w_semantic / w_lexical / w_rerank, each point
   scored by dev accuracy, chosen on k-1 folds and checked on the held-out fold.
3. Answer length: a grid over keep_ratio / semantic_extra (when a second or third sentence
   joins the best one), chosen for dev accuracy among the points that meet the product's
   bars: median answer <= MAX_MEDIAN_CHARS and citation precision >= MIN_CITE_PRECISION.

It prints the Tuning fields to paste into rag/tuned.py with the figures that chose them.
The `test` split is never read here.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from evals.dataset import load_eval_set
from evals.metrics import answer_chars, answer_correct, citation_precision, percentile
from rag.answering.gate import EvidenceFeatures  # noqa: F401  (the features fitted)
from rag.collection.question_kinds import COLLECTION_KINDS
from rag.tuned import GATE_FEATURES

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

Measured = TypeVar("Measured")
FEATURES = list(GATE_FEATURES)


def dev_items(set_path=None):
    # Questions about the collection (a kind of rag.collection.question_kinds.RULES) are answered from the
    # article catalog, not through the single-fact gate and sentence scoring tuned here.
    return [i for i in load_eval_set(set_path) if i.split == "dev" and i.type not in COLLECTION_KINDS]


def item_features(pipeline, item) -> EvidenceFeatures:
    from rag.answering.answerers import weigh_evidence
    from rag.pipeline import evidence_contains
    from rag.retrieve.query import key_terms

    history = list(item.history) or None
    search = pipeline.condense(item.question, history)
    hits = pipeline.retrieve_condensed(search)
    q = key_terms(search.question, pipeline.lexical.idf, evidence_contains(hits), search.context or None)
    return weigh_evidence(search, q, hits, pipeline.semantics, pipeline.tuning)[2]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 4000,
                 abstain_weight: float = 1.0) -> tuple[np.ndarray, float]:
    """Plain gradient descent on standardised features; returns raw-scale weights and bias.
    `abstain_weight`: how much more a wrongly answered unanswerable item costs than a
    wrongly abstained answerable one."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w = np.zeros(z.shape[1])
    b = 0.0
    sample_w = np.where(y == 1, 1.0, abstain_weight)
    sample_w = sample_w / sample_w.mean()
    lr = 0.1
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * sample_w
        w -= lr * (z.T @ g / len(y) + l2 * w / len(y))
        b -= lr * g.mean()
    raw_w = w / sd
    return raw_w, float(b - (mu * raw_w).sum())


def predict(x, w, b):
    return (x @ w + b) >= 0


def folds(n: int, k: int, seed: int = 7):
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    return [idx[i::k] for i in range(k)]


def forced_correct(pipeline: Pipeline, items) -> list[bool]:
    """Whether each item's answer is right when the gate is forced open (a bias no evidence
    outweighs), with the pipeline's Tuning otherwise."""
    return _accuracy(pipeline.with_tuning(pipeline.tuning.replace(gate_bias=1e6)), items)


def tune_gate(pipeline, items, k: int) -> dict:
    """Labels: 1 = answerable and answered right when the gate is open, 0 = unanswerable.
    Answerable items answered wrongly are left out: abstaining or answering, both are wrong,
    so they carry no information about where the gate should sit."""
    right = forced_correct(pipeline, items)
    keep = [i for i, ok in zip(items, right) if i.abstain or ok]
    print(f"gate: {len(keep)} of {len(items)} dev items carry a label "
          f"({sum(ok for i, ok in zip(items, right) if not i.abstain)} answerable answered right when forced)")
    items = keep
    feats = [item_features(pipeline, i) for i in items]
    x = np.array([[getattr(f, n) for n in FEATURES] for f in feats])
    y = np.array([0.0 if i.abstain else 1.0 for i in items])
    best = None
    for l2 in (0.1, 1.0, 10.0):
        for abstain_weight in ABSTAIN_WEIGHTS:
            correct = 0
            for fold in folds(len(items), k):
                train = np.ones(len(items), bool)
                train[fold] = False
                w, b = fit_logistic(x[train], y[train], l2, abstain_weight=abstain_weight)
                correct += int((predict(x[fold], w, b) == (y[fold] == 1)).sum())
            cv = correct / len(items)
            if best is None or cv > best[0]:
                best = (cv, l2, abstain_weight)
    assert best is not None  # the grids above are not empty
    w, b = fit_logistic(x, y, best[1], abstain_weight=best[2])
    fit_acc = float((predict(x, w, b) == (y == 1)).mean())
    # Non-Chinese questions: too few in dev for the logistic model to learn their own
    # slope, so a floor on the similarity margin is chosen on them directly.
    other = np.array([f.chinese == 0 for f in feats])
    margins = np.array([f.similarity_margin for f in feats])
    floors = {}
    for floor in (0.0, 0.03, 0.035, 0.04, 0.045, 0.05, 0.055, 0.06):
        said_yes = predict(x, w, b) & (margins >= floor)
        cost = np.where(y == 1, 1.0, best[2])
        floors[floor] = float(((said_yes == (y == 1)) * cost)[other].sum() / cost[other].sum())
    other_floor = max(floors, key=lambda f: (floors[f], -f))
    return {"weights": dict(zip(FEATURES, (round(float(v), 3) for v in w))), "bias": round(b, 3),
            "non_chinese_min_margin": other_floor, "non_chinese_weighted_accuracy": floors,
            "l2": best[1], "abstain_weight": best[2], "cv_accuracy": best[0], "fit_accuracy": fit_acc,
            "answerable": int(y.sum()), "unanswerable": int(len(y) - y.sum())}


def _accuracy(pipeline, items) -> list[bool]:
    return [o.correct for o in _outcomes(pipeline, items)]


def _at_each_point(pipeline: Pipeline, grid: dict[str, tuple], measure: Callable[[Pipeline], Measured]
                   ) -> tuple[list[tuple], dict[tuple, Measured], tuple]:
    """`measure(p)` with `p` the pipeline answering with its Tuning changed to each point of
    `grid` (Tuning field -> values) in turn. Returns the points, each one's measure, and the
    pipeline's own point."""
    names = list(grid)
    points = list(itertools.product(*grid.values()))
    per_point = {point: measure(pipeline.with_tuning(pipeline.tuning.replace(**dict(zip(names, point)))))
                 for point in points}
    return points, per_point, tuple(getattr(pipeline.tuning, n) for n in names)


# A wrong answer to an unanswerable question costs this much more than a needless abstention.
ABSTAIN_WEIGHTS = (3.0,)  # a product cost, not a fitted value: honest abstention is promised

GRID = {
    "sim_floor": (0.7, 0.75, 0.8),
    "w_semantic": (1.0, 2.0, 4.0),
    "w_lexical": (0.5, 1.0),
    "w_rerank": (2.0, 5.0, 10.0),
}


def tune_scoring(pipeline, items, k: int) -> dict:
    """Objective: answerable dev items answered right with the gate forced open, so the
    choice of sentences is judged apart from the decision to answer."""
    items = [i for i in items if not i.abstain]
    names = list(GRID)
    points, per_point, current = _at_each_point(pipeline, GRID, lambda p: np.array(forced_correct(p, items)))
    # cross-validated estimate of choosing by dev accuracy
    held_out = []
    for fold in folds(len(items), k):
        mask = np.ones(len(items), bool)
        mask[fold] = False
        choice = max(points, key=lambda p: (per_point[p][mask].mean(), p == current))
        held_out.extend(per_point[choice][~mask].tolist())
    best = max(points, key=lambda p: (per_point[p].mean(), p == current))
    return {"chosen": dict(zip(names, best)), "dev_accuracy": float(per_point[best].mean()),
            "cv_accuracy": float(np.mean(held_out)),
            "grid": {str(dict(zip(names, p))): round(float(v.mean()), 3) for p, v in per_point.items()}}


# The product's bars for an answer (issue 12): short enough to read at a glance, and its
# citations on the article that answers.
MAX_MEDIAN_CHARS = 120
MIN_CITE_PRECISION = 0.95
SELECTION_GRID = {
    "keep_ratio": (0.7, 0.75, 0.8, 0.85, 0.9),
    "semantic_extra": (0.0, 0.3, 0.5, 0.7),
}


@dataclass(frozen=True)
class ItemOutcome:
    correct: bool
    chars: int | None  # answer length without markers; None when abstained
    cite_precision: float | None


def _outcomes(pipeline, items) -> list[ItemOutcome]:
    out = []
    for item in items:
        a = pipeline.answer(item.question, list(item.history) or None)
        chars = None if a.abstained else answer_chars(a.text)
        cp = None if a.abstained else citation_precision([c.source for c in a.citations], item.gold)
        out.append(ItemOutcome(answer_correct(a.text, a.abstained, item.facts, item.abstain), chars, cp))
    return out


def _selection_figures(outcomes: list[ItemOutcome]) -> tuple[float, float, float]:
    """accuracy, median answer chars, citation precision"""
    chars = [o.chars for o in outcomes if o.chars is not None]
    cps = [o.cite_precision for o in outcomes if o.cite_precision is not None]
    return (float(np.mean([o.correct for o in outcomes])), float(percentile(chars, 50)) if chars else 0.0,
            float(np.mean(cps)) if cps else 1.0)


def _choose(points, per_point, subset, current):
    def key(p):
        acc, med, cp = _selection_figures([per_point[p][i] for i in subset])
        meets = med <= MAX_MEDIAN_CHARS and cp >= MIN_CITE_PRECISION
        return (meets, acc, -med, p == current)
    return max(points, key=key)


def tune_selection(pipeline, items, k: int) -> dict:
    """Objective: dev accuracy through answer() (gate included) among the grid points that
    meet the length and citation bars; ties go to the shorter answer."""
    names = list(SELECTION_GRID)
    points, per_point, current = _at_each_point(pipeline, SELECTION_GRID, lambda p: _outcomes(p, items))
    held_out: list[ItemOutcome] = []
    for fold in folds(len(items), k):
        in_fold = set(fold)
        rest = [i for i in range(len(items)) if i not in in_fold]
        choice = _choose(points, per_point, rest, current)
        held_out.extend(per_point[choice][i] for i in fold)
    best = _choose(points, per_point, range(len(items)), current)
    return {"chosen": dict(zip(names, best)), "dev": _selection_figures(per_point[best]),
            "cv": _selection_figures(held_out),
            "grid": {str(dict(zip(names, p))): tuple(round(x, 3) for x in _selection_figures(v))
                     for p, v in per_point.items()}}


def main(argv=None) -> None:
    from rag.config import load_config
    from rag.pipeline import build_pipeline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default=None)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--config", default=None)
    ap.add_argument("--only", choices=("gate", "scoring", "selection"), default=None)
    args = ap.parse_args(argv)
    items = dev_items(args.set)
    pipeline = build_pipeline(load_config(args.config), ensure_index=True)
    print(f"dev items: {len(items)}")
    if args.only in (None, "scoring"):
        s = tune_scoring(pipeline, items, args.folds)
        print("sentence scoring:", s["chosen"], f"dev accuracy {s['dev_accuracy']:.3f}",
              f"{args.folds}-fold CV accuracy {s['cv_accuracy']:.3f}")
        for point, acc in sorted(s["grid"].items(), key=lambda kv: -kv[1])[:5]:
            print("   ", point, acc)
    if args.only in (None, "selection"):
        s = tune_selection(pipeline, items, args.folds)
        figures = "accuracy {:.3f}, median {:.0f} chars, cite P {:.3f}"
        print("answer length:", s["chosen"], "dev", figures.format(*s["dev"]),
              f"| {args.folds}-fold CV:", figures.format(*s["cv"]))
        for point, figures in s["grid"].items():
            print("   ", point, figures)
    if args.only in (None, "gate"):
        g = tune_gate(pipeline, items, args.folds)
        print("gate:", g)


if __name__ == "__main__":
    main()
