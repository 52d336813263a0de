"""The collection as data: one ArticleRecord per article, made at ingest and saved with the
lexical index (`articles.jsonl`), so questions about the collection ("how many", "the
newest", "what are these about") are answered from titles, dates and summaries.

Every piece of a record that an answer may quote is a SourceSpan: front-matter values
index the file's text (`Article.head`), body text indexes `Article.body`. A value that
cannot be found verbatim in the file (a folded YAML line, an escaped quote) is left out
rather than quoted inexactly.

The package's modules answer those questions, one per kind (overview, count, date, which,
across, compare; rag.collection.dispatch streams them); the catalog here imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import yaml

from rag.index.corpus import _DATE_KEYS
from rag.text import HEADING_LINE, normalize, sentence_spans
from rag.types import Article, ArticleRecord, Citation, SourceSpan

_SUMMARY_KEYS = ("summary", "摘要", "description", "excerpt")
_TITLE_KEYS = ("title", "标题")
_TITLE_ORIGINAL_KEYS = ("title_original", "original_title")
# The article's own summary section: a heading, or a bold label on its own line.
_SUMMARY_HEADING = re.compile(
    r"^[ \t]{0,3}(?:#{1,6}[ \t]+|\*\*)(一句话摘要|一句话总结|摘要|内容摘要|内容提要|提要|导语|TL;?DR|Summary)"
    r"[ \t]*(?:\*\*)?[：:]?[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_HEADING_LINE = HEADING_LINE
_LABEL_LINE = re.compile(r"^[ \t]*\*\*[^*\n]{1,20}\*\*[ \t]*[：:]?[ \t]*$")
_LEAD_SENTENCES = 3
_MIN_LEAD_CHARS = 20


def _front_matter_regions(head: str) -> dict[str, tuple[int, int]]:
    """Key -> (start, end) of its value's text in `head`, from the YAML node marks."""
    if not head.startswith("---"):
        return {}
    start = head.find("\n") + 1
    close = re.search(r"^---[ \t]*$", head[start:], re.MULTILINE)
    if not start or close is None:
        return {}
    try:
        node = yaml.compose(head[start : start + close.start()], Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    regions: dict[str, tuple[int, int]] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode):
            regions.setdefault(str(key.value), (start + value.start_mark.index, start + value.end_mark.index))
    return regions


def _find(text: str, source: str, region: tuple[int, int], field: str) -> SourceSpan | None:
    i = source.find(text, region[0], region[1])
    return SourceSpan(field, text, i, i + len(text)) if text and i >= 0 else None


def _spans_of(value: str, source: str, region: tuple[int, int], field: str) -> tuple[SourceSpan, ...]:
    """The sentences of a front-matter value, each located verbatim in its region."""
    found = []
    for s, e in sentence_spans(value):
        span = _find(value[s:e], source, region, field)
        if span is not None:
            found.append(span)
    return tuple(found)


def _keyed(data_regions: dict[str, tuple[int, int]], keys: tuple[str, ...]):
    return next(((k, data_regions[k]) for k in keys if k in data_regions), None)


def _section_summary(body: str) -> tuple[SourceSpan, ...]:
    """The article's own summary: the paragraph after a 「一句话摘要」 label, else the first
    paragraph of a 「摘要」 section (bold labels and bullet lists skipped)."""
    labels = sorted(_SUMMARY_HEADING.finditer(body), key=lambda m: (not m.group(1).startswith("一句话"), m.start()))
    for m in labels:
        pos = m.end()
        for para in re.finditer(r"[^\n]+(?:\n(?![ \t]*\n)[^\n]+)*", body[pos:]):
            text = para.group()
            if _HEADING_LINE.match(text):
                break  # the section ended without a paragraph
            if _LABEL_LINE.match(text) or text.lstrip().startswith(("*", "-", "+", ">", "|")):
                continue
            spans = sentence_spans(text, pos + para.start())
            return tuple(SourceSpan("body", body[s:e], s, e) for s, e in spans)
    return ()


def _lead(body: str) -> tuple[SourceSpan, ...]:
    """The first paragraph of running text (not a heading, list, quote or label)."""
    for para in re.finditer(r"[^\n]+(?:\n(?![ \t]*\n)[^\n]+)*", body):
        text = para.group()
        stripped = text.lstrip()
        if (_HEADING_LINE.match(text) or _LABEL_LINE.match(text) or len(stripped) < _MIN_LEAD_CHARS
                or stripped.startswith(("*", "-", "+", ">", "|", "![", "[[", "---"))):
            continue
        spans = sentence_spans(text, para.start())[:_LEAD_SENTENCES]
        return tuple(SourceSpan("body", body[s:e], s, e) for s, e in spans)
    return ()


def _title_span(article: Article, regions) -> SourceSpan | None:
    keyed = _keyed(regions, _TITLE_KEYS)
    if keyed is not None:
        span = _find(article.title, article.head, keyed[1], "title")
        if span is not None:
            return span
    for m in _HEADING_LINE.finditer(article.body):
        if m.group(2).strip() == article.title:
            return SourceSpan("body", article.title, m.start(2), m.start(2) + len(article.title))
    if article.title_derived:  # made from the text: quoted where the text says it
        at = article.body.find(article.title)
        if at >= 0:
            return SourceSpan("body", article.title, at, at + len(article.title))
    return None


def _date_span(article: Article, regions) -> SourceSpan | None:
    if article.date is None:
        return None
    keyed = _keyed(regions, _DATE_KEYS)
    if keyed is None:
        return None
    s, e = keyed[1]
    raw = article.head[s:e]
    inner = raw.strip().strip("'\"").strip()
    return _find(inner, article.head, (s, e), "date")


