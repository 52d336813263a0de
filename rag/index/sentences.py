"""Sentence vectors, computed at ingest and stored beside the index, so the answerer can
pick sentences by meaning without embedding any passage text at question time; and the
chunk vectors made from them, so ingest embeds each text once.

The store is content-addressed: a vector is keyed by a hash of the exact text embedded,
so unchanged sentences are never embedded twice (edits, renames and re-ingests reuse
them) and a vector can never be attached to the wrong text. While an ingest runs, what it
embeds is written shard by shard to `sentences.pending/` (`VectorCache`), so a killed run
resumes without embedding those texts again.

A chunk's vector is not embedded: it is the mean of its sentences' vectors (weighted by
characters) plus `HEADER_WEIGHT` times the vector of its header (title, headings,
keywords), normalized. Short texts are where the runtimes are fastest, and the sentence
vectors are needed anyway, so ingest makes one pass over short texts instead of a second
one over 400-character chunks (`python -m evals.chunk_vectors`; docs/benchmarks.md, "One
embedding pass").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.errors import IndexCorruptError
from rag.index.index_layout import META_FILE, IndexPaths
from rag.text import clean_markdown, sentence_spans
from rag.types import Chunk

FORMAT = 1
# Dense article hit@1 with derived chunk vectors, CMRC 2018 trial (256 paragraphs, 1,002
# questions; the dev fold for this choice): header weight 0 -> 0.910, 0.2 -> 0.942,
# 0.3 -> 0.947, 0.5 -> 0.937; chunks embedded whole: 0.951 (at 1.6x the embedding time).
HEADER_WEIGHT = 0.3
# each chunk's sentence rows, stored beside the vectors: splitting 24,000 chunks into
# sentences again took 2 s of a cold archive question at 10,000 articles
CHUNK_ROWS_FILE = "chunk_rows.npz"


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


def chunk_header(chunk: Chunk) -> str:
    """The text a chunk shares with its neighbours: title, headings, keywords."""
    return embed_text("\n".join(p for p in (chunk.title, *chunk.heading_path, chunk.keywords) if p))


def vector_texts(chunk: Chunk) -> tuple[str, list[str]]:
    """(header, body texts) a chunk's vector is made of: its sentences, or, for a chunk
    with none (all `> ` notes), its whole text."""
    body = [t for t in (embed_text(s) for _, _, s in chunk_sentences(chunk)) if t]
    if not body:
        body = [embed_text(chunk.text) or chunk.text]
    return chunk_header(chunk), body


def combine(header: np.ndarray | None, body: Sequence[np.ndarray], weights: Sequence[int]) -> np.ndarray:
    """Weighted mean of the body vectors, normalized, plus HEADER_WEIGHT x the header's."""
    total = float(sum(weights)) or 1.0
    mean = np.sum([w * v for w, v in zip(weights, body)], axis=0) / total
    mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
    if header is not None:
        mean = mean + HEADER_WEIGHT * header
        mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return mean.astype(np.float32)


def profile_parts(text: str) -> tuple[str, list[str]]:
    """(header, body texts) a derived text's vector is made of: its first line (an article
    profile's title) and the sentences of the rest (the lead, which are body sentences
    already embedded)."""
    first, _, rest = text.partition("\n")
    body = [t for t in (embed_text(rest[a:b]) for a, b in sentence_spans(rest)) if t] if rest.strip() else []
    return embed_text(first), body


