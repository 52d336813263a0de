"""The vector store interface the core depends on; `vectorstore/` implements it with Chroma."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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

    def exists(self) -> bool: ...

    def drop(self) -> None: ...
