"""Answers chosen by meaning, with the real default model (multilingual-e5-small on
onnxruntime) and the shipped corpus indexed in a temp dir. Questions here are written in a
user's words, not the article's, and are not in the eval set."""

from pathlib import Path

import pytest

from rag import answer
from rag.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

RWANDA = "002_f48170bfe59e2718.txt"
DONATION = "003_f37bc0b3fb1d0fae.txt"
DOE = "001_8dbdee58fc56f9ec.txt"


def body_of(article_id: str) -> str:
    from rag.index.corpus import load_corpus

    articles, _ = load_corpus(str(PROJECT_ROOT / "corpus"), (".txt",), 5_000_000)
    return {a.id: a.body for a in articles}[article_id]


def assert_quotes_exact(result):
    for c in result.citations:
        assert body_of(c.source)[c.start : c.end] == c.quote


@pytest.mark.parametrize("question, fact, article", [
    ("How many Claude Pro licenses will Rwandan teachers get?", "2000", RWANDA),
    ("Which cancer will Anthropic help Rwanda eliminate?", "宫颈癌", RWANDA),
    ("How much money did Anthropic give to Public First Action?", "2000万美元", DONATION),
    # a name the passages write another way than the dictionary's first (非洲 of 非洲人)
    ("In how many African countries will the Claude learning companion be rolled out?", "非洲", RWANDA),
])
def test_english_question_is_answered_from_a_chinese_sentence_with_its_citation(
        shipped_pipeline, question, fact, article):
    result = answer(question, pipeline=shipped_pipeline)
    assert not result.abstained and fact in result.text
    assert result.citations and result.citations[0].source == article
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.citations[0].quote)  # a Chinese sentence
    assert_quotes_exact(result)


@pytest.mark.parametrize("question, fact, article", [
    ("卢旺达那边的老师能分到几个Claude Pro？", "2000", RWANDA),
    ("捐给Public First Action的钱有多少？", "2000万美元", DONATION),
    ("英国那个政府网站助手最先用在哪块业务上？", "求职者", "000_8378715d027410b1.txt"),
    ("Anthropic捐了多少钱给那个政治组织？", "2000万美元", DONATION),  # a sum asked, a sum given
    # 商业利益 where the article says 利益: a part of the asker's word is enough
    ("Anthropic给政治组织捐款，是图自己公司的商业利益吗？", "不是为了Anthropic", DONATION),
])
def test_paraphrase_in_the_askers_own_words_is_answered(shipped_pipeline, question, fact, article):
    result = answer(question, pipeline=shipped_pipeline)
    assert not result.abstained and fact in result.text
    assert result.citations[0].source == article
    assert_quotes_exact(result)


@pytest.mark.parametrize("question", [
    "Anthropic给Public First Action的捐款是多少欧元？",  # the donation is in dollars
    "Anthropic在卢旺达设立了几个办公室？",  # Rwanda and offices both occur, never together
    "Anthropic和日本政府有合作吗？",
    "能源部为这项合作付给Anthropic多少钱？",  # asks for a sum; the DOE article gives none
    "How much did the Department of Energy pay Anthropic?",
    "Public First Action现在的总部在哪里？",  # 现在 is phrasing; 总部 is still missing
    # an English name the dictionary writes in Chinese (法国) that no passage says
    "Does Anthropic work with the French government?",
])
def test_near_miss_is_abstained(shipped_pipeline, question):
    result = answer(question, pipeline=shipped_pipeline)
    answer_cfg = shipped_pipeline.cfg.answer
    expected = answer_cfg.abstain_message_en if question.isascii() else answer_cfg.abstain_message
    assert result.abstained and result.text == expected
    assert result.citations == ()


def test_translator_note_is_never_the_answer(shipped_pipeline):
    for question in ("What is the Genesis Mission?", "What is the original title of the donation article?",
                     "Who translated these articles?"):
        result = answer(question, pipeline=shipped_pipeline)
        assert all("本文由AI自动翻译" not in c.quote for c in result.citations), question


