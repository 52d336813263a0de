"""`rag bench`: speed and memory, every figure measured in the same run.

Each corpus size is measured in a fresh subprocess (`python -m evals.bench point ...`) so
peak RSS belongs to that size alone. The shipped corpus is embedded with the real default
model. Synthetic corpora of 1k and 10k articles are embedded with a hashing embedder (fast,
deterministic, 384-d, recorded as its own model) because MiniLM on 2 cores needs hours for
70k chunks; with the default model dense retrieval is skipped on Chinese text anyway (its
[UNK] share is measured), so the default query path is the same: BM25 + extractive answer.
The "+dense" column forces dense retrieval on, to show Chroma's HNSW query cost at size.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_CORPUS, Config, config_from_dict
from rag.errors import IndexMismatchError
from rag.index.embedding import set_offline_env
from rag.index.index_layout import IndexMeta, IndexPaths


class HashingEmbedder:
    """Character-bigram hashing (crc32, stable across processes) into `dim` dimensions: a
    documented fast stand-in for benchmarks at sizes MiniLM would take hours to embed.
    Tests use it as their deterministic embedder too."""

    def __init__(self, dim: int = 384, name: str = "bench-crc-hashing-384", unk_share: float = 0.0):
        self.dimension = dim
        self.name = name
        self._unk = unk_share
        self.documents_embedded = 0

    def _vec(self, text: str) -> list[float]:
        v = np.zeros(self.dimension, dtype=np.float32)
        idx = [zlib.crc32(text[i : i + 2].encode()) % self.dimension for i in range(len(text) - 1)]
        np.add.at(v, idx, 1.0)
        n = float(np.linalg.norm(v)) or 1.0
        return (v / n).tolist()

    def embed_documents(self, texts):
        self.documents_embedded += len(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text):
        return self._vec(text)

    def unk_share(self, texts):
        return self._unk


def _cfg(corpus: str, data_dir: str, **retrieval) -> Config:
    data = {"corpus": {"path": corpus}, "data_dir": data_dir}
    if retrieval:
        data["retrieval"] = retrieval
    return config_from_dict(data)


def _questions(quick: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """Single-turn eval questions; `--quick` takes every fourth (a smoke run, not figures)."""
    from evals.dataset import load_eval_set

    items = [(i.question, i.gold) for i in load_eval_set() if not i.history]
    return items[::4] if quick else items


def _percentiles(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))]}


def _time_answers(pipeline, questions, rounds: int) -> list[float]:
    from rag.retrieve.query import is_chinese

    # warm: the first question, and the first in another language (that one loads the
    # English-Chinese dictionary once per process, rag/retrieve/bridge.py)
    for q in [questions[0], *[q for q in questions if not is_chinese(q)][:1]]:
        pipeline.answer(q)
    out = []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            pipeline.answer(q)
            out.append((time.perf_counter() - t0) * 1000)
    return out


# -- one corpus size, in its own process ---------------------------------------------------

def point(size: str, data_root: Path, unk_share: float, rounds: int, quick: bool = False) -> dict:
    from evals.synth import write_corpus
    from rag.pipeline import build_pipeline, ingest

    if size == "shipped":
        corpus, data_dir, embedder = str(DEFAULT_CORPUS), data_root / "shipped", None
    else:
        n = int(size)
        corpus_dir = data_root / f"synth-{n}"
        if not (corpus_dir / f"synth_{n - 1:05d}.md").exists():
            write_corpus(corpus_dir, n)
        corpus, data_dir = str(corpus_dir), data_root / f"synth-{n}-index"
        embedder = HashingEmbedder(unk_share=unk_share)
    cfg = _cfg(corpus, str(data_dir))
    t0 = time.perf_counter()
    try:
        report = ingest(cfg, embedder=embedder, progress=False)
    except IndexMismatchError:  # a cache left by an older bench embedder
        report = ingest(cfg, embedder=embedder, rebuild=True, progress=False)
    ingest_s = time.perf_counter() - t0
    rss_after_ingest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    questions = [q for q, _ in _questions(quick)][:: 2 if quick else 1]  # quick: a smoke run
    pipeline = build_pipeline(cfg, embedder=embedder)
    default_ms = _time_answers(pipeline, questions, rounds)
    dense_cfg = dataclasses.replace(cfg, retrieval=dataclasses.replace(
        cfg.retrieval, unk_share_full=0.99, unk_share_skip=1.0))
    dense_pipeline = build_pipeline(dense_cfg, embedder=embedder)
    dense_ms = _time_answers(dense_pipeline, questions, max(1, rounds // 2))
    # the fast path: the same pipeline without the trained reader (answer.reader: off); one
    # round, its figure is a reference beside the default's
    fast_cfg = dataclasses.replace(cfg, answer=dataclasses.replace(cfg.answer, reader="off"))
    fast_ms = _time_answers(build_pipeline(fast_cfg, embedder=embedder), questions, 1)
    return {
        "size": size,
        "articles": len(report.chunks_per_article),
        "chunks": report.chunks_total,
        "embedder": report.embedding_model,
        "ingest_s": ingest_s,
        "embedded_this_run": report.chunks_embedded,
        "query": _percentiles(default_ms),
        "query_with_dense": _percentiles(dense_ms),
        "query_reader_off": _percentiles(fast_ms),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_ingest_mb": rss_after_ingest,
    }


# -- ingest throughput vs the physical limit ---------------------------------------------

def ingest_throughput(n_articles: int, work: Path) -> dict:
    from evals.synth import write_corpus
    from rag.index.embedding import build_embedder
    from rag.pipeline import ingest

    corpus = write_corpus(work / f"ingest-{n_articles}", n_articles, seed=11)
    cfg = _cfg(str(corpus), str(work / f"ingest-{n_articles}-index"))
    embedder = build_embedder(cfg)  # the default model (multilingual-e5-small on onnxruntime)
    embedder.embed_documents(["预热 warm up"])
    t0 = time.perf_counter()
    full = ingest(cfg, embedder=embedder, rebuild=True, progress=False)
    full_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = ingest(cfg, embedder=embedder, progress=False)
    re_s = time.perf_counter() - t0
    # the same encoding work the pipeline did: each text a chunk's vector is made of, once
    from evals.archive_bench import index_texts
    from rag.index.sentences import VectorCache

    texts = index_texts(cfg)
    t0 = time.perf_counter()
    for i in range(0, len(texts), VectorCache.SLICE):  # at most the cache's calls
        embedder.embed_documents(texts[i : i + VectorCache.SLICE])
    raw_s = time.perf_counter() - t0
    chunks = full.chunks_embedded
    return {
        "articles": n_articles, "chunks": chunks, "sentences": full.sentences_embedded,
        "threads": cfg.embedding.threads,
        "raw_encode_s": raw_s, "pipeline_vs_raw": raw_s / full_s,
        "full_ingest_s": full_s, "reingest_s": re_s, "reingest_fraction": re_s / full_s,
        "reingest_embedded": again.chunks_embedded,
    }


# -- the LangChain tutorial pipeline, side by side ---------------------------------------

def langchain_baseline(work: Path, quick: bool = False) -> dict:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.index.corpus import load_corpus
    from rag.index.embedding import SentenceTransformerEmbedder
    from rag.pipeline import build_pipeline

    model = SentenceTransformerEmbedder("default")

    class MiniLM(Embeddings):
        def embed_documents(self, texts):
            return model.embed_documents(texts)

        def embed_query(self, text):
            return model.embed_query(text)

    articles, _ = load_corpus(DEFAULT_CORPUS, (".txt", ".md"), 10**7)
    docs = [Document(page_content=a.body, metadata={"article_id": a.id}) for a in articles]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    store = Chroma.from_documents(splits, MiniLM(), collection_name="tutorial",
                                  persist_directory=str(work / "langchain-tutorial"))
    questions = [(q, g) for q, g in _questions(quick) if g]
    store.similarity_search(questions[0][0], k=4)
    lc_ms, lc_hits = [], 0
    for q, gold in questions:
        t0 = time.perf_counter()
        docs = store.similarity_search(q, k=4)
        lc_ms.append((time.perf_counter() - t0) * 1000)
        lc_hits += bool(docs) and docs[0].metadata["article_id"] in gold
    ours = build_pipeline(_cfg(str(DEFAULT_CORPUS), str(work / "shipped")))
    ours.answer(questions[0][0])
    our_ms, our_hits = [], 0
    for q, gold in questions:
        t0 = time.perf_counter()
        ans = ours.answer(q)
        our_ms.append((time.perf_counter() - t0) * 1000)
        our_hits += bool(ans.hits) and ans.hits[0].chunk.article_id in gold
    return {
        "questions": len(questions),
        "langchain": {"hit1": lc_hits / len(questions), **_percentiles(lc_ms), "what": "similarity_search k=4"},
        "ours": {"hit1": our_hits / len(questions), **_percentiles(our_ms), "what": "answer() end to end"},
    }


def cold_start(work: Path, quick: bool = False) -> dict:
    cfg_file = work / "shipped.yaml"
    cfg_file.write_text(json.dumps({"corpus": {"path": str(DEFAULT_CORPUS)}, "data_dir": str(work / "shipped")}))
    rag = [sys.executable, "-m", "rag.cli"]

    def wall(args) -> float:
        t0 = time.perf_counter()
        subprocess.run(rag + args, check=True, capture_output=True, timeout=300)
        return time.perf_counter() - t0

    wall(["--help"])  # page cache
    repeats = 1 if quick else 3  # quick: a smoke run, one of each
    return {
        "help_s": min(wall(["--help"]) for _ in range(repeats)),
        "ask_s": min(wall(["--config", str(cfg_file), "ask", "Anthropic向哪个组织捐赠了2000万美元？"])
                     for _ in range(max(1, repeats - 1))),
    }


def run_bench(quick: bool, data_root: Path, out: Path) -> dict:
    data_root.mkdir(parents=True, exist_ok=True)
    sizes = ["shipped", "100"] if quick else ["shipped", "1000", "10000"]
    rounds = 1 if quick else 2
    results: dict = {"quick": quick, "points": []}
    unk = None
    for size in sizes:
        cmd = [sys.executable, "-m", "evals.bench", "point", size, str(data_root), str(unk or 0.58), str(rounds)]
        if quick:
            cmd.append("--quick")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"bench point {size} failed:\n{proc.stderr[-3000:]}")
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        if size == "shipped":
            meta = IndexMeta.read(IndexPaths.of(data_root / "shipped").lexical)
            if meta is None:
                raise RuntimeError("bench point shipped left no index record")
            unk = meta.unk_share  # synthetic points mimic the default model's [UNK] share
        results["points"].append(data)
    with tempfile.TemporaryDirectory() as tmp:
        results["ingest"] = ingest_throughput(2 if quick else 100, Path(tmp))  # quick: a smoke run
        results["langchain_vs_ours"] = langchain_baseline(data_root, quick)
    results["cold_start"] = cold_start(data_root, quick)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return results


def print_bench(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    t = Table(title="query latency (warm, answer() end to end) and memory by corpus size")
    for col in ("corpus", "articles", "chunks", "embedder", "ingest s", "p50 ms", "p95 ms",
                "+dense p50", "+dense p95", "no reader p50", "no reader p95", "peak RSS MB"):
        t.add_column(col, justify="right")
    for p in r["points"]:
        off = p["query_reader_off"]
        t.add_row(p["size"], str(p["articles"]), str(p["chunks"]), p["embedder"], f"{p['ingest_s']:.1f}",
                  f"{p['query']['p50_ms']:.1f}", f"{p['query']['p95_ms']:.1f}",
                  f"{p['query_with_dense']['p50_ms']:.1f}", f"{p['query_with_dense']['p95_ms']:.1f}",
                  f"{off['p50_ms']:.1f}", f"{off['p95_ms']:.1f}", f"{p['peak_rss_mb']:.0f}")
    console.print(t)
    i = r["ingest"]
    console.print(
        f"ingest ({i['articles']} articles, {i['chunks']} chunks from {i['sentences']} texts, default model, all cores): "
        f"full ingest {i['full_ingest_s']:.1f} s vs raw encode of the same texts {i['raw_encode_s']:.1f} s "
        f"= {i['pipeline_vs_raw']:.2f} of the limit; re-ingest unchanged {i['reingest_s']:.2f} s = "
        f"{i['reingest_fraction']:.1%} of full ({i['reingest_embedded']} embedded)")
    lc = r["langchain_vs_ours"]
    console.print(
        f"shipped corpus, {lc['questions']} questions: LangChain tutorial (1000/200 splits, Chroma, MiniLM, k=4) "
        f"hit@1 {lc['langchain']['hit1']:.2f}, p50 {lc['langchain']['p50_ms']:.1f} ms | ours hit@1 "
        f"{lc['ours']['hit1']:.2f}, p50 {lc['ours']['p50_ms']:.1f} ms (full answer)")
    c = r["cold_start"]
    console.print(f"cold start: `rag ask` {c['ask_s']:.2f} s to first answer; `rag --help` {c['help_s']:.2f} s")
    pts = {p["size"]: p for p in r["points"]}
    if "1000" in pts and "10000" in pts:
        a, b = pts["1000"], pts["10000"]
        console.print(
            f"growth 1k -> 10k articles (x{b['chunks'] / a['chunks']:.1f} chunks): query p50 "
            f"x{b['query']['p50_ms'] / a['query']['p50_ms']:.1f}, +dense p50 "
            f"x{b['query_with_dense']['p50_ms'] / a['query_with_dense']['p50_ms']:.1f}, "
            f"peak RSS x{b['peak_rss_mb'] / a['peak_rss_mb']:.1f}")


def main(argv=None) -> int:
    set_offline_env()
    parser = argparse.ArgumentParser(prog="python -m evals.bench")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("point")
    p.add_argument("size")
    p.add_argument("data_root", type=Path)
    p.add_argument("unk_share", type=float)
    p.add_argument("rounds", type=int)
    p.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(point(args.size, args.data_root, args.unk_share, args.rounds, args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
