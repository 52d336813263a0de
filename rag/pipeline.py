"""Composition root: builds the embedder, store, retriever and answerer from a Config.

The UI, the CLI, the eval runner and `rag.answer()` all get their pipeline from here.
Nothing heavy happens at import time; the embedding model and Chroma are opened only
when dense retrieval is in use (an English-only model on Chinese text skips both).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from rag.config import AnswerConfig, Config
from rag.errors import IndexBusyError, IndexMismatchError, IndexMissingError, QuestionError
from rag.index.embedding import build_embedder
from rag.index.embedding import model_name as configured_model_name
from rag.index.index_layout import IndexPaths
from rag.index.store import OpenedOnFirstQuery, open_store
from rag.retrieve.query import points_at_nothing
from rag.retrieve.rerank import IdentityReranker, Reranker
from rag.text import ISO_DATE
from rag.tuned import DEFAULTS, SAME_SIMILARITIES, Tuning
from rag.types import Answer, Hit, IngestReport, RetrievalFilter

if TYPE_CHECKING:
    from rag.answering.answerers import Answerer, Semantics
    from rag.collection.question_kinds import KindClassifier, QuestionKind
    from rag.index.embedding import Embedder
    from rag.index.lexical import LexicalIndex
    from rag.retrieve.query import SearchQuery
    from rag.retrieve.retrieval import Retriever

    # what build_pipeline remakes for another Tuning: the answerer and the reranker
    TunedParts = Callable[[Tuning], tuple[Answerer, Reranker]]

log = logging.getLogger("rag")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# zero-width and other format characters (U+200B, U+2060, U+FEFF...) hide inside words pasted
# from web pages; the question means the same without them, so it is answered the same
_FORMAT_CHARS = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def ingest(
    cfg: Config, *, corpus_path: str | None = None, rebuild: bool = False,
    embedder: Embedder | None = None, progress: bool | None = None, allow_empty: bool = False,
    prune: bool = False,
) -> IngestReport:
    """Bring the index up to date with the corpus (see rag.index.ingest). The lock is taken before
    the store is even opened: a refused or concurrent run touches nothing."""
    from rag.errors import IndexCorruptError
    from rag.index.ingest import ingest_lock, run_ingest_locked
    from rag.index.recovery import finish_interrupted_restore_locked

    embedder = embedder or build_embedder(cfg)
    with ingest_lock(cfg.data_dir):
        _tell(finish_interrupted_restore_locked(cfg.data_dir))
        aside = None
        for attempt in (1, 2):
            try:
                store = open_store(cfg, embedder.name, cfg.vectorstore.collection)
                report = run_ingest_locked(cfg, embedder, store, corpus_path=corpus_path, rebuild=rebuild,
                                           progress=progress, allow_empty=allow_empty, prune=prune)
                break
            except IndexCorruptError:
                # Only a damaged local index is set aside, and only for a rebuild, which writes
                # a new one; the BM25 index keeps answering until the new one is swapped in.
                # the backend's hook decides whether there is a local store to set aside
                if not rebuild or attempt == 2:
                    raise
                from rag.registry import STORES

                set_aside = getattr(STORES.get(cfg.vectorstore.backend), "set_aside", None)
                aside = set_aside(cfg) if set_aside is not None else None
                if aside is None:
                    raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    return report


def _tell(message: str | None) -> None:
    """What a start did to the data dir on its own (an interrupted restore finished)."""
    if message:
        log.warning(message)


def clean_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = _FORMAT_CHARS.sub("", _CONTROL.sub(" ", question)).strip()
    if not text:
        raise QuestionError("the question is empty")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question has no words, only punctuation or symbols")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {max_chars}")
    return text


def make_filter(article_ids: Iterable[str] | None = None, date_from: str | None = None,
                date_to: str | None = None) -> RetrievalFilter | None:
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value and not ISO_DATE.match(str(value)):
            raise QuestionError(f"{name} must be a date like 2026-01-31, got {value!r}")
    ids = frozenset(article_ids) if article_ids else None
    flt = RetrievalFilter(ids, date_from or None, date_to or None)
    return None if flt.is_empty else flt


class Pipeline:
    def __init__(self, cfg: Config, retriever: Retriever, answerer: Answerer, lexical: LexicalIndex,
                 retriever_factory: Callable[[LexicalIndex], Retriever] | None = None, *,
                 semantics: Semantics | None = None, reranker: Reranker | None = None,
                 tuning: Tuning = DEFAULTS, tuned_parts: TunedParts | None = None):
        self.cfg = cfg
        self.retriever = retriever
        self.answerer = answerer
        self.lexical = lexical
        self._chain = None  # the LangChain runnable, made on first use (see `chain`)
        self._kinds: KindClassifier | None = None  # made on first question
        # A serving process picks up a finished `rag ingest` from another process: the
        # lexical index is swapped in atomically, so a changed stamp means a complete index.
        self._retriever_factory = retriever_factory
        self.semantics = semantics  # sentence vectors and the query embedder, when in use
        self.reranker: Reranker = reranker or IdentityReranker()
        # the measured constants every step reads (rag/tuned.py); collection answers too
        self.tuning = tuning
        self._tuned_parts = tuned_parts
        self._stamp = _index_stamp(cfg)
        self._reload_lock = threading.Lock()

    def with_tuning(self, tuning: Tuning) -> Pipeline:
        """The same indexes, retriever and sentence vectors answered with another Tuning
        (evals/tune.py: one per grid point): the answerer and reranker are made anew for it,
        this pipeline is left as it is. Only a pipeline from build_pipeline knows how."""
        if self._tuned_parts is None:
            raise TypeError("with_tuning needs a pipeline made by build_pipeline (it remakes the "
                            "answerer and reranker the config names)")
        answerer, reranker = self._tuned_parts(tuning)
        other = Pipeline(self.cfg, self.retriever, answerer, self.lexical, self._retriever_factory,
                         semantics=self.semantics, reranker=reranker, tuning=tuning,
                         tuned_parts=self._tuned_parts)
        if tuning.example_margin == self.tuning.example_margin:
            other._kinds = self._kinds  # its example vectors are the costly part; same margin
        return other

    def reload_if_changed(self) -> bool:
        from rag.errors import IndexCorruptError
        from rag.index.ingest import lexical_dir
        from rag.index.lexical import LexicalIndex

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
            if self.semantics is not None and self.semantics.sentences is not None:
                from rag.index.sentences import SentenceIndex, sentence_dir

                try:
                    self.semantics.sentences = SentenceIndex.load(sentence_dir(self.cfg.data_dir))
                except IndexCorruptError:
                    pass  # keep the vectors we have; missing ones fall back to words
            self._stamp = stamp
            return True

    @property
    def chain(self):
        """The pipeline as a LangChain runnable (rag.chain: condense -> retrieve -> answer,
        the same steps `stream` runs), for LangChain code to compose. `stream` calls the
        steps itself: importing LangChain's runnables (its tracing through langsmith) is
        0.45 s of a cold `rag ask`, for callbacks nothing here uses (measured 2026-12-07);
        so LangSmith tracing sees a run only through this runnable."""
        if self._chain is None:
            from rag.chain import build_chain

            self._chain = build_chain(self)
        return self._chain

    # steps of the chain: each takes and returns the chain's input dict ----------------
    def step_condense(self, inp: dict) -> dict:
        search = self.condense(inp["question"], inp.get("history"))
        kind = self.classify(search, inp.get("history"), inp.get("page", 1))
        return {**inp, "search": search, "kind": kind}

    def step_retrieve(self, inp: dict) -> dict:
        # a date range in the question narrows the asker's filter (a fact question has none)
        flt = inp["kind"].merged_filter(inp.get("filters"))
        # At archive scale a question about the collection is answered by scanning the
        # catalogue and the text for its topic (rag.collection.archive), not from passages
        # retrieved for its words: those are ranked by words alone, since ranking them by
        # meaning too opened Chroma (a second of a cold `rag ask` at 10,000 articles) for
        # passages the answer is not drawn from.
        vectors = not (inp["kind"].special and self.is_archive)
        return {**inp, "hits": self.retrieve_condensed(inp["search"], flt, vectors=vectors)}

    def step_answer(self, inp: dict) -> Iterator[str | Answer]:
        yield from self.answer_hits(inp["search"], inp["hits"], inp["kind"], inp.get("filters"))

    def condense(self, question: str, history: list[dict] | None) -> SearchQuery:
        from rag.retrieve.query import condense

        return condense(question, history, self.cfg.retrieval.history_turns,
                        (self.cfg.answer.abstain_message,))

    def retrieve_condensed(self, search: SearchQuery, flt: RetrievalFilter | None = None,
                           vectors: bool = True) -> list[Hit]:
        r = self.cfg.retrieval
        hits = self.retriever.retrieve(search.text, flt, r.candidates, weighted_terms=list(search.lexical_terms),
                                       vectors=vectors)
        hits = self.reranker.rerank(search.question, hits)
        if search.subject:
            hits = self._prefer_subject(search.subject, hits)
        return hits[: r.top_k]

    def _prefer_subject(self, subject: str, hits: list[Hit]) -> list[Hit]:
        """A follow-up that points back ("这个合作为期多久？") is about the article the
        conversation's latest answer came from: its passages get a bonus, small enough that
        a follow-up naming something new ("那美国呢？") still finds it."""
        from rag.text import terms

        found = self.lexical.search(terms(subject), 1)
        if not found or not hits:
            return hits
        article = found[0][0].article_id
        top = max(h.relevance for h in hits) or 1.0
        boosted = [dataclasses.replace(h, relevance=h.relevance + self.tuning.w_subject * top)
                   if h.chunk.article_id == article else h for h in hits]
        return sorted(boosted, key=lambda h: (-h.relevance, h.chunk.id))

    def classify(self, search: SearchQuery, history: list[dict] | None = None, page: int = 1) -> QuestionKind:
        """The question's kind (rag.collection.question_kinds). "更多" / "more" after a
        listing is that listing's next page; `page` asks for a page outright (`rag ask --page`)."""
        import dataclasses as dc

        from rag.collection.question_kinds import asks_for_more, looks_like_follow_up

        if self._kinds is None:
            from rag.collection.question_kinds import KindClassifier

            self._kinds = KindClassifier(self.retriever.embedder, margin=self.tuning.example_margin,
                                         cache_dir=self.cfg.data_dir)
        today = self.reference_date()
        asked = [m["content"] for m in history or ()
                 if m.get("role") == "user" and isinstance(m.get("content"), str) and m["content"].strip()]
        more = 1 if asks_for_more(search.question) else 0
        while asked and asks_for_more(asked[-1]):
            asked.pop()
            more += bool(more)
        if more and asked:
            listing = self._turn_kind(asked, today)
            if listing.special:
                return dc.replace(listing, page=listing.page + more)
        kind = self._kinds.classify(search.question, today)
        if asked and not more and looks_like_follow_up(search.question):
            # "那7月呢？", "关于地震的呢？", "其中最早的一篇…" after a question about the collection
            kind = self._follow_up(self._turn_kind(asked, today), search.question, today) or kind
        return dc.replace(kind, page=page) if page > 1 and kind.special else kind

    def _follow_up(self, previous: QuestionKind, question: str, today) -> QuestionKind | None:
        from rag.collection.question_kinds import follow_up

        kinds = self._kinds
        assert kinds is not None
        return follow_up(previous, question, today, lambda text: kinds.classify(text, today))

    def _turn_kind(self, asked: list[str], today) -> QuestionKind:
        """The kind the last of the user's questions had, read as its own turn was: from the
        latest question not worded as a follow-up, each follow-up after it ("那7月呢？",
        "关于地震的呢？") takes the kind before it with its dates or topic swapped in."""
        from rag.collection.question_kinds import asks_for_more, looks_like_follow_up

        assert self._kinds is not None
        turns = [q for q in asked if not asks_for_more(q)]
        start = len(turns) - 1
        while start > 0 and looks_like_follow_up(turns[start]):
            start -= 1
        kind = self._kinds.classify(turns[start], today)
        for question in turns[start + 1:]:
            kind = self._follow_up(kind, question, today) or self._kinds.classify(question, today)
        return kind

    @property
    def is_archive(self) -> bool:
        """More articles than `Tuning.scan_above_articles`: too many for retrieved passages to
        see every one, so topic questions scan the whole collection (rag.collection.archive)."""
        return len(self.lexical.articles) > self.tuning.scan_above_articles

    def warm_up(self) -> None:
        """Open what the first question would wait for, for a process that serves many (the
        chat server): the vector store now, so a missing, damaged or unreachable one stops
        the server at start as it did when the pipeline opened it (a `rag ask` opens it on its
        first dense query instead); and, for a collection large enough to be scanned, the view
        topic questions scan (rag.collection.archive) in a background thread, so the server is
        ready at once and the first "8月关于台风的报道" does not wait the seconds it takes at
        10,000 articles."""
        import threading

        warm = getattr(self.retriever, "warm", None)
        if warm is not None:
            warm()
        if not self.is_archive:
            return
        from rag.collection.archive import archive_view

        threading.Thread(target=archive_view, args=(self,), name="warm-archive", daemon=True).start()

    def reference_date(self):
        """What "8月" and "最近" are read against (rag.collection.question_kinds): today, or
        the newest article date when the collection ends earlier (an archive of 2023)."""
        import datetime as dt

        today = dt.date.today()
        held = getattr(self, "_newest", None)
        if held is None or held[0] is not self.lexical:
            dates = [r.date for r in self.lexical.articles if r.date]
            newest = None
            if dates:
                try:
                    newest = dt.date.fromisoformat(max(dates))
                except ValueError:
                    newest = None
            held = self._newest = (self.lexical, newest)
        return min(today, held[1]) if held[1] else today

    def answer_hits(self, search: SearchQuery, hits: list[Hit], kind: QuestionKind | None = None,
                    filters: RetrievalFilter | None = None) -> Iterator[str | Answer]:
        from rag.retrieve.query import key_terms

        if kind is not None and kind.special:  # a question about the collection (rag.collection.question_kinds)
            from rag.collection.dispatch import stream_kind

            yield from stream_kind(self, search, kind, filters, hits)
            return
        if not search.in_conversation and points_at_nothing(search.question) and _spread(hits, self.tuning):
            # "这个公司的创始人是谁？" with no conversation before it and passages from several
            # articles: any answer would be a guess about which one is meant
            clarify = Answer(text=self.cfg.answer.clarify_message, citations=(), abstained=True,
                             question=search.question, search_query=search.text, hits=tuple(hits))
            yield clarify.text
            yield clarify
            return

        q = key_terms(search.question, self.lexical.idf, evidence_contains(hits), search.context or None)
        yield from self.answerer.stream(search, q, hits)

    # public ---------------------------------------------------------------------------
    def articles(self) -> list[tuple[str, str, str | None]]:
        """(id, title, date) of every indexed article, for filters and pickers."""
        seen: dict[str, tuple[str, str, str | None]] = {}
        for c in self.lexical.chunks:
            seen.setdefault(c.article_id, (c.article_id, c.title, c.date))
        return list(seen.values())

    def retrieve(self, question: str, history: list[dict] | None = None,
                 filters: RetrievalFilter | None = None) -> list[Hit]:
        question = clean_question(question, self.cfg.answer.max_question_chars)
        check_history(history, self.cfg.answer)
        return self.retrieve_condensed(self.condense(question, history), filters)

    def stream(self, question: str, history: list[dict] | None = None,
               filters: RetrievalFilter | None = None, page: int = 1) -> Iterator[str | Answer]:
        """Pieces of answer text, then the final Answer (whose text is authoritative).
        `page`: which page of a listing answer (ten lines a page)."""
        question = clean_question(question, self.cfg.answer.max_question_chars)
        check_history(history, self.cfg.answer)
        if not isinstance(page, int) or page < 1:
            raise QuestionError(f"page must be a whole number from 1, got {page!r}")
        self.reload_if_changed()
        inp = {"question": question, "history": history, "filters": filters, "page": page}
        yield from self.step_answer(self.step_retrieve(self.step_condense(inp)))

    def answer(self, question: str, history: list[dict] | None = None,
               filters: RetrievalFilter | None = None, page: int = 1) -> Answer:
        final = None
        for part in self.stream(question, history, filters, page):
            if isinstance(part, Answer):
                final = part
        assert final is not None
        return final


