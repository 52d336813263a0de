"""rag.retrieve.rerank: the sentence reranker adds each passage's best-sentence similarity margin,
weighted by the Tuning's w_rerank, to its fused score. On sentence vectors made with the
hashing fake embedder (tests/fakes.py): no model is loaded."""

from __future__ import annotations

import pytest

from rag.answering.answerers import Semantics
from rag.index.sentences import SentenceIndex
from rag.retrieve.rerank import IdentityReranker, SentenceReranker, build_reranker, sentence_reranker
from rag.tuned import DEFAULTS
from rag.types import Chunk, Hit
from tests.fakes import HashEmbedder

QUESTION = "卢旺达的教育合作为期多久？"
ON_TOPIC = "卢旺达政府与Anthropic签署了为期三年的教育合作备忘录。"
OFF_TOPIC = "公司发布了新的编程工具和开发者平台。"
FILLER = ["天气很好。", "会议在周一举行。", "股票价格上涨了。", "新产品明年上市。"]


def chunk(cid: str, text: str) -> Chunk:
    return Chunk(cid, f"{cid}.md", 0, text, 0, len(text), (), cid, None, None, "h", 1)


@pytest.fixture(scope="module")
def semantics():
    embedder = HashEmbedder()
    chunks = [chunk("on", ON_TOPIC), chunk("off", OFF_TOPIC), *(chunk(f"f{i}", t) for i, t in enumerate(FILLER))]
    index, _ = SentenceIndex.build(chunks, embedder)
    return Semantics(index, embedder.embed_query)


def hits() -> list[Hit]:
    # retrieval put the off-topic passage first, narrowly
    return [Hit(chunk("off", OFF_TOPIC), 0.033), Hit(chunk("on", ON_TOPIC), 0.030)]


def test_the_passage_whose_sentence_is_nearest_the_question_moves_up(semantics):
    out = SentenceReranker(semantics, DEFAULTS).rerank(QUESTION, hits())
    assert [h.chunk.id for h in out] == ["on", "off"]
    assert out[0].relevance > out[1].relevance  # higher is better, and sorted


def test_the_weight_is_the_tunings(semantics):
    plain = SentenceReranker(semantics, DEFAULTS.replace(w_rerank=0.0)).rerank(QUESTION, hits())
    assert [h.chunk.id for h in plain] == ["off", "on"]  # the fused order, rescaled to the top
    assert plain[0].relevance == pytest.approx(1.0)
    strong = SentenceReranker(semantics, DEFAULTS.replace(w_rerank=10.0)).rerank(QUESTION, hits())
    default = SentenceReranker(semantics, DEFAULTS).rerank(QUESTION, hits())
    assert strong[0].relevance - strong[1].relevance > default[0].relevance - default[1].relevance


def test_no_vectors_or_no_hits_keep_the_order(semantics):
    assert SentenceReranker(semantics).rerank(QUESTION, []) == []
    unindexed = [Hit(chunk("x", "没有向量的句子。"), 0.5), Hit(chunk("y", "另一个没有向量的句子。"), 0.4)]
    out = SentenceReranker(semantics).rerank(QUESTION, unindexed)
    assert [h.chunk.id for h in out] == ["x", "y"]  # no rows: the background, so no bonus
    assert isinstance(sentence_reranker(None, Semantics(None, None)), IdentityReranker)
    assert isinstance(sentence_reranker(None, None), IdentityReranker)
    assert IdentityReranker().rerank(QUESTION, hits()) == hits()


def test_build_reranker_passes_the_tuning_to_factories_that_take_it(make_cfg, semantics):
    from rag.registry import RERANKERS

    tuning = DEFAULTS.replace(w_rerank=1.0)
    made = build_reranker(make_cfg(), semantics, tuning)  # retrieval.rerank: sentences
    assert isinstance(made, SentenceReranker) and made.tuning is tuning

    seen = []

    def old_style(cfg, semantics):  # the registry's original (cfg, semantics) signature
        seen.append(semantics)
        return IdentityReranker()

    RERANKERS.register("test-old-style", old_style, replace=True)
    try:
        assert isinstance(build_reranker(make_cfg(retrieval={"rerank": "test-old-style"}), semantics, tuning),
                          IdentityReranker)
        assert seen == [semantics]
    finally:
        RERANKERS.unregister("test-old-style")


def test_saved_vectors_load_memory_mapped_at_half_precision_with_the_same_similarities(tmp_path, semantics):
    import numpy as np

    from rag.errors import IndexCorruptError

    built = semantics.sentences
    built.save(tmp_path / "sentences")
    loaded = SentenceIndex.load(tmp_path / "sentences")
    assert isinstance(loaded._vectors, np.memmap) and loaded._vectors.dtype == np.float16
    query = np.asarray(HashEmbedder().embed_query(QUESTION), np.float32)
    assert loaded.row_vectors([0, 1]).dtype == np.float32
    assert np.allclose(loaded.similarities(query, [ON_TOPIC, OFF_TOPIC]),
                       built.similarities(query, [ON_TOPIC, OFF_TOPIC]), atol=2e-3)
    np.save(tmp_path / "sentences" / "vectors.npy", built.row_vectors(slice(None)))  # float32: not ours
    with pytest.raises(IndexCorruptError, match="float32"):
        SentenceIndex.load(tmp_path / "sentences")
