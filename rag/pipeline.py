"""Composition root: builds the embedder, store, retriever and answerer from a Config.

The UI, the CLI, the eval runner and `rag.answer()` all get their pipeline from here.
"""

from __future__ import annotations

from rag.config import Config
from rag.embedding import build_embedder
from rag.types import IngestReport


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
