"""The trained reader inside the extractive answer: a short answer read off the best
sentences (each with its neighbours, as the reader was trained on paragraph windows), the
sentence that holds it cited first, and the reader's no-answer margin for the gate.

Only a span that lies inside one candidate sentence counts: the short answer is always a
piece of a sentence the answer cites, so it is grounded the way the sentences are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rag.answering.extractive import Scored, Sentence
from rag.tuned import Tuning

_EDGE = " \t\n\r，。、；：！？,.;:!?\"'“”‘’（）()《》「」『』[]【】"


class SpanReading(Protocol):
    def read(self, question: str, texts: list[str]) -> list: ...  # list[rag.reader.runtime.Span | None]


@dataclass(frozen=True)
class Reading:
    sentence: Sentence  # the candidate sentence holding the span
    start: int  # article body offsets of the span
    end: int
    text: str
    margin: float  # span over no answer, in logits (higher: surer)


def _neighbours(s: Sentence, sentences: list[Sentence]) -> tuple[int, int]:
    """Article offsets of `s` with the sentence before and after it in its passage."""
    i = sentences.index(s)
    same = s.hit.chunk.id
    start = sentences[i - 1].start if i > 0 and sentences[i - 1].hit.chunk.id == same else s.start
    end = sentences[i + 1].end if i + 1 < len(sentences) and sentences[i + 1].hit.chunk.id == same else s.end
    return start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return start, end


def read_best(reader: SpanReading, question: str, sentences: list[Sentence], scored: list[Scored],
              tuning: Tuning) -> tuple[Reading | None, float]:
    """(the best reading inside a candidate sentence, the best margin over all that was read;
    -inf when nothing was read)."""
    top: list[Sentence] = []
    for c in scored:
        if c.sentence not in top and not c.sentence.is_heading:
            top.append(c.sentence)
        if len(top) >= tuning.reader_sentences:
            break
    if not top:
        return None, float("-inf")
    contexts = [_neighbours(s, sentences) for s in top]
    texts = []
    for s, (a, b) in zip(top, contexts):
        chunk = s.hit.chunk
        texts.append(chunk.text[a - chunk.start : b - chunk.start])
    best: Reading | None = None
    best_margin = float("-inf")
    for s, (a, _), text, span in zip(top, contexts, texts, reader.read(question, texts)):
        if span is None:
            continue
        best_margin = max(best_margin, span.margin)
        lo, hi = _trim(text, span.start, span.end)
        if hi <= lo:
            continue
        start, end = a + lo, a + hi
        holder = next((x for x in sentences if x.hit.chunk.id == s.hit.chunk.id
                       and x.start <= start and end <= x.end), None)
        if holder is not None and (best is None or span.margin > best.margin):
            best = Reading(holder, start, end, text[lo:hi], span.margin)
    return best, best_margin


def cite_first(chosen: list[Sentence], holder: Sentence, limit: int) -> list[Sentence]:
    """The answer's sentences with the one holding the short answer first."""
    return [holder, *(s for s in chosen if s is not holder)][:limit]
