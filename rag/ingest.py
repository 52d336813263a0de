"""Incremental ingestion: corpus -> chunks -> embeddings -> vector store + lexical index.

Each article is keyed by its content hash and the chunking settings. Unchanged articles
are not re-embedded; edited ones have their chunks replaced; deleted files lose theirs.
The store itself is the record of what is indexed (each chunk carries its article's key
and chunk count), so a run killed part-way is repaired by the next one.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from rag.chunking import chunk_article
from rag.config import Config
from rag.corpus import load_corpus
from rag.embedding import Embedder
from rag.errors import RagError
from rag.lexical import CATALOG_FILE, LEXICAL_FORMAT, LexicalIndex
from rag.retrieval import dense_weight_for
from rag.store import VectorStore
from rag.types import Article, Chunk, IngestReport

_CHUNKER_VERSION = "1"
_BATCHES_PER_WRITE = 8  # embedding batches per store write: keeps encode busy, bounds lost work
_UNK_SAMPLE = 2000


class IngestBusyError(RagError):
    """Another `rag ingest` holds the lock on this data dir."""


def lexical_dir(cfg: Config) -> Path:
    return Path(cfg.data_dir) / "lexical"


@contextmanager
def ingest_lock(data_dir: str):
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(data_dir) / "ingest.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestBusyError(f"another ingest is running on {data_dir}") from exc
        yield


def ingest_key(article: Article, cfg: Config) -> str:
    return f"{article.content_hash}:{cfg.chunking.size}:{cfg.chunking.overlap}:{_CHUNKER_VERSION}"


def remove_lexical(cfg: Config) -> None:
    shutil.rmtree(lexical_dir(cfg), ignore_errors=True)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc="embedding", disable=not enabled or total == 0,
                file=sys.stderr, leave=False)


def run_ingest(
    cfg: Config,
    embedder: Embedder,
    store,  # vectorstore.ChromaStore, not yet opened
    *,
    corpus_path: str | None = None,
    rebuild: bool = False,
    progress: bool | None = None,
) -> IngestReport:
    t0 = time.perf_counter()
    if progress is None:
        progress = sys.stderr.isatty()
    articles, skipped = load_corpus(
        corpus_path or cfg.corpus.path, cfg.corpus.extensions, cfg.corpus.max_file_bytes
    )
    with ingest_lock(cfg.data_dir):
        store.open_for_write(lambda: embedder.dimension, rebuild=rebuild)
        return _ingest_locked(cfg, embedder, store, articles, skipped, progress, t0)


def _ingest_locked(cfg, embedder, store: VectorStore, articles, skipped, progress, t0) -> IngestReport:
    states = store.article_states()
    keys = {a.id: ingest_key(a, cfg) for a in articles}
    added, updated, unchanged, todo = [], [], [], []
    for a in articles:
        state = states.get(a.id)
        if state is not None and state.ingest_key == keys[a.id] and state.complete:
            unchanged.append(a.id)
        else:
            (updated if state is not None else added).append(a.id)
            todo.append(a)
    present = {a.id for a in articles}
    # A file that still exists but now fails to load keeps its last good version.
    kept = {s.path for s in skipped}
    removed = sorted(a for a in states if a not in present and a not in kept)
    if removed:
        store.delete_articles(removed)

    embedded = 0
    pending: list[Chunk] = []
    pending_ids: list[str] = []

    def flush():
        nonlocal embedded
        if not pending_ids:
            return
        vectors = embedder.embed_documents([c.search_text() for c in pending])
        store.replace_articles(list(pending_ids), list(pending), vectors, keys)
        embedded += len(pending)
        bar.update(len(pending))
        pending.clear()
        pending_ids.clear()

    chunked = [(a, chunk_article(a, cfg.chunking.size, cfg.chunking.overlap)) for a in todo]
    with _progress(sum(len(c) for _, c in chunked), progress) as bar:
        for article, chunks in chunked:
            pending.extend(chunks)
            pending_ids.append(article.id)
            if len(pending) >= _BATCHES_PER_WRITE * cfg.embedding.batch_size:
                flush()
        flush()

    lex_dir = lexical_dir(cfg)
    previous = _previous_meta(lex_dir)
    changed = (bool(todo or removed) or previous is None or previous.get("count") != store.count()
               or previous.get("format") != LEXICAL_FORMAT or not (lex_dir / CATALOG_FILE).exists())
    if changed:
        all_chunks = store.all_chunks()
        if previous is not None and not todo and previous.get("embedding_model") == embedder.name:
            unk = previous["unk_share"]
        else:
            sample = [c.text for c in all_chunks[:: max(1, len(all_chunks) // _UNK_SAMPLE)]]
            unk = embedder.unk_share(sample) if sample else 0.0
        per_article = _per_article(c.article_id for c in all_chunks)
        meta = {"embedding_model": embedder.name, "unk_share": unk, "count": len(all_chunks),
                "chunks_per_article": per_article}
        LexicalIndex.build(all_chunks, meta, _catalog(articles, all_chunks, lex_dir)).save(lex_dir)
    else:
        unk = previous["unk_share"]
        per_article = previous.get("chunks_per_article", {})

    return IngestReport(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        removed=tuple(removed),
        skipped=tuple(skipped),
        chunks_total=sum(per_article.values()),
        chunks_embedded=embedded,
        seconds=time.perf_counter() - t0,
        embedding_model=embedder.name,
        unk_share=unk,
        dense_weight=dense_weight_for(unk, cfg.retrieval),
        chunks_per_article=per_article,
    )


def _catalog(articles, chunks, lex_dir: Path):
    from rag.collection import catalog_for
    from rag.lexical import read_catalog

    try:
        previous = read_catalog(lex_dir)
    except (OSError, ValueError, KeyError, TypeError):
        previous = []  # a damaged catalog is rebuilt from the articles that load
    return catalog_for(articles, (c.article_id for c in chunks), previous)


def _per_article(ids) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in ids:
        counts[a] = counts.get(a, 0) + 1
    return dict(sorted(counts.items()))


def _previous_meta(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