def test_follow_up_stays_on_the_conversations_subject_over_three_turns(shipped_pipeline):
    history = [
        {"role": "user", "content": "卢旺达的教育工作者将获得多少个Claude Pro许可证？"},
        {"role": "assistant", "content": "教育资源投入：为卢旺达教育工作者提供2000个Claude Pro许可证，"
                                         "并为公务员提供AI素养培训。[1]"},
        {"role": "user", "content": "那公务员呢？"},
        {"role": "assistant", "content": "为卢旺达教育工作者提供2000个Claude Pro许可证，并为公务员提供AI素养培训。[1]"},
    ]
    result = answer("这个合作为期多久？", history=history, pipeline=shipped_pipeline)
    assert "三年" in result.text and {c.source for c in result.citations} == {RWANDA}
    # a follow-up that names a new subject leaves the old one
    switched = answer("那美国能源部的合作呢？", history=history, pipeline=shipped_pipeline)
    assert switched.citations and switched.citations[0].source == DOE


def test_question_pointing_at_nothing_asks_which_one(shipped_pipeline):
    result = answer("该组织由谁创立？", pipeline=shipped_pipeline)
    assert result.abstained and result.text == shipped_pipeline.cfg.answer.clarify_message
    assert result.citations == ()
    # with the conversation that names it, the same words are answered
    history = [{"role": "user", "content": "Anthropic向哪个组织捐赠了2000万美元？"},
               {"role": "assistant", "content": "为此，Anthropic向Public First Action捐赠2000万美元。[1]"}]
    followed = answer("该组织由谁创立？", history=history, pipeline=shipped_pipeline)
    assert "战略家" in followed.text and followed.citations[0].source == DONATION


def test_sentence_vectors_are_stored_at_ingest_not_computed_per_question(shipped_index, shipped_pipeline):
    from rag.index.sentences import SentenceIndex, sentence_dir

    stored = SentenceIndex.load(sentence_dir(shipped_index.data_dir))
    assert stored is not None and len(stored) > 100 and stored.dimension == 384
    embedder = shipped_pipeline.semantics
    before = getattr(embedder._embed_query.__self__.inner, "documents_embedded", 0)
    answer("卢旺达那边的老师能分到几个Claude Pro？", pipeline=shipped_pipeline)
    assert embedder._embed_query.__self__.inner.documents_embedded == before
    assert Path(sentence_dir(shipped_index.data_dir), "vectors.npy").exists()


def test_each_chunks_sentence_rows_are_stored_at_ingest_and_match_splitting_it(shipped_index, shipped_pipeline, tmp_path):
    import shutil

    import numpy as np

    from rag.errors import IndexCorruptError
    from rag.index.sentences import CHUNK_ROWS_FILE, SentenceIndex, sentence_dir

    folder = sentence_dir(shipped_index.data_dir)
    stored = SentenceIndex.load(folder)
    assert stored is not None
    chunks = shipped_pipeline.lexical.chunks
    assert set(stored._chunk_rows) == {c.id for c in chunks}  # read from the file, nothing split yet
    split = SentenceIndex(stored.keys, stored.row_vectors(slice(None)), stored.model)
    for chunk in chunks:
        assert np.array_equal(stored.chunk_rows(chunk), split.chunk_rows(chunk))
    assert sum(len(stored.chunk_rows(c)) for c in chunks) > 100

    damaged = tmp_path / "sentences"
    shutil.copytree(folder, damaged)
    (damaged / CHUNK_ROWS_FILE).write_bytes(b"not a zip")
    with pytest.raises(IndexCorruptError, match="rag ingest --rebuild"):
        SentenceIndex.load(damaged)
    (damaged / CHUNK_ROWS_FILE).unlink()  # an index saved before the rows: split on first use
    older = SentenceIndex.load(damaged)
    assert older is not None and not older._chunk_rows
    assert np.array_equal(older.chunk_rows(chunks[0]), stored.chunk_rows(chunks[0]))


def test_invisible_characters_inside_a_name_do_not_change_the_answer(shipped_pipeline):
    plain = answer("卢旺达ICT与创新部长是谁？", pipeline=shipped_pipeline)
    hidden = answer("卢旺\u200b达ICT与创\u2060新部长\ufeff是谁？", pipeline=shipped_pipeline)
    assert "Paula Ingabire" in hidden.text
    assert (hidden.text, hidden.citations) == (plain.text, plain.citations)


def test_abstention_for_a_question_without_chinese_uses_the_configured_message(shipped_index):
    from dataclasses import replace

    from rag.pipeline import build_pipeline

    cfg = replace(shipped_index, answer=replace(shipped_index.answer, abstain_message_en="Not in these articles."))
    result = answer("What is the capital of Japan?", pipeline=build_pipeline(cfg))
    assert result.abstained and result.text == "Not in these articles."
