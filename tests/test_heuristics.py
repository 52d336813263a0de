"""The core heuristics, one small table each: key terms, follow-up condensing, pointer
questions, dense weighting, rank fusion and sentence scoring. No model, no index on disk."""

from __future__ import annotations

import pytest

from rag.answering.extractive import candidate_sentences, score_sentences
from rag.config import RetrievalConfig
from rag.index.embedding import dense_weight_for
from rag.index.lexical import LexicalIndex
from rag.retrieve.query import condense, is_chinese, key_terms, points_at_nothing
from rag.retrieve.retrieval import HybridRetriever
from rag.types import Chunk, Hit


def flat_idf(term: str) -> float:
    return 1.0


@pytest.mark.parametrize("question, present, absent", [
    ("卢旺达ICT与创新部长是谁？", {"卢旺达", "ict"}, {"是", "谁", "与"}),
    ("Anthropic向哪个组织捐赠了2000万美元？", {"anthropic", "组织", "2000"}, {"哪个", "了"}),
    ("GOV.UK的AI助手首个应用场景聚焦哪个领域？", {"gov.uk", "领域"}, {"的", "哪个"}),
])
def test_key_terms_keep_names_and_nouns_and_drop_function_words(question, present, absent):
    q = key_terms(question, flat_idf)
    assert present <= set(q.terms), q.terms
    assert not absent & set(q.terms), q.terms


def test_key_terms_verbs_count_only_when_the_evidence_uses_them():
    evidence = {"anthropic", "组织", "2000", "万", "美元", "捐赠"}
    with_verb = key_terms("Anthropic向哪个组织捐赠了2000万美元？", flat_idf, lambda t: t in evidence)
    without = key_terms("Anthropic向哪个组织捐赠了2000万美元？", flat_idf, lambda t: t != "捐赠" and t in evidence)
    assert "捐赠" in with_verb.terms and "捐赠" not in without.terms


def test_key_terms_names_missing_from_the_evidence_are_reported():
    q = key_terms("Anthropic和日本政府签了什么协议？", flat_idf, lambda t: t != "日本政府")
    assert q.absent_names == ("日本政府",) and q.absent == ("日本政府",)
    assert key_terms("Anthropic和日本政府签了什么协议？", flat_idf, lambda t: True).absent == ()


def test_key_terms_what_the_asker_words_differently_is_not_missing():
    evidence = "它们也不是为了anthropic的利益。如今的ai能完成复杂任务。这些政策将影响公司"
    in_evidence = lambda t: t in evidence  # noqa: E731
    # a compound whose part the passages use (商业利益 / 利益) and a time word relative to
    # the asker (现在 / 如今) are phrasing; a noun with no part in the passages is missing
    q = key_terms("Anthropic捐款是为了自己的商业利益吗？", flat_idf, in_evidence)
    assert "商业利益" in q.terms and "商业利益" not in q.absent
    assert "现在" not in key_terms("现在的AI厉害到什么程度？", flat_idf, in_evidence).absent
    assert key_terms("Anthropic的总部在哪？", flat_idf, in_evidence).absent == ("总部",)
    # names are never excused by a part: 日本政府 is not 政府
    assert key_terms("日本政府和哪些公司合作？", flat_idf, lambda t: t in evidence + "政府").absent_names


def test_key_terms_the_shape_of_an_answer_is_not_an_attribute_asked():
    in_evidence = lambda t: t in "ai的能力不断提升"  # noqa: E731
    assert key_terms("AI厉害到什么程度了？", flat_idf, in_evidence).asked_absent == ()
    assert key_terms("AI的价格是多少？", flat_idf, in_evidence).asked_absent == ("价格",)


@pytest.mark.parametrize("question, name", [
    ("杜苏芮是什么时候登陆的？", "杜苏芮"),  # a typhoon of 2023 jieba's dictionary lacks
    ("台风卡努是今年第几号台风？", "卡努"),  # the HMM's 卡努是, its 是 cut off
    ("潘仕成逝世的时间是", "潘仕成"),
])
def test_key_terms_keep_a_name_the_dictionary_lacks(question, name):
    q = key_terms(question, flat_idf, lambda t: True)
    assert name in q.terms and not q.absent, q
    # a guessed name the passages never write is left out, not counted missing: the
    # passages may spell it otherwise
    assert name not in key_terms(question, flat_idf, lambda t: t != name).terms


