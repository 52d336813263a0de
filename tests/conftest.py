from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT, config_from_dict
from rag.index.embedding import set_offline_env
from tests.fakes import HashEmbedder

set_offline_env()

SHIPPED_CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    d = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, d)
    return d


@pytest.fixture
def make_cfg(tmp_path, corpus_dir):
    def make(**sections):
        data = {"corpus": {"path": str(corpus_dir)}, "data_dir": str(tmp_path / "data")}
        for key, value in sections.items():
            if isinstance(value, dict):
                data.setdefault(key, {}).update(value)
            else:
                data[key] = value
        return config_from_dict(data)

    return make


@pytest.fixture
def fake_embedder():
    return HashEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    from rag.index.e5.runtime import E5OnnxEmbedder

    return E5OnnxEmbedder()  # the default backend: multilingual-e5-small on onnxruntime


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory, real_embedder):
    """The shipped corpus ingested once with the real default model into a temp data dir."""
    from rag.pipeline import ingest

    root = tmp_path_factory.mktemp("shipped")
    cfg = config_from_dict({"corpus": {"path": str(SHIPPED_CORPUS)}, "data_dir": str(root / "data")})
    ingest(cfg, embedder=real_embedder, progress=False)
    return cfg


@pytest.fixture(scope="session")
def shipped_pipeline(shipped_index):
    from rag.pipeline import build_pipeline

    return build_pipeline(shipped_index)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ui_server(shipped_index, shipped_pipeline):
    """The real Gradio app on a free loopback port."""
    from ui.app import build_app
    from ui.server import launch

    app = build_app(shipped_pipeline, shipped_index)
    port = free_port()
    launch(app, shipped_index, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def pytest_collection_modifyitems(config, items):
    """Soak tests (marked soak) run only when asked for: `pytest -m soak`; tests against a
    real local model (marked llm) only with `pytest -m llm` (make test-llm)."""
    asked = config.option.markexpr or ""
    for mark, how in (("soak", "-m soak"), ("llm", "make test-llm (pytest -m llm)")):
        if mark in asked:
            continue
        skip = pytest.mark.skip(reason=f"{mark} test: run with {how}")
        for item in items:
            if mark in item.keywords:
                item.add_marker(skip)