def _spread(hits: list[Hit], tuning: Tuning) -> bool:
    """A second article is retrieved nearly as strongly as the best one."""
    best: dict[str, float] = {}
    for h in hits:
        best[h.chunk.article_id] = max(best.get(h.chunk.article_id, 0.0), h.relevance)
    top = sorted(best.values(), reverse=True)
    return len(top) > 1 and top[1] >= tuning.ambiguous_ratio * top[0]


def evidence_contains(hits: list[Hit]) -> Callable[[str], bool]:
    """Whether a term occurs in the retrieved passages (with their titles and headings).
    A name the question needs that no retrieved passage mentions means the evidence does not
    answer it, wherever else in the corpus the word may occur."""
    from rag.text import normalize

    text = normalize("\n".join(h.chunk.search_text() for h in hits)).lower()
    return lambda term: term in text


def check_history(history: object, limits: AnswerConfig) -> None:
    """Refuse history that is not a list of {'role': 'user'|'assistant', 'content': text}
    within the configured limits (answer.max_history_*): every request is bounded."""
    if history is None:
        return
    shape = "a list of {'role': 'user' or 'assistant', 'content': text}"
    if not isinstance(history, list):
        raise QuestionError(f"history must be {shape}, got {type(history).__name__}")
    if len(history) > limits.max_history_messages:
        raise QuestionError(f"history has {len(history)} messages; the limit is {limits.max_history_messages}")
    total = 0
    for i, m in enumerate(history):
        if not isinstance(m, dict):
            raise QuestionError(f"history[{i}] must be a mapping with role and content, got {type(m).__name__}")
        if m.get("role") not in ("user", "assistant"):
            raise QuestionError(f"history[{i}].role must be 'user' or 'assistant', got {m.get('role')!r}")
        content = m.get("content")
        if not isinstance(content, str):
            raise QuestionError(f"history[{i}].content must be text, got {type(content).__name__}")
        if len(content) > limits.max_message_chars:
            raise QuestionError(f"history[{i}] is {len(content)} characters long; the limit is "
                                f"{limits.max_message_chars}")
        total += len(content)
    if total > limits.max_history_chars:
        raise QuestionError(f"history is {total} characters long; the limit is {limits.max_history_chars}")