@pytest.mark.parametrize("question, not_terms", [
    ("本笃十六世是罗马天主教会第几任教宗", {"世是"}),
    ("杰克逊维尔市有多少居民", {"市有"}),
    ("卡特曾于哪一年访问中国", {"曾于"}),
    ("跟几年前比，AI现在厉害到什么程度了？", {"前比"}),
    ("他来中国干什么", {"他来"}),
])
def test_key_terms_a_guess_with_a_function_character_is_no_name(question, not_terms):
    assert not not_terms & set(key_terms(question, flat_idf).terms)


def test_key_terms_of_a_question_in_english_over_chinese_evidence():
    q = key_terms("Who is Rwanda's ICT minister?", flat_idf, lambda t: t in {"ict"})
    assert q.terms[0] == "ict" and not q.chinese and q.unknown_share > 0.5
    # Rwanda is a name the dictionary writes in Chinese, and no evidence says it: absent
    assert q.absent_names == ("卢安达",) and q.terms == ("ict", "卢安达")
    said = key_terms("Who is Rwanda's ICT minister?", flat_idf, lambda t: t in {"ict", "卢旺达"})
    assert said.terms == ("ict", "卢旺达") and said.absent_names == ()


@pytest.mark.parametrize("question, history, followup", [
    ("那公务员呢？", [{"role": "user", "content": "卢旺达的教育工作者将获得多少个许可证？"}], True),
    ("卢旺达ICT与创新部长是谁？", [{"role": "user", "content": "Anthropic捐了多少钱？"}], False),
    ("为期几年？", [], False),
    ("为期几年？", None, False),
])
def test_condense_tells_follow_ups_from_new_questions(question, history, followup):
    search = condense(question, history, max_turns=3)
    assert search.is_followup is followup
    if followup:
        assert "卢旺达" in search.text and "卢旺达" in search.lexical_terms
        # the new question's own terms count twice, the earlier turn's once
        assert search.lexical_terms.count("公务员") == 2


def test_condense_takes_the_subject_from_the_latest_real_answer():
    history = [{"role": "user", "content": "Anthropic向哪个组织捐赠了2000万美元？"},
               {"role": "assistant", "content": "Anthropic向Public First Action捐赠2000万美元。[1]"},
               {"role": "user", "content": "它做什么的？"},
               {"role": "assistant", "content": "资料中没有找到相关信息。"}]
    search = condense("它是谁创立的？", history, 3, ("资料中没有找到相关信息。",))
    assert search.subject == "Anthropic向Public First Action捐赠2000万美元。"


def test_an_english_follow_up_searches_for_the_subject_as_the_chinese_articles_write_it():
    history = [{"role": "user", "content": "Tell me about the Hawaii wildfire."},
               {"role": "assistant", "content": "夏威夷山火……[1]"}]
    search = condense("How many people died?", history, 3)
    assert search.is_followup and "夏威夷" in search.lexical_terms, search.lexical_terms
    chinese = [{"role": "user", "content": "夏威夷山火怎么样了"}, {"role": "assistant", "content": "……"}]
    assert "夏威夷" in condense("死了多少人？", chinese, 3).lexical_terms  # a Chinese turn as before


@pytest.mark.parametrize("question, pointing", [
    ("这个公司的创始人是谁？", True),
    ("该组织由谁创立？", True),
    ("Anthropic的创始人是谁？", False),
    ("这些文章主要讲了什么？", False),
    ("卢旺达政府说它将推广AI", False),
])
def test_points_at_nothing(question, pointing):
    assert points_at_nothing(question) is pointing


@pytest.mark.parametrize("text, chinese", [("卢旺达", True), ("Rwanda", False), ("GOV.UK的AI", True), ("123", False)])
def test_is_chinese(text, chinese):
    assert is_chinese(text) is chinese


