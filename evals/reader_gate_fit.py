"""Chooses the reader's abstention margin (Tuning.reader_abstain_margin) through `answer()`:
from a `rag eval --squad` run of the dev fold made with every reading shown
(`tuning: {reader_answer_margin: -1000000000.0}` with `answer.reader: span`), the margin under
which an answer the gate would give is withdrawn, at the issue's cost: answering an
unanswerable question costs 3, abstaining on an answerable one 1.

    python -m evals.reader_gate_fit reports/squad-dev-margins/squad-eval.json [--held-out TEST.json]

A row answered without a short answer has no margin on record (the reader's span could not
be placed in a sentence): it keeps its answer here, as it does at the default threshold; a
run of the held-out fold at the chosen threshold gives the exact figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

WRONG_ANSWER_COST = 3.0


def outcomes(rows: list[dict], threshold: float) -> dict:
    """The fold's figures had `answer()` withdrawn every answer whose margin is under `threshold`."""
    answerable = [r for r in rows if not r["impossible"]]
    impossible = [r for r in rows if r["impossible"]]

    def abstains(r):
        return r["abstained"] or (r["margin"] is not None and r["margin"] < threshold)

    false_abstention = float(np.mean([abstains(r) for r in answerable])) if answerable else 0.0
    caught = float(np.mean([abstains(r) for r in impossible])) if impossible else 0.0
    em = float(np.mean([0.0 if abstains(r) else r["em"] for r in answerable])) if answerable else 0.0
    f1 = float(np.mean([0.0 if abstains(r) else r["f1"] for r in answerable])) if answerable else 0.0
    cost = WRONG_ANSWER_COST * sum(not abstains(r) for r in impossible) + sum(abstains(r) for r in answerable)
    return {"threshold": threshold, "cost": cost, "em": round(em, 3), "f1": round(f1, 3),
            "false_abstention": round(false_abstention, 3), "unanswerable_abstained": round(caught, 3)}


def candidate_thresholds(margins) -> list[float]:
    """Every threshold that splits `margins` differently: none (-1e9) and each midpoint."""
    ordered = sorted(set(margins))
    return [-1e9] + [(a + b) / 2 for a, b in zip(ordered, ordered[1:])]


def choose(rows: list[dict]) -> dict:
    candidates = candidate_thresholds(r["margin"] for r in rows if r["margin"] is not None)
    return min((outcomes(rows, t) for t in candidates), key=lambda o: (o["cost"], o["threshold"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dev", help="squad-eval.json of the dev fold, every reading shown")
    ap.add_argument("--held-out", help="squad-eval.json of the test fold, made the same way")
    args = ap.parse_args(argv)
    dev = json.loads(Path(args.dev).read_text(encoding="utf-8"))
    if dev.get("fold") == "test":
        raise SystemExit("the threshold is chosen on the dev fold, not the held-out one")
    rows = dev["rows"]
    if not any(r.get("margin") is not None for r in rows):
        raise SystemExit(f"{args.dev} has no reader margins: run it with answer.reader: span and every reading shown")
    best = choose(rows)
    print(f"dev ({len(rows)} questions): reader never abstains: {outcomes(rows, -1e9)}")
    for shift in (-1.0, -0.5, 0.0, 0.5, 1.0):
        print(f"  threshold {best['threshold'] + shift:+.2f}: {outcomes(rows, best['threshold'] + shift)}")
    print(f"chosen (lowest {WRONG_ANSWER_COST:g}x cost on dev):\n    reader_abstain_margin: float = {best['threshold']:.2f}")
    if args.held_out:
        test = json.loads(Path(args.held_out).read_text(encoding="utf-8"))
        print(f"held-out ({len(test['rows'])} questions) at the dev choice: {outcomes(test['rows'], best['threshold'])}")
        print(f"held-out, reader never abstains: {outcomes(test['rows'], -1e9)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
