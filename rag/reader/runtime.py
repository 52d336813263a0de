"""The reader on onnxruntime: short answers read off passages, no torch import.

`SpanReader.read(question, texts)` runs one window per text (cut to `max_tokens`, a long
text giving several) as one batch and returns, per text, its best span and how much more
the model believes that span than "no answer" (`margin`, in logits: above 0 the model
prefers the span). The word table is the e5 port's memory-mapped `word_embeddings.npy`
(the reader never trains it), so the reader's session holds only the 12 layers and the head.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import EmbeddingModelError
from rag.index.e5.tokenizer import E5Tokenizer, tokenizer_of
from rag.reader.windows import NO_ANSWER, Window, windows_over

MAX_ANSWER_TOKENS = 24


@dataclass(frozen=True)
class Span:
    """A short answer read from `texts[text_index]`: `text == texts[text_index][start:end]`.
    `margin`: span logits minus no-answer logits; higher means surer there is an answer."""

    text_index: int
    start: int
    end: int
    text: str
    margin: float


def best_span(logits: np.ndarray, window: Window, max_answer_tokens: int = MAX_ANSWER_TOKENS) -> tuple[int, int, float]:
    """(first token, last token, margin over no answer) of the best span inside the context."""
    starts, ends = logits[:, 0], logits[:, 1]
    lo, hi = window.context_from, window.context_from + len(window.spans)
    s = starts[lo:hi]
    e = ends[lo:hi]
    n = hi - lo
    # score[i, j] = s[i] + e[j] for i <= j < i + max_answer_tokens
    score = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    score = np.where((j >= i) & (j < i + max_answer_tokens), score, -np.inf)
    flat = int(np.argmax(score))
    first, last = divmod(flat, n)
    null = float(starts[NO_ANSWER] + ends[NO_ANSWER])
    return first + lo, last + lo, float(score[first, last]) - null


class SpanReader:
    def __init__(self, model: Path, words: Path, tokenizer: E5Tokenizer | None = None, *, threads: int = 1,
                 max_tokens: int = 192):
        """`tokenizer`: None for the e5 weights' shared one, fetched on first use (in the
        warming thread when the pipeline warms the reader)."""
        self._model, self._words_path, self._tokenizer = model, words, tokenizer
        self.threads, self.max_tokens = threads, max_tokens
        self._session = None
        self._words = None
        self._lock = threading.Lock()

    def _ready(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                try:
                    self._words = np.load(self._words_path, mmap_mode="r")
                    self._session = ort.InferenceSession(str(self._model), options,
                                                         providers=["CPUExecutionProvider"])
                except Exception as exc:  # onnxruntime raises its own untyped errors
                    raise EmbeddingModelError(f"cannot load the reader {self._model}: {exc}") from exc
            return self._session, self._words

    @property
    def tokenizer(self) -> E5Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = tokenizer_of()
        return self._tokenizer

    def warm(self) -> None:
        self.read("warm", ["warm"])

    def logits(self, windows: list[Window]) -> list[np.ndarray]:
        session, words = self._ready()
        width = max(len(w.ids) for w in windows)
        ids = np.full((len(windows), width), self.tokenizer.pad, np.int64)
        mask = np.zeros((len(windows), width), np.int64)
        for row, w in enumerate(windows):
            ids[row, : len(w.ids)] = w.ids
            mask[row, : len(w.ids)] = 1
        (out,) = session.run(None, {"inputs_embeds": np.asarray(words[ids], np.float32), "attention_mask": mask})
        return [out[row, : len(w.ids)] for row, w in enumerate(windows)]

    def read(self, question: str, texts: list[str]) -> list[Span | None]:
        """The best span of each text (None for a text with no words)."""
        windows: list[tuple[int, Window]] = []
        for index, text in enumerate(texts):
            windows.extend((index, w) for w in windows_over(self.tokenizer, question, text, self.max_tokens)
                           if w.spans)
        best: list[Span | None] = [None] * len(texts)
        if not windows:
            return best
        for (index, w), logits in zip(windows, self.logits([w for _, w in windows])):
            first, last, margin = best_span(logits, w)
            current = best[index]
            if current is None or margin > current.margin:
                a, b = w.char_span(first, last)
                best[index] = Span(index, a, b, w.text[a:b], margin)
        return best