class VectorCache:
    """Vectors of one model by text key: the finished index's, and those this run (or an
    interrupted one before it) embedded, kept in `pending` shards until the index is saved.
    Vectors are held at float16 precision, as the index stores them, so a resumed run
    derives exactly the chunk vectors an uninterrupted one would."""

    # texts per embedding call and shard: a kill loses at most one slice of work
    SLICE = 2048

    def __init__(self, pending: Path | None, model: str, previous: SentenceIndex | None = None):
        self.model = model
        self.pending = pending
        self.embedded = 0  # texts embedded through this cache
        self._previous = previous if previous is not None and previous.model == model else None
        # float16 blocks (one per shard) and key -> (block, row): at 10,000 articles about
        # 140,000 vectors, 110 MB this way against ~230 MB as one small array per text
        self._blocks: list[np.ndarray] = []
        self._fresh: dict[str, tuple[int, int]] = {}
        for shard in sorted(pending.glob("*.npz")) if pending is not None and pending.is_dir() else ():
            try:
                with np.load(shard) as z:
                    if str(z["model"]) == model:
                        self._hold(z["keys"].tolist(), z["vectors"].astype(np.float16))
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue  # a damaged shard: its texts are embedded again

    def __len__(self) -> int:
        return len(self._fresh) + (len(self._previous) if self._previous is not None else 0)

    def _hold(self, keys: list[str], vectors: np.ndarray) -> None:
        block = len(self._blocks)
        self._blocks.append(vectors)
        self._fresh.update((k, (block, row)) for row, k in enumerate(keys))

    def get(self, key: str) -> np.ndarray | None:
        at = self._fresh.get(key)
        if at is not None:
            return self._blocks[at[0]][at[1]].astype(np.float32)
        if self._previous is not None:
            row = self._previous._row.get(key)
            if row is not None:
                return self._previous.row_vectors(row)
        return None

    def embed_missing(self, texts: Sequence[str], embedder) -> None:
        """Embed the texts (as embed_text gives them) not held yet, a slice at a time."""
        todo: dict[str, str] = {}
        for text in texts:
            key = text_key(text)
            if key not in todo and self.get(key) is None:
                todo[key] = text
        keys = list(todo)
        for i in range(0, len(keys), self.SLICE):
            part = keys[i : i + self.SLICE]
            fresh = np.asarray(embedder.embed_documents([todo[k] for k in part]), np.float32)
            self._add(part, fresh.astype(np.float16))

    def vectors(self, texts: Sequence[str], embedder) -> list[np.ndarray]:
        """Vectors of `texts` (as embed_text gives them), embedding only those not held."""
        self.embed_missing(texts, embedder)
        return [self._must(text_key(t)) for t in texts]

    def matrix(self, texts: Sequence[str], embedder, extra_rows: int = 0) -> np.ndarray:
        """The vectors of `texts` as one float16 matrix (the stored precision), row i for
        texts[i], with `extra_rows` zero rows after them for the caller to fill."""
        self.embed_missing(texts, embedder)
        if not texts:
            return np.zeros((extra_rows, embedder.dimension), np.float16)
        first = self._must(text_key(texts[0]))
        out = np.zeros((len(texts) + extra_rows, first.shape[0]), np.float16)
        for row, text in enumerate(texts):
            out[row] = self._must(text_key(text))
        return out

    def _must(self, key: str) -> np.ndarray:
        vector = self.get(key)
        assert vector is not None  # every key was held or has just been embedded
        return vector

    def _add(self, keys: list[str], vectors: np.ndarray) -> None:
        if self.pending is not None:
            self.pending.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns():020d}-{os.getpid()}"
            tmp = self.pending / f".{name}.tmp"
            with open(tmp, "wb") as f:
                np.savez(f, keys=np.array(keys), vectors=vectors, model=np.array(self.model))
            os.replace(tmp, self.pending / f"{name}.npz")
        self._hold(keys, vectors)
        self.embedded += len(keys)

    def chunk_vectors(self, chunks: Sequence[Chunk], embedder, whole: bool = False) -> list[list[float]]:
        """One vector per chunk, made from its texts' vectors (embedded when not held); with
        `whole`, the chunk's search text is embedded as well and is its vector."""
        plans = [vector_texts(c) for c in chunks]
        texts = [t for header, body in plans for t in ([header] if header else []) + body]
        held = dict(zip(map(text_key, texts), self.vectors(texts, embedder)))
        if whole:
            return [v.tolist() for v in self.vectors([c.search_text() for c in chunks], embedder)]
        out = []
        for header, body in plans:
            head = held[text_key(header)] if header else None
            out.append(combine(head, [held[text_key(t)] for t in body], [len(t) for t in body]).tolist())
        return out

    def forget(self) -> None:
        """Free the held vectors (the saved sentence index has them); the shards stay until
        `clear`, so a run killed before the lexical index is written still resumes."""
        self._blocks, self._fresh, self._previous = [], {}, None

    def clear(self) -> None:
        """The index now holds these vectors: drop the shards."""
        if self.pending is not None:
            shutil.rmtree(self.pending, ignore_errors=True)


