"""Typed values that cross module boundaries. All frozen: a result, once made, does not change."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One corpus file after parsing. `body` is the Markdown after the front matter;
    every offset in the project is an index into it."""

    id: str  # the file name, stable across runs
    path: str
    title: str
    url: str | None
    date: str | None  # ISO "YYYY-MM-DD" or None when the file gives none
    body: str
    content_hash: str
    title_original: str | None = None
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # The file's text before the body: the front matter with its "---" lines ("" without
    # one). The file's text is `head + body`, so front-matter offsets index `head`.
    head: str = ""
    # which loader (and version) parsed the file: part of the ingest key, so a changed
    # parser re-ingests what it parsed
    loader: str = ""
    # the title was made from the text (the file has none, or its title is the lead cut off)
    title_derived: bool = False


@dataclass(frozen=True)
class SourceSpan:
    """A checkable piece of an article. `field` says what `start`/`end` index: "body" ->
    `Article.body[start:end] == text`; a front-matter field ("title", "title_original",
    "summary", "date") -> `Article.head[start:end] == text`, i.e. offsets into the file's
    text (UTF-8, BOM dropped, line ends as \n), which begins with the front matter."""

    field: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class ArticleRecord:
    """One article in the collection catalog, kept at ingest beside the index.

    `summary_from` is "front_matter" (its `summary`), "section" (the article's own
    「摘要」/「一句话摘要」), "lead" (its first paragraph) or "" (none found); `summary_spans`
    are the summary's sentences, each checkable. `date` is None for an undated article:
    it is never guessed."""

    id: str
    title: str
    title_original: str | None
    date: str | None
    url: str | None
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    summary: str
    summary_from: str
    summary_spans: tuple[SourceSpan, ...]
    title_span: SourceSpan | None
    date_span: SourceSpan | None
    content_hash: str
    title_derived: bool = False  # made from the text, not given by the file (rag.index.corpus)

    @classmethod
    def from_dict(cls, d: dict) -> ArticleRecord:
        def span(x):
            return SourceSpan(**x) if x else None

        return cls(**{**d, "tags": tuple(d["tags"]), "categories": tuple(d["categories"]),
                      "summary_spans": tuple(SourceSpan(**x) for x in d["summary_spans"]),
                      "title_span": span(d["title_span"]), "date_span": span(d["date_span"])})


@dataclass(frozen=True)
class Chunk:
    """A span of an article body: `article.body[start:end] == text`."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...]
    title: str
    url: str | None
    date: str | None
    content_hash: str  # hash of the whole article the chunk came from
    chunk_count: int  # how many chunks the article has; lets the store detect half-written articles
    keywords: str = ""  # extra searchable text (original title, url words); never quoted

    def search_text(self) -> str:
        """What the dense index sees: title, headings and keywords give context."""
        parts = [self.title, *self.heading_path, self.keywords, self.text]
        return "\n".join(p for p in parts if p)

    def passage_text(self) -> str:
        """What chunk-level BM25 sees: the text under its headings."""
        return "\n".join([*self.heading_path, self.text])

    def article_text(self) -> str:
        """What article-level BM25 sees: the title and keywords every chunk shares."""
        return "\n".join(p for p in (self.title, self.keywords) if p)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk. `relevance` is the fused score: higher is better."""

    chunk: Chunk
    relevance: float
    lexical_relevance: float | None = None  # BM25 score, higher is better
    dense_relevance: float | None = None  # cosine similarity, higher is better


@dataclass(frozen=True)
class RetrievalFilter:
    """Restricts retrieval to some articles and/or a date range (inclusive, ISO dates)."""

    article_ids: frozenset[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def admits(self, article_id: str, date: str | None) -> bool:
        if self.article_ids is not None and article_id not in self.article_ids:
            return False
        if self.date_from or self.date_to:
            if not date:
                return False
            if self.date_from and date < self.date_from:
                return False
            if self.date_to and date > self.date_to:
                return False
        return True

    @property
    def is_empty(self) -> bool:
        return self.article_ids is None and not self.date_from and not self.date_to


@dataclass(frozen=True)
class Citation:
    """Where a piece of an answer came from. `field` "body" (the default): `quote` is
    exactly `article.body[start:end]`. A front-matter field ("title", "title_original",
    "summary", "date"): `quote` is exactly `article.head[start:end]`, offsets into the
    file's text (see SourceSpan), and `chunk_id` is "" (no passage holds it)."""

    marker: int
    source: str  # the article file name (its id)
    title: str
    url: str | None
    date: str | None
    quote: str
    chunk_id: str
    start: int
    end: int
    field: str = "body"


@dataclass(frozen=True)
class ShortAnswer:
    """A short direct answer (a name, number, date, short phrase) read by the reader inside a
    cited sentence: `text == citation.quote[start:end]` for the citation numbered `marker`.
    `margin`: how far the reader preferred this span over "no answer" (logits, higher: surer)."""

    text: str
    marker: int
    start: int
    end: int
    margin: float


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    question: str
    search_query: str = ""  # the question as retrieval saw it (after follow-up rewriting)
    hits: tuple[Hit, ...] = ()
    unsupported: tuple[str, ...] = ()  # LLM sentences no retrieved passage supports
    kind: str = "fact"  # the question's kind (rag.collection.question_kinds): fact, overview, count, ...
    short_answer: ShortAnswer | None = None  # the reader's span inside a cited sentence, when confident

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data.pop("hits")
        data["retrieved_articles"] = list(dict.fromkeys(h.chunk.article_id for h in self.hits))
        return data


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str
    duplicate_of: str | None = None  # set when the file repeats another file's content
    excluded: bool = False  # its name matches corpus.exclude: not an article, so not kept either


@dataclass(frozen=True)
class IngestReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    chunks_total: int = 0
    chunks_embedded: int = 0  # chunks given a vector this run (made from their sentences' vectors)
    sentences_embedded: int = 0  # texts the model embedded this run: sentences, headers (the rest reused)
    seconds: float = 0.0
    embedding_model: str = ""
    unk_share: float = 0.0
    dense_weight: float = 0.0
    chunks_per_article: dict[str, int] = field(default_factory=dict)
    moved: tuple[tuple[str, str], ...] = ()  # (old id, new id): renamed files, vectors reused
    notes: tuple[str, ...] = ()  # what this run repaired, for the operator
