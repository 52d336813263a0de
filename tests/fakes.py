"""Deterministic stand-ins for the heavy parts: no model download, no randomness."""

from __future__ import annotations

import hashlib
import math


class HashEmbedder:
    """Embeds text as normalised counts of hashed character bigrams. Texts that share
    characters land near each other, which is enough for dense-path tests."""

    def __init__(self, dim: int = 64, name: str = "fake-hash-64", unk: float = 0.0):
        self.dimension = dim
        self.name = name
        self._unk = unk
        self.documents_embedded = 0
        self.calls = 0

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dimension
        for a, b in zip(text, text[1:]):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "big")
            v[h % self.dimension] += 1.0
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    def embed_documents(self, texts):
        self.calls += 1
        self.documents_embedded += len(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text):
        return self._vec(text)

    def unk_share(self, texts):
        return self._unk
