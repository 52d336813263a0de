"""BM25 over Chinese-aware terms (bm25s), built at ingest and saved beside the index.

The folder also holds the chunk catalog (every chunk's text and metadata) so lexical
hits need no round trip to the vector store, and document frequencies that the
answerer uses to weigh question terms.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from itertools import groupby
from pathlib import Path

import numpy as np
import orjson

from rag import tuned
from rag.errors import IndexCorruptError, IndexMissingError
from rag.index.catalog import ScanText, scan_head, scan_text
from rag.index.index_layout import META_FILE, IndexMeta
from rag.index.storage import fsync_dir, fsync_tree
from rag.index.topics import load_topics, save_topics
from rag.text import terms
from rag.types import ArticleRecord, Chunk, RetrievalFilter

LEXICAL_FORMAT = 2
CATALOG_FILE = "articles.jsonl"  # one ArticleRecord per line (rag.index.catalog)
# per article of the catalog, in its order, what a topic scan reads (catalog.ScanText), one
# JSON row a line: read only when an archive question needs it
SCAN_TEXTS_FILE = "scan_texts.jsonl"
# per article of the catalog, in its order, the search terms of its head (title, original
# title, summary: catalog.scan_head), one JSON list a line: which words a topic's reports
# name beside it (rag.collection.archive.companions). Cutting the heads of the reports on a
# common topic took 0.55 s of a cold archive question; at ingest the same runs were just cut
# for the chunks and the titles, so it costs little there
HEAD_TERMS_FILE = "head_terms.jsonl"




class LexicalIndex:
    """Chunk BM25 over heading path + text, plus article BM25 over title + keywords added
    to each chunk of the article: a title match finds the article without every chunk
    repeating the title and drowning out which chunk holds the answer."""

    def __init__(self, chunks: list[Chunk], bm25, doc_freq: dict[str, int], meta: dict,
                 article_bm25=None, articles: list[ArticleRecord] | None = None, topics: list | None = None,
                 head_terms: list[list[str]] | None = None):
        self.chunks = chunks
        self.articles = articles or []  # the collection catalog, saved and loaded with the index
        self.topics = topics or []  # the topic map (rag.index.topics), saved and loaded with it
        self._bm25 = bm25
        self._article_bm25 = article_bm25
        article_ids = list(dict.fromkeys(c.article_id for c in chunks))
        position = {a: i for i, a in enumerate(article_ids)}
        self._chunk_article = np.array([position[c.article_id] for c in chunks], dtype=np.int64)
        self.doc_freq = doc_freq
        self.meta = meta  # the ingest record as saved; read it typed through `index_meta`
        self._vocab = bm25.vocab_dict if bm25 is not None else {}
        self._article_vocab = article_bm25.vocab_dict if article_bm25 is not None else {}
        self._article_ids = np.array([c.article_id for c in chunks], dtype=object)
        self._dates = np.array([c.date or "" for c in chunks], dtype=object)
        self._by_id: dict[str, Chunk] | None = None
        self._article_chunks: dict[str, list[Chunk]] | None = None
        self._folder: Path | None = None  # the generation it was loaded from (scan_texts reads there)
        self._scan_texts: list[ScanText] | None = None
        # per article, terms(scan_head): as built, else read a line at a time when asked for
        self._head_terms = head_terms if head_terms is not None and len(head_terms) == len(self.articles) else None
        self._head_lines: list[bytes] | None = None

    @property
    def index_meta(self) -> IndexMeta:
        return IndexMeta.from_dict(self.meta)

    @classmethod
    def build(cls, chunks: list[Chunk], meta: dict, articles: list[ArticleRecord] | None = None,
              topics: list | None = None) -> LexicalIndex:
        import bm25s

        chunks = sorted(chunks, key=lambda c: (c.article_id, c.index))
        records = {r.id: r for r in articles or []}
        tokenized: list[list[str]] = []
        article_tokens: list[list[str]] = []
        heads: dict[str, list[str]] = {}
        # an article at a time: its head's runs of Chinese were just cut for its lead and its
        # title (text._cjk_terms_cached), so its head terms cost little here
        for article_id, group in groupby(chunks, key=lambda c: c.article_id):
            its = list(group)
            tokenized.extend(terms(c.passage_text()) or ["\u2205"] for c in its)
            article_tokens.append(terms(its[0].article_text()) or ["\u2205"])
            if article_id in records:
                heads[article_id] = terms(scan_head(records[article_id]))
        head_terms = [heads[r.id] if r.id in heads else terms(scan_head(r)) for r in articles or []]
        doc_freq: Counter[str] = Counter()
        for toks in tokenized:
            doc_freq.update(set(toks))
        bm25 = article_bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            bm25.index(tokenized, show_progress=False)
            article_bm25 = bm25s.BM25()
            article_bm25.index(article_tokens, show_progress=False)
        return cls(chunks, bm25, dict(doc_freq), {**meta, "format": LEXICAL_FORMAT}, article_bm25, articles, topics,
                   head_terms)

    def __len__(self) -> int:
        return len(self.chunks)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """The article's chunks, in order."""
        if self._article_chunks is None:
            grouped: dict[str, list[Chunk]] = {}
            for c in self.chunks:
                grouped.setdefault(c.article_id, []).append(c)
            self._article_chunks = grouped
        return self._article_chunks.get(article_id, [])

    def chunk(self, chunk_id: str) -> Chunk | None:
        if self._by_id is None:
            self._by_id = {c.id: c for c in self.chunks}
        return self._by_id.get(chunk_id)

    def scan_texts(self) -> list[ScanText]:
        """Per article of `articles`, in order, what a topic scan reads (catalog.ScanText):
        as ingest saved it, else (an index saved before it, or a generation already
        replaced) made from the chunks."""
        if self._scan_texts is None:
            self._scan_texts = self._saved_scan_texts() or self._made_scan_texts()
        return self._scan_texts

    def _saved_scan_texts(self) -> list[ScanText] | None:
        if self._folder is None:
            return None
        try:
            with open(self._folder / SCAN_TEXTS_FILE, "rb") as f:
                texts = [ScanText.from_row(orjson.loads(line)) for line in f]
        except (OSError, ValueError, TypeError):
            return None
        return texts if len(texts) == len(self.articles) else None

    def _made_scan_texts(self) -> list[ScanText]:
        bodies: dict[str, list[str]] = {}
        for c in self.chunks:
            bodies.setdefault(c.article_id, []).append(c.text)
        return [scan_text(r, bodies.get(r.id, [])) for r in self.articles]

    def head_terms(self, position: int) -> list[str]:
        """terms(scan_head) of the article at `position` of `articles`: as ingest saved them
        (an index saved before them, or a damaged file: cut here)."""
        if self._head_terms is not None:
            return self._head_terms[position]
        if self._head_lines is None:
            self._head_lines = self._saved_head_lines()
        if self._head_lines:
            try:
                found = orjson.loads(self._head_lines[position])
            except ValueError:
                found = None
            if isinstance(found, list) and all(isinstance(t, str) for t in found):
                return found
        return terms(scan_head(self.articles[position]))

    def _saved_head_lines(self) -> list[bytes]:
        if self._folder is None:
            return []
        try:
            data = (self._folder / HEAD_TERMS_FILE).read_bytes()
        except OSError:
            return []
        if len(data) != (self.meta.get("files") or {}).get(HEAD_TERMS_FILE):
            return []  # not the file saved with this index: cut the heads instead
        lines = data.splitlines()
        return lines if len(lines) == len(self.articles) else []

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term no chunk contains gets the highest weight."""
        n = len(self.chunks)
        df = self.doc_freq.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def mask(self, flt: RetrievalFilter | None) -> np.ndarray | None:
        if flt is None or flt.is_empty:
            return None
        keep = np.ones(len(self.chunks), dtype=bool)
        if flt.article_ids is not None:
            keep &= np.isin(self._article_ids, list(flt.article_ids))
        if flt.date_from:
            keep &= (self._dates != "") & (self._dates >= flt.date_from)
        if flt.date_to:
            keep &= (self._dates != "") & (self._dates <= flt.date_to)
        return keep

    def search(
        self, query_terms: list[str], k: int, flt: RetrievalFilter | None = None
    ) -> list[tuple[Chunk, float]]:
        if self._bm25 is None:
            return []
        known = [t for t in query_terms if t in self._vocab]
        scores = self._bm25.get_scores(known) if known else np.zeros(len(self.chunks))
        article_known = [t for t in query_terms if t in self._article_vocab]
        if article_known:
            per_article = self._article_bm25.get_scores(article_known)
            scores = scores + tuned.ARTICLE_WEIGHT * per_article[self._chunk_article]
        keep = self.mask(flt)
        if keep is not None:
            scores = np.where(keep, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    # -- persistence -------------------------------------------------------------------

    def save(self, folder: str | os.PathLike) -> None:
        """Write to a new folder beside the live one, then swap it in (see `install`): a
        reader sees the old index or the new one, never a mix, and a crash at any point
        leaves the old one in place."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            if self._bm25 is not None:
                self._bm25.save(str(tmp / "bm25"))
                self._article_bm25.save(str(tmp / "article_bm25"))
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
                for c in self.chunks:
                    f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
            with open(tmp / CATALOG_FILE, "w", encoding="utf-8") as f:
                for r in self.articles:
                    f.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
            (tmp / "doc_freq.json").write_text(json.dumps(self.doc_freq, ensure_ascii=False))
            with open(tmp / SCAN_TEXTS_FILE, "wb") as fb:
                for row in self.scan_texts():
                    fb.write(orjson.dumps(row.to_row()) + b"\n")
            with open(tmp / HEAD_TERMS_FILE, "wb") as fb:
                for position in range(len(self.articles)):
                    fb.write(orjson.dumps(self.head_terms(position)) + b"\n")
            if self.topics:
                save_topics(tmp, self.topics)
            # sizes of the other files, so a truncated or missing one is noticed without reading it
            sizes = {p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
            meta = {**self.meta, "files": sizes}
            (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1))
            fsync_tree(tmp)
            install(folder, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, folder: str | os.PathLike) -> LexicalIndex:
        folder = Path(folder)
        for attempt in range(3):
            real = folder.resolve()  # one generation, read whole even if a swap happens meanwhile
            try:
                return cls._load_from(folder, real)
            except IndexCorruptError:
                # its files vanished because a newer generation replaced it: read that one
                if attempt == 2 or folder.resolve() == real:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def _load_from(cls, folder: Path, real: Path) -> LexicalIndex:
        import bm25s

        if not (real / META_FILE).exists():
            raise IndexMissingError(f"no lexical index in {folder}: run `rag ingest` first")
        try:
            meta = json.loads((real / META_FILE).read_text())
            if meta.get("format") != LEXICAL_FORMAT:
                raise IndexCorruptError(
                    f"lexical index in {folder} is from another version; run `rag ingest`"
                )
            # the scan texts and head terms are derived from the rest and made again when unreadable
            bad = [f for f in damaged_files(real, meta.get("files") or {}) if f not in (SCAN_TEXTS_FILE, HEAD_TERMS_FILE)]
            if bad:
                raise IndexCorruptError(f"lexical index in {folder} is damaged ({bad[0]} is missing or "
                                        "truncated); `rag ingest` repairs it")
            chunks = []
            with open(real / "chunks.jsonl", "rb") as f:
                for line in f:
                    d = orjson.loads(line)
                    d["heading_path"] = tuple(d["heading_path"])
                    chunks.append(Chunk(**d))
            articles = read_catalog(real)
            doc_freq = json.loads((real / "doc_freq.json").read_text())
            bm25 = bm25s.BM25.load(str(real / "bm25")) if chunks else None
            article_bm25 = bm25s.BM25.load(str(real / "article_bm25")) if chunks else None
            topics = load_topics(real)
        except IndexCorruptError:
            raise
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise IndexCorruptError(
                f"lexical index in {folder} is damaged ({exc}); run `rag ingest --rebuild`"
            ) from exc
        index = cls(chunks, bm25, doc_freq, meta, article_bm25, articles, topics)
        index._folder = real
        return index


