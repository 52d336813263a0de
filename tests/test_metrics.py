"""Each metric on hand-made cases, including one where it must be 0 and one where it must be 1."""

import math

import pytest

from evals import metrics as m
from evals.dataset import load_eval_set
from evals.runner import ItemResult, summarize
from rag.errors import ConfigError


def test_normalization_folds_width_case_spaces_and_numerals():
    assert m.normalize_answer("ＧＯＶ．ＵＫ") == m.normalize_answer("gov.uk")
    assert m.normalize_answer("两千万美元") == m.normalize_answer("2000 万美元")
    assert m.normalize_answer("三年") == "3年" and m.normalize_answer("五十年") == "50年"
    assert m.normalize_answer("十七个") == "17个" and m.normalize_answer("二〇二五年") == "2025年"


def test_answer_correct_needs_every_fact_and_respects_abstention():
    facts = (("2000万美元", "两千万美元"), ("Public First Action",))
    assert m.answer_correct("Anthropic向Public First Action捐赠两千万美元[1]", False, facts, False)
    assert not m.answer_correct("Anthropic捐赠两千万美元[1]", False, facts, False)
    assert not m.answer_correct("Public First Action 2000万美元", True, facts, False)  # abstained
    assert m.answer_correct("资料中没有找到相关信息。", True, (), True)
    assert not m.answer_correct("随便一个回答", False, (), True)
    assert m.fact_recall("Public First Action", facts) == 0.5
    assert m.fact_recall("无关", facts) == 0.0 and m.fact_recall("PUBLIC first action 2000万美元", facts) == 1.0


def test_retrieval_metrics():
    ranked = ["b", "a", "c"]
    assert m.hit_at(ranked, {"b"}, 1) == 1.0 and m.reciprocal_rank(ranked, {"b"}) == 1.0
    assert m.hit_at(ranked, {"a"}, 1) == 0.0 and m.hit_at(ranked, {"a"}, 3) == 1.0
    assert m.reciprocal_rank(ranked, {"a"}) == 0.5
    assert m.hit_at(ranked, {"z"}, 3) == 0.0 and m.reciprocal_rank(ranked, {"z"}) == 0.0
    assert m.reciprocal_rank(ranked, {"c", "a"}) == 0.5  # first gold counts


def test_citation_precision_and_recall():
    assert m.citation_precision(["a"], {"a", "b"}) == 1.0
    assert m.citation_recall(["a"], {"a", "b"}) == 0.5
    assert m.citation_precision(["x", "y"], {"a"}) == 0.0 and m.citation_recall(["x"], {"a"}) == 0.0
    assert m.citation_recall(["a", "b"], {"a", "b"}) == 1.0
    assert m.citation_precision([], {"a"}) is None


def test_abstention_precision_and_recall():
    assert m.abstention_scores([True, False], [True, False]) == (1.0, 1.0)
    assert m.abstention_scores([False, True], [True, False]) == (0.0, 0.0)
    assert m.abstention_scores([True, True], [True, False]) == (0.5, 1.0)
    assert m.abstention_scores([False, False], [False, False]) == (None, None)


def test_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert m.percentile(values, 50) == 50.0 and m.percentile(values, 95) == 95.0
    assert m.percentile([7.0], 95) == 7.0 and math.isnan(m.percentile([], 50))


def result(**kw):
    base = dict(id="x", type="fact", question="q", expected="e", gold=("a",), answer="ans",
                abstained=False, should_abstain=False, correct=True, fact_recall=1.0,
                ranked_articles=("a",), cited_articles=("a",), hit1=1.0, hit3=1.0, rr=1.0,
                citation_precision=1.0, citation_recall=1.0, latency_ms=10.0)
    base.update(kw)
    return ItemResult(**base)


def test_summary_aggregates_per_type():
    s = summarize("t", [
        result(), result(type="list", correct=False, hit1=0.0, rr=0.5),
        result(type="unanswerable", gold=(), should_abstain=True, abstained=True, hit1=None,
               hit3=None, rr=None, citation_precision=None, citation_recall=None, latency_ms=30.0),
    ])
    assert s.items == 3 and s.accuracy == pytest.approx(2 / 3)
    assert s.hit1 == 0.5 and s.mrr == 0.75
    assert s.abstention_precision == 1.0 and s.abstention_recall == 1.0
    assert s.by_type == {"fact": 1.0, "list": 0.0, "unanswerable": 1.0}
    assert s.latency_p50_ms == 10.0 and s.latency_p95_ms == 30.0


