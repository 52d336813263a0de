"""What an LLM answerer reads: the best sentences with their neighbours, not whole chunks.

On a CPU, reading the prompt (prefill) dominates the time to the first token, so the
context is the fewest tokens that keep the answer: the top-scored sentences (scored as the
extractive answerer scores them: meaning and words), each with `neighbours` sentences on
either side from the same passage, merged where they touch. Each window is a contiguous
span of its chunk, passed on as a Hit whose chunk is narrowed to that span: the passage
numbers the model cites, the support check and the citation offsets all refer to exactly
the text the model was shown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rag.answering.extractive import Scored, semantic_score
from rag.text import sentence_spans
from rag.types import Hit


@dataclass(frozen=True)
class ContextBudget:
    mode: str = "sentences"  # sentences | chunks (every retrieved chunk, whole, as before)
    sentences: int = 4  # the best sentences kept
    neighbours: int = 1  # sentences kept on each side of a chosen one (same passage)
    # a further sentence must score at least this share of the best one: a passage about
    # something else costs prefill time and gives a small model something to get wrong
    min_share: float = 0.5


@dataclass(frozen=True)
class _Window:
    hit: Hit
    start: int  # article offsets
    end: int
    rank: float  # best score of a sentence inside: the window's order in the prompt


def _relevant(s: Scored) -> bool:
    return s.coverage > 0 or semantic_score(s.similarity) > 0


def narrow(hit: Hit, start: int, end: int) -> Hit:
    """`hit` with its chunk cut to article offsets [start, end) (inside the chunk)."""
    c = hit.chunk
    text = c.text[start - c.start : end - c.start]
    return dataclasses.replace(hit, chunk=dataclasses.replace(c, text=text, start=start, end=end))


def select_context(budget: ContextBudget, hits: list[Hit], scored: list[Scored]) -> list[Hit]:
    """The passages to show the model, best first (see the module docstring)."""
    if budget.mode == "chunks" or not scored:
        return list(hits)
    best = scored[0].score
    chosen = [s for s in scored if _relevant(s) and s.score >= budget.min_share * best][: budget.sentences]
    chosen = chosen or scored[:1]
    windows: list[_Window] = []
    for s in chosen:
        c = s.sentence.hit.chunk
        spans = sentence_spans(c.text, c.start)
        at = next((i for i, (a, b) in enumerate(spans) if a <= s.sentence.start < b), None)
        if at is None:  # cannot happen for a sentence of this chunk; keep the sentence alone
            lo, hi = s.sentence.start, s.sentence.end
        else:
            lo = spans[max(0, at - budget.neighbours)][0]
            hi = spans[min(len(spans) - 1, at + budget.neighbours)][1]
        windows.append(_Window(s.sentence.hit, lo, hi, s.score))
    return [narrow(w.hit, w.start, w.end) for w in _merge(windows)]


def _merge(windows: list[_Window]) -> list[_Window]:
    """Windows of the same chunk that overlap or touch become one; a window inside another
    chunk's window of the same article (overlapping chunks repeat text) is dropped."""
    by_chunk: dict[str, list[_Window]] = {}
    for w in windows:
        by_chunk.setdefault(w.hit.chunk.id, []).append(w)
    merged: list[_Window] = []
    for group in by_chunk.values():
        group.sort(key=lambda w: w.start)
        current = group[0]
        for w in group[1:]:
            if w.start <= current.end + 1:
                current = _Window(current.hit, current.start, max(current.end, w.end), max(current.rank, w.rank))
            else:
                merged.append(current)
                current = w
        merged.append(current)
    kept = [w for w in merged if not any(
        o is not w and o.hit.chunk.article_id == w.hit.chunk.article_id and o.hit.chunk.id != w.hit.chunk.id
        and o.start <= w.start and w.end <= o.end and (o.end - o.start, o.hit.chunk.id) > (w.end - w.start, w.hit.chunk.id)
        for o in merged)]
    return sorted(kept, key=lambda w: -w.rank)


def prompt_chars(passages: list[Hit]) -> int:
    return sum(len(h.chunk.text) for h in passages)


def budget_of(llm) -> ContextBudget:
    """The budget an `LLMConfig` asks for."""
    return ContextBudget(llm.context, llm.context_sentences, llm.context_neighbours)


_NOTE_CHARS = 300  # of the earlier answer: enough to name what "它" points at


def conversation_note(search) -> str:
    """For a follow-up ("这个组织是谁创立的？"), the earlier question(s) and the latest answer,
    so the model can resolve what the question points at; "" for a standalone question.
    Like the passages, it is data, not instructions."""
    if not search.is_followup or not (search.context or search.subject):
        return ""
    lines = ["<conversation>（此前的对话，仅用于理解问题中的指代）"]
    if search.context:
        lines.append(f"之前的问题：{search.context}")
    if search.subject:
        lines.append(f"之前的回答：{search.subject[:_NOTE_CHARS]}")
    return "\n".join(lines) + "\n</conversation>\n\n"
