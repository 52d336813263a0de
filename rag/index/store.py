"""The vector store interface the core depends on; `vectorstore/` implements it with Chroma."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from rag.config import Config
from rag.index.index_layout import IndexMeta, IndexPaths
from rag.types import Chunk, RetrievalFilter


@dataclass(frozen=True)
class ArticleState:
    """What the store holds for one article: enough to tell unchanged, stale or half-written."""

    ingest_key: str
    expected_chunks: int
    stored_chunks: int

    @property
    def complete(self) -> bool:
        return self.expected_chunks == self.stored_chunks


class VectorStore(Protocol):
    """A store of chunk vectors, one collection at a time. A factory registered in
    rag/registry.py `STORES` returns it unopened; `open_for_read`/`open_for_write` open it."""

    def open_for_read(self) -> VectorStore:
        """The store opened for queries; raises IndexMissingError when there is none."""
        ...

    def open_for_write(self, dimension: Callable[[], int], rebuild: bool = False) -> VectorStore:
        """The store opened (created if missing) for ingest; `dimension` is called only when
        a new collection must be created."""
        ...

    def article_states(self) -> dict[str, ArticleState]: ...

    def replace_articles(
        self, article_ids: list[str], chunks: list[Chunk], embeddings: list[list[float]],
        ingest_keys: dict[str, str],
    ) -> None: ...

    def delete_articles(self, article_ids: list[str]) -> None: ...

    def all_chunks(self) -> list[Chunk]: ...

    def query(
        self, embedding: list[float], k: int, flt: RetrievalFilter | None = None
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks with their cosine distance (lower is closer)."""
        ...

    def count(self) -> int: ...

    def vectors_for(self, article_ids: list[str]) -> dict[str, list[tuple[Chunk, list[float]]]]:
        """Stored chunks with their vectors, by article (a moved file reuses them)."""
        ...

    # Generations: `rag ingest --rebuild` writes a new collection beside the live one and
    # the lexical index's meta names the live one, so a rebuild swaps in atomically.
    @property
    def name(self) -> str: ...

    def with_collection(self, name: str) -> VectorStore: ...

    def new_generation(self) -> VectorStore: ...

    def generations(self) -> list[str]: ...

    def exists(self) -> bool:
        """Whether the collection exists; if it does, it is left open for reading whatever
        model built it (ingest reads its article states before deciding what to redo)."""
        ...

    def drop(self) -> None: ...


class QueryableStore(Protocol):
    """What retrieval needs of a store: nearest chunks for a query vector."""

    def query(
        self, embedding: list[float], k: int, flt: RetrievalFilter | None = None
    ) -> list[tuple[Chunk, float]]: ...


class OpenedOnFirstQuery:
    """A store opened for reading when it is first queried, not when the pipeline is built.
    Importing Chroma and opening a 10,000-article collection is about a second of a cold
    `rag ask`; a question answered from the catalogue and the lexical index (what is new,
    a topic in a month, counts) never needs it. `warm()` opens it ahead of time (the chat
    server does, in a thread). A failed open raises at that query and is tried again at
    the next."""

    def __init__(self, open_for_read: Callable[[], VectorStore]):
        self._open_for_read = open_for_read
        self._store: VectorStore | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._store is not None

    def opened(self) -> VectorStore:
        with self._lock:  # one open, however many threads ask at once
            if self._store is None:
                self._store = self._open_for_read()
            return self._store

    def warm(self) -> None:
        self.opened()

    def query(
        self, embedding: list[float], k: int, flt: RetrievalFilter | None = None
    ) -> list[tuple[Chunk, float]]:
        return self.opened().query(embedding, k, flt)


class StoreBackend(Protocol):
    """What `vectorstore.backend` names (rag/registry.py `STORES`): opens stores, and may
    set a damaged local store aside before a rebuild (`set_aside(cfg) -> Path | None`,
    the folder it went to, deleted once the rebuild is done; None when nothing is local)."""

    def __call__(self, cfg, model_name: str, collection: str) -> VectorStore: ...


def open_store(cfg: Config, model_name: str, collection: str | None = None) -> VectorStore:
    """The configured vector store (`vectorstore.backend`, from the registry) on `collection`,
    by default the one the lexical index names as live; not yet opened."""
    from rag.registry import STORES

    return STORES.create(cfg.vectorstore.backend, cfg, model_name, collection or live_collection(cfg))


def live_collection(cfg: Config) -> str:
    meta = IndexMeta.read(IndexPaths.of(cfg.data_dir).lexical)
    return (meta.collection if meta is not None else None) or cfg.vectorstore.collection