def test_eval_set_errors_name_the_item(tmp_path):
    bad = tmp_path / "set.yaml"
    bad.write_text("items:\n- {id: a1, split: dev, question: '问', gold: [x]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="a1.*facts"):
        load_eval_set(bad)
    bad.write_text("items:\n- {id: a1, split: dev, question: '问', abstain: true, colour: red}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key `colour`"):
        load_eval_set(bad)


def test_feedback_becomes_draft_items(tmp_path):
    import json

    import yaml

    from evals.feedback import drafts_from_feedback

    log = tmp_path / "feedback.jsonl"
    rows = [
        {"question": "Q1", "answer": "A1", "vote": "down", "citations": [{"source": "003.txt"}]},
        {"question": "Q2", "answer": "A2", "vote": "up", "citations": []},
        {"question": "Q1", "answer": "A1", "vote": "down", "citations": []},
        {"question": "Q3", "answer": "A3", "vote": "down", "citations": [],
         "history": [{"role": "user", "content": "earlier"}]},
    ]
    log.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "drafts.yaml"
    assert drafts_from_feedback(log, out) == 2
    drafts = yaml.safe_load(out.read_text(encoding="utf-8"))["items"]
    assert [d["question"] for d in drafts] == ["Q1", "Q3"]
    assert drafts[0]["gold"] == ["003.txt"] and drafts[1]["type"] == "followup"


def test_llm_judge_scores_and_prompt_is_chinese():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from evals.judge import LLMJudge, judge_prompt, parse_judgement
    from rag.errors import GenerationError
    from rag.types import Answer, Citation

    prompt = judge_prompt("问题？", [("2000万美元",), ("Public First Action",)], "回答[1]", ["引文"])
    assert "参考事实" in prompt and "1. 2000万美元" in prompt and "[1] 引文" in prompt
    reply = '好的：{"facts": [true, false], "claims": [{"claim": "a", "supported": true}, {"claim": "b", "supported": false}]}'
    judge = LLMJudge(FakeListChatModel(responses=[reply]))
    cite = Citation(1, "a.md", "t", None, None, "引文", "c", 0, 2)
    j = judge.judge("问题？", [("2000万美元",), ("Public First Action",)], Answer("回答[1]", (cite,), False, "问题？"))
    assert j.fact_recall == 0.5 and j.faithfulness == 0.5
    assert parse_judgement('{"facts": [true], "claims": []}', 1).fact_recall == 1.0
    assert parse_judgement('{"facts": [false], "claims": [{"supported": false}]}', 1) == type(j)(0.0, 0.0)
    with pytest.raises(GenerationError):
        parse_judgement("no json here", 1)


def test_runner_attaches_judge_scores_and_records_errors():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from evals.dataset import EvalItem
    from evals.judge import LLMJudge
    from evals.runner import run_items
    from rag.errors import QuestionError
    from rag.types import Answer

    items = [EvalItem("a", "fact", "问题一", ("x.md",), (("事实",),)),
             EvalItem("b", "unanswerable", "问题二", abstain=True),
             EvalItem("c", "fact", "", ("x.md",), (("事实",),))]

    def answer_fn(question, history):
        if not question:
            raise QuestionError("the question is empty")
        return Answer("事实如此", (), question == "问题二", question)

    judge = LLMJudge(FakeListChatModel(responses=['{"facts": [true], "claims": [{"supported": true}]}']))
    results = run_items(answer_fn, items, judge=judge)
    assert results[0].judge_fact_recall == 1.0 and results[0].judge_faithfulness == 1.0
    assert results[1].judge_fact_recall is None and results[1].correct  # abstained correctly
    assert results[2].error == "QuestionError: the question is empty" and not results[2].correct
    s = summarize("j", results)
    assert s.judge_fact_recall == 1.0 and s.errors == 1


def test_answer_length_leaves_out_markers_and_abstentions():
    assert m.answer_chars("三年。[1]为期三年[12]") == len("三年。为期三年")
    assert m.answer_chars("[1]") == 0
    s = summarize("t", [
        result(answer="一二三四五[1]"), result(answer="一二三[1]一二三[2]"), result(answer="一[1]"),
        result(type="unanswerable", answer="资料中没有找到相关信息。很长很长很长很长", abstained=True,
               should_abstain=True, gold=(), hit1=None, hit3=None, rr=None,
               citation_precision=None, citation_recall=None),
    ])
    assert s.answer_chars_p50 == 5.0  # of 1, 5, 6: the abstention is not an answer
    assert summarize("t", [result(abstained=True, should_abstain=True)]).answer_chars_p50 is None
