"""Every kind's handler (rag.collection.<kind>) in the default run: the shipped corpus
ingested with the hashing fake embedder, the questions the rules claim, and what a user sees:
the answer's shape, and citations that quote the files exactly and point at the articles the
answer names. tests/test_collection_answers.py does the same with the real model (slow)."""

import re

import pytest

from rag import Answer, answer
from rag.collection.dispatch import handler_for
from rag.collection.question_kinds import Kind, classify
from rag.config import config_from_dict
from rag.index.catalog import quote_matches
from rag.index.corpus import load_corpus
from tests.conftest import SHIPPED_CORPUS
from tests.fakes import HashEmbedder

GOV, DOE, RWANDA, DONATION = (
    "000_8378715d027410b1.txt", "001_8dbdee58fc56f9ec.txt", "002_f48170bfe59e2718.txt", "003_f37bc0b3fb1d0fae.txt")
DONATION_TITLE = "《Anthropic捐赠2000万美元支持AI政策倡导组织》"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from rag.pipeline import build_pipeline, ingest

    root = tmp_path_factory.mktemp("fast-collection")
    cfg = config_from_dict({"corpus": {"path": str(SHIPPED_CORPUS)}, "data_dir": str(root / "data")})
    embedder = HashEmbedder()
    ingest(cfg, embedder=embedder, progress=False)
    return build_pipeline(cfg, embedder=embedder)


@pytest.fixture(scope="module")
def articles():
    return {a.id: a for a in load_corpus(SHIPPED_CORPUS, (".txt",), 10**7)[0]}


@pytest.fixture(scope="module")
def ask(pipeline, articles):
    """The answer to a question the rules give `kind`, its citations checked: numbered in
    order, each marker in the text, each quote the file's own text at its offsets."""

    def run(question: str, kind: Kind) -> Answer:
        assert classify(question).kind == kind, question
        result = answer(question, pipeline=pipeline)
        assert result.kind == kind.value
        assert [c.marker for c in result.citations] == list(range(1, len(result.citations) + 1))
        for c in result.citations:
            assert f"[{c.marker}]" in result.text
            assert quote_matches(articles[c.source], c), c
        return result

    return run


def sources(result: Answer) -> list[str]:
    return [c.source for c in result.citations]


def line_sources(result: Answer, line: str) -> set[str]:
    """The articles the citation markers on one line of the answer point at."""
    by_marker = {c.marker: c.source for c in result.citations}
    return {by_marker[int(m)] for m in re.findall(r"\[(\d+)\]", line)}


def test_every_kind_is_answered_by_the_handler_its_rule_names():
    for kind in (Kind.OVERVIEW, Kind.COUNT, Kind.DATE, Kind.WHICH, Kind.ACROSS, Kind.COMPARE):
        assert (handler_for(kind).__module__, handler_for(kind).__name__) == (f"rag.collection.{kind.value}", "answer")


def test_overview_of_the_collection_one_line_per_article_newest_first(ask):
    result = ask("这些文章主要讲了什么？", Kind.OVERVIEW)
    lines = result.text.split("\n")
    assert lines[0] == "资料中共有4篇文章（按日期从新到旧）："
    assert [line[:3] for line in lines[1:]] == ["1. ", "2. ", "3. ", "4. "]
    assert [line_sources(result, line) for line in lines[1:]] == [{DONATION}, {GOV}, {DOE}, {RWANDA}]
    assert lines[1].startswith("1. " + DONATION_TITLE + "（2026-02-12）：")
    assert "（日期不详）" in lines[4]  # the undated article is named as undated


def test_overview_of_one_article(ask):
    result = ask("给我总结一下关于卢旺达的那篇文章", Kind.OVERVIEW)
    assert "\n" not in result.text and result.text.startswith("《Anthropic与卢旺达")
    assert set(sources(result)) == {RWANDA} and 1 <= len(result.citations) <= 3


def test_counts(ask):
    everything = ask("一共有几篇文章？", Kind.COUNT)
    assert everything.text.startswith("资料中共有4篇文章：《") and everything.text.endswith("。")
    assert set(sources(everything)) == {GOV, DOE, RWANDA, DONATION}
    in_2026 = ask("How many articles were published in 2026?", Kind.COUNT)
    assert in_2026.text.startswith("2 articles were published 2026-01-01 to 2026-12-31: ")  # in English
    assert set(sources(in_2026)) == {GOV, DONATION, RWANDA}  # Rwanda: named as not counted
    assert "undated, not counted in any date range" in in_2026.text
    undated = ask("有几篇文章没有日期？", Kind.COUNT)
    assert undated.text.startswith("没有注明日期的文章有1篇：《Anthropic与卢旺达") and sources(undated) == [RWANDA]
    # a small collection (not scanned) counts by month and by day too
    by_month = ask("每个月各发了多少篇文章？", Kind.COUNT)
    assert "全部资料中文章按发布月份统计（共3篇，分布在3个月）：" in by_month.text, by_month.text
    assert "另有1篇没有注明日期，不属于任何月份。" in by_month.text and "最多的是" not in by_month.text  # a tie
    by_day = ask("哪天发布的文章最多？", Kind.COUNT)
    assert "（共3篇，分布在3天）：" in by_day.text and set(sources(by_day)) == {GOV, DOE, DONATION}
    sides = ask("英国和卢旺达哪个的报道更多？", Kind.COUNT)
    assert "关于英国的文章有" in sides.text and "关于卢旺达的文章有" in sides.text, sides.text


