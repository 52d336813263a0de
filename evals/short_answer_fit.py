"""Chooses the margin a short answer needs to be shown (Tuning.reader_answer_margin) from two
dev sets, every reading shown:

- the dev fold of ../shared/qa through answer(): a `rag eval --squad` report made with
  `answer.reader: span` and `tuning: {reader_answer_margin: -1000000000.0}`;
- the project's own eval set's dev items (questions in a user's words over the shipped
  articles: fact, paraphrase, English, follow-up and unanswerable ones with a single fact),
  answered here.

    python -m evals.short_answer_fit reports/squad-dev/squad-eval.json [--config CFG] [--held-out TEST.json]

A short answer sits above its quote and reads as the answer. Per set, each reading shown and
wrong (character F1 with every accepted wording under 0.5, or any on an unanswerable
question the gate let through) costs 1 and each right one hidden costs 1: shown only where
more likely right than not. The threshold minimizes the mean of the two sets' cost per
reading, so the small set in users' words weighs as much as the large translated one (their
margins differ: the reader is surer on the fold it was trained beside).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from evals.reader_gate_fit import candidate_thresholds
from evals.squad_metrics import f1

RIGHT_F1 = 0.5
OWN_TYPES = ("fact", "paraphrase", "english", "followup", "unanswerable")


@dataclass(frozen=True)
class Reading:
    """A short answer the reader offered on an answered question: its margin and whether it is right."""

    margin: float
    right: bool


def squad_readings(report: dict) -> list[Reading]:
    """The readings of a `rag eval --squad` report's answered questions."""
    return [Reading(r["margin"], not r["impossible"] and (r["f1"] or 0.0) >= RIGHT_F1)
            for r in report["rows"] if not r["abstained"] and r.get("short") and r["margin"] is not None]


def own_readings(pipeline, split: str = "dev") -> list[Reading]:
    """The readings of the project's own eval items of `split` (one fact or none), answered now."""
    from evals.dataset import load_eval_set
    from rag import answer

    out = []
    for item in load_eval_set(None, split):
        if item.type not in OWN_TYPES or len(item.facts) > 1:
            continue
        result = answer(item.question, history=list(item.history), pipeline=pipeline)
        if result.abstained or result.short_answer is None:
            continue
        golds = list(item.facts[0]) if item.facts and not item.abstain else []
        right = bool(golds) and f1(result.short_answer.text, golds) >= RIGHT_F1
        out.append(Reading(result.short_answer.margin, right))
    return out


def cost(readings: list[Reading], threshold: float) -> dict:
    shown = [r for r in readings if r.margin >= threshold]
    wrong = sum(not r.right for r in shown)
    hidden = sum(r.right for r in readings if r.margin < threshold)
    return {"shown": len(shown), "right": len(shown) - wrong, "cost": (wrong + hidden) / max(len(readings), 1)}


def choose(sets: list[list[Reading]]) -> float:
    candidates = candidate_thresholds(r.margin for s in sets for r in s)
    return min(candidates, key=lambda t: (sum(cost(s, t)["cost"] for s in sets) / len(sets), t))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("squad_dev", help="squad-eval.json of the dev fold, every reading shown")
    ap.add_argument("--config", help="config of the shipped corpus's index (default: the project's)")
    ap.add_argument("--held-out", help="squad-eval.json of the test fold, made the same way")
    args = ap.parse_args(argv)
    from rag.config import load_config
    from rag.pipeline import build_pipeline

    dev = json.loads(Path(args.squad_dev).read_text(encoding="utf-8"))
    if dev.get("fold") != "dev":
        raise SystemExit("the threshold is chosen on the dev fold, not the held-out one")
    cfg = load_config(args.config)
    cfg = cfg.replace(answer=dataclasses.replace(cfg.answer, reader="span"),
                      tuning=tuple(sorted({**dict(cfg.tuning), "reader_answer_margin": -1e9}.items())))
    pipeline = build_pipeline(cfg, ensure_index=True)
    squad, own = squad_readings(dev), own_readings(pipeline, "dev")
    chosen = choose([squad, own])
    print(f"readings: squad dev fold {len(squad)}, own dev items {len(own)}")
    for t in sorted({-1e9, -1.5, -0.92, -0.5, 0.0, 0.5, 0.8, 1.5, 3.0, chosen}):
        a, b = cost(squad, t), cost(own, t)
        print(f"  margin {t:>8.2f}: squad shown {a['shown']:>4} right {a['right']:>4} cost {a['cost']:.3f} | "
              f"own shown {b['shown']:>3} right {b['right']:>3} cost {b['cost']:.3f} | mean {(a['cost'] + b['cost']) / 2:.3f}")
    print(f"chosen (lowest mean cost on the dev sets):\n    reader_answer_margin: float = {chosen:.2f}")
    if args.held_out:
        test = squad_readings(json.loads(Path(args.held_out).read_text(encoding="utf-8")))
        own_test = own_readings(pipeline, "test")
        print(f"held-out at the dev choice: squad {cost(test, chosen)}, own test items {cost(own_test, chosen)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
