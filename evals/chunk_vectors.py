"""`python -m evals.chunk_vectors FILE [N]`: what one embedding pass costs retrieval.

A SQuAD-format file's first N paragraphs become a corpus (one article each, the entry's
title as its title); it is ingested once per way of making chunk vectors
(`embedding.chunk_vectors`: sentences, whole) with the configured backend, and every
answerable question is retrieved through the real pipeline (BM25 + dense + rerank).
Printed: ingest seconds, texts embedded, article hit@1 and hit@5 through the pipeline, and
dense-only article hit@1 (the chunk vectors alone). docs/benchmarks.md, "One embedding pass".
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.config import config_from_dict
from rag.index.embedding import set_offline_env


def write_corpus(squad: Path, limit: int, folder: Path) -> list[tuple[str, str]]:
    """The paragraphs as Markdown articles; returns (question, article file) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    questions: list[tuple[str, str]] = []
    n = 0
    for entry in json.loads(squad.read_text())["data"]:
        title = json.dumps(str(entry.get("title", "")), ensure_ascii=False)
        for para in entry["paragraphs"]:
            if n >= limit:
                return questions
            name = f"p{n:04d}.md"
            (folder / name).write_text(f"---\ntitle: {title}\n---\n\n{para['context']}\n", encoding="utf-8")
            questions.extend((q["question"], name) for q in para["qas"]
                             if not q.get("is_impossible") and q["question"].strip())
            n += 1
    return questions


def measure(squad: Path, limit: int, backend: str, root: Path,
            modes: tuple[str, ...] = ("sentences", "whole")) -> list[dict]:
    from rag.pipeline import build_pipeline, ingest

    questions = write_corpus(squad, limit, root / "corpus")
    rows = []
    for mode in modes:
        cfg = config_from_dict({"corpus": {"path": str(root / "corpus")}, "data_dir": str(root / mode),
                                "embedding": {"backend": backend, "chunk_vectors": mode}})
        t0 = time.perf_counter()
        report = ingest(cfg, progress=False)
        seconds = time.perf_counter() - t0
        pipe = build_pipeline(cfg)
        hit1 = hit5 = 0
        for question, gold in questions:
            ranked = list(dict.fromkeys(Path(h.chunk.article_id).name for h in pipe.retrieve(question)))
            hit1 += bool(ranked) and ranked[0] == gold
            hit5 += gold in ranked[:5]
        dense1 = dense_hit1(cfg, questions)
        n = len(questions)
        rows.append({"chunk_vectors": mode, "ingest_s": round(seconds, 1), "texts_embedded": report.sentences_embedded,
                     "chunks": report.chunks_total, "questions": n, "hit1": round(hit1 / n, 3),
                     "hit5": round(hit5 / n, 3), "dense_hit1": round(dense1 / n, 3)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def dense_hit1(cfg, questions) -> int:
    """Article hit@1 of the chunk vectors alone (every chunk scored, no index approximation)."""
    from rag.index.embedding import build_embedder, model_name
    from rag.index.store import open_store

    store = open_store(cfg, model_name(cfg)).open_for_read()
    chunks, vectors = zip(*[(c, v) for pairs in store.vectors_for(list(store.article_states())).values()
                            for c, v in pairs])
    matrix = np.asarray(vectors, np.float32)
    articles = [Path(c.article_id).name for c in chunks]
    embedder = build_embedder(cfg)
    queries = np.asarray([embedder.embed_query(q) for q, _ in questions], np.float32)
    best = (queries @ matrix.T).argmax(1)
    return sum(articles[b] == gold for b, (_, gold) in zip(best, questions))


def main(argv=None) -> int:
    set_offline_env()
    p = argparse.ArgumentParser(prog="python -m evals.chunk_vectors")
    p.add_argument("squad", type=Path)
    p.add_argument("limit", type=int, nargs="?", default=300)
    p.add_argument("--backend", default="e5-onnx")
    p.add_argument("--modes", default="sentences,whole", help="comma-separated embedding.chunk_vectors values")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        measure(args.squad, args.limit, args.backend, Path(tmp), tuple(args.modes.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
