"""Retrieval-augmented Q&A over news articles with checked citations.

    from rag import answer
    result = answer("台风卡努是今年第几号台风？")  # about your own articles
    result.text, result.citations, result.abstained
"""

from __future__ import annotations

import threading
from os import PathLike

from rag.types import Answer, Chunk, Citation, Hit, RetrievalFilter

__all__ = ["answer", "Answer", "Citation", "Chunk", "Hit", "RetrievalFilter", "load_config", "build_pipeline"]

_pipelines: dict = {}
_lock = threading.Lock()


def load_config(path: str | PathLike | None = None):
    from rag.config import load_config as _load

    return _load(path)


def build_pipeline(cfg=None, **kwargs):
    from rag.pipeline import build_pipeline as _build

    return _build(cfg if cfg is not None else load_config(), **kwargs)


def answer(
    question: str,
    history: list[dict] | None = None,
    *,
    config=None,
    pipeline=None,
    filters: RetrievalFilter | None = None,
    page: int = 1,
) -> Answer:
    """Answer `question` from the indexed articles.

    config: a Config or a path to a YAML file (default: $RAG_CONFIG or the defaults).
    pipeline: a pipeline built once with `build_pipeline` (the UI and evals pass theirs).
    With neither, the default index is used, built from the shipped corpus if missing.
    page: which page of a listing answer (ten articles a page; "更多" after one asks the next).
    """
    if pipeline is None:
        from rag.config import Config

        cfg = config if isinstance(config, Config) else load_config(config)
        with _lock:
            pipeline = _pipelines.get(cfg)
            if pipeline is None:
                pipeline = _pipelines[cfg] = build_pipeline(cfg, ensure_index=True)
    return pipeline.answer(question, history, filters, page)
