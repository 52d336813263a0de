"""The checks that stand between a model's output and the user, with scripted chat models
over the real shipped index: the gate decides before the model is asked, the model reads a
budget of sentences, markers are re-attached, re-attributed and renumbered, unsupported
sentences are left out. The same behaviour against a real model: tests/test_llm_local.py."""

import dataclasses

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.answering.answerers import check_llm_answer
from rag.pipeline import build_pipeline

pytestmark = pytest.mark.slow
QUESTION = "Anthropic向哪个组织捐赠了2000万美元？"


class Recording:
    """A scripted chat model that keeps the prompts it was sent."""

    def __init__(self, *responses):
        self.model = FakeListChatModel(responses=list(responses))
        self.prompts = []

    def stream(self, messages):
        self.prompts.append(messages)
        return self.model.stream(messages)


@pytest.fixture(scope="module")
def llm_cfg(shipped_index):
    return shipped_index.replace(
        answer=dataclasses.replace(shipped_index.answer, answerer="openai"),
        llm=dataclasses.replace(shipped_index.llm, model="scripted"),
    )


def test_the_model_is_not_asked_when_the_gate_says_the_articles_do_not_answer(llm_cfg):
    model = Recording("Anthropic与日本政府签署了合作协议[1]。")
    result = build_pipeline(llm_cfg, chat_model=model).answer("Anthropic和日本政府有合作吗？")
    assert result.abstained and model.prompts == []


def test_the_model_reads_the_best_sentences_not_whole_chunks(llm_cfg):
    model = Recording("Anthropic向Public First Action捐赠了2000万美元[1]。")
    result = build_pipeline(llm_cfg, chat_model=model).answer(QUESTION)
    prompt = model.prompts[0][-1][1]
    assert "为此，Anthropic向Public First Action捐赠2000万美元。" in prompt
    chunks_text = sum(len(h.chunk.text) for h in result.hits)
    passages_text = prompt.split("</passages>")[0]
    assert len(passages_text) < chunks_text / 2
    c = result.citations[0]  # cut to the window, the quote is still the article's text
    assert c.quote == "为此，Anthropic向Public First Action捐赠2000万美元。" and c.end - c.start == len(c.quote)


def test_a_follow_up_prompt_carries_the_conversation(llm_cfg):
    model = Recording("为期三年[1]。")
    history = [{"role": "user", "content": "卢旺达政府与Anthropic签署了什么协议？"},
               {"role": "assistant", "content": "卢旺达政府与Anthropic签署了一份为期三年的谅解备忘录[1]。"}]
    build_pipeline(llm_cfg, chat_model=model).answer("为期几年？", history)
    prompt = model.prompts[0][-1][1]
    assert "之前的问题：卢旺达政府与Anthropic签署了什么协议？" in prompt
    assert "问题：为期几年？" in prompt


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before(llm_cfg):
    model = Recording("Anthropic向Public First Action捐赠了2000万美元。[1]")
    result = build_pipeline(llm_cfg, chat_model=model).answer(QUESTION)
    assert not result.abstained and result.text == "Anthropic向Public First Action捐赠了2000万美元。[1]"


def test_a_placeholder_marker_copied_from_the_prompt_is_removed(llm_cfg, shipped_pipeline):
    hits = shipped_pipeline.retrieve(QUESTION)
    result = check_llm_answer(llm_cfg, _search(QUESTION), "Anthropic向Public First Action捐赠了2000万美元。[1][n][1]",
                              hits)
    assert "[n]" not in result.text and result.text.endswith("美元。[1]")


def test_an_answer_followed_by_the_abstention_phrase_keeps_its_supported_sentences(llm_cfg, shipped_pipeline):
    # verbatim from Qwen2.5-Coder-1.5B: a correct answer, then the refusal
    question = "Claude驱动的AI学习助手将在多少个非洲国家部署？"
    raw = "这意味着Claude驱动的AI学习助手将在八个非洲国家部署。\n\n资料中没有找到相关信息。"
    result = check_llm_answer(llm_cfg, _search(question), raw, shipped_pipeline.retrieve(question))
    assert not result.abstained and result.text == "这意味着Claude驱动的AI学习助手将在八个非洲国家部署。[1]"
    alone = check_llm_answer(llm_cfg, _search(question), "资料中没有找到相关信息。", shipped_pipeline.retrieve(question))
    assert alone.abstained


