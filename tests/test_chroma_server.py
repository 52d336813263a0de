"""Server mode: a real `chroma run` on loopback, reached through HttpClient."""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.index.store import open_store
from rag.pipeline import ingest
from rag.types import RetrievalFilter
from tests.conftest import free_port
from tests.fakes import HashEmbedder


def start_chroma_server(tmp_path) -> tuple[subprocess.Popen, str]:
    """A `chroma run` on a free loopback port, ready; the caller stops it."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = open(tmp_path / "chroma.log", "w")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server-db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "chroma.log").read_text()) from None
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("chroma server did not start")
    return proc, url


@pytest.fixture
def chroma_server(tmp_path):
    proc, url = start_chroma_server(tmp_path)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
def test_ingest_and_query_through_a_chroma_server(make_cfg, chroma_server, tmp_path):
    cfg = make_cfg(vectorstore={"server_url": chroma_server, "collection": "news"})
    emb = HashEmbedder()
    report = ingest(cfg, embedder=emb, progress=False)
    assert len(report.added) == 4 and report.chunks_embedded == report.chunks_total
    assert not (tmp_path / "data" / "chroma").exists()  # nothing written locally by Chroma
    store = open_store(cfg, emb.name).open_for_read()
    assert store.count() == report.chunks_total
    hits = store.query(emb.embed_query("卢旺达 Claude Pro 许可证"), 3,
                       RetrievalFilter(article_ids=frozenset({"002_f48170bfe59e2718.txt"})))
    assert hits and all(c.article_id == "002_f48170bfe59e2718.txt" for c, _ in hits)
    again = ingest(cfg, embedder=emb, progress=False)
    assert again.chunks_embedded == 0 and len(again.unchanged) == 4