def damaged_files(folder: str | os.PathLike, sizes: dict[str, int]) -> list[str]:
    """Files of the index whose size is not the one recorded when it was saved."""
    folder = Path(folder)
    bad = []
    for name, size in sizes.items():
        try:
            if (folder / name).stat().st_size != size:
                bad.append(name)
        except OSError:
            bad.append(name)
    return bad


def _stale_name(name: str) -> re.Pattern:
    n = re.escape(name)
    # generations, the pre-generation leftovers, temporary folders and links of interrupted saves
    return re.compile(rf"^({n}\.\d+(-legacy)?|{n}\.old|\.{n}-[a-z0-9_]{{8}}|\.{n}\.link-\d+)$")


def install(folder: str | os.PathLike, built: str | os.PathLike) -> None:
    """Make `folder` show the index in `built`, atomically.

    `folder` is a symlink to a generation folder (`lexical.<ns>`); a new generation is swapped
    in by renaming a new symlink over it, which POSIX makes atomic. An index written before
    generations (a plain folder) is moved aside once. Older generations are removed last.
    """
    switch_to(folder, stage_generation(folder, built))


def stage_generation(folder: str | os.PathLike, built: str | os.PathLike) -> Path:
    """Move `built` beside `folder` as a new generation, not yet live (see switch_to)."""
    folder, built = Path(folder), Path(built)
    target = folder.with_name(f"{folder.name}.{time.time_ns()}")
    built.rename(target)
    return target


