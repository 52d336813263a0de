"""The benchmark's quick mode end to end, and the synthetic corpus it uses."""

import json
import shutil
import subprocess
import sys

import pytest

from evals.synth import write_corpus
from rag.index.corpus import load_corpus


def test_synthetic_corpus_is_deterministic_and_loads(tmp_path):
    a = write_corpus(tmp_path / "a", 12, seed=1)
    b = write_corpus(tmp_path / "b", 12, seed=1)
    c = write_corpus(tmp_path / "c", 12, seed=2)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) == 12
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert any((a / n).read_bytes() != (c / n).read_bytes() for n in names)
    articles, skipped = load_corpus(a, (".md",), 10**7)
    assert len(articles) == 12 and not skipped and all(x.date and x.url for x in articles)


@pytest.mark.slow
def test_quick_bench_prints_figures_and_writes_json(tmp_path, shipped_index):
    # The shipped point starts from a copy of the session's shipped index: an unchanged
    # re-ingest (embeds nothing) keeps the test short; the 8-article throughput point still
    # embeds with the real model.
    shutil.copytree(shipped_index.data_dir, tmp_path / "data" / "bench" / "shipped")
    cfg = tmp_path / "rag.yaml"
    cfg.write_text(json.dumps({"data_dir": str(tmp_path / "data")}))
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, "-m", "rag.cli", "--config", str(cfg), "bench", "--quick",
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    for text in ("p50 ms", "vs raw encode of the same texts", "LangChain tutorial", "cold start"):
        assert text in run.stdout
    data = json.loads(out.read_text())
    sizes = [p["size"] for p in data["points"]]
    assert sizes == ["shipped", "100"]
    assert data["points"][0]["embedded_this_run"] == 0  # the copied index was reused
    assert all(p["query"]["p50_ms"] > 0 and p["peak_rss_mb"] > 0 for p in data["points"])
    assert data["ingest"]["reingest_embedded"] == 0 and data["ingest"]["pipeline_vs_raw"] > 0
    assert data["langchain_vs_ours"]["ours"]["hit1"] > data["langchain_vs_ours"]["langchain"]["hit1"]
