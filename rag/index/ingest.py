"""Incremental ingestion: corpus -> plan -> embed -> write (vector store, then lexical index).

One embedding pass: the model embeds sentences (and each chunk's header); chunk vectors
are made from them (rag.index.sentences). What a run embeds is kept in shards until the
index is saved, so an interrupted run, resumed, embeds nothing twice.

Each article is keyed by its content hash and the chunking settings. Unchanged articles
are not re-embedded; edited ones have their chunks replaced; deleted files lose theirs; a
renamed or moved file keeps its vectors. The store is the record of what is embedded (each
chunk carries its article's key and chunk count) and the lexical index records the keys it
was built from, so whatever point a run is killed at, the next run sees the difference and
finishes the work.

Nothing is destroyed before the lock is held and the new state is written:
- `rebuild` writes a new generation of the collection beside the live one, then swaps in
  the lexical index (whose meta names the live collection) with one atomic rename; the old
  collection is dropped last. Readers keep answering from the old index until the swap.
- a corpus with no loadable article, or one that would remove more than half of the index,
  is refused unless `allow_empty` / `prune` says so.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.config import Config
from rag.errors import IndexBusyError, IndexCorruptError, IngestRefusedError, RagError
from rag.index.chunking import chunk_article
from rag.index.corpus import FRONT_MATTER_LOADER, load_corpus
from rag.index.embedding import Embedder, dense_weight_for
from rag.index.index_layout import IndexMeta, IndexPaths
from rag.index.lexical import (
    CATALOG_FILE,
    HEAD_TERMS_FILE,
    LEXICAL_FORMAT,
    SCAN_TEXTS_FILE,
    LexicalIndex,
    damaged_files,
)
from rag.index.sentences import SentenceIndex, VectorCache, sentence_dir
from rag.index.storage import storage_error
from rag.index.store import ArticleState, VectorStore
from rag.types import Article, Chunk, IngestReport, SkippedFile

_CHUNKER_VERSION = "2"  # 2: chunk vectors made from sentence vectors
_BATCHES_PER_WRITE = 8  # embedding batches per store write: keeps encode busy, bounds lost work
_UNK_SAMPLE = 2000
KILL_AT_ENV = "RAG_INGEST_KILL_AT"
STOP_AT_ENV = "RAG_INGEST_STOP_AT"


class IngestBusyError(IndexBusyError):
    """Another `rag ingest` (or backup, restore) holds the lock on this data dir."""


def lexical_dir(cfg: Config) -> Path:
    return IndexPaths.of(cfg.data_dir).lexical


@contextmanager
def ingest_lock(data_dir: str):
    """The one writer of a data dir: ingest, backup and restore take it; readers never do."""
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        f = open(IndexPaths.of(data_dir).lock, "a")
    except OSError as exc:
        raise storage_error(data_dir, exc, "take the ingest lock") from exc
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestBusyError(
                f"another ingest (or a backup or restore) is running on {data_dir}; "
                "try again when it finishes"
            ) from exc
        yield


def checkpoint(name: str) -> None:
    """Fault injection for tests/test_reliability.py: RAG_INGEST_KILL_AT=<step> kills the
    process at that step exactly as `kill -9` would; RAG_INGEST_STOP_AT=<step> freezes it
    there (SIGSTOP, lock held) until the test sends SIGCONT."""
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(STOP_AT_ENV) == name:
        print(f"checkpoint {name}: stopped", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)


def ingest_key(article: Article, cfg: Config) -> str:
    key = f"{article.content_hash}:{cfg.chunking.size}:{cfg.chunking.overlap}:{_CHUNKER_VERSION}"
    if cfg.embedding.chunk_vectors != "sentences":
        key += f":{cfg.embedding.chunk_vectors}"
    # Another loader (or a new version of the built-in one) is part of the key; the built-in
    # loader's first version adds nothing, so indexes made before loaders had versions stay valid.
    return key if article.loader in ("", FRONT_MATTER_LOADER.version) else f"{key}:{article.loader}"


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc="embedding", disable=not enabled or total == 0,
                file=sys.stderr, leave=False, dynamic_ncols=True)


class _Rate:
    """What the progress bar shows beside chunks/s: the model's tokens/s where the embedder
    counts its tokens (`tokens_embedded`), else texts/s."""

    def __init__(self, embedder: Embedder, cache: VectorCache):
        self._embedder, self._cache, self._t0 = embedder, cache, time.perf_counter()
        self._tokens0 = getattr(embedder, "tokens_embedded", None)
        self._texts0 = cache.embedded

    def __str__(self) -> str:
        dt = max(time.perf_counter() - self._t0, 1e-9)
        tokens = getattr(self._embedder, "tokens_embedded", None)
        if tokens is not None and self._tokens0 is not None:
            return f"{(tokens - self._tokens0) / dt:,.0f} tok/s"
        return f"{(self._cache.embedded - self._texts0) / dt:,.1f} texts/s"


# -- plan ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class IngestPlan:
    """What a run will do, decided before anything is written."""

    keys: Mapping[str, str]  # article id -> ingest key, for every loaded article
    todo: tuple[Article, ...]  # to chunk, embed (or reuse vectors) and write
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    moved: tuple[tuple[str, str], ...]  # (old id, new id)
    skipped: tuple[SkippedFile, ...]
    record: Mapping[str, str]  # article id -> key the index holds once the plan is done
    indexed_before: int  # articles in the live index


def plan_ingest(cfg: Config, articles: list[Article], skipped: list[SkippedFile],
                states: Mapping[str, ArticleState], rebuild: bool) -> IngestPlan:
    keys = {a.id: ingest_key(a, cfg) for a in articles}
    present = set(keys)
    # A file that still exists but now fails to load keeps its last good version; a duplicate
    # of another file does not (the other file is the article), nor one corpus.exclude names.
    kept = {s.path for s in skipped if s.duplicate_of is None and not s.excluded and s.path in states}
    gone = sorted(a for a in states if a not in present and a not in kept)
    base = {} if rebuild else states
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    todo: list[Article] = []
    for a in articles:
        state = base.get(a.id)
        if state is not None and state.ingest_key == keys[a.id] and state.complete:
            unchanged.append(a.id)
        else:
            (updated if state is not None else added).append(a.id)
            todo.append(a)
    moved: list[tuple[str, str]] = []
    if not rebuild:
        # Same content and chunking under another name: a rename or a move.
        by_key: dict[str, list[str]] = {}
        for old in gone:
            if states[old].complete:
                by_key.setdefault(states[old].ingest_key, []).append(old)
        for new in added:
            olds = by_key.get(keys[new])
            if olds:
                moved.append((olds.pop(0), new))
    moved_old = {o for o, _ in moved}
    moved_new = {n for _, n in moved}
    record = {} if rebuild else {a: s.ingest_key for a, s in states.items() if a in kept}
    record.update({a: keys[a] for a in keys})
    return IngestPlan(
        keys=keys, todo=tuple(todo),
        added=tuple(a for a in added if a not in moved_new), updated=tuple(updated),
        unchanged=tuple(unchanged), removed=tuple(g for g in gone if g not in moved_old),
        moved=tuple(moved), skipped=tuple(skipped), record=dict(sorted(record.items())),
        indexed_before=len(states),
    )


def check_plan(plan: IngestPlan, corpus: str, extensions, allow_empty: bool, prune: bool) -> None:
    """Refuse runs that look like a mistake (a wrong or unmounted folder, a typo)."""
    if not plan.keys and not allow_empty:
        held = (f"; the index holds {plan.indexed_before} articles and this run would remove them all"
                if plan.indexed_before else "")
        raise IngestRefusedError(
            f"no loadable articles in {corpus} (extensions {', '.join(extensions) or 'none'}, "
            f"{len(plan.skipped)} files skipped){held}. Check the path; to empty the index on "
            "purpose, run again with --allow-empty"
        )
    losing = len(plan.removed)
    if plan.keys and losing * 2 > plan.indexed_before and losing > 0 and not (prune or allow_empty):
        raise IngestRefusedError(
            f"this run would remove {losing} of the {plan.indexed_before} indexed articles (more "
            f"than half) because they are no longer in {corpus}. Check the path; if that is "
            "intended, run again with --prune"
        )


# -- embed and write ----------------------------------------------------------------------

def _write(cfg: Config, embedder: Embedder, target: VectorStore, source: VectorStore,
           plan: IngestPlan, progress: bool, cache: VectorCache) -> int:
    """Chunk, make vectors (reusing a moved article's) and write the planned articles in
    batches; returns how many chunk vectors were made."""
    moved_from = {new: old for old, new in plan.moved}
    embedded = 0
    pending: list[Chunk] = []
    pending_ids: list[str] = []

    def flush():
        nonlocal embedded
        if not pending_ids:
            return
        olds = [moved_from[a] for a in pending_ids if a in moved_from]
        stored = source.vectors_for(olds) if olds else {}
        known = {c.search_text(): v for pairs in stored.values() for c, v in pairs}
        found = [known.get(c.search_text()) for c in pending]
        need = [i for i, v in enumerate(found) if v is None]
        try:
            fresh = dict(zip(need, cache.chunk_vectors([pending[i] for i in need], embedder,
                                                       whole=cfg.embedding.chunk_vectors == "whole"))) if need else {}
        except OSError as exc:
            raise storage_error(cache.pending.parent if cache.pending else cfg.data_dir, exc,
                                "write the vectors of this run") from exc
        vectors = [v if v is not None else fresh[i] for i, v in enumerate(found)]
        target.replace_articles(list(pending_ids), list(pending), vectors, dict(plan.keys))
        embedded += len(need)
        bar.update(len(pending))
        bar.set_postfix_str(str(rate), refresh=False)
        pending.clear()
        pending_ids.clear()
        checkpoint("store-batch")

    chunked = [(a, chunk_article(a, cfg.chunking.size, cfg.chunking.overlap)) for a in plan.todo]
    rate = _Rate(embedder, cache)
    with _progress(sum(len(c) for _, c in chunked), progress) as bar:
        for article, chunks in chunked:
            pending.extend(chunks)
            pending_ids.append(article.id)
            if len(pending) >= _BATCHES_PER_WRITE * cfg.embedding.batch_size:
                flush()
        flush()
    return embedded


def _commit_lexical(cfg: Config, embedder: Embedder, target: VectorStore, plan: IngestPlan,
                    previous: IndexMeta | None, wrote: bool, cache: VectorCache,
                    old_sentences: SentenceIndex | None,
                    articles: list[Article] | None = None) -> tuple[float, dict[str, int], bool]:
    """Rebuild the lexical index (and the sentence vectors) from the store when it does not
    match what the store now holds; its meta (collection name, per-article keys) is the
    ingest record. Returns (unk share, chunks per article, rebuilt)."""
    from rag.index.topics import topic_count

    lex_dir = lexical_dir(cfg)
    sentences_dir = sentence_dir(cfg.data_dir)
    changed = (wrote or previous is None or previous.format != LEXICAL_FORMAT
               or old_sentences is None or old_sentences.model != embedder.name
               or previous.collection != target.name
               or previous.articles != plan.record
               or previous.count != target.count()
               or not (lex_dir / CATALOG_FILE).exists()
               or (topic_count(len(plan.record)) > 0 and not _has_centred_topics(lex_dir))
               or not (lex_dir / SCAN_TEXTS_FILE).exists()
               or not (lex_dir / HEAD_TERMS_FILE).exists()
               or bool(damaged_files(lex_dir.resolve(), previous.files)))
    if not changed and previous is not None:
        return previous.unk_share, previous.chunks_per_article, False
    all_chunks = target.all_chunks()
    # Sentence vectors first, the lexical index last: its meta is the ingest record and what
    # readers take as a complete index. Vectors are keyed by sentence text, so a run killed
    # between the two leaves only reusable vectors behind.
    from rag.index.catalog import profile_text

    catalog = _catalog(articles or [], all_chunks, lex_dir)
    try:
        sentences, _ = SentenceIndex.build(all_chunks, embedder, cache, derived=[profile_text(r) for r in catalog])
        sentences.save(sentences_dir)
        topics = _topic_map(catalog, sentences)
        del sentences
        cache.forget()  # ~250 MB at 10,000 articles, not needed by the BM25 build
    except OSError as exc:
        raise storage_error(sentences_dir.parent, exc, "write the sentence vectors") from exc
    if previous is not None and not cache.embedded and previous.embedding_model == embedder.name:
        unk = previous.unk_share  # no new text for the model: do not load it to re-measure
    else:
        sample = [c.text for c in all_chunks[:: max(1, len(all_chunks) // _UNK_SAMPLE)]]
        unk = embedder.unk_share(sample) if sample else 0.0
    per_article = _per_article(c.article_id for c in all_chunks)
    meta = IndexMeta(embedding_model=embedder.name, unk_share=unk, count=len(all_chunks),
                     chunks_per_article=per_article, collection=target.name,
                     articles=dict(plan.record)).to_dict()
    try:
        LexicalIndex.build(all_chunks, meta, catalog, topics).save(lex_dir)
    except OSError as exc:
        raise storage_error(lex_dir.parent, exc, "write the lexical index") from exc
    return unk, per_article, True


# -- the run ------------------------------------------------------------------------------

def _live(store: VectorStore, previous: IndexMeta | None) -> tuple[VectorStore, list[str]]:
    """The collection the index uses now (named by the lexical index), and every generation."""
    generations = store.generations()
    named = previous.collection if previous is not None else None
    if named in generations:
        live = named
    elif store.name in generations or not generations:
        live = store.name
    else:
        live = generations[-1]  # the lexical index is gone: take the newest and repair it
    return (store if live == store.name else store.with_collection(live)), generations


def run_ingest(
    cfg: Config,
    embedder: Embedder,
    store: VectorStore,  # vectorstore.ChromaStore on the configured collection, not yet opened
    *,
    corpus_path: str | None = None,
    rebuild: bool = False,
    progress: bool | None = None,
    allow_empty: bool = False,
    prune: bool = False,
) -> IngestReport:
    with ingest_lock(cfg.data_dir):
        return run_ingest_locked(cfg, embedder, store, corpus_path=corpus_path, rebuild=rebuild,
                                 progress=progress, allow_empty=allow_empty, prune=prune)


def run_ingest_locked(cfg: Config, embedder: Embedder, store: VectorStore, *, corpus_path=None,
                      rebuild=False, progress=None, allow_empty=False, prune=False) -> IngestReport:
    """run_ingest for a caller that already holds ingest_lock(cfg.data_dir)."""
    t0 = time.perf_counter()
    if progress is None:
        progress = sys.stderr.isatty()
    corpus = corpus_path or cfg.corpus.path
    previous = _previous_meta(lexical_dir(cfg))
    live, generations = _live(store, previous)
    states = live.article_states() if live.exists() else {}
    articles, skipped = load_corpus(corpus, cfg.corpus.extensions, cfg.corpus.max_file_bytes,
                                    indexed={a: s.ingest_key.split(":")[0] for a, s in states.items()},
                                    max_body_chars=cfg.corpus.max_body_chars, exclude=cfg.corpus.exclude)
    plan = plan_ingest(cfg, articles, skipped, states, rebuild)
    check_plan(plan, corpus, cfg.corpus.extensions, allow_empty, prune)
    checkpoint("planned")
    notes = []

    target = live.new_generation() if rebuild else live
    target.open_for_write(lambda: embedder.dimension)
    if not rebuild:
        orphans = [g for g in generations if g != live.name]
        for name in orphans:  # unfinished generations of interrupted rebuilds
            store.with_collection(name).drop()
        if orphans:
            notes.append(f"removed {len(orphans)} unfinished collection(s) left by an interrupted rebuild")
    old_sentences = None if rebuild else _previous_sentences(sentence_dir(cfg.data_dir))
    cache = VectorCache(IndexPaths.of(cfg.data_dir).pending_sentences, embedder.name, old_sentences)
    embedded = _write(cfg, embedder, target, live, plan, progress, cache)
    if not rebuild:
        target.delete_articles([*plan.removed, *(old for old, _ in plan.moved)])
    checkpoint("store-written")

    wrote = bool(plan.todo or plan.removed or plan.moved or rebuild)
    unk, per_article, rebuilt = _commit_lexical(cfg, embedder, target, plan, previous, wrote,
                                                cache, old_sentences, articles)
    cache.clear()  # the sentence index holds every vector the shards did
    if rebuilt and not wrote and previous is not None:
        notes.append("the BM25 index did not match the vector store (an earlier run was "
                     "interrupted, or the index lacked files this version keeps): rebuilt it from the store")
    checkpoint("lexical-written")
    if rebuild:
        for name in generations:  # the old index, dropped only now that the new one is live
            if name != target.name:
                store.with_collection(name).drop()

    return IngestReport(
        added=plan.added,
        updated=plan.updated,
        unchanged=plan.unchanged,
        removed=plan.removed,
        skipped=plan.skipped,
        chunks_total=sum(per_article.values()),
        chunks_embedded=embedded,
        sentences_embedded=cache.embedded,
        seconds=time.perf_counter() - t0,
        embedding_model=embedder.name,
        unk_share=unk,
        dense_weight=dense_weight_for(unk, cfg.retrieval),
        chunks_per_article=per_article,
        moved=plan.moved,
        notes=tuple(notes),
    )


def _has_centred_topics(lex_dir: Path) -> bool:
    """The index has a topic map whose groups keep their centres (one saved before centres
    were is made again, once, by the next ingest)."""
    from rag.index.topics import load_topics

    try:
        topics = load_topics(lex_dir)
    except IndexCorruptError:
        return False
    return bool(topics) and all(t.centre for t in topics)


def _topic_map(catalog, sentences) -> list:
    """The collection's topic map (rag.index.topics) from the article profile vectors just
    stored; none for a small collection."""
    import numpy as np

    from rag.index.topics import build_topics, topic_count

    if topic_count(len(catalog)) == 0:
        return []
    from rag.index.catalog import profile_text

    vectors = [sentences.vector(profile_text(r)) for r in catalog]
    kept = [(r, v) for r, v in zip(catalog, vectors) if v is not None]
    return build_topics([r for r, _ in kept], np.asarray([v for _, v in kept], dtype=np.float32))


def _catalog(articles, chunks, lex_dir: Path):
    from rag.index.catalog import catalog_for
    from rag.index.lexical import read_catalog

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


def _previous_sentences(folder: Path) -> SentenceIndex | None:
    try:
        return SentenceIndex.load(folder)
    except RagError:
        return None  # damaged: rebuilt from scratch


def _previous_meta(folder: Path) -> IndexMeta | None:
    return IndexMeta.read(folder)
