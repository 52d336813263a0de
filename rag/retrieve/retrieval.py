"""Hybrid retrieval: BM25 over Chinese-aware terms fused with dense vectors by weighted
reciprocal-rank fusion.

An embedding model that cannot read the corpus must not outvote the lexical side: the
dense weight shrinks with the model's share of [UNK] tokens measured at ingest, down to
zero (dense skipped) for an English-only model on Chinese text.
"""

from __future__ import annotations

from typing import Protocol

from rag.config import RetrievalConfig
from rag.index.embedding import Embedder, dense_weight_for
from rag.index.lexical import LexicalIndex
from rag.index.store import QueryableStore
from rag.text import terms
from rag.types import Chunk, Hit, RetrievalFilter


class Retriever(Protocol):
    @property
    def embedder(self) -> Embedder | None:
        """The query embedder when dense retrieval is on, else None (the kind classifier and
        collection answers embed with it)."""
        ...

    def retrieve(
        self, query: str, flt: RetrievalFilter | None = None, k: int | None = None,
        *, weighted_terms: list[str] | None = None, vectors: bool = True,
    ) -> list[Hit]:
        """Top chunks for `query`; `vectors=False` ranks by words alone (no vector store)."""
        ...


class HybridRetriever:
    def __init__(
        self,
        cfg: RetrievalConfig,
        lexical: LexicalIndex,
        store: QueryableStore | None = None,
        embedder: Embedder | None = None,
        dense_weight: float | None = None,
    ):
        self.cfg = cfg
        self.lexical = lexical
        self._store = store
        self._embedder = embedder
        if dense_weight is None:
            dense_weight = dense_weight_for(lexical.index_meta.unk_share, cfg)
        if cfg.mode == "lexical":
            dense_weight = 0.0
        elif cfg.mode == "dense":
            dense_weight = max(dense_weight, cfg.dense_weight) or 1.0
        self.dense_weight = dense_weight if store is not None and embedder is not None else 0.0
        self.lexical_weight = 0.0 if cfg.mode == "dense" else cfg.lexical_weight

    @property
    def embedder(self) -> Embedder | None:
        """The query embedder when dense retrieval is on (rag.collection.dispatch reuses it)."""
        return self._embedder if self.dense_weight > 0 else None

    @property
    def store(self) -> QueryableStore | None:
        """The vector store dense retrieval queries (None when it is off)."""
        return self._store if self.dense_weight > 0 else None

    def warm(self) -> None:
        """Open the vector store now; otherwise the first dense query opens it."""
        warm = getattr(self._store, "warm", None)  # a store opened on first query (rag.index.store)
        if self.dense_weight > 0 and warm is not None:
            warm()

    def retrieve(self, query, flt=None, k=None, *, weighted_terms=None, vectors=True):
        """Top chunks for `query`. `weighted_terms` replaces the query's own terms for BM25
        (follow-ups pass the question's terms twice plus the earlier turn's once);
        `vectors=False` leaves the vector store out (and unopened)."""
        k = k or self.cfg.top_k
        n = self.cfg.candidates
        lexical: list[tuple[Chunk, float]] = []
        dense: list[tuple[Chunk, float]] = []
        if self.lexical_weight > 0:
            lexical = self.lexical.search(weighted_terms or terms(query), n, flt)
        if self.dense_weight > 0 and (vectors or self.lexical_weight == 0):  # dense mode has no words to rank by
            assert self._embedder is not None and self._store is not None  # else dense_weight is 0
            vector = self._embedder.embed_query(query)
            dense = self._store.query(vector, n, flt)
        scores: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        lex_score: dict[str, float] = {}
        dense_sim: dict[str, float] = {}
        rrf = self.cfg.rrf_k
        for rank, (chunk, score) in enumerate(lexical, 1):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + self.lexical_weight / (rrf + rank)
            chunks[chunk.id] = chunk
            lex_score[chunk.id] = score
        for rank, (chunk, distance) in enumerate(dense, 1):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + self.dense_weight / (rrf + rank)
            chunks.setdefault(chunk.id, chunk)
            dense_sim[chunk.id] = 1.0 - distance
        ranked = sorted(scores, key=lambda cid: (-scores[cid], cid))[:k]
        return [
            Hit(chunks[cid], scores[cid], lex_score.get(cid), dense_sim.get(cid)) for cid in ranked
        ]