def fit_history(history: list[dict], limits: AnswerConfig) -> list[dict]:
    """The most recent part of a conversation this process keeps itself (the UI, `rag chat`)
    that fits the limits: long answers are cut, the oldest turns dropped."""
    kept: list[dict] = []
    total = 0
    for m in reversed(history):
        content = m["content"][: limits.max_message_chars]
        if len(kept) == limits.max_history_messages or total + len(content) > limits.max_history_chars:
            break
        kept.append({"role": m["role"], "content": content})
        total += len(content)
    kept.reverse()
    while kept and kept[0]["role"] != "user":  # start on a question
        kept.pop(0)
    return kept


def build_pipeline(cfg: Config, *, embedder: Embedder | None = None, chat_model=None,
                   ensure_index: bool = False) -> Pipeline:
    """Build the whole pipeline once. With ensure_index, a missing index is built first.
    Its Tuning is rag/tuned.py's defaults with the config's `tuning:` overrides."""
    from rag.answering.answerers import Semantics, build_answerer
    from rag.index.embedding import QueryCache, dense_weight_for, warm_in_background
    from rag.index.ingest import lexical_dir
    from rag.index.lexical import LexicalIndex
    from rag.index.recovery import finish_interrupted_restore
    from rag.index.sentences import SentenceIndex, sentence_dir
    from rag.retrieve.rerank import build_reranker
    from rag.retrieve.retrieval import HybridRetriever

    _tell(finish_interrupted_restore(cfg.data_dir))
    tuning = DEFAULTS.replace(**dict(cfg.tuning))
    if cfg.retrieval.mode != "lexical":
        embedder = embedder or build_embedder(cfg)
        warm_in_background(embedder)  # the query model loads while the indexes do
    try:
        lexical = LexicalIndex.load(lexical_dir(cfg))
    except IndexMissingError:
        if not ensure_index:
            raise
        try:
            ingest(cfg, embedder=embedder)
        except IndexBusyError as exc:
            raise IndexBusyError(f"there is no index in {cfg.data_dir} yet and another process is "
                                 "building it; ask again when it finishes") from exc
        lexical = LexicalIndex.load(lexical_dir(cfg))
    model_name: str = embedder.name if embedder is not None else configured_model_name(cfg)
    recorded = lexical.index_meta.embedding_model
    if recorded != model_name:
        raise IndexMismatchError(
            f"the index was built with embedding model {recorded!r}, but the config asks for "
            f"{model_name!r}. Rebuild it with `rag ingest --rebuild`, or set embedding.backend/model back."
        )
    weight = dense_weight_for(lexical.index_meta.unk_share, cfg.retrieval)
    dense = weight > 0 or cfg.retrieval.mode == "dense"
    if dense:
        embedder = QueryCache(embedder or build_embedder(cfg))
    stores: dict[str, OpenedOnFirstQuery] = {}
    # Sentence vectors let answers be chosen by meaning; an index without them (or a model
    # that cannot read the corpus) falls back to choosing by words.
    semantic = dense and _semantic_selection(cfg, model_name, tuning)
    sentences = SentenceIndex.load(sentence_dir(cfg.data_dir)) if semantic else None
    if sentences is not None and sentences.model != model_name:
        sentences = None
    reader = None
    if cfg.answer.reader == "span":
        from rag.reader.build import build_span_reader

        reader = build_span_reader(threads=cfg.embedding.threads)
        warm_in_background(reader)
    semantics = Semantics(sentences, embedder.embed_query if semantic and embedder is not None else None,
                          reader)

    def make_retriever(lex: LexicalIndex) -> Retriever:
        # A rebuild swaps in a new collection with the lexical index that names it.
        store = None
        if dense:
            name = lex.index_meta.collection or cfg.vectorstore.collection
            if name not in stores:
                stores.clear()
                stores[name] = OpenedOnFirstQuery(lambda: open_store(cfg, model_name, name).open_for_read())
            store = stores[name]
        return HybridRetriever(cfg.retrieval, lex, store, embedder, weight)

    def tuned_parts(t: Tuning) -> tuple[Answerer, Reranker]:
        return build_answerer(cfg, chat_model, semantics, t), build_reranker(cfg, semantics, t)

    answerer, reranker = tuned_parts(tuning)
    return Pipeline(cfg, make_retriever(lexical), answerer, lexical, make_retriever,
                    semantics=semantics, reranker=reranker, tuning=tuning, tuned_parts=tuned_parts)


def _semantic_selection(cfg: Config, model_name: str, tuning: Tuning) -> bool:
    """The answer gate's weights were fitted on one model's similarities; another model's
    similarities sit on another scale, so `auto` chooses by words for it."""
    mode = cfg.answer.selection
    fitted_on = (tuning.gate_model, *SAME_SIMILARITIES.get(tuning.gate_model, ()))
    return mode == "semantic" or (mode == "auto" and model_name in fitted_on)


def _index_stamp(cfg: Config) -> int | None:
    try:
        return IndexPaths.of(cfg.data_dir).lexical_meta.stat().st_mtime_ns
    except OSError:
        return None

