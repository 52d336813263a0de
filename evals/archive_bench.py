"""`rag bench --archive DIR`: the embedding model and ingest at the size of a user's archive,
every figure measured in one run, each heavy step in its own process (so its peak RSS is its
own).

1. ingest the archive with the configured backend (a fresh index under the work dir); with
   `--interrupt-after S` the first run is killed (SIGKILL) after S seconds and a second run
   resumes it: the texts the killed run had embedded (its pending shards) plus those the
   resumed run embeds must equal the index's texts, i.e. nothing is embedded twice;
2. re-ingest the unchanged archive;
3. the limit: a seeded sample of the very texts the pipeline embedded, run through the same
   architecture in torch fp32 (XLMRobertaModel holding the same weights, all cores, batched by
   length the same way), and through the runtime alone (no ingest around it);
4. query latency at this size: `answer()` end to end with the question embedded (the default,
   fast path), warm, p50/p95;
5. cold `rag ask` (a new process: import, open the index, load the model, answer).

Pipeline ingest throughput is the model tokens the ingest ran divided by its wall time (with
chunking, Chroma writes and the BM25 build inside it); its ratio to the torch figure is the
share of the machine's fp32 limit the pipeline reaches.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from evals.bench import _percentiles
from rag.config import config_from_dict
from rag.index.embedding import set_offline_env

SAMPLE_TEXTS = 3000  # texts for the limit measurement (~100k tokens: about a minute each way)

# Questions in a news reader's words; none names a particular article. With 16 more made
# from sampled articles' titles, so some questions have an answer in the archive.
GENERIC_QUESTIONS = (
    "台风登陆后造成了哪些影响？", "暴雨导致了多少人受灾？", "央行最近出台了什么政策？", "A股市场今天表现如何？",
    "哪些地方发布了高温预警？", "新能源汽车的销量怎么样？", "今年夏粮产量是多少？", "大运会在哪里举办？",
    "防汛应急响应提升到了几级？", "房地产市场有什么新政策？", "What damage did the typhoon cause?",
    "How did the stock market perform?", "哪家公司发布了新的大模型？", "暑期旅游市场的情况如何？",
    "地震发生在哪里，震级多少？", "消费券发放了多少？",
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cfg(cfg_file: Path):
    return config_from_dict(json.loads(cfg_file.read_text()))


# -- steps, each run in its own process ----------------------------------------------------

def step_ingest(cfg_file: Path) -> dict:
    from rag.index.embedding import build_embedder
    from rag.pipeline import ingest

    cfg = _cfg(cfg_file)
    embedder = build_embedder(cfg)
    t0 = time.perf_counter()
    report = ingest(cfg, embedder=embedder, progress=True)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "articles": len(report.chunks_per_article), "chunks": report.chunks_total,
            "chunks_embedded": report.chunks_embedded, "texts_embedded": report.sentences_embedded,
            "tokens_embedded": getattr(embedder, "tokens_embedded", None), "model": report.embedding_model,
            "peak_rss_mb": _rss_mb()}


def index_texts(cfg) -> list[str]:
    """The texts ingest embedded for the chunks in the index (sentences and headers)."""
    from rag.index.embedding import model_name
    from rag.index.sentences import vector_texts
    from rag.index.store import open_store

    store = open_store(cfg, model_name(cfg)).open_for_read()
    texts: dict[str, None] = {}
    for chunk in store.all_chunks():
        header, body = vector_texts(chunk)
        texts.update(dict.fromkeys(t for t in (header, *body) if t))
    return list(texts)


def embedded_texts(cfg) -> int:
    """How many distinct texts an ingest of this index embeds: the chunks' vector texts and
    the parts article profiles are made of (the profiles themselves are derived, not embedded)."""
    from rag.index.catalog import profile_text
    from rag.index.ingest import lexical_dir
    from rag.index.lexical import LexicalIndex
    from rag.index.sentences import profile_parts

    texts = set(index_texts(cfg))
    for record in LexicalIndex.load(Path(lexical_dir(cfg))).articles:
        header, body = profile_parts(profile_text(record))
        texts.update(t for t in (header, *body) if t)
    return len(texts)


def step_limit(cfg_file: Path, n: int) -> dict:
    """Tokens/s of torch fp32 and of the configured runtime on the same sample of texts."""
    import torch

    from rag.index.e5.model import build_embedder as build_torch
    from rag.index.e5.runtime import length_batches
    from rag.index.e5.tokenizer import PASSAGE_PREFIX, E5Tokenizer
    from rag.index.e5.weights import SourceModel
    from rag.index.embedding import build_embedder

    cfg = _cfg(cfg_file)
    texts = index_texts(cfg)
    sample = random.Random(0).sample(texts, min(n, len(texts)))
    source = SourceModel()
    tokenizer = E5Tokenizer(source.vocabulary, source.dims.positions)
    windows = [w for t in sample for w in tokenizer.encode(t, PASSAGE_PREFIX)]
    tokens = sum(map(len, windows))

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    model = build_torch(source)
    # the runtime's own batching
    batches = [[windows[k] for k in b] for b in length_batches([len(w) for w in windows], cfg.embedding.batch_size)]
    with torch.inference_mode():
        t0 = time.perf_counter()
        for batch in batches:
            width = len(batch[-1])
            ids = torch.full((len(batch), width), tokenizer.pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, w in enumerate(batch):
                ids[row, : len(w)] = torch.tensor(w)
                mask[row, : len(w)] = 1
            model(ids, mask)
        torch_s = time.perf_counter() - t0
    del model

    embedder = build_embedder(cfg)
    embedder.embed_documents(["预热 warm up"])
    before = getattr(embedder, "tokens_embedded", None)
    t0 = time.perf_counter()
    embedder.embed_documents(sample)
    runtime_s = time.perf_counter() - t0
    counted = getattr(embedder, "tokens_embedded", None)
    if before is not None and counted is not None and counted - before != tokens:
        raise RuntimeError(f"the runtime ran {counted - before} tokens, the torch run {tokens}")
    return {"texts": len(sample), "of_texts": len(texts), "tokens": tokens, "threads": threads,
            "torch_fp32_tok_s": tokens / torch_s, "runtime_tok_s": tokens / runtime_s,
            "runtime": embedder.name, "peak_rss_mb": _rss_mb()}


def step_query(cfg_file: Path, rounds: int) -> dict:
    from rag.index.corpus import load_corpus
    from rag.pipeline import build_pipeline

    cfg = _cfg(cfg_file)
    articles, _ = load_corpus(cfg.corpus.path, cfg.corpus.extensions, cfg.corpus.max_file_bytes,
                              exclude=cfg.corpus.exclude)
    titled = [a for a in articles if a.title]
    picked = random.Random(1).sample(titled, min(16, len(titled)))
    questions = [*GENERIC_QUESTIONS, *(f"{a.title[:30]}是怎么回事？" for a in picked)]
    pipe = build_pipeline(cfg)
    t0 = time.perf_counter()
    pipe.answer(questions[0])
    first_ms = (time.perf_counter() - t0) * 1000
    pipe.answer(GENERIC_QUESTIONS[10])  # the first English question loads the bridge dictionary
    ms, answered = [], 0
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            answer = pipe.answer(q)
            ms.append((time.perf_counter() - t0) * 1000)
            answered += not answer.abstained
    return {"questions": len(questions), "rounds": rounds, **_percentiles(ms), "first_ms": first_ms,
            "answered_share": answered / len(ms), "peak_rss_mb": _rss_mb()}


# -- the run ---------------------------------------------------------------------------------

def _step(args: list[str], timeout: float = 7200) -> dict:
    cmd = [sys.executable, "-m", "evals.archive_bench", *args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"archive bench step {args[0]} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _interrupted_ingest(cfg_file: Path, after_s: float) -> dict:
    """The first ingest killed after `after_s` seconds; what its shards hold."""
    from rag.index.index_layout import IndexPaths

    cmd = [sys.executable, "-m", "evals.archive_bench", "ingest", str(cfg_file)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        proc.wait(timeout=after_s)
        raise RuntimeError(f"ingest finished in under {after_s} s: nothing to interrupt")
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_s = time.perf_counter() - t0
    pending = IndexPaths.of(_cfg(cfg_file).data_dir).pending_sentences
    keys: set[str] = set()
    for shard in sorted(pending.glob("*.npz")):
        with np.load(shard) as z:
            keys.update(z["keys"].tolist())
    return {"killed_after_s": killed_s, "shards": len(list(pending.glob("*.npz"))), "texts_in_shards": len(keys)}


def cold_ask(cfg_file: Path, question: str, repeats: int = 2) -> float:
    rag = [sys.executable, "-m", "rag.cli", "--config", str(cfg_file), "ask", question]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(rag, check=True, capture_output=True, timeout=300)
        best = min(best, time.perf_counter() - t0)
    return best


def run_archive_bench(archive: Path, work: Path, out: Path, *, interrupt_after: float | None = None,
                      backend: str | None = None, rounds: int = 2) -> dict:
    import shutil

    from rag.index.sentences import SentenceIndex, sentence_dir

    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "archive-index"
    shutil.rmtree(data_dir, ignore_errors=True)  # the full ingest is measured from nothing
    cfg_data: dict = {"corpus": {"path": str(archive.resolve())}, "data_dir": str(data_dir)}
    if backend:
        cfg_data["embedding"] = {"backend": backend}
    cfg_file = work / "archive.yaml"
    cfg_file.write_text(json.dumps(cfg_data))
    results: dict = {"archive": str(archive), "config": cfg_data}

    first = _interrupted_ingest(cfg_file, interrupt_after) if interrupt_after else None
    full = _step(["ingest", str(cfg_file)])
    full["texts_needed"] = embedded_texts(_cfg(cfg_file))
    index = SentenceIndex.load(sentence_dir(data_dir))
    if index is None:
        raise RuntimeError(f"the ingest left no sentence vectors in {data_dir}")
    if first is not None:
        full["interrupted"] = first
        full["resumed_s"] = full["seconds"]
        full["seconds"] = first["killed_after_s"] + full["seconds"]
        # nothing embedded twice: what the killed run embedded plus what the resumed run did
        # is exactly what the finished index needed embedded
        full["texts_reused_from_shards"] = first["texts_in_shards"]
        full["nothing_embedded_twice"] = first["texts_in_shards"] + full["texts_embedded"] == full["texts_needed"]
    full["texts_in_index"] = len(index)  # with the derived article profiles
    if full.get("tokens_embedded"):  # the (resumed) run's own tokens over its own wall time
        full["pipeline_tok_s"] = full["tokens_embedded"] / full.get("resumed_s", full["seconds"])
    results["ingest"] = full
    results["reingest"] = _step(["ingest", str(cfg_file)])
    results["reingest"]["fraction_of_full"] = results["reingest"]["seconds"] / full["seconds"]
    results["limit"] = _step(["limit", str(cfg_file), str(SAMPLE_TEXTS)])
    if full.get("pipeline_tok_s"):
        results["pipeline_vs_torch_fp32"] = full["pipeline_tok_s"] / results["limit"]["torch_fp32_tok_s"]
    results["query"] = _step(["query", str(cfg_file), str(rounds)])
    results["cold_ask_s"] = cold_ask(cfg_file, GENERIC_QUESTIONS[0])
    results["peak_rss_mb"] = max(results[k]["peak_rss_mb"] for k in ("ingest", "reingest", "query"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return results


def print_archive_bench(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    i, re_, lim, q = r["ingest"], r["reingest"], r["limit"], r["query"]
    t = Table(title=f"archive bench: {r['archive']} ({i['articles']} articles, {i['chunks']} chunks, "
                    f"{i['texts_in_index']} texts embedded once)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("note")
    t.add_row("torch fp32 limit (same texts)", f"{lim['torch_fp32_tok_s']:,.0f} tok/s",
              f"{lim['texts']} texts, {lim['tokens']:,} tokens, {lim['threads']} threads")
    t.add_row("runtime alone", f"{lim['runtime_tok_s']:,.0f} tok/s", lim["runtime"])
    if "pipeline_tok_s" in i:
        t.add_row("pipeline ingest", f"{i['pipeline_tok_s']:,.0f} tok/s",
                  f"{r['pipeline_vs_torch_fp32']:.2f} of the torch fp32 limit")
    t.add_row("full ingest", f"{i['seconds'] / 60:.1f} min", f"peak RSS {i['peak_rss_mb']:,.0f} MB")
    if "interrupted" in i:
        k = i["interrupted"]
        t.add_row("  killed, then resumed", f"{k['killed_after_s'] / 60:.1f} + {i['resumed_s'] / 60:.1f} min",
                  f"{k['texts_in_shards']} texts reused from shards; nothing embedded twice: "
                  f"{i['nothing_embedded_twice']}")
    t.add_row("re-ingest unchanged", f"{re_['seconds']:.1f} s",
              f"{re_['fraction_of_full']:.1%} of full; {re_['texts_embedded']} texts embedded")
    t.add_row("query p50 / p95", f"{q['p50_ms']:.0f} / {q['p95_ms']:.0f} ms",
              f"answer() warm, question embedded; {q['questions']} questions x {q['rounds']}")
    t.add_row("cold `rag ask`", f"{r['cold_ask_s']:.2f} s", "new process to first answer")
    t.add_row("peak RSS", f"{r['peak_rss_mb']:,.0f} MB", "the largest of ingest, re-ingest, query")
    Console(width=150).print(t)


def main(argv=None) -> int:
    set_offline_env()
    p = argparse.ArgumentParser(prog="python -m evals.archive_bench")
    sub = p.add_subparsers(dest="step", required=True)
    s = sub.add_parser("ingest")
    s.add_argument("cfg", type=Path)
    s = sub.add_parser("limit")
    s.add_argument("cfg", type=Path)
    s.add_argument("n", type=int)
    s = sub.add_parser("query")
    s.add_argument("cfg", type=Path)
    s.add_argument("rounds", type=int)
    args = p.parse_args(argv)
    if args.step == "ingest":
        result = step_ingest(args.cfg)
    elif args.step == "limit":
        result = step_limit(args.cfg, args.n)
    else:
        result = step_query(args.cfg, args.rounds)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