@pytest.mark.parametrize("unk, weight", [(0.0, 1.0), (0.05, 1.0), (0.15, 0.5), (0.25, 0.0), (0.6, 0.0)])
def test_dense_weight_falls_linearly_with_the_unk_share(unk, weight):
    assert dense_weight_for(unk, RetrievalConfig()) == pytest.approx(weight)


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(f"a{i}.md#0", f"a{i}.md", 0, text, 0, len(text), (), f"t{i}", None, None, f"h{i}", 1)


class ListStore:
    """A vector store that returns a fixed ranking (the fusion is what is tested)."""

    def __init__(self, ranked: list[Chunk]):
        self.ranked = ranked

    def query(self, embedding, k, flt=None):
        return [(c, 0.1 * i) for i, c in enumerate(self.ranked[:k])]


class ConstantEmbedder:
    name = "constant"
    dimension = 2

    def embed_query(self, text):
        return [1.0, 0.0]


def test_reciprocal_rank_fusion_rewards_agreement_between_retrievers():
    chunks = [_chunk(0, "卢旺达 教育 许可证"), _chunk(1, "英国 政府 助手"), _chunk(2, "卢旺达 卫生 宫颈癌")]
    lexical = LexicalIndex.build(chunks, {"unk_share": 0.0})
    # BM25 ranks a0 first; the dense side ranks a2 first and a0 second: a0 leads the fusion
    dense = ListStore([chunks[2], chunks[0], chunks[1]])
    retriever = HybridRetriever(RetrievalConfig(top_k=3), lexical, dense, ConstantEmbedder(), 1.0)
    hits = retriever.retrieve("卢旺达 教育")
    assert [h.chunk.article_id for h in hits][:2] == ["a0.md", "a2.md"]
    assert hits[0].lexical_relevance is not None and hits[0].dense_relevance == pytest.approx(0.9)
    assert [h.relevance for h in hits] == sorted((h.relevance for h in hits), reverse=True)
    lexical_only = HybridRetriever(RetrievalConfig(mode="lexical", top_k=3), lexical, dense, ConstantEmbedder(), 1.0)
    assert all(h.dense_relevance is None for h in lexical_only.retrieve("卢旺达 教育"))


def test_sentence_scoring_prefers_the_sentence_that_covers_the_question():
    c = _chunk(0, "卢旺达是东非国家。教育工作者将获得2000个Claude Pro许可证。合作为期三年。")
    sentences = candidate_sentences([Hit(c, 1.0)])
    assert [s.text for s in sentences] == ["卢旺达是东非国家。", "教育工作者将获得2000个Claude Pro许可证。", "合作为期三年。"]
    q = key_terms("卢旺达的教育工作者将获得多少个Claude Pro许可证？", flat_idf)
    scored = score_sentences(q, sentences)
    best = max(scored, key=lambda s: s.score)
    assert best.sentence.text.startswith("教育工作者")


@pytest.mark.parametrize("question, money", [
    ("美国能源部为这次合作向Anthropic支付了多少钱？", True),
    ("Anthropic与Infosys的合作金额是多少？", True),
    ("How much did the Department of Energy pay Anthropic?", True),
    ("派出了多少名工程师？", False),  # a count of people, not a sum
    ("How much did usage grow?", False),
    ("卢旺达的教师能拿到多少个许可证？", False),
])
def test_questions_that_ask_for_a_sum_of_money(question, money):
    assert key_terms(question, flat_idf).wants_money is money


def test_a_sum_asked_needs_an_amount_in_a_currency():
    from rag.answering.extractive import Scored, expected_type_missing

    q = key_terms("能源部为这项合作付给Anthropic多少钱？", flat_idf)
    sentence = lambda text: [Scored(candidate_sentences([Hit(_chunk(0, text), 1.0)])[0], 1.0, 1.0)]  # noqa: E731
    assert expected_type_missing(q, sentence("双方建立一项为期多年的合作伙伴关系。"))
    assert not expected_type_missing(q, sentence("Anthropic向Public First Action捐赠2000万美元。"))
    assert not expected_type_missing(q, sentence("能源部将投入$50 million用于该计划。"))
