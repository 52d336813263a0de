"""The rerank step between retrieval and answering: retrieval returns
`retrieval.candidates` fused hits, a reranker rescores them, the best `top_k` go on.

`sentences` (the default) adds to each passage's fused score how close in meaning its
best sentence is to the question, from the sentence vectors stored at ingest: a passage
whose one sentence answers the question outranks one that shares more words with it.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from rag.tuned import DEFAULTS, Tuning, takes_tuning
from rag.types import Hit


class Reranker(Protocol):
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """The same hits, rescored (higher `relevance` is better) and sorted."""
        ...


class IdentityReranker:
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        return hits


class SentenceReranker:
    def __init__(self, semantics, tuning: Tuning = DEFAULTS):
        self.semantics = semantics  # answerers.Semantics: sentence vectors + query embedder
        self.tuning = tuning

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        index = self.semantics.sentences
        vector = self.semantics.query_vector(query)
        if not hits or index is None or vector is None:
            return hits
        background = index.background(vector)
        top = max(h.relevance for h in hits) or 1.0
        out = []
        for hit in hits:
            rows = index.chunk_rows(hit.chunk)
            best = float((index.row_vectors(rows) @ vector).max()) if len(rows) else background
            score = hit.relevance / top + self.tuning.w_rerank * max(0.0, best - background)
            out.append(dataclasses.replace(hit, relevance=score))
        out.sort(key=lambda h: (-h.relevance, h.chunk.id))
        return out


def sentence_reranker(cfg, semantics, *, tuning: Tuning = DEFAULTS) -> Reranker:
    """Rescore by each passage's best sentence; without sentence vectors, keep the order."""
    if semantics is not None and semantics.sentences is not None:
        return SentenceReranker(semantics, tuning)
    return IdentityReranker()


def identity_reranker(cfg, semantics) -> Reranker:
    return IdentityReranker()


def build_reranker(cfg, semantics, tuning: Tuning = DEFAULTS) -> Reranker:
    """The reranker the config names (`retrieval.rerank`), from the registry (rag/registry.py).
    A factory that takes a `tuning` keyword is given the pipeline's Tuning; (cfg, semantics)
    factories, the registry's original signature, still work."""
    from rag.registry import RERANKERS

    if takes_tuning(RERANKERS.get(cfg.retrieval.rerank)):
        return RERANKERS.create(cfg.retrieval.rerank, cfg, semantics, tuning=tuning)
    return RERANKERS.create(cfg.retrieval.rerank, cfg, semantics)
