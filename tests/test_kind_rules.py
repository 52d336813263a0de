"""The kinds table (rag.collection.question_kinds.RULES), rule by rule: each kind's example phrasings
(rag/collection/kind_examples.yaml) are claimed by its rule and by no other, the `fact` phrasings by
none; every rule names a handler that exists; the ladder is one order."""

import datetime as dt

import pytest

from rag.collection import dispatch as collection_answers
from rag.collection.question_kinds import (
    COLLECTION_KINDS,
    LADDER,
    RULES,
    Kind,
    QuestionKind,
    Reading,
    classify,
    kind_examples,
    rule_for,
)

TODAY = dt.date(2026, 11, 23)
EXAMPLES = kind_examples()


def phrasings(kind: Kind) -> list[str]:
    return [q for q, k in EXAMPLES if k == kind]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.kind.value)
def test_each_rule_claims_its_own_examples_and_no_others(rule):
    own = phrasings(rule.kind)
    others = [q for q, k in EXAMPLES if k != rule.kind]
    assert len(own) >= 10
    assert [q for q in own if classify(q, TODAY).kind != rule.kind] == []
    assert [q for q in others if classify(q, TODAY).kind == rule.kind] == []


def test_the_fact_examples_are_near_misses_no_rule_claims():
    facts = phrasings(Kind.FACT)
    assert len(facts) >= 20
    assert [q for q in facts if classify(q, TODAY).special] == []


def test_every_kind_but_fact_has_one_rule_with_a_handler():
    assert set(COLLECTION_KINDS) == set(Kind) - {Kind.FACT}
    assert len({r.kind for r in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.wordings and callable(collection_answers.handler_for(rule.kind)), rule.kind
        assert rule_for(rule.kind.value) is rule  # a plain name finds it too
    with pytest.raises(KeyError):
        rule_for(Kind.FACT)


def test_the_ladder_is_one_order_of_every_wording():
    precedences = [w.precedence for _, w in LADDER]
    assert precedences == sorted(precedences) and len(set(precedences)) == len(precedences)
    assert sum(len(r.wordings) for r in RULES) == len(LADDER)


def test_a_wording_needs_all_its_patterns_and_none_it_excludes():
    date = rule_for(Kind.DATE)
    listing = next(w for w in date.wordings if w.name == "every article in date order")
    read = lambda text: Reading(text, None, "")  # noqa: E731
    assert listing.claim(read("把这几篇按发布时间从早到晚排一下")) is not None
    assert listing.claim(read("把这几篇按发布时间排")) is not None  # a sort verb will do
    assert listing.claim(read("这几篇的时间顺序")) is None  # no sort verb, no from-to
    assert listing.claim(read("按时间顺序，一共有多少篇文章？")) is None  # excluded: a count
    compare = rule_for(Kind.COMPARE)
    each = next(w for w in compare.wordings if w.name == "each of two")
    assert each.claim(read("法国和肯尼亚的公务员分别能得到什么？")).sides == ("法国", "肯尼亚")
    assert each.claim(read("每篇文章里这家公司分别做了什么？")) is None  # every article, not two
    assert compare.wordings[0].claim(read("比较一下")) is None  # fewer than two sides: declined


@pytest.mark.parametrize("kind, question, expected", [
    (Kind.OVERVIEW, "这几篇东西讲的是什么", QuestionKind(Kind.OVERVIEW, "东西", scope="article")),
    (Kind.OVERVIEW, "这些报道有啥看头", QuestionKind(Kind.OVERVIEW, "看头", scope="article")),
    (Kind.COUNT, "2026年的报道", QuestionKind(Kind.COUNT, "", dates=classify("2026年的报道", TODAY).dates)),
    (Kind.DATE, "最早那篇报道", QuestionKind(Kind.DATE, "", order="oldest")),
    (Kind.DATE, "融资那篇报道", QuestionKind(Kind.DATE, "融资", asks_date=True)),
    (Kind.WHICH, "谁的报道里提到了剑桥大学", QuestionKind(Kind.WHICH, "谁 剑桥大学")),
    (Kind.COMPARE, "法国和肯尼亚的报道", QuestionKind(Kind.COMPARE, "法国和肯尼亚", sides=("法国", "肯尼亚"))),
])
def test_a_kind_given_by_the_vote_is_read_as_its_rule_reads_it(kind, question, expected):
    from rag.collection.question_kinds import _read

    assert rule_for(kind).from_vote(_read(question, TODAY)) == expected


def test_a_question_kind_is_always_a_kind():
    assert QuestionKind("date").kind is Kind.DATE and QuestionKind("date").special
    assert not QuestionKind().special
    with pytest.raises(ValueError):
        QuestionKind("summary")
