"""Fits the topic model (rag.collection.archive.on_topic: Tuning.topic_*) on the dev items of
the archive question set, and reports listing precision and recall on dev and test.

    python -m evals.archive_fit --config data/archive10k.yaml [--c 1.0]

Every item with a topic (window, count, recent with a topic, none) is read as the answer
reads it (its kind, topic and dates from rag.collection.question_kinds, against the archive's
reference date); every admitted article of its window is a row of TOPIC_FEATURES, labelled
by the item's `relevant` list. A logistic regression (scikit-learn, L2 `--c`) is fitted on the
dev rows; its threshold is moved to the point of best dev F1 of listing, folded into the bias.
Prints the weights to copy into rag/tuned.py, and micro precision / recall per split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import yaml

from evals.archive_eval import QUESTIONS, stem


def item_rows(pipeline, item: dict):
    """(features, labels, ids) of the articles the item's window admits; None for an item
    the rules do not read as a topic question."""
    from rag.collection.archive import archive_view, topic_features, topic_groups, topic_words

    kind = pipeline.classify(pipeline.condense(item["question"], None))
    if not kind.topic or kind.dates is None and not kind.recent:
        return None, kind
    flt = kind.merged_filter(None)
    records = [r for r in pipeline.lexical.articles if flt is None or flt.admits(r.id, r.date)]
    view = archive_view(pipeline)
    embedder = pipeline.retriever.embedder
    groups = topic_groups(view, kind.topic, pipeline.tuning, embedder)
    vector = embedder.embed_query(" ".join(topic_words(kind.topic)) or kind.topic)
    x = topic_features(view, records, groups, pipeline.lexical.idf, vector)
    relevant = set(item.get("relevant") or [])
    y = np.asarray([stem(r.id) in relevant for r in records], dtype=bool)
    return (x, y, [r.id for r in records]), kind


def listing_scores(rows: list, logits: list[np.ndarray], bias_shift: float = 0.0) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for (_, y, _), z in zip(rows, logits):
        chosen = z + bias_shift >= 0
        tp += int((chosen & y).sum())
        fp += int((chosen & ~y).sum())
        fn += int((~chosen & y).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    from rag.collection.archive import sure_by_words
    from rag.config import load_config
    from rag.index.embedding import set_offline_env
    from rag.pipeline import build_pipeline
    from rag.tuned import TOPIC_FEATURES

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--questions", default=str(QUESTIONS))
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    args = ap.parse_args(argv)
    set_offline_env()
    pipeline = build_pipeline(load_config(args.config))
    items = yaml.safe_load(Path(args.questions).read_text(encoding="utf-8"))["items"]
    rows: dict[str, list] = {"dev": [], "test": []}
    for item in items:
        if item["kind"] == "overview" or (item["kind"] == "recent" and not item.get("topic")):
            continue
        got, kind = item_rows(pipeline, item)
        if got is None:
            print(f"skip {item['id']}: read as {kind.kind.value} without a topic and dates")
            continue
        rows[item["split"]].append(got)
    x = np.concatenate([r[0] for r in rows["dev"]])
    y = np.concatenate([r[1] for r in rows["dev"]])
    model = LogisticRegression(C=args.c, max_iter=2000).fit(x, y)
    weights = model.coef_[0]
    logits = {s: [r[0] @ weights + model.intercept_[0] for r in rows[s]] for s in rows}
    shifts = np.linspace(-4, 4, 161)
    best = max(shifts, key=lambda b: (listing_scores(rows["dev"], logits["dev"], b)[2], -abs(b)))
    bias = float(model.intercept_[0] + best)
    print(f"dev rows {len(y)} ({int(y.sum())} relevant); L2 C={args.c}; threshold shift {best:+.2f}")
    for name, w in zip(TOPIC_FEATURES, weights):
        print(f"    topic_{name}: float = {w:.3f}")
    print(f"    topic_bias: float = {bias:.3f}")
    print("threshold shift: dev P/R, test P/R")
    for shift in np.arange(best - 1.0, best + 2.01, 0.25):
        d, t = listing_scores(rows["dev"], logits["dev"], shift), listing_scores(rows["test"], logits["test"], shift)
        print(f"  {shift - best:+.2f}: dev {d[0]:.3f}/{d[1]:.3f}  test {t[0]:.3f}/{t[1]:.3f}")
    for split in ("dev", "test"):  # the words-alone rule on_topic adds to the model
        xs = np.concatenate([r[0] for r in rows[split]])
        ys = np.concatenate([r[1] for r in rows[split]])
        sure = sure_by_words(xs)
        print(f"sure by words, {split}: {int(sure.sum())} rows, on the topic {ys[sure].mean():.3f}, "
              f"{int((sure & ys).sum())} of {int(ys.sum())} relevant")
    # the topic floor (Tuning.topic_floor): an item lists nothing when its best row's logit is
    # under it and no row is sure by its words; chosen on dev between the items with and
    # without relevant articles
    def item_best(r, z):
        if sure_by_words(r[0]).any():
            return float("inf"), bool(r[1].any())
        return (float((z + best).max()) if len(z) else float("-inf")), bool(r[1].any())  # an empty window

    for split in ("dev", "test"):
        tops = sorted(item_best(r, z) for r, z in zip(rows[split], logits[split]))
        print(f"best logit per item, {split} (* an item with no relevant article): "
              + " ".join(f"{'*' if not has else ''}{t:.2f}" for t, has in tops if t < 5))
    dev_tops = [item_best(r, z) for r, z in zip(rows["dev"], logits["dev"])]
    cuts = sorted({t for t, _ in dev_tops if abs(t) != float("inf")})
    def right(floor):
        return sum((t >= floor) == has for t, has in dev_tops)
    candidates = [(a + b) / 2 for a, b in zip(cuts, cuts[1:])]
    floor = max(candidates, key=lambda f: (right(f), -f)) if candidates else 0.0
    print(f"topic floor (best dev items: {right(floor)} of {len(dev_tops)} right):\n    topic_floor: float = {floor:.2f}")
    report = {}
    for split in ("dev", "test"):
        p, r, f = listing_scores(rows[split], logits[split], best)
        report[split] = {"items": len(rows[split]), "precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3)}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