def test_newest_oldest_and_an_articles_date(ask):
    newest = ask("最新发布的是哪篇文章？", Kind.DATE)
    assert newest.text.startswith(f"最新发布的是{DONATION_TITLE}[1]，发布于2026-02-12[2]。")
    assert [c.field for c in newest.citations[:2]] == ["title", "date"]
    assert sources(newest)[:2] == [DONATION, DONATION]
    assert "1篇文章没有注明日期，无法判断先后" in newest.text and sources(newest)[-1] == RWANDA
    oldest = ask("最早的一篇文章是哪篇？", Kind.DATE)
    assert oldest.text.startswith("最早发布的是《Anthropic与美国能源部合作") and "2025-12-18" in oldest.text
    rwanda = ask("卢旺达那篇是哪天发布的？", Kind.DATE)
    assert rwanda.text.endswith("没有注明发布日期。") and sources(rwanda) == [RWANDA]  # never guessed
    gov = ask("When was the GOV.UK article published?", Kind.DATE)
    assert "was published on 2026-01-27[" in gov.text and set(sources(gov)) == {GOV}


def test_the_company_every_article_names_does_not_narrow_a_date_question(ask):
    # every catalog entry names the company: "its newest" is the newest of all
    assert ask("Anthropic最新发布的是哪篇文章？", Kind.DATE).text == ask("最新发布的是哪篇文章？", Kind.DATE).text


def test_a_date_range_and_which_of_two_came_first(ask):
    december = ask("2025年12月有什么新闻？", Kind.DATE)
    lines = december.text.split("\n")
    assert lines[0] == "2025-12-01 至 2025-12-31发布的文章有1篇（从新到旧）："
    assert line_sources(december, lines[1]) == {DOE}
    assert DONATION not in sources(december) and GOV not in sources(december)
    first = ask("英国那篇和能源部那篇，哪个先发的？", Kind.DATE)
    assert first.text.startswith("《Anthropic与美国能源部合作，以AI推动科学发现新纪元》[1]发布于2025-12-18[2]；")
    assert first.text.endswith("。《Anthropic与美国能源部合作，以AI推动科学发现新纪元》发布得更早。")
    assert set(sources(first)) == {GOV, DOE}


def test_every_article_in_date_order(ask):
    result = ask("把这几篇按发布时间从早到晚排一下", Kind.DATE)
    lines = result.text.split("\n")
    assert lines[0] == "按发布日期从早到晚："
    assert [line.split("[")[0] for line in lines[1:4]] == ["1. 2025-12-18", "2. 2026-01-27", "3. 2026-02-12"]
    assert [line_sources(result, line) for line in lines[1:4]] == [{DOE}, {GOV}, {DONATION}]
    assert lines[4].startswith("1篇文章没有注明日期，无法排入先后顺序：") and line_sources(result, lines[4]) == {RWANDA}


def test_which_article_mentions_a_name(ask, pipeline):
    kaplan = ask("哪篇文章提到了Jared Kaplan？", Kind.WHICH)
    assert kaplan.text.startswith("提到Jared Kaplan的是这篇：\n《Anthropic与美国能源部合作")
    assert set(sources(kaplan)) == {DOE} and "Kaplan" in kaplan.citations[0].quote
    nowhere = answer("哪篇文章提到了日本？", pipeline=pipeline)
    assert nowhere.abstained and not nowhere.citations  # a name no article has


def test_across_articles_one_item_each(ask):
    result = ask("每篇文章里Anthropic的合作对象分别是谁？", Kind.ACROSS)
    lines = result.text.split("\n")
    assert lines[0] == "资料中有4篇文章相关，每篇一项："
    items = lines[1:]
    assert [line[:3] for line in items] == ["1. ", "2. ", "3. ", "4. "]
    assert [len(line_sources(result, line)) for line in items] == [1, 1, 1, 1]  # each cites its own article
    assert {s for line in items for s in line_sources(result, line)} == {GOV, DOE, RWANDA, DONATION}


def test_comparison_side_by_side(ask):
    result = ask("比较Anthropic与英国和卢旺达的合作有何不同", Kind.COMPARE)
    head, uk, rw = result.text.split("\n")
    assert head == "英国与卢旺达对比："
    assert uk.startswith("【英国】《Anthropic与英国政府合作") and rw.startswith("【卢旺达】《Anthropic与卢旺达")
    assert line_sources(result, uk) == {GOV} and line_sources(result, rw) == {RWANDA}
    assert 1 <= len(re.findall(r"\[\d+\]", uk)) <= 2 and 1 <= len(re.findall(r"\[\d+\]", rw)) <= 2
    tesla = ask("Compare the Tesla deal with the UK partnership.", Kind.COMPARE)
    absent, uk = tesla.text.split("\n")[1:]
    assert absent == "【Tesla deal】The articles say nothing about it."  # a name no article has: said so
    assert line_sources(tesla, uk) == {GOV}


def test_nothing_to_answer_is_the_standard_abstention(pipeline):
    empty = answer("哪些文章提到了量子计算机？", pipeline=pipeline)
    assert empty.kind == "which" and empty.abstained and not empty.citations
