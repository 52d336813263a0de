"""Question + context as the reader's input, with each token's span in the context.

    <s> query: question </s> </s> context tokens </s>

Position 0 (<s>) is the "no answer" position: a window that does not answer the question
points its start and end there. Every context token carries the (start, end) of the
characters it came from, so a predicted span quotes the context exactly. Training and
serving both build their input here.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.index.e5.tokenizer import QUERY_PREFIX, E5Tokenizer

MAX_QUESTION_TOKENS = 48
NO_ANSWER = 0  # the position a window without the answer points at


@dataclass(frozen=True)
class Window:
    ids: tuple[int, ...]
    context_from: int  # index in `ids` of the first context token
    spans: tuple[tuple[int, int], ...]  # per context token: its characters in `text`
    text: str  # the context the spans index

    def char_span(self, first: int, last: int) -> tuple[int, int]:
        """The characters of tokens first..last (indexes into `ids`, both context tokens)."""
        a = self.spans[first - self.context_from][0]
        b = self.spans[last - self.context_from][1]
        return a, b


def question_ids(tokenizer: E5Tokenizer, question: str) -> list[int]:
    return tokenizer.content_ids(QUERY_PREFIX + question)[:MAX_QUESTION_TOKENS]


def context_pieces(tokenizer: E5Tokenizer, text: str) -> list[tuple[int, int, int]]:
    """(id, start, end) per token of the context, without empty pieces (a bare metaspace)."""
    return [p for p in tokenizer.pieces_with_offsets(text) if p[2] > p[1]]


def make_window(tokenizer: E5Tokenizer, q_ids: list[int], text: str,
                pieces: list[tuple[int, int, int]]) -> Window:
    """One window over `pieces` (all of them: the caller cuts them to fit)."""
    ids = [tokenizer.bos, *q_ids, tokenizer.eos, tokenizer.eos, *(p[0] for p in pieces), tokenizer.eos]
    return Window(tuple(ids), len(q_ids) + 3, tuple((s, e) for _, s, e in pieces), text)


def context_budget(q_ids: list[int], max_tokens: int) -> int:
    return max_tokens - len(q_ids) - 4


def windows_over(tokenizer: E5Tokenizer, question: str, text: str, max_tokens: int,
                 stride: int | None = None) -> list[Window]:
    """Windows covering all of `text`, overlapping by `stride` tokens (a quarter by default)."""
    q_ids = question_ids(tokenizer, question)
    pieces = context_pieces(tokenizer, text)
    budget = context_budget(q_ids, max_tokens)
    step = max(1, budget - (stride if stride is not None else budget // 4))
    out = []
    for a in range(0, max(1, len(pieces)), step):
        out.append(make_window(tokenizer, q_ids, text, pieces[a : a + budget]))
        if a + budget >= len(pieces):
            break
    return out
