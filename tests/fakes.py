"""Deterministic stand-ins for the heavy parts: no model download, no randomness."""

from __future__ import annotations

from evals.bench import HashingEmbedder


class HashEmbedder(HashingEmbedder):
    """The bench's hashing embedder with test-sized defaults: texts that share characters
    land near each other, which is enough for dense-path tests."""

    def __init__(self, dim: int = 64, name: str = "fake-hash-64", unk: float = 0.0):
        super().__init__(dim, name, unk)


class HashBackend:
    """An embedding backend registered from outside the core, by dotted path in a config:
    `embedding: {backend: "tests.fakes:HASH_BACKEND", model: fake-hash-64}`. `fake-hash-64`
    turns dense retrieval on; `fake-hash-unk` reports the [UNK] share the English-only model
    has on Chinese, so dense retrieval is skipped and readers never open the vector store."""

    MODELS = {"fake-hash-64": 0.0, "fake-hash-unk": 0.58}

    def __call__(self, cfg) -> HashEmbedder:
        return HashEmbedder(name=self.model_name(cfg), unk=self.MODELS[cfg.embedding.model])

    def model_name(self, cfg) -> str:
        if cfg.embedding.model not in self.MODELS:
            from rag.errors import ConfigError

            raise ConfigError(f"config key `embedding.model`: expected one of {', '.join(self.MODELS)}")
        return cfg.embedding.model


HASH_BACKEND = HashBackend()