def switch_to(folder: str | os.PathLike, generation: str | os.PathLike) -> None:
    """Point `folder` at `generation` (a sibling) by one atomic rename; drop the others."""
    folder, generation = Path(folder), Path(generation)
    link = folder.with_name(f".{folder.name}.link-{time.time_ns()}")
    os.symlink(generation.name, link)
    if folder.exists() and not folder.is_symlink():
        folder.rename(folder.with_name(f"{folder.name}.{time.time_ns()}-legacy"))
    os.replace(link, folder)
    fsync_dir(folder.parent)
    remove_stale_generations(folder)


def remove_stale_generations(folder: str | os.PathLike) -> None:
    """Generation folders nothing points at, and leftovers of interrupted saves."""
    folder = Path(folder)
    live = os.readlink(folder) if folder.is_symlink() else None
    stale = _stale_name(folder.name)
    for sibling in folder.parent.iterdir():
        if stale.match(sibling.name) and sibling.name != live:
            if sibling.is_symlink() or sibling.is_file():
                sibling.unlink(missing_ok=True)
            else:
                shutil.rmtree(sibling, ignore_errors=True)


def read_catalog(folder: str | os.PathLike) -> list[ArticleRecord]:
    """The article records saved with an index; none for an index from before the catalog."""
    path = Path(folder) / CATALOG_FILE
    if not path.exists():
        return []
    with open(path, "rb") as f:
        return [ArticleRecord.from_dict(orjson.loads(line)) for line in f]
