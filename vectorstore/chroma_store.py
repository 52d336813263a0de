"""Chroma as the vector store: on disk (PersistentClient) or a `chroma run` server (HttpClient).

The collection's metadata records the embedding model and dimension; opening it with a
different model raises IndexMismatchError. We always pass our own embeddings, so Chroma's
default embedding function (which downloads a model) is never used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from rag.errors import ConfigError, IndexCorruptError, IndexMismatchError, IndexMissingError
from rag.store import ArticleState
from rag.types import Chunk, RetrievalFilter


def _date_number(date: str | None) -> int:
    # Chroma compares only numbers with $gte/$lte, so dates are also stored as YYYYMMDD.
    return int(date.replace("-", "")) if date else 0


def _chunk_metadata(c: Chunk, ingest_key: str) -> dict:
    return {
        "article_id": c.article_id,
        "index": c.index,
        "start": c.start,
        "end": c.end,
        "heading_path": json.dumps(list(c.heading_path), ensure_ascii=False),
        "title": c.title,
        "url": c.url or "",
        "date": c.date or "",
        "date_num": _date_number(c.date),
        "content_hash": c.content_hash,
        "chunk_count": c.chunk_count,
        "keywords": c.keywords,
        "ingest_key": ingest_key,
    }


def _chunk_from(chunk_id: str, text: str, m: dict) -> Chunk:
    return Chunk(
        id=chunk_id,
        article_id=m["article_id"],
        index=int(m["index"]),
        text=text,
        start=int(m["start"]),
        end=int(m["end"]),
        heading_path=tuple(json.loads(m["heading_path"])),
        title=m["title"],
        url=m["url"] or None,
        date=m["date"] or None,
        content_hash=m["content_hash"],
        chunk_count=int(m["chunk_count"]),
        keywords=m.get("keywords", ""),
    )


def _where(flt: RetrievalFilter | None) -> dict | None:
    if flt is None or flt.is_empty:
        return None
    clauses = []
    if flt.article_ids is not None:
        clauses.append({"article_id": {"$in": sorted(flt.article_ids) or [""]}})
    if flt.date_from:
        clauses.append({"date_num": {"$gte": _date_number(flt.date_from)}})
    if flt.date_to:
        clauses.append({"date_num": {"$lte": _date_number(flt.date_to)}})
    if flt.date_from or flt.date_to:
        clauses.append({"date_num": {"$gt": 0}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChromaStore:
    def __init__(self, client, collection_name: str, model_name: str, dimension: int | None):
        self._client = client
        self._name = collection_name
        self._model_name = model_name
        self._dimension = dimension
        self._collection = None

    # -- opening ------------------------------------------------------------------------

    def _existing(self):
        try:
            return self._client.get_collection(self._name, embedding_function=None)
        except Exception as exc:  # chroma raises NotFoundError / ValueError by version
            if "does not exist" in str(exc) or "not found" in str(exc).lower():
                return None
            raise IndexCorruptError(f"cannot open Chroma collection {self._name!r}: {exc}") from exc

    def _check_model(self, collection) -> None:
        meta = collection.metadata or {}
        recorded = meta.get("embedding_model")
        dim = meta.get("embedding_dim")
        if recorded != self._model_name or (
            self._dimension is not None and dim is not None and int(dim) != self._dimension
        ):
            raise IndexMismatchError(
                f"the index was built with embedding model {recorded!r} (dimension {dim}), "
                f"but the config asks for {self._model_name!r}"
                f"{f' (dimension {self._dimension})' if self._dimension else ''}. "
                "Rebuild it with `rag ingest --rebuild`, or set embedding.model back."
            )

    def open_for_read(self) -> ChromaStore:
        collection = self._existing()
        if collection is None:
            raise IndexMissingError(f"no index yet (collection {self._name!r}): run `rag ingest`")
        self._check_model(collection)
        self._collection = collection
        return self

    def open_for_write(self, dimension: Callable[[], int], rebuild: bool = False) -> ChromaStore:
        """Open or create the collection. `dimension` is called only when creating, so an
        unchanged corpus never loads the model."""
        if rebuild and self._existing() is not None:
            self._client.delete_collection(self._name)
        collection = self._existing()
        if collection is None:
            self._dimension = dimension()
            collection = self._client.create_collection(
                self._name,
                metadata={"embedding_model": self._model_name, "embedding_dim": self._dimension},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        self._check_model(collection)
        self._collection = collection
        return self

    @property
    def collection(self):
        if self._collection is None:
            raise RuntimeError("open the store first")
        return self._collection

    # -- VectorStore ----------------------------------------------------------------------

    def _get_all(self, include: list[str]) -> dict:
        # Paged, since Chroma caps how much one call returns.
        out = {"ids": [], "metadatas": [], "documents": []}
        page, offset = 5000, 0
        while True:
            got = self.collection.get(include=include, limit=page, offset=offset)
            out["ids"].extend(got["ids"])
            for key in ("metadatas", "documents"):
                if key in include:
                    out[key].extend(got[key])
            if len(got["ids"]) < page:
                return out
            offset += page

    def article_states(self) -> dict[str, ArticleState]:
        got = self._get_all(["metadatas"])
        counts: dict[str, list] = {}
        for m in got["metadatas"]:
            entry = counts.setdefault(m["article_id"], [m.get("ingest_key", ""), int(m["chunk_count"]), 0])
            if entry[0] != m.get("ingest_key", ""):
                entry[0] = "mixed"  # chunks of two versions: treat as stale
            entry[2] += 1
        return {a: ArticleState(k, expected, stored) for a, (k, expected, stored) in counts.items()}

    def _max_batch(self) -> int:
        try:
            return int(self._client.get_max_batch_size())
        except Exception:  # older servers do not expose it
            return 1000

    def replace_articles(self, article_ids, chunks, embeddings, ingest_keys) -> None:
        # Old chunks go first; if we die before the upsert finishes, the article is
        # missing or short of chunks, which the next run detects and redoes.
        self.delete_articles(article_ids)
        batch = self._max_batch()
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=embeddings[i : i + batch],
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(c, ingest_keys[c.article_id]) for c in part],
            )

    def delete_articles(self, article_ids) -> None:
        ids = list(article_ids)
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"article_id": {"$in": ids[i : i + 500]}})

    def all_chunks(self) -> list[Chunk]:
        got = self._get_all(["metadatas", "documents"])
        return [_chunk_from(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def query(self, embedding, k, flt=None):
        n = self.collection.count()
        if n == 0:
            return []
        res = self.collection.query(
            query_embeddings=[embedding],
            n_results=min(k, n),
            where=_where(flt),
            include=["metadatas", "documents", "distances"],
        )
        return [
            (_chunk_from(i, d, m), float(dist))
            for i, d, m, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def count(self) -> int:
        return self.collection.count()


def make_client(server_url: str | None, data_dir: str):
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if server_url:
        u = urlparse(server_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(f"config key `vectorstore.server_url`: not an http(s) URL: {server_url!r}")
        return chromadb.HttpClient(
            host=u.hostname, port=u.port or (443 if u.scheme == "https" else 8000),
            ssl=u.scheme == "https", settings=settings,
        )
    path = Path(data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise IndexCorruptError(
            f"cannot open the Chroma index in {path} ({exc}); run `rag ingest --rebuild`"
        ) from exc


def remove_local_index(data_dir: str) -> None:
    import shutil

    from chromadb.api.shared_system_client import SharedSystemClient

    shutil.rmtree(Path(data_dir) / "chroma", ignore_errors=True)
    SharedSystemClient.clear_system_cache()  # Chroma caches one client per path


def open_chroma_store(cfg, model_name: str) -> ChromaStore:
    """An unopened store for this config; call open_for_read() or open_for_write()."""
    client = make_client(cfg.vectorstore.server_url, cfg.data_dir)
    return ChromaStore(client, cfg.vectorstore.collection, model_name, None)
