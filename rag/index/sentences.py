"""Sentence vectors, computed at ingest and stored beside the index, so the answerer can
pick sentences by meaning without embedding any passage text at question time.

The store is content-addressed: a vector is keyed by a hash of the exact text embedded,
so unchanged sentences are never embedded twice (edits, renames and re-ingests reuse
them) and a vector can never be attached to the wrong text.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.errors import IndexCorruptError
from rag.index.index_layout import META_FILE, IndexPaths
from rag.text import clean_markdown, sentence_spans
from rag.types import Chunk

FORMAT = 1


def sentence_dir(data_dir: str | os.PathLike) -> Path:
    return IndexPaths.of(data_dir).sentences


def embed_text(sentence: str) -> str:
    """What the model sees for a sentence: its text without Markdown markup."""
    return clean_markdown(sentence)


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def chunk_sentences(chunk: Chunk) -> Iterable[tuple[int, int, str]]:
    """(start, end, text) of each answerable sentence of a chunk: `> ` note lines (editor's
    and translator's notes) are not answer material and get no vector."""
    for s, e in sentence_spans(chunk.text, chunk.start):
        rel = s - chunk.start
        line_start = chunk.text.rfind("\n", 0, rel) + 1
        if chunk.text[line_start:rel].lstrip().startswith(">"):
            continue
        yield s, e, chunk.text[rel : e - chunk.start]


class SentenceIndex:
    """Unit vectors of sentences, looked up by the hash of their embedded text."""

    def __init__(self, keys: list[str], vectors: np.ndarray, model: str):
        self.keys = keys
        self.vectors = vectors.astype(np.float32, copy=False)
        self.model = model
        self._row = {k: i for i, k in enumerate(keys)}
        self._chunk_rows: dict[str, np.ndarray] = {}  # chunk id (content-derived) -> its rows

    def chunk_rows(self, chunk: Chunk) -> np.ndarray:
        """Rows of a chunk's sentences that have vectors (cached: splitting is the slow part)."""
        rows = self._chunk_rows.get(chunk.id)
        if rows is None:
            found = (self._row.get(text_key(embed_text(t))) for _, _, t in chunk_sentences(chunk))
            rows = np.array([r for r in found if r is not None], dtype=np.int64)
            self._chunk_rows[chunk.id] = rows
        return rows

    def __len__(self) -> int:
        return len(self.keys)

    def vector(self, sentence: str) -> np.ndarray | None:
        row = self._row.get(text_key(embed_text(sentence)))
        return None if row is None else self.vectors[row]

    def background(self, query: np.ndarray, sample: int = 2048) -> float:
        """The query's mean similarity to (an even sample of) all stored sentences: what
        "unrelated" looks like for this question in this corpus."""
        if not len(self.keys):
            return 0.0
        step = max(1, len(self.keys) // sample)
        return float((self.vectors[::step] @ query).mean())

    def similarities(self, query: np.ndarray, sentences: list[str]) -> list[float | None]:
        """Cosine similarity of `query` to each sentence; None where no vector is stored."""
        rows = [self._row.get(text_key(embed_text(s))) for s in sentences]
        known = [r for r in rows if r is not None]
        sims = self.vectors[known] @ query if known else np.zeros(0, dtype=np.float32)
        it = iter(sims.tolist())
        return [None if r is None else next(it) for r in rows]

    @classmethod
    def build(cls, chunks: list[Chunk], embedder, previous: SentenceIndex | None = None,
              progress=None, extra: Iterable[str] = ()) -> tuple[SentenceIndex, int]:
        """Vectors for every sentence of `chunks` and every text of `extra` (the catalog's
        article profiles), reusing `previous` where the text is the same. Returns the index
        and how many texts were embedded now."""
        texts: dict[str, str] = {}
        for chunk in chunks:
            for _, _, sentence in chunk_sentences(chunk):
                text = embed_text(sentence)
                if text:
                    texts.setdefault(text_key(text), text)
        for text in map(embed_text, extra):
            if text:
                texts.setdefault(text_key(text), text)
        keys = list(texts)
        reuse = previous if previous is not None and previous.model == embedder.name else None
        todo = [k for k in keys if reuse is None or k not in reuse._row]
        fresh: dict[str, np.ndarray] = {}
        if todo:
            batch = 64
            for i in range(0, len(todo), batch):
                part = todo[i : i + batch]
                for k, v in zip(part, embedder.embed_documents([texts[k] for k in part])):
                    fresh[k] = np.asarray(v, dtype=np.float32)
                if progress is not None:
                    progress(len(part))
        dim = len(next(iter(fresh.values()))) if fresh else (reuse.vectors.shape[1] if reuse is not None and len(reuse) else 0)
        vectors = np.zeros((len(keys), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            if k in fresh:
                vectors[i] = fresh[k]
            else:
                assert reuse is not None  # a key not embedded now was found in the old index
                vectors[i] = reuse.vectors[reuse._row[k]]
        return cls(keys, vectors, embedder.name), len(todo)

    def save(self, folder: str | os.PathLike) -> None:
        """Written to a temporary folder and swapped in: a reader sees the old or the new."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".sentences-", dir=folder.parent))
        np.save(tmp / "vectors.npy", self.vectors.astype(np.float16))
        (tmp / META_FILE).write_text(json.dumps({"format": FORMAT, "model": self.model,
                                                   "keys": self.keys}))
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> SentenceIndex | None:
        """The stored index, or None when there is none (answers then rank sentences by
        words alone)."""
        folder = Path(folder)
        if not (folder / META_FILE).exists():
            return None
        try:
            meta = json.loads((folder / META_FILE).read_text())
            if meta.get("format") != FORMAT:
                return None
            vectors = np.load(folder / "vectors.npy")
            if len(vectors) != len(meta["keys"]):
                raise ValueError("vector count differs from key count")
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(
                f"sentence vectors in {folder} are damaged ({exc}); run `rag ingest --rebuild`"
            ) from exc
        return cls(meta["keys"], vectors, meta["model"])
