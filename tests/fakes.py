"""Deterministic stand-ins for the heavy parts: no model download, no randomness."""

from __future__ import annotations

from evals.bench import HashingEmbedder


class HashEmbedder(HashingEmbedder):
    """The bench's hashing embedder with test-sized defaults: texts that share characters
    land near each other, which is enough for dense-path tests."""

    def __init__(self, dim: int = 64, name: str = "fake-hash-64", unk: float = 0.0):
        super().__init__(dim, name, unk)
