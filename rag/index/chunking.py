"""Chinese-aware chunking: headings -> sentences -> chunks packed to a size with overlap.

A chunk never cuts a sentence unless that sentence alone is longer than the chunk size
(then it is cut between clauses where it can, never inside an image, link or entity).
Labels repeated beside every chunk (headings, keywords) are cut to MAX_LABEL_CHARS, so
what is embedded stays linear in the article's length however long a heading line is.
Each chunk records its offsets in the article body so citations can quote exact spans.
Everything in the body is indexed, including "相关内容" link lists and the translator's
note: they are part of the article as published and carry searchable facts (the note
holds the original English title, which helps English questions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import HEADING_LINE, label, sentence_spans, split_run
from rag.types import Article, Chunk

_HEADING_LINE = HEADING_LINE


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    heading_path: tuple[str, ...]
    is_heading: bool


def _sentences(body: str, size: int) -> list[_Sentence]:
    """Sentences of the body in order, each tagged with the heading path it sits under;
    a run without a sentence end is cut into pieces of at most `size` characters."""
    out: list[_Sentence] = []
    path: list[tuple[int, str]] = []  # (level, text)
    pos = 0
    for m in _HEADING_LINE.finditer(body):
        out.extend(_Sentence(s, e, tuple(t for _, t in path), False)
                   for s, e in sentence_spans(body[pos : m.start()], pos, size))
        level, text = len(m.group(1)), m.group(2).strip()
        path = [p for p in path if p[0] < level] + [(level, label(text))]
        out.append(_Sentence(m.start(2), m.start(2) + len(text), tuple(t for _, t in path), True))
        pos = m.end()
    out.extend(_Sentence(s, e, tuple(t for _, t in path), False)
               for s, e in sentence_spans(body[pos:], pos, size))
    return out


def _split_long(s: _Sentence, size: int, body: str) -> list[_Sentence]:
    if s.end - s.start <= size:
        return [s]
    return [_Sentence(a, b, s.heading_path, s.is_heading) for a, b in split_run(body, s.start, s.end, size)]


def _keywords(article: Article) -> str:
    words = [article.title_original or ""]
    if article.url:
        slug = article.url.rstrip("/").rsplit("/", 1)[-1]
        words.append(re.sub(r"[-_]+", " ", slug))
    return label(" ".join(w for w in words if w))


def chunk_article(article: Article, size: int, overlap: int) -> list[Chunk]:
    sentences = [piece for s in _sentences(article.body, size) for piece in _split_long(s, size, article.body)]
    groups: list[list[_Sentence]] = []
    current: list[_Sentence] = []
    for s in sentences:
        length = s.end - current[0].start if current else 0
        only_headings = all(c.is_heading for c in current)
        # A heading starts a new chunk, unless the chunk so far is only headings (an empty
        # section); a full chunk starts a new one carrying its last sentences as overlap.
        if current and ((s.is_heading and not only_headings) or s.end - current[0].start > size):
            groups.append(current)
            carried: list[_Sentence] = []
            if not s.is_heading and length:
                for prev in reversed(current):
                    if prev.is_heading or s.end - prev.start > size:
                        break
                    if current[-1].end - prev.start > overlap:
                        break
                    carried.insert(0, prev)
            current = carried
        current.append(s)
    if current:
        groups.append(current)
    groups = [g for g in groups if not all(s.is_heading for s in g) or len(groups) == 1]

    keywords = _keywords(article)
    chunks = []
    for index, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        body_sentence = next((s for s in group if not s.is_heading), group[-1])
        chunks.append(
            Chunk(
                id=f"{article.id}#{article.content_hash[:12]}-{index}",
                article_id=article.id,
                index=index,
                text=article.body[start:end],
                start=start,
                end=end,
                heading_path=body_sentence.heading_path,
                title=article.title,
                url=article.url,
                date=article.date,
                content_hash=article.content_hash,
                chunk_count=len(groups),
                keywords=keywords,
            )
        )
    return chunks
