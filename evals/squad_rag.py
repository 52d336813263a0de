"""`rag eval --squad FILE`: any SQuAD-format file as a RAG benchmark.

Its paragraphs become the corpus (one Markdown article each, indexed once and cached under
`<data_dir>/squad/<digest>/`), and every question is asked of the whole collection through
`answer()`, as a user would ask it. Reported: short-answer EM and F1 (character level, as
the CMRC evaluator computes them; an answer without a short answer scores its empty string),
answer contains gold, gold article cited, abstention precision/recall on `is_impossible`
items, false abstentions on answerable ones, median answer length, p50/p95 latency.

A folder (../shared/qa) with `--fold dev|test` takes that fold of rag.reader.squad's split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import statistics
import time
from pathlib import Path

import numpy as np

from evals.squad_metrics import exact_match, f1
from rag.config import Config
from rag.errors import ConfigError
from rag.reader.squad import SquadItem, load_folds, load_squad


def load_items(path: str | Path, fold: str | None) -> list[SquadItem]:
    path = Path(path)
    if path.is_dir():
        if fold is None:
            raise ConfigError(f"{path} is a folder: give --fold dev or --fold test")
        return load_folds(path)[fold]
    if fold is not None:
        raise ConfigError("--fold is for a folder of SQuAD files (../shared/qa); a single file is used whole")
    return load_squad(path)


def write_corpus(items: list[SquadItem], folder: Path) -> dict[str, str]:
    """One article per paragraph; returns paragraph id -> article id (its file name)."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for item in items:
        if item.paragraph in names:
            continue
        name = f"{item.source}-{item.paragraph}.md"
        names[item.paragraph] = name
        path = folder / name
        if not path.exists():
            title = (item.title or item.context[:20]).replace('"', "'")
            path.write_text(f'---\ntitle: "{title}"\n---\n\n{item.context}\n', encoding="utf-8")
    return names


def run_squad_eval(cfg: Config, path: str | Path, *, fold: str | None = None, every: int = 1,
                   progress: bool = False) -> dict:
    from rag.pipeline import build_pipeline, ingest

    items = load_items(path, fold)[::every]
    digest = hashlib.sha1("\n".join(sorted({i.paragraph for i in items})).encode()).hexdigest()[:12]
    work = Path(cfg.data_dir) / "squad" / digest
    names = write_corpus(items, work / "corpus")
    squad_cfg = cfg.replace(corpus=dataclasses.replace(cfg.corpus, path=str(work / "corpus")),
                            data_dir=str(work / "index"))
    t0 = time.perf_counter()
    ingest(squad_cfg, progress=progress)
    ingest_s = time.perf_counter() - t0
    pipeline = build_pipeline(squad_cfg)
    pipeline.answer("预热")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="squad", leave=False)
    rows = []
    for item in items:
        t = time.perf_counter()
        answer = pipeline.answer(item.question)
        seconds = time.perf_counter() - t
        golds = [a.text for a in item.answers]
        short = answer.short_answer.text if answer.short_answer and not answer.abstained else ""
        rows.append({
            "id": item.id, "impossible": item.impossible, "abstained": answer.abstained,
            "em": exact_match(short, golds) if golds else None, "f1": f1(short, golds) if golds else None,
            "contains": (not answer.abstained and any(g in answer.text for g in golds)) if golds else None,
            "cited": (any(c.source == names[item.paragraph] for c in answer.citations)) if golds else None,
            "chars": len(answer.text), "seconds": seconds, "short": short, "golds": golds,
            # the reader's preference of the short answer over "no answer" (None: none read)
            "margin": answer.short_answer.margin if answer.short_answer else None,
            "question": item.question,
        })
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    return summarize(rows, {"file": str(path), "fold": fold, "every": every, "paragraphs": len(names),
                            "ingest_s": round(ingest_s, 1), "reader": cfg.answer.reader})


def summarize(rows: list[dict], head: dict) -> dict:
    answerable = [r for r in rows if not r["impossible"]]
    impossible = [r for r in rows if r["impossible"]]
    abstained = [r for r in rows if r["abstained"]]

    def share(xs, key):
        return round(float(np.mean([bool(x[key]) if isinstance(x[key], bool) else x[key] for x in xs])), 3) if xs else None

    latencies = [r["seconds"] * 1000 for r in rows]
    answered_chars = [r["chars"] for r in rows if not r["abstained"]]
    return {**head, "questions": len(rows), "answerable": len(answerable), "unanswerable": len(impossible),
            "em": share(answerable, "em"), "f1": share(answerable, "f1"),
            "contains_gold": share(answerable, "contains"), "gold_article_cited": share(answerable, "cited"),
            "false_abstention": share(answerable, "abstained"),
            "unanswerable_abstained": share(impossible, "abstained"),
            "abstention_precision": (round(sum(r["impossible"] for r in abstained) / len(abstained), 3)
                                     if abstained and impossible else None),
            "median_answer_chars": statistics.median(answered_chars) if answered_chars else None,
            "p50_ms": round(float(np.percentile(latencies, 50)), 1) if rows else None,
            "p95_ms": round(float(np.percentile(latencies, 95)), 1) if rows else None,
            "rows": rows}


def print_squad(result: dict) -> None:
    keys = ("questions", "unanswerable", "em", "f1", "contains_gold", "gold_article_cited", "false_abstention",
            "unanswerable_abstained", "abstention_precision", "median_answer_chars", "p50_ms", "p95_ms")
    print(f"squad eval: {result['file']} fold={result['fold']} every={result['every']} reader={result['reader']}")
    for k in keys:
        print(f"  {k:24s} {result[k]}")


def write_squad_report(result: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "squad-eval.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return path
