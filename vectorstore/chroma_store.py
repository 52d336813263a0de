"""Chroma as the vector store: on disk (PersistentClient) or a `chroma run` server (HttpClient).

The collection's metadata records the embedding model and dimension; opening it with a
different model raises IndexMismatchError. We always pass our own embeddings, so Chroma's
default embedding function (which downloads a model) is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from rag.errors import (
    ConfigError,
    DiskFullError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    RagError,
    ReadOnlyStorageError,
    StorageError,
    StoreUnavailableError,
)
from rag.index.index_layout import IndexPaths
from rag.index.storage import storage_error
from rag.index.store import ArticleState
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
    clauses: list[dict] = []
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
    """One collection of a Chroma client. A rebuild writes a new generation of the collection
    (`<name>-g<ns>`) beside the live one; the lexical index's meta names the live one."""

    def __init__(self, client, collection_name: str, model_name: str, dimension: int | None,
                 *, base: str | None = None, data_dir: str = "", server_url: str | None = None):
        self._client = client
        self._name = collection_name
        self._base = base or collection_name
        self._model_name = model_name
        self._dimension = dimension
        self._collection = None
        self._data_dir = data_dir
        self._server_url = server_url

    @property
    def name(self) -> str:
        return self._name

    def _error(self, exc: BaseException, doing: str, need: int = 0) -> RagError:
        return translate_error(exc, doing, self._data_dir, self._server_url, need)

    def _call(self, doing: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RagError:
            raise
        except Exception as exc:  # chromadb raises many types; ours are one narrow family
            raise self._error(exc, doing, _write_size(kwargs)) from exc

    # -- generations ----------------------------------------------------------------------

    def with_collection(self, name: str) -> ChromaStore:
        """Another collection on the same client (a generation of this one)."""
        return ChromaStore(self._client, name, self._model_name, None, base=self._base,
                           data_dir=self._data_dir, server_url=self._server_url)

    def new_generation(self) -> ChromaStore:
        return self.with_collection(f"{self._base}-g{time.time_ns()}")

    def generations(self) -> list[str]:
        """Names of this collection's generations that exist, oldest first."""
        names = self._call("list collections", self._client.list_collections)
        names = [getattr(c, "name", c) for c in names]
        pattern = re.compile(rf"^{re.escape(self._base)}(-g(\d+))?$")
        found = [(int(m[2] or 0), n) for n in names if (m := pattern.match(n))]
        return [n for _, n in sorted(found)]

    def drop(self) -> None:
        segments = self._segment_dirs()
        try:
            self._client.delete_collection(self._name)
        except Exception as exc:
            if not _not_found(exc):
                raise self._error(exc, f"delete collection {self._name!r}") from exc
        self._collection = None
        for folder in segments:  # Chroma leaves a dropped collection's vector files behind
            shutil.rmtree(folder, ignore_errors=True)

    def _segment_dirs(self) -> list[Path]:
        """The on-disk vector folders of this collection (local index only)."""
        if self._server_url or not self._data_dir:
            return []
        root = IndexPaths.of(self._data_dir).chroma
        try:
            with contextlib.closing(sqlite3.connect(f"file:{root / 'chroma.sqlite3'}?mode=ro", uri=True)) as db:
                rows = db.execute("SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
                                  "WHERE c.name = ?", (self._name,)).fetchall()
        except sqlite3.Error:  # another Chroma schema: leave the files, never guess
            return []
        return [root / r[0] for r in rows if re.fullmatch(r"[0-9a-f-]{36}", str(r[0]))]

    # -- opening ------------------------------------------------------------------------

    def _existing(self):
        try:
            return self._client.get_collection(self._name, embedding_function=None)
        except Exception as exc:  # chroma raises NotFoundError / ValueError by version
            if _not_found(exc):
                return None
            raise self._error(exc, f"open collection {self._name!r}") from exc

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

    def exists(self) -> bool:
        """Whether the collection exists; if so it is open for reading (any model)."""
        collection = self._existing()
        if collection is not None and self._collection is None:
            self._collection = collection
        return collection is not None

    def open_for_read(self) -> ChromaStore:
        collection = self._existing()
        if collection is None:
            raise IndexMissingError(f"no index yet (collection {self._name!r}): run `rag ingest`")
        self._check_model(collection)
        self._collection = collection
        return self

    def open_for_write(self, dimension: Callable[[], int], rebuild: bool = False) -> ChromaStore:
        """Open or create the collection. `dimension` is called only when creating, so an
        unchanged corpus never loads the model. (`rag ingest --rebuild` writes a new
        generation instead of passing rebuild=True here.)"""
        if rebuild and self._existing() is not None:
            self.drop()
        collection = self._existing()
        if collection is None:
            self._dimension = dimension()
            collection = self._call(
                f"create collection {self._name!r}", self._client.create_collection,
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
        out: dict[str, list] = {"ids": [], "metadatas": [], "documents": []}
        page, offset = 5000, 0
        while True:
            got = self._call("read the index", self.collection.get, include=include, limit=page,
                             offset=offset)
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
        except Exception:  # older servers do not expose it; a real failure shows on the write
            return 1000

    def replace_articles(self, article_ids, chunks, embeddings, ingest_keys) -> None:
        # Old chunks go first; if we die before the upsert finishes, the article is
        # missing or short of chunks, which the next run detects and redoes.
        self.delete_articles(article_ids)
        batch = self._max_batch()
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self._call(
                "write chunks", self.collection.upsert,
                ids=[c.id for c in part],
                embeddings=embeddings[i : i + batch],
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(c, ingest_keys[c.article_id]) for c in part],
            )

    def delete_articles(self, article_ids) -> None:
        ids = list(article_ids)
        for i in range(0, len(ids), 500):
            self._call("delete chunks", self.collection.delete,
                       where={"article_id": {"$in": ids[i : i + 500]}})

    def all_chunks(self) -> list[Chunk]:
        got = self._get_all(["metadatas", "documents"])
        return [_chunk_from(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def query(self, embedding, k, flt=None):
        n = self.count()
        if n == 0:
            return []
        res = self._call(
            "search the index", self.collection.query,
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
        return self._call("count chunks", self.collection.count)

    def vectors_for(self, article_ids) -> dict[str, list[tuple[Chunk, list[float]]]]:
        """Stored chunks with their vectors, by article: a moved file reuses them."""
        out: dict[str, list[tuple[Chunk, list[float]]]] = {}
        ids = list(article_ids)
        for i in range(0, len(ids), 500):
            got = self._call("read vectors", self.collection.get,
                             where={"article_id": {"$in": ids[i : i + 500]}},
                             include=["embeddings", "metadatas", "documents"])
            for cid, doc, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
                chunk = _chunk_from(cid, doc, meta)
                out.setdefault(chunk.article_id, []).append((chunk, list(map(float, vec))))
        return out


def _not_found(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "does not exist" in text or "not found" in text


_CORRUPT = ("not a database", "malformed", "no such table", "corrupt", "file is encrypted",
            "database disk image")


def _write_size(kwargs: dict) -> int:
    """Roughly what Chroma needs on disk to write this call: its log, the metadata segment
    and the full-text index each hold the documents again, hence the factor."""
    docs = kwargs.get("documents") or []
    vectors = kwargs.get("embeddings")
    raw = sum(len(d.encode()) for d in docs) + (len(vectors) * len(vectors[0]) * 4 if vectors is not None and len(vectors) else 0)
    return 8 * raw


def translate_error(exc: BaseException, doing: str, data_dir: str, server_url: str | None,
                    need: int = 0) -> RagError:
    """One of our errors for a Chroma failure, diagnosed: an unreachable server, a locked,
    damaged, read-only or full local index. Only a damaged one is worth rebuilding. Chroma
    reports a full disk only as a failed write (and rolls it back, freeing the space), so a
    write of `need` bytes is tried to tell."""
    if isinstance(exc, RagError):
        return exc
    reason = re.sub(r"^\[Errno \d+\]\s*", "", (str(exc).strip().splitlines() or [type(exc).__name__])[0])[:200]
    if server_url:
        low = f"{type(exc).__name__} {reason}".lower()
        if any(s in low for s in ("connect", "refused", "unreachable", "timed out", "timeout", "resolve")):
            return StoreUnavailableError(f"cannot reach the Chroma server at {server_url} to {doing}: "
                                         "is `chroma run` up and reachable?")
        return StoreUnavailableError(f"the Chroma server at {server_url} failed to {doing} ({reason})")
    path = IndexPaths.of(data_dir).chroma
    low = reason.lower()
    if "database is locked" in low:
        return IndexBusyError(f"the Chroma index in {path} is locked by another process; try again when it finishes")
    if any(s in low for s in _CORRUPT):
        return IndexCorruptError(
            f"the Chroma index in {path} is damaged ({reason}); run `rag ingest --rebuild` to rebuild it"
        )
    if "disk is full" in low or "no space left" in low:
        return DiskFullError(f"cannot {doing}: no space left on the disk holding {path}")
    if "readonly database" in low or "read-only" in low:
        return ReadOnlyStorageError(f"cannot {doing}: {path} is read-only (or not writable by this user)")
    err = storage_error(path, exc if isinstance(exc, OSError) else None, doing, need)
    if type(err) is StorageError and not isinstance(exc, OSError):
        return StorageError(f"cannot {doing} in {path}: Chroma said: {reason}")
    return err


def make_client(server_url: str | None, data_dir: str):
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if server_url:
        u = urlparse(server_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConfigError(f"config key `vectorstore.server_url`: not an http(s) URL: {server_url!r}")
        try:
            return chromadb.HttpClient(
                host=u.hostname, port=u.port or (443 if u.scheme == "https" else 8000),
                ssl=u.scheme == "https", settings=settings,
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {server_url} (vectorstore.server_url): "
                "is `chroma run` up and listening there?"
            ) from exc
    path = IndexPaths.of(data_dir).chroma
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(path, exc, "create the index folder") from exc
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        _forget_clients()  # a half-opened client would be reused by the next attempt
        raise translate_error(exc, "open the Chroma index", data_dir, None) from exc


def _forget_clients() -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # Chroma caches one client per path


def set_aside_local_index(data_dir: str) -> Path | None:
    """Move a damaged Chroma folder out of the way (deleted once a rebuild succeeds)."""
    path = IndexPaths.of(data_dir).chroma
    if not path.exists():
        return None
    aside = path.with_name(f"chroma.damaged-{time.time_ns()}")
    path.rename(aside)
    _forget_clients()
    return aside


def remove_local_index(data_dir: str) -> None:
    import shutil

    shutil.rmtree(IndexPaths.of(data_dir).chroma, ignore_errors=True)
    _forget_clients()


def open_chroma_store(cfg, model_name: str, collection: str | None = None) -> ChromaStore:
    """An unopened store for this config (on `collection`, default the configured name);
    call open_for_read() or open_for_write()."""
    client = make_client(cfg.vectorstore.server_url, cfg.data_dir)
    base = cfg.vectorstore.collection
    return ChromaStore(client, collection or base, model_name, None, base=base,
                       data_dir=cfg.data_dir, server_url=cfg.vectorstore.server_url)


class ChromaBackend:
    """`vectorstore.backend: chroma` (rag/registry.py): on disk in data_dir/chroma, or a
    Chroma server at vectorstore.server_url."""

    def __call__(self, cfg, model_name: str, collection: str | None = None) -> ChromaStore:
        return open_chroma_store(cfg, model_name, collection)

    def set_aside(self, cfg) -> Path | None:
        return None if cfg.vectorstore.server_url else set_aside_local_index(cfg.data_dir)


CHROMA_BACKEND = ChromaBackend()
