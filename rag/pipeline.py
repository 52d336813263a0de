"""Composition root: builds the embedder, store, retriever and answerer from a Config.

The UI, the CLI, the eval runner and `rag.answer()` all get their pipeline from here.
Nothing heavy happens at import time; the embedding model and Chroma are opened only
when dense retrieval is in use (an English-only model on Chinese text skips both).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

from rag.config import Config
from rag.embedding import build_embedder, model_name as configured_model_name
from rag.errors import IndexMismatchError, IndexMissingError, QuestionError
from rag.types import Answer, Hit, IngestReport, RetrievalFilter

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def open_store(cfg: Config, model_name: str):
    from vectorstore import open_chroma_store  # the only place the core reaches Chroma

    return open_chroma_store(cfg, model_name)


def ingest(
    cfg: Config, *, corpus_path: str | None = None, rebuild: bool = False,
    embedder=None, progress: bool | None = None,
) -> IngestReport:
    from rag.errors import IndexCorruptError
    from rag.ingest import remove_lexical, run_ingest

    embedder = embedder or build_embedder(cfg)
    if rebuild:
        remove_lexical(cfg)
    try:
        store = open_store(cfg, embedder.name)
    except IndexCorruptError:
        if not rebuild:
            raise
        from vectorstore.chroma_store import remove_local_index

        remove_local_index(cfg.data_dir)  # too damaged for Chroma to open: start afresh
        store = open_store(cfg, embedder.name)
    return run_ingest(cfg, embedder, store, corpus_path=corpus_path, rebuild=rebuild, progress=progress)


def clean_question(question, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = _CONTROL.sub(" ", question).strip()
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {max_chars}")
    return text


def make_filter(article_ids=None, date_from=None, date_to=None) -> RetrievalFilter | None:
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value and not _ISO.match(str(value)):
            raise QuestionError(f"{name} must be a date like 2026-01-31, got {value!r}")
    ids = frozenset(article_ids) if article_ids else None
    flt = RetrievalFilter(ids, date_from or None, date_to or None)
    return None if flt.is_empty else flt


class Pipeline:
    def __init__(self, cfg: Config, retriever, generator, lexical, retriever_factory=None):
        from rag.chain import build_chain

        self.cfg = cfg
        self.retriever = retriever
        self.generator = generator
        self.lexical = lexical
        self.chain = build_chain(self)
        self._kinds = None  # rag.question_kinds.KindClassifier, made on first question
        # A serving process picks up a finished `rag ingest` from another process: the
        # lexical index is swapped in atomically, so a changed stamp means a complete index.
        self._retriever_factory = retriever_factory
        self._stamp = _index_stamp(cfg)
        self._reload_lock = threading.Lock()

    def reload_if_changed(self) -> bool:
        from rag.errors import IndexCorruptError
        from rag.ingest import lexical_dir
        from rag.lexical import LexicalIndex

        if self._retriever_factory is None:
            return False
        stamp = _index_stamp(self.cfg)
        if stamp == self._stamp or stamp is None:
            return False
        with self._reload_lock:
            if stamp == self._stamp:
                return False
            try:
                lexical = LexicalIndex.load(lexical_dir(self.cfg))
            except (IndexCorruptError, IndexMissingError):
                return False  # mid-swap: keep serving the old index, try again next question
            self.lexical, self.retriever = lexical, self._retriever_factory(lexical)
            self._stamp = stamp
            return True

    # steps of the chain ---------------------------------------------------------------
    def condense(self, question: str, history: list[dict] | None):
        from rag.query import condense

        return condense(question, history, self.cfg.retrieval.history_turns)

    def retrieve_for(self, search, flt: RetrievalFilter | None = None) -> list[Hit]:
        return self.retriever.retrieve(search.text, flt, weighted_terms=list(search.lexical_terms))

    def classify(self, search):
        if self._kinds is None:
            from rag.question_kinds import KindClassifier

            self._kinds = KindClassifier(getattr(self.retriever, "embedder", None), cache_dir=self.cfg.data_dir)
        return self._kinds.classify(search.question)

    def generate(self, search, hits: list[Hit], kind=None, filters: RetrievalFilter | None = None
                 ) -> Iterator[str | Answer]:
        from rag.query import key_terms

        if kind is not None and kind.special:  # a question about the collection (rag.question_kinds)
            from rag.collection_answers import stream_kind

            yield from stream_kind(self, search, kind, filters, hits)
            return

        q = key_terms(search.question, self.lexical.idf, evidence_contains(hits), search.context or None)
        yield from self.generator.stream(search, q, hits)

    # public ---------------------------------------------------------------------------
    def articles(self) -> list[tuple[str, str, str | None]]:
        """(id, title, date) of every indexed article, for filters and pickers."""
        seen = {}
        for c in self.lexical.chunks:
            seen.setdefault(c.article_id, (c.article_id, c.title, c.date))
        return list(seen.values())

    def retrieve(self, question: str, history=None, filters: RetrievalFilter | None = None) -> list[Hit]:
        question = clean_question(question, self.cfg.answer.max_question_chars)
        return self.retrieve_for(self.condense(question, history), filters)

    def stream(self, question: str, history=None, filters: RetrievalFilter | None = None
               ) -> Iterator[str | Answer]:
        """Pieces of answer text, then the final Answer (whose text is authoritative)."""
        question = clean_question(question, self.cfg.answer.max_question_chars)
        _check_history(history)
        self.reload_if_changed()
        inp = {"question": question, "history": history, "filters": filters}
        yield from self.chain.stream(inp)

    def answer(self, question: str, history=None, filters: RetrievalFilter | None = None) -> Answer:
        final = None
        for part in self.stream(question, history, filters):
            if isinstance(part, Answer):
                final = part
        assert final is not None
        return final


def evidence_contains(hits: list[Hit]):
    """Whether a term occurs in the retrieved passages (with their titles and headings).
    A name the question needs that no retrieved passage mentions means the evidence does not
    answer it, wherever else in the corpus the word may occur."""
    from rag.text import normalize

    text = normalize("\n".join(h.chunk.search_text() for h in hits)).lower()
    return lambda term: term in text


def _check_history(history) -> None:
    if history is None:
        return
    if not isinstance(history, list) or not all(
        isinstance(m, dict) and m.get("role") in ("user", "assistant", "system") for m in history
    ):
        raise QuestionError("history must be a list of {'role': 'user'|'assistant', 'content': str}")


def build_pipeline(cfg: Config, *, embedder=None, chat_model=None, ensure_index: bool = False) -> Pipeline:
    """Build the whole pipeline once. With ensure_index, a missing index is built first."""
    from rag.generation import build_generator
    from rag.ingest import lexical_dir
    from rag.lexical import LexicalIndex
    from rag.retrieval import HybridRetriever, dense_weight_for

    try:
        lexical = LexicalIndex.load(lexical_dir(cfg))
    except IndexMissingError:
        if not ensure_index:
            raise
        ingest(cfg, embedder=embedder)
        lexical = LexicalIndex.load(lexical_dir(cfg))
    model_name = embedder.name if embedder is not None else configured_model_name(cfg)
    recorded = lexical.meta.get("embedding_model")
    if recorded != model_name:
        raise IndexMismatchError(
            f"the index was built with embedding model {recorded!r}, but the config asks for "
            f"{model_name!r}. Rebuild it with `rag ingest --rebuild`, or set embedding.backend/model back."
        )
    weight = dense_weight_for(lexical.meta.get("unk_share", 1.0), cfg.retrieval)
    store = None
    if weight > 0 or cfg.retrieval.mode == "dense":
        embedder = embedder or build_embedder(cfg)
        store = open_store(cfg, model_name).open_for_read()
    def make_retriever(lex):
        return HybridRetriever(cfg.retrieval, lex, store, embedder, weight)

    return Pipeline(cfg, make_retriever(lexical), build_generator(cfg, chat_model), lexical, make_retriever)


def _index_stamp(cfg: Config) -> int | None:
    from rag.ingest import lexical_dir

    try:
        return (Path(lexical_dir(cfg)) / "meta.json").stat().st_mtime_ns
    except OSError:
        return None


def index_exists(cfg: Config) -> bool:
    from rag.ingest import lexical_dir

    return (Path(lexical_dir(cfg)) / "meta.json").exists()
