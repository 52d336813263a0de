"""`python -m tests.fake_cli ARGS` is `python -m rag.cli ARGS` with the hashing embedder for
configs whose `embedding.model` is `fake-hash-64` (dense retrieval on) or `fake-hash-unk`
(dense skipped, like the default model on Chinese). Everything else is the real command:
argument parsing, the lock, Chroma on disk, the lexical swap, error handling and exit codes,
in a real process that a test can kill. Tests use it where the embedding model is not the
point, so a command takes a second or two instead of loading a model."""

from __future__ import annotations

import sys

import rag.pipeline
from tests.fakes import HashEmbedder

_real_build_embedder = rag.pipeline.build_embedder
_real_model_name = rag.pipeline.configured_model_name


def _build_embedder(cfg):
    if cfg.embedding.model == "fake-hash-64":
        return HashEmbedder()
    if cfg.embedding.model == "fake-hash-unk":
        return HashEmbedder(name="fake-hash-unk", unk=0.58)
    return _real_build_embedder(cfg)


def _model_name(cfg):
    if cfg.embedding.model in ("fake-hash-64", "fake-hash-unk"):
        return _build_embedder(cfg).name
    return _real_model_name(cfg)


rag.pipeline.build_embedder = _build_embedder
rag.pipeline.configured_model_name = _model_name

if __name__ == "__main__":
    from rag.cli import main

    sys.exit(main())