class SentenceIndex:
    """Unit vectors of sentences, looked up by the hash of their embedded text.

    The vectors stay at the stored float16 precision, memory-mapped when loaded: at 10,000
    articles they are 140,000 x 384, 107 MB as stored against 213 MB as float32, and a
    question reads a few hundred rows of them (`row_vectors`)."""

    def __init__(self, keys: list[str], vectors: np.ndarray, model: str):
        self.keys = keys
        self._vectors = vectors  # float16 (or float32 when built in memory by a caller)
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

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1]) if self._vectors.ndim == 2 else 0

    def row_vectors(self, rows) -> np.ndarray:
        """float32 copies of the vectors at `rows` (an index, a slice or an array of them)."""
        return np.asarray(self._vectors[rows], np.float32)

    def vector(self, sentence: str) -> np.ndarray | None:
        row = self._row.get(text_key(embed_text(sentence)))
        return None if row is None else self.row_vectors(row)

    def rows_of(self, embedded: Sequence[str]) -> list[int | None]:
        """The row of each text as `embed_text` gave it (None where none is stored): for
        many texts at once, read with one `row_vectors`."""
        return [self._row.get(text_key(t)) for t in embedded]

    def background(self, query: np.ndarray, sample: int = 2048) -> float:
        """The query's mean similarity to (an even sample of) all stored sentences: what
        "unrelated" looks like for this question in this corpus."""
        if not len(self.keys):
            return 0.0
        step = max(1, len(self.keys) // sample)
        return float((self.row_vectors(slice(None, None, step)) @ query).mean())

    def similarities(self, query: np.ndarray, sentences: list[str]) -> list[float | None]:
        """Cosine similarity of `query` to each sentence; None where no vector is stored."""
        rows = [self._row.get(text_key(embed_text(s))) for s in sentences]
        known = [r for r in rows if r is not None]
        sims = self.row_vectors(known) @ query if known else np.zeros(0, dtype=np.float32)
        it = iter(sims.tolist())
        return [None if r is None else next(it) for r in rows]

    @classmethod
    def build(cls, chunks: list[Chunk], embedder, cache: VectorCache | None = None,
              derived: Iterable[str] = ()) -> tuple[SentenceIndex, int]:
        """Vectors for every text the chunks' vectors are made of (sentences, headers), taken
        from `cache` where it holds them, and for each text of `derived` (the catalog's
        article profiles) a vector made from its parts (`profile_parts`, combined as a
        chunk's are), stored under the text's own key: at 10,000 news articles embedding
        the profiles whole took longer than all their sentences. Returns the index and how
        many texts were embedded now."""
        texts: dict[str, str] = {}
        for chunk in chunks:
            header, body = vector_texts(chunk)
            for text in [header, *body]:
                if text:
                    texts.setdefault(text_key(text), text)
        plans = {}
        for raw in derived:
            text = embed_text(raw)  # the key: what a lookup of the whole text computes
            header, body = profile_parts(raw)  # split before embed_text joins the lines
            if (header or body) and text_key(text) not in texts:
                plans[text_key(text)] = (header, body)
                for part in [header, *body]:
                    if part:
                        texts.setdefault(text_key(part), part)
        cache = cache if cache is not None else VectorCache(None, embedder.name)
        before = cache.embedded
        keys = list(texts)
        # one float16 matrix with room for the profiles: no float32 copy of 140,000 rows
        vectors = cache.matrix(list(texts.values()), embedder, extra_rows=len(plans))
        if plans:
            row = {k: i for i, k in enumerate(keys)}

            def at(text: str) -> np.ndarray:
                return vectors[row[text_key(text)]].astype(np.float32)

            for n, (header, body) in enumerate(plans.values(), start=len(keys)):
                head = at(header) if header else None
                # a title alone is its own vector
                vectors[n] = head if not body else combine(head, [at(t) for t in body], [len(t) for t in body])
            keys += list(plans)
        index = cls(keys, vectors, cache.model)
        for chunk in chunks:  # split once here and stored: a cold archive question reads them
            index.chunk_rows(chunk)
        return index, cache.embedded - before

    def save(self, folder: str | os.PathLike) -> None:
        """Written to a temporary folder and swapped in: a reader sees the old or the new."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".sentences-", dir=folder.parent))
        np.save(tmp / "vectors.npy", self._vectors.astype(np.float16, copy=False))
        if self._chunk_rows:
            ids = list(self._chunk_rows)
            parts = [self._chunk_rows[i] for i in ids]
            sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
            np.savez(tmp / CHUNK_ROWS_FILE, ids=np.array(ids), sizes=sizes,
                     rows=np.concatenate(parts) if parts else np.zeros(0, np.int64))
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
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
            if len(vectors) != len(meta["keys"]):
                raise ValueError("vector count differs from key count")
            if vectors.dtype != np.float16:
                raise ValueError(f"vectors are {vectors.dtype}, not float16")
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(
                f"sentence vectors in {folder} are damaged ({exc}); run `rag ingest --rebuild`"
            ) from exc
        index = cls(meta["keys"], vectors, meta["model"])
        index._chunk_rows = _load_chunk_rows(folder / CHUNK_ROWS_FILE, len(vectors))
        return index


def _load_chunk_rows(path: Path, count: int) -> dict[str, np.ndarray]:
    """The chunk rows ingest stored (chunk id -> rows), or none for an index saved before
    them (then each chunk is split on first use). Rows outside the vectors are damage."""
    if not path.exists():
        return {}
    try:
        with np.load(path) as z:
            ids, sizes, rows = z["ids"].tolist(), z["sizes"], z["rows"].astype(np.int64)
        if int(sizes.sum()) != len(rows) or len(ids) != len(sizes) or (len(rows) and int(rows.max()) >= count):
            raise ValueError("chunk rows do not match the vectors")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise IndexCorruptError(f"{path} is damaged ({exc}); run `rag ingest --rebuild`") from exc
    return dict(zip(ids, np.split(rows, np.cumsum(sizes)[:-1]))) if ids else {}