def record_for(article: Article) -> ArticleRecord:
    regions = _front_matter_regions(article.head)
    summary_from, spans = "", cast(tuple[SourceSpan, ...], ())
    keyed = _keyed(regions, _SUMMARY_KEYS)
    if keyed is not None:
        value = article.head[keyed[1][0] : keyed[1][1]]
        parsed = yaml.safe_load(value) if value.strip() else None
        if isinstance(parsed, str) and parsed.strip():
            spans = _spans_of(parsed.strip(), article.head, keyed[1], "summary")
            summary_from = "front_matter" if spans else ""
    if not spans:
        spans = _section_summary(article.body)
        summary_from = "section" if spans else ""
    if not spans:
        spans = _lead(article.body)
        summary_from = "lead" if spans else ""
    return ArticleRecord(
        id=article.id,
        title=article.title,
        title_original=article.title_original,
        date=article.date,
        url=article.url,
        tags=article.tags,
        categories=article.categories,
        summary="".join(s.text for s in spans),
        summary_from=summary_from,
        summary_spans=spans,
        title_span=_title_span(article, regions),
        date_span=_date_span(article, regions),
        content_hash=article.content_hash,
        title_derived=article.title_derived,
    )


def catalog_for(articles: Iterable[Article], indexed_ids: Iterable[str],
                previous: Iterable[ArticleRecord] = ()) -> list[ArticleRecord]:
    """Records of the indexed articles. An article that failed to load this time keeps its
    previous record, as it keeps its previous chunks."""
    fresh = {a.id: a for a in articles}
    old = {r.id: r for r in previous}
    out = []
    for aid in sorted(set(indexed_ids)):
        if aid in fresh:
            out.append(record_for(fresh[aid]))
        elif aid in old:
            out.append(old[aid])
    return out


FIELD_LABELS = {"title": "标题 title", "title_original": "原标题 original title",
                "summary": "摘要 summary", "date": "日期 date"}


def field_label(field: str) -> str:
    """How a citation's field is shown: "" for body text, else e.g. "摘要 summary"."""
    return FIELD_LABELS.get(field, field) if field != "body" else ""


def source_text(article: Article, field: str) -> str:
    """The text a citation or span of `field` indexes."""
    return article.body if field == "body" else article.head


def quote_matches(article: Article, citation: Citation) -> bool:
    """Whether a citation's quote is exactly the source text at its offsets."""
    return source_text(article, citation.field)[citation.start : citation.end] == citation.quote


# The profile's summary is cut to this for the model: e5 reads 512 tokens (about 600
# Chinese characters) with meaning, so more only costs time (linear, in windows) and a
# front-matter summary of tens of kilobytes would be one huge text. Real summaries are a
# few sentences (under 400 characters).
_PROFILE_SUMMARY_CHARS = 1000


def profile_text(r: ArticleRecord) -> str:
    """What an article is about, as one text for the embedding model: its title, original
    title and summary. Its vector (made at ingest from its title's and summary sentences'
    vectors, rag.index.sentences.SentenceIndex.build) resolves a
    phrase in other words or another language ("the donation", a programme's English name)
    to the article it points at."""
    return "\n".join(p for p in (r.title, r.title_original or "", r.summary[:_PROFILE_SUMMARY_CHARS]) if p)


@dataclass(frozen=True)
class ScanText:
    """What a topic scan of the archive reads of one article (rag.collection.archive), NFKC
    and lower case: its titles (title and original title), then its summary (titles and
    summary: its head, where a report names its subject), then its body as its chunks hold
    it. Made at ingest and saved with the lexical index: normalising 10,000 articles at
    question time took most of a second."""

    text: str
    titles_end: int  # text[:titles_end] is the titles
    head_end: int  # text[:head_end] is the head

    @property
    def titles(self) -> str:
        return self.text[: self.titles_end]

    @property
    def head(self) -> str:
        return self.text[: self.head_end]

    def to_row(self) -> list:
        return [self.titles_end, self.head_end, self.text]

    @classmethod
    def from_row(cls, row) -> ScanText:
        titles_end, head_end, text = row
        if not (isinstance(text, str) and 0 <= titles_end <= head_end <= len(text)):
            raise ValueError("not a scan text row")
        return cls(text, titles_end, head_end)


def scan_text(r: ArticleRecord, bodies: list[str]) -> ScanText:
    """An article's ScanText from its record and its chunks' texts, in order."""
    titles, head = _titles_and_head(r)
    text = head + "\n" + normalize("\n".join(bodies)).lower()
    return ScanText(text, len(titles), len(head))


def scan_head(r: ArticleRecord) -> str:
    """`scan_text(r, ...).head`, from the record alone."""
    return _titles_and_head(r)[1]


def _titles_and_head(r: ArticleRecord) -> tuple[str, str]:
    titles = normalize("\n".join(p for p in (r.title, r.title_original or "") if p)).lower()
    return titles, "\n".join(p for p in (titles, normalize(r.summary).lower()) if p)


def by_date(records: Iterable[ArticleRecord], newest_first: bool = True) -> list[ArticleRecord]:
    """Dated articles in date order (ties by id), then the undated ones by id."""
    records = list(records)
    dated = sorted(sorted((r for r in records if r.date), key=lambda r: r.id),
                   key=lambda r: r.date or "", reverse=newest_first)  # stable: ids ascending within a day
    return dated + sorted((r for r in records if not r.date), key=lambda r: r.id)
