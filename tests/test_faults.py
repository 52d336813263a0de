"""Faults: a killed ingest, a damaged index, two processes on one data dir, backup/restore."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.synth import write_corpus
from rag.config import config_from_dict
from rag.errors import ConfigError, IndexCorruptError
from rag.index.backup import backup, restore
from rag.index.ingest import IngestBusyError, ingest_lock
from rag.index.store import open_store
from rag.pipeline import build_pipeline, ingest
from tests.fakes import HashEmbedder

RAG = [sys.executable, "-m", "rag.cli"]


def cfg_file(tmp_path, corpus, data, **extra):
    p = tmp_path / "rag.yaml"
    p.write_text(json.dumps({"corpus": {"path": str(corpus)}, "data_dir": str(data), **extra}))
    return p


@pytest.mark.slow
def test_kill_9_during_ingest_then_rerun_is_consistent(tmp_path, real_embedder):
    corpus = write_corpus(tmp_path / "corpus", 8, seed=3)  # small: the real model embeds it twice
    data = tmp_path / "data"
    # small embedding batches so the index is written in many small steps
    cfg_path = cfg_file(tmp_path, corpus, data, embedding={"batch_size": 4})
    proc = subprocess.Popen(RAG + ["--config", str(cfg_path), "ingest", "--progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # The progress bar counts chunks written to the store: kill once some are in.
    seen = b""
    deadline = time.time() + 180
    done = 0
    while time.time() < deadline and proc.poll() is None and done < 12:
        seen += os.read(proc.stderr.fileno(), 4096)
        counts = re.findall(rb"(\d+)/(\d+)", seen)
        done = int(counts[-1][0]) if counts else 0
    assert proc.poll() is None, "ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    cfg = config_from_dict(json.loads(cfg_path.read_text()))
    partial = open_store(cfg, real_embedder.name).open_for_read().count()
    report = ingest(cfg, embedder=real_embedder, progress=False)
    chunks = open_store(cfg, real_embedder.name).open_for_read().all_chunks()
    assert 0 < partial < report.chunks_total
    assert report.chunks_embedded < report.chunks_total  # the finished part was kept
    assert len(chunks) == len({c.id for c in chunks}) == report.chunks_total
    assert set(report.chunks_per_article) == {p.name for p in corpus.iterdir()}
    for article, n in report.chunks_per_article.items():
        assert sorted(c.index for c in chunks if c.article_id == article) == list(range(n))
    assert ingest(cfg, embedder=real_embedder, progress=False).chunks_embedded == 0


def test_damaged_lexical_index_is_a_clear_error_and_rebuild_recovers(make_cfg):
    cfg = make_cfg()
    emb = HashEmbedder()
    ingest(cfg, embedder=emb, progress=False)
    chunks_file = Path(cfg.data_dir) / "lexical" / "chunks.jsonl"
    chunks_file.write_text(chunks_file.read_text()[:500])  # half-written
    with pytest.raises(IndexCorruptError, match="damaged.*rag ingest"):
        build_pipeline(cfg, embedder=emb)
    ingest(cfg, embedder=emb, rebuild=True, progress=False)
    assert build_pipeline(cfg, embedder=emb).answer("卢旺达ICT与创新部长是谁？").citations


def test_two_ingests_on_one_data_dir_do_not_run_together(make_cfg):
    cfg = make_cfg()
    with ingest_lock(cfg.data_dir):
        with pytest.raises(IngestBusyError, match="another ingest"):
            ingest(cfg, embedder=HashEmbedder(), progress=False)
    assert ingest(cfg, embedder=HashEmbedder(), progress=False).added


def test_serving_pipeline_picks_up_a_finished_ingest(make_cfg, corpus_dir):
    cfg = make_cfg()
    emb = HashEmbedder()
    ingest(cfg, embedder=emb, progress=False)
    pipeline = build_pipeline(cfg, embedder=emb)
    assert pipeline.answer("哪个城市举办了2030年量子计算峰会？").abstained
    (corpus_dir / "new.md").write_text(
        "---\ntitle: 量子计算峰会\ndate: '2026-03-01'\n---\n2030年量子计算峰会将在里斯本举办。\n", encoding="utf-8")
    ingest(cfg, embedder=emb, progress=False)  # as if by another process
    result = pipeline.answer("哪个城市举办了2030年量子计算峰会？")
    assert "里斯本" in result.text and result.citations[0].source == "new.md"


def test_backup_and_restore_answer_the_same(make_cfg, tmp_path):
    cfg = make_cfg()
    emb = HashEmbedder()
    ingest(cfg, embedder=emb, progress=False)
    question = "卢旺达的教育工作者将获得多少个Claude Pro许可证？"
    before = build_pipeline(cfg, embedder=emb).answer(question)
    backup(cfg, tmp_path / "backup")
    with pytest.raises(ConfigError, match="not empty"):
        backup(cfg, tmp_path / "backup")
    import shutil

    shutil.rmtree(cfg.data_dir)
    restore(cfg, tmp_path / "backup")
    after = build_pipeline(cfg, embedder=emb).answer(question)
    assert after.text == before.text and after.citations == before.citations
    assert open_store(cfg, emb.name).open_for_read().count() == len(build_pipeline(cfg, embedder=emb).lexical)
    with pytest.raises(ConfigError, match="not a backup"):
        restore(cfg, tmp_path)
