"""Warm `answer()` latency with the reader off and on, side by side on one index (issue 24's
bar: p50 <= 300 ms and p95 <= 800 ms with the reader on, at the 10k archive too).

    python -m evals.reader_latency --config data/archive10k.yaml [--questions 20] [--rounds 3]

The questions are made from the index's own newest articles as the chat's examples are
(ui.chat.Suggester: "<title>的主要内容是什么？", for a title whose head names a subject), kept when the reader-off pipeline answers
them, so the reader has sentences to read. Both pipelines answer each question in turn,
round after round, so the two figures share the machine's state (a ratio holds; absolute
times depend on the machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path


def percentiles(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1)}


def answered_questions(pipeline, n: int) -> list[str]:
    from ui.chat import Suggester, _topic, names_a_subject

    suggester = Suggester(pipeline, list(pipeline.lexical.articles))
    newest = sorted(pipeline.lexical.articles, key=lambda r: r.date or "", reverse=True)
    out: list[str] = []
    for record in newest[: 10 * n]:
        if len(out) == n:
            break
        if names_a_subject(_topic(record.title)) and not pipeline.answer(q := suggester.candidate(record)).abstained:
            out.append(q)
    return out


def run(config: str, n: int, rounds: int) -> dict:
    from rag.config import load_config
    from rag.index.embedding import set_offline_env
    from rag.pipeline import build_pipeline

    set_offline_env()
    cfg = load_config(config)
    off = build_pipeline(cfg.replace(answer=dataclasses.replace(cfg.answer, reader="off")))
    on = build_pipeline(cfg.replace(answer=dataclasses.replace(cfg.answer, reader="span")))
    questions = answered_questions(off, n)
    if not questions:
        raise SystemExit(f"no question made from {config}'s articles was answered")
    for q in questions[:2]:  # warm both
        off.answer(q), on.answer(q)
    times: dict[str, list[float]] = {"off": [], "on": []}
    shown = 0
    for _ in range(rounds):
        for q in questions:
            for name, pipeline in (("off", off), ("on", on)):
                t0 = time.perf_counter()
                result = pipeline.answer(q)
                times[name].append((time.perf_counter() - t0) * 1000)
                shown += name == "on" and result.short_answer is not None
    return {"config": config, "articles": len(off.lexical.articles), "questions": len(questions),
            "rounds": rounds, "reader_off": percentiles(times["off"]), "reader_on": percentiles(times["on"]),
            "short_answers_shown": round(shown / (rounds * len(questions)), 3), "examples": questions[:3]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", help="JSON report")
    args = ap.parse_args(argv)
    result = run(args.config, args.questions, args.rounds)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
