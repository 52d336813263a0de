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
    for text in ("p50 ms", "no reader p50", "vs raw encode of the same texts", "LangChain tutorial", "cold start"):
        assert text in run.stdout
    data = json.loads(out.read_text())
    sizes = [p["size"] for p in data["points"]]
    assert sizes == ["shipped", "100"]
    assert data["points"][0]["embedded_this_run"] == 0  # the copied index was reused
    assert all(p["query"]["p50_ms"] > 0 and p["peak_rss_mb"] > 0 for p in data["points"])
    assert all(p["query_reader_off"]["p50_ms"] > 0 for p in data["points"])  # the fast path beside it
    assert data["ingest"]["reingest_embedded"] == 0 and data["ingest"]["pipeline_vs_raw"] > 0
    assert data["langchain_vs_ours"]["ours"]["hit1"] > data["langchain_vs_ours"]["langchain"]["hit1"]


def test_archive_bench_refuses_a_missing_folder(tmp_path):
    run = subprocess.run([sys.executable, "-m", "rag.cli", "bench", "--archive", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "is not a folder of articles" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow
def test_archive_bench_measures_a_small_archive_in_one_run(tmp_path):
    archive = write_corpus(tmp_path / "archive", 6, seed=4)
    cfg = tmp_path / "rag.yaml"
    cfg.write_text(json.dumps({"data_dir": str(tmp_path / "data")}))
    out = tmp_path / "archive.json"
    run = subprocess.run([sys.executable, "-m", "rag.cli", "--config", str(cfg), "bench", "--archive",
                          str(archive), "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    for text in ("torch fp32 limit", "pipeline ingest", "re-ingest unchanged", "query p50 / p95", "cold `rag ask`"):
        assert text in run.stdout
    data = json.loads(out.read_text())
    assert data["ingest"]["articles"] == 6 and data["ingest"]["texts_embedded"] == data["ingest"]["texts_needed"]
    assert data["reingest"]["texts_embedded"] == 0 and data["reingest"]["chunks_embedded"] == 0
    assert data["limit"]["torch_fp32_tok_s"] > 0 and data["limit"]["runtime_tok_s"] > 0
    assert data["pipeline_vs_torch_fp32"] > 0 and data["query"]["p50_ms"] > 0 and data["cold_ask_s"] > 0