def _search(question):
    from rag.retrieve.query import SearchQuery

    return SearchQuery(question, question, (), False)


def test_a_sentence_cited_to_the_wrong_passage_is_cited_to_the_one_that_supports_it(llm_cfg, shipped_pipeline):
    hits = shipped_pipeline.retrieve(QUESTION)
    right = next(h for h in hits if "捐赠2000万美元" in h.chunk.text)
    wrong = next(h for h in hits if "2000万" not in h.chunk.text and "Public First" not in h.chunk.text)
    result = check_llm_answer(llm_cfg, _search(QUESTION), "Anthropic向Public First Action捐赠了2000万美元[1]。",
                              [wrong, right])
    assert result.text == "Anthropic向Public First Action捐赠了2000万美元。[1]"
    assert [c.chunk_id for c in result.citations] == [right.chunk.id]


def test_unsupported_sentences_are_left_out_and_listed(llm_cfg, shipped_pipeline):
    hits = shipped_pipeline.retrieve(QUESTION)
    result = check_llm_answer(llm_cfg, _search(QUESTION),
                              "Anthropic向Public First Action捐赠了2000万美元[1]。火星上有一座图书馆[1]。", hits)
    assert "火星" not in result.text and result.unsupported == ("火星上有一座图书馆。",)
    only_invented = check_llm_answer(llm_cfg, _search(QUESTION), "火星上有一座图书馆[1]。", hits)
    assert only_invented.abstained and only_invented.text == llm_cfg.answer.abstain_message
    assert only_invented.unsupported == ("火星上有一座图书馆。",)  # still says why


def test_a_sentence_that_echoes_the_question_is_not_an_answer(llm_cfg, shipped_pipeline):
    # verbatim from Qwen2.5-Coder-1.5B: the question restated, cited to passage 2
    question = "各州自己定的AI法律，Anthropic觉得该不该让联邦法律盖过去？"
    hits = shipped_pipeline.retrieve(question)
    raw = " Anthropic认为该不该让联邦法律盖过去。[2]"
    result = check_llm_answer(llm_cfg, _search(question), raw, hits)
    assert result.abstained and result.unsupported == ("Anthropic认为该不该让联邦法律盖过去。",)
    # from the 0.5B model: the question's words with nothing added, and a question back
    kaplan = "Kaplan怎么评价这个计划的？"
    echoed = check_llm_answer(llm_cfg, _search(kaplan), "Kaplan评价这个计划的。[1]", shipped_pipeline.retrieve(kaplan))
    assert echoed.abstained and echoed.unsupported
    lead = "Public First Action要确保美国在哪方面领先？"
    asked_back = check_llm_answer(llm_cfg, _search(lead), "Public First Action要确保美国在什么上领先？[1]",
                                  shipped_pipeline.retrieve(lead))
    assert asked_back.abstained


def test_a_yes_no_question_may_be_answered_in_its_own_words(llm_cfg, shipped_pipeline):
    question = "Anthropic是否反对州法律被优先取代？"
    hits = shipped_pipeline.retrieve(question)
    raw = "Anthropic反对州法律被优先取代。[1]"
    result = check_llm_answer(llm_cfg, _search(question), raw, hits)
    assert not result.abstained and result.text.startswith("Anthropic反对州法律被优先取代。[")


def test_a_removed_marker_leaves_no_space_before_the_stop(llm_cfg, shipped_pipeline):
    hits = shipped_pipeline.retrieve(QUESTION)
    result = check_llm_answer(llm_cfg, _search(QUESTION), "Anthropic向Public First Action捐赠了2000万美元 [9]。", hits)
    assert not result.abstained and "美元。[" in result.text and " 。" not in result.text
