"""Recognising question kinds and the dates in questions (rules; the embedding vote with a fake
embedder). The held-out figures: see tests/kind_heldout.yaml for how they were kept apart."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from rag.collection.question_kinds import (
    KindClassifier,
    QuestionKind,
    classify,
    compare_sides,
    merge_filters,
    parse_dates,
)
from rag.types import RetrievalFilter
from tests.fakes import HashEmbedder

TODAY = dt.date(2026, 11, 23)
HERE = Path(__file__).parent


def accuracy(path: Path) -> tuple[float, list[str]]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    misses = [f"{it['kind']} -> {classify(it['q'], TODAY).kind}: {it['q']}" for it in items
              if classify(it["q"], TODAY).kind != it["kind"]]
    return 1 - len(misses) / len(items), misses


@pytest.mark.parametrize("name, floor", [
    # first measured before any rule saw them: 0.863 (63/73) and 0.870 (40/46); both lists
    # have since been used to fix the rules, so these floors only guard against regressions
    ("kind_heldout.yaml", 0.97), ("kind_heldout2.yaml", 0.97),
])
def test_kind_recognition_on_held_out_phrasings(name, floor):
    score, misses = accuracy(HERE / name)
    assert score >= floor, misses


def test_final_held_out_list_rules_alone():
    # kind_heldout3.yaml was written after the last rule change and measured once: rules
    # alone 32/38; with the nearest-example vote (the test below) 36/38
    score, misses = accuracy(HERE / "kind_heldout3.yaml")
    assert score >= 0.84, misses


@pytest.mark.slow
def test_final_held_out_list_with_the_example_vote(real_embedder, tmp_path):
    kc = KindClassifier(real_embedder, cache_dir=str(tmp_path))
    items = yaml.safe_load((HERE / "kind_heldout3.yaml").read_text(encoding="utf-8"))["items"]
    misses = [it["q"] for it in items if kc.classify(it["q"], TODAY).kind != it["kind"]]
    assert 1 - len(misses) / len(items) >= 0.94, misses


@pytest.mark.parametrize("question, kind", [
    ("这些文章主要讲了什么？", "overview"),
    ("Anthropic最新发布的是哪篇文章？", "date"),
    ("Anthropic最近和哪些政府合作？", "across"),
    ("比较Anthropic与英国和卢旺达的合作有何不同", "compare"),
    ("What is the Genesis Mission?", "overview"),
    # single facts stay on the existing path, traps included
    ("What is the capital of Rwanda?", "fact"),
    ("Anthropic近期推出了哪些Claude新模型？", "fact"),
    ("2023年的AI模型还只是什么？", "fact"),
    ("创世纪使命的启动仪式在哪里举行？", "fact"),
    ("卢旺达的教育工作者将获得多少个Claude Pro许可证？", "fact"),
    ("Anthropic的G轮融资由哪些机构领投？", "fact"),
    ("Public First Action是什么类型的组织？", "fact"),
    ("Anthropic与英国政府是在什么时候签署谅解备忘录的？", "fact"),
])
def test_issue_examples_and_fact_traps(question, kind):
    assert classify(question, TODAY).kind == kind


@pytest.mark.parametrize("question, order, topic", [
    ("把这几篇按发布时间从早到晚排一下", "oldest", ""),
    ("这些文章按日期从新到旧排个序", "newest", ""),
    ("List the articles from newest to oldest.", "newest", ""),
    ("Can you list the articles in chronological order?", "oldest", ""),
    ("Sort the articles by date", "oldest", ""),
    ("按时间顺序列出讲政府合作的文章", "oldest", "政府合作"),
    ("按日期降序排列这些文章", "newest", ""),
    ("把这些文章按最新的在前面排", "newest", ""),
    ("Sort the articles by date, descending.", "newest", ""),
    ("List the articles with the most recent at the top", "newest", ""),
    ("把这几篇由近及远排一下", "newest", ""),
    ("Show the articles, oldest first", "oldest", ""),
])
def test_every_article_in_date_order(question, order, topic):
    k = classify(question, TODAY)
    assert (k.kind, k.listing, k.order, k.topic) == ("date", True, order, topic)


@pytest.mark.parametrize("question, kind, order", [
    ("按时间顺序，第一篇文章是哪篇？", "date", "oldest"),  # one article, picked by the order
    ("按时间顺序，最新的报道是哪天发的？", "date", "newest"),
    ("What's the latest article, in chronological order?", "date", "newest"),
    ("按时间顺序，一共有多少篇文章？", "count", ""),
    ("What is the timeline of the Rwanda partnership according to the article?", "fact", ""),
    ("卢旺达合作的时间线是怎样的？", "fact", ""),  # a timeline inside an article
    ("文章中提到的三个阶段的先后顺序是什么？", "fact", ""),
])
def test_a_date_order_that_is_not_a_listing(question, kind, order):
    k = classify(question, TODAY)
    assert (k.kind, k.listing, k.order) == (kind, False, order)


def test_kinds_carry_what_the_answer_needs():
    k = classify("比较Anthropic与英国和卢旺达的合作有何不同", TODAY)
    assert k.sides == ("英国", "卢旺达")
    assert classify("Anthropic最新发布的是哪篇文章？", TODAY).order == "newest"
    assert classify("What's the oldest article in the set?", TODAY).order == "oldest"
    assert classify("When was the Rwanda article published?", TODAY).asks_date
    assert classify("有几篇文章没有日期？", TODAY).undated
    k = classify("Summarize the article about Rwanda", TODAY)
    assert (k.kind, k.scope, k.topic) == ("overview", "article", "Rwanda")
    k = classify("What is the Genesis Mission?", TODAY)
    assert (k.scope, k.topic) == ("define", "Genesis Mission")
    k = classify("英国那篇和捐款那篇，哪个先发的？", TODAY)
    assert (k.kind, k.sides) == ("date", ("英国", "捐款"))
    k = classify("哪篇文章提到了Jared Kaplan？", TODAY)
    assert (k.kind, k.topic) == ("which", "Jared Kaplan")


@pytest.mark.parametrize("question, sides", [
    ("对比一下Anthropic与美国能源部和英国政府的合作", ("美国能源部", "英国政府")),
    ("Anthropic在卢旺达和在英国的合作有什么区别？", ("卢旺达", "英国")),
    ("Compare the DOE partnership with the Rwanda MOU.", ("DOE", "Rwanda MOU")),
    ("How does the UK partnership differ from the US one?", ("UK", "US")),
    ("Compare Anthropic's work with Rwanda and with the UK government.", ("Rwanda", "UK government")),
    ("英国和卢旺达的公务员分别能从合作里得到什么？", ("英国", "卢旺达")),
    ("卢旺达那份备忘录签了几年？英国那份又是什么时候签的？对比一下", ("卢旺达", "英国")),
    ("比较一下", ()),
])
def test_compare_sides(question, sides):
    assert compare_sides(question) == sides


@pytest.mark.parametrize("question, start, end", [
    ("2026年1月发布了哪些文章？", "2026-01-01", "2026-01-31"),
    ("去年12月有什么新闻？", "2025-12-01", "2025-12-31"),
    ("What was published since February?", "2026-02-01", None),
    ("列出1月份以后发布的文章", "2026-01-01", None),
    ("Show me articles from December 2025.", "2025-12-01", "2025-12-31"),
    ("2025年发表的文章有哪些？", "2025-01-01", "2025-12-31"),
    ("今年的文章", "2026-01-01", "2026-12-31"),
    ("上个月的新闻", "2026-10-01", "2026-10-31"),
    ("12月的新闻", "2025-12-01", "2025-12-31"),  # the latest December not after today
    ("2026-02-12发布的文章", "2026-02-12", "2026-02-12"),
    ("2026年2月之前的文章", None, "2026-01-31"),
    ("articles published before 2026", None, "2025-12-31"),
    ("截至2026年1月的报道", None, "2026-01-31"),
    # weeks and days, read against the reference date (a Monday here)
    ("上周有什么新闻？", "2026-11-16", "2026-11-22"),
    ("上个星期发了哪些报道", "2026-11-16", "2026-11-22"),
    ("What were the top stories last week?", "2026-11-16", "2026-11-22"),
    ("10月第二周有哪些报道？", "2026-10-08", "2026-10-14"),
    ("2025年2月的第四个星期有什么新闻", "2025-02-22", "2025-02-28"),
    ("10月第五周的文章", "2026-10-29", "2026-10-31"),
    ("articles from the first week of October", "2026-10-01", "2026-10-07"),
    ("news from the last week of February", "2026-02-22", "2026-02-28"),
    ("昨天发的文章有哪些", "2026-11-22", "2026-11-22"),
    ("What was published today?", "2026-11-23", "2026-11-23"),
    # a part of a month with no month: of the reference date's month
    ("月初有没有下冰雹的新闻？", "2026-11-01", "2026-11-10"),
    ("这个月底有哪些报道", "2026-11-21", "2026-11-30"),
])
def test_dates_in_questions(question, start, end):
    d = parse_dates(question, TODAY)
    assert (d.date_from, d.date_to) == (start, end)


def test_a_date_range_is_the_same_filter_the_cli_and_ui_use():
    k = classify("2026年1月发布了哪些文章？", TODAY)
    assert k.filter() == RetrievalFilter(None, "2026-01-01", "2026-01-31")
    user = RetrievalFilter(frozenset({"a", "b"}), "2026-01-15", None)
    assert k.merged_filter(user) == RetrievalFilter(frozenset({"a", "b"}), "2026-01-15", "2026-01-31")
    assert merge_filters(RetrievalFilter(frozenset({"a"})), RetrievalFilter(frozenset({"b"}))).article_ids == frozenset()
    assert classify("GOV.UK的AI助手首个应用场景聚焦哪个领域？", TODAY).merged_filter(user) is user
    assert QuestionKind().merged_filter(None) is None


def test_nearest_example_vote_decides_only_cue_questions_the_rules_leave_as_facts(tmp_path):
    examples = (("这些报道有啥看头", "overview"), ("这些报道里谁是部长", "fact"))
    kc = KindClassifier(HashEmbedder(), examples, margin=0.04, cache_dir=str(tmp_path))
    assert classify("这些报道有啥看头", TODAY).kind == "fact"  # the rules alone miss it
    assert kc.classify("这些报道有啥看头", TODAY).kind == "overview"
    assert kc.classify("这些报道里谁是部长", TODAY).kind == "fact"  # nearest is a fact example
    assert kc.classify("卢旺达部长是谁？", TODAY).kind == "fact"  # no cue word: never asked
    assert kc.classify("哪篇文章提到了冰岛？", TODAY).kind == "which"  # the rules' answer stands
    # the examples' vectors are cached for the next process
    cached = list(tmp_path.glob("kind_examples-*.npy"))
    assert len(cached) == 1
    again = KindClassifier(HashEmbedder(), examples, margin=0.04, cache_dir=str(tmp_path))
    assert again._bank().shape == (2, 64)
    assert KindClassifier(None).classify("这些报道有啥看头", TODAY).kind == "fact"


@pytest.mark.parametrize(("question", "kind", "topic", "start", "end"), [
    # what happened to something within dates: its articles of those dates
    ("Acme集团10月发生了什么？", "date", "Acme集团", "2026-10-01", "2026-10-31"),
    ("10月份Acme怎么了", "date", "Acme", "2026-10-01", "2026-10-31"),
    ("What happened with Acme in October?", "date", "Acme", "2026-10-01", "2026-10-31"),
    ("Any updates on the harbour strike in mid October?", "date", "harbour strike", "2026-10-11", "2026-10-20"),
    ("10月底那个港口出了什么事？", "date", "港口", "2026-10-21", "2026-10-31"),
    ("Acme最近怎么样了？", "date", "Acme", "2026-11-17", "2026-11-23"),
    ("What's been happening with Acme lately?", "date", "Acme", "2026-11-17", "2026-11-23"),
    ("列出10月关于港口罢工的文章", "date", "港口罢工", "2026-10-01", "2026-10-31"),
    ("帮我找出上周关于Acme的报道", "date", "Acme", "2026-11-16", "2026-11-22"),
    # still single facts: a specific ask, or no date to list by
    ("10月上旬港口罢工造成了什么影响？", "fact", "", None, None),
    ("10月上旬政府如何应对罢工？", "fact", "", None, None),
    ("What happened at the harbour?", "fact", "", None, None),
    # events long before the collection's newest day, or "today": history, not its articles
    ("1923年的时候，日本发生什么天灾?", "fact", "", None, None),
    ("自2014年以来私立学校发生了什么事？", "fact", "", None, None),
    ("灾难主义相信今天仍在发生什么？", "fact", "", None, None),
])
def test_what_happened_within_dates_lists_its_articles(question, kind, topic, start, end):
    k = classify(question, TODAY)
    assert (k.kind, k.topic) == (kind, topic)
    assert (k.filter().date_from, k.filter().date_to) == (start, end) if start else k.dates is None


@pytest.mark.parametrize(("question", "kind", "scope", "topic", "mentions"), [
    # the articles on a topic: every one (an archive scans for them)
    ("有哪些关于港口罢工的报道？", "which", "", "港口罢工", False),
    ("有没有关于Acme的新闻？", "which", "", "Acme", False),
    ("关于港口罢工的报道都有哪些？", "which", "", "港口罢工", False),
    ("List all articles about the harbour strike.", "which", "", "harbour strike", False),
    ("资料库里有哪些关于Acme的文章", "which", "", "Acme", False),
    # ... the topic first: every one too, not the few retrieval returns
    ("港口罢工有哪些报道？", "which", "", "港口罢工", False),
    ("港口罢工的报道有哪些？", "which", "", "港口罢工", False),
    ("港口罢工都有哪些相关报道？", "which", "", "港口罢工", False),
    # the articles that say it, each with its sentence
    ("哪篇文章提到了港口罢工？", "which", "", "港口罢工", True),
    ("哪些报道提到了港口罢工？", "which", "", "港口罢工", True),
    # a pointer, other articles or a kind of importance is no topic: not a listing of it
    ("他的报道有哪些？", "fact", "", "", False),
    ("这件事的报道有哪些", "fact", "", "", False),
    ("其他报道有哪些", "fact", "", "", False),
    ("重要的报道有哪些？", "fact", "", "", False),
    # someone's announcement with a date is a fact, not the articles published then
    ("10月10日警方通报了什么？", "fact", "", "", False),
    ("10月气象台预报了什么？", "fact", "", "", False),
    # the collection's size and dates
    ("资料库覆盖了哪些时间段？", "overview", "collection", "", False),
    ("这个资料库的文章时间跨度是多少？", "overview", "collection", "", False),
    ("What date range does the archive cover?", "overview", "collection", "", False),
    ("How far back does the archive go?", "overview", "collection", "", False),
    ("哪个时间范围更难确定？", "fact", "", "", False),  # a time range, not the collection's
    ("资料库里一共有多少篇文章？", "count", "", "", False),
    # the collection counted in its own number ("这四篇")
    ("这四篇文章分别讲了什么？", "overview", "collection", "", False),
    ("这4篇文章分别讲了什么？", "overview", "collection", "", False),
    ("10月份关于罢工的报道有多少？", "count", "", "罢工", False),
])
def test_articles_about_a_topic_and_the_collections_dates(question, kind, scope, topic, mentions):
    k = classify(question, TODAY)
    assert (k.kind, k.scope, k.topic, k.mentions) == (kind, scope, topic, mentions)


@pytest.mark.parametrize(("question", "kind", "start", "end"), [
    ("10月份的新闻主要讲了什么？", "overview", "2026-10-01", "2026-10-31"),
    ("10月份的新闻主要集中在哪些话题？", "overview", "2026-10-01", "2026-10-31"),
    ("What were the top stories last week?", "overview", "2026-11-16", "2026-11-22"),
    ("10月发生了哪些大事？", "overview", "2026-10-01", "2026-10-31"),
    ("Give me an overview of October.", "overview", "2026-10-01", "2026-10-31"),
    # the important, hot, headline news of a window: what it was about, not its newest articles
    ("最近一周最重要的新闻是什么？", "overview", "2026-11-17", "2026-11-23"),
    ("上个月有哪些热点新闻？", "overview", "2026-10-01", "2026-10-31"),
    ("Give me the headlines from last week", "overview", "2026-11-16", "2026-11-22"),
    ("Which topics got the most coverage in October?", "overview", "2026-10-01", "2026-10-31"),
    ("What were the top stories in mid-October?", "overview", "2026-10-11", "2026-10-20"),  # not the "-" of mid-
    ("What were people talking about in mid-October?", "overview", "2026-10-11", "2026-10-20"),
    ("Give me a summary of last week's news", "overview", "2026-11-16", "2026-11-22"),  # not a topic "s"
    # the big news of the newest days
    ("最近有什么大新闻？", "overview", "2026-11-17", "2026-11-23"),
    ("这几天有什么重要新闻吗", "overview", "2026-11-17", "2026-11-23"),
    # with a topic of its own it lists that topic's articles
    ("10月关于罢工的报道主要讲了什么？", "date", "2026-10-01", "2026-10-31"),
])
def test_what_a_date_window_was_about_is_an_overview_of_it(question, kind, start, end):
    k = classify(question, TODAY)
    assert k.kind == kind and (k.dates.date_from, k.dates.date_to) == (start, end)
    assert k.scope == ("collection" if kind == "overview" else "")


@pytest.mark.parametrize(("question", "kind", "order", "topic", "start", "end"), [
    ("第一篇关于港口罢工的报道是哪天发的？", "date", "oldest", "港口罢工", None, None),
    ("关于Acme的最新报道是什么？", "date", "newest", "Acme", None, None),  # one article, not the newest week
    ("When was the first article about the harbour strike published?", "date", "oldest", "harbour strike", None, None),
    ("关于港口罢工，最近一篇报道说了什么？", "date", "newest", "港口罢工", None, None),
    ("最新的报道都有哪些？", "date", "", "", "2026-11-17", "2026-11-23"),
    ("How many strike articles were there in total?", "count", "", "strike", None, None),
    ("关于罢工的报道有多少？分别是哪天的？", "count", "", "罢工", None, None),
    ("今年夏天有哪些极端天气的报道？", "date", "", "极端天气", "2026-06-01", "2026-08-31"),
    ("暑假期间有什么关于溺水的新闻？", "date", "", "溺水", "2026-07-01", "2026-08-31"),
    ("去年冬天的新闻", "date", "", "", "2025-12-01", "2026-02-28"),
    # the month's last seven days; this week up to the reference date (a Monday)
    ("10月最后一周有哪些新闻？", "date", "", "", "2026-10-25", "2026-10-31"),
    ("10月最后一个星期的报道有几篇？", "count", "", "", "2026-10-25", "2026-10-31"),
    ("这周有什么新闻", "date", "", "", "2026-11-23", "2026-11-23"),
    ("What happened this week?", "date", "", "", "2026-11-23", "2026-11-23"),
    # date words and requests are not the topic (这个月 left 月, 有什么新闻 left 闻, 之间, 找)
    ("这个月关于罢工的报道有多少篇", "count", "", "罢工", "2026-11-01", "2026-11-30"),
    ("最近三天有几篇关于罢工的报道？", "count", "", "罢工", "2026-11-21", "2026-11-23"),  # not 三天 罢工
    ("最近有没有哪里地震了？", "date", "", "地震", "2026-11-17", "2026-11-23"),  # not 哪里地震
    ("10月10日到10月15日之间有哪些关于暴雨的报道？", "date", "", "暴雨", "2026-10-10", "2026-10-15"),
    ("帮我找一下关于洪水救援的新闻", "which", "", "洪水救援", None, None),
    # a kind of news is about its kind: 体育新闻 is news about 体育
    ("有哪些体育新闻？", "which", "", "体育", None, None),
    ("最近的财经新闻", "date", "", "财经", "2026-11-17", "2026-11-23"),
    # 新闻库 names the collection as 资料库 does
    ("新闻库里最早的文章是哪天的？", "date", "oldest", "", None, None),
])
def test_more_of_the_ways_people_ask_an_archive(question, kind, order, topic, start, end):
    k = classify(question, TODAY)
    assert (k.kind, k.order, k.topic) == (kind, order, topic)
    assert (k.dates.date_from, k.dates.date_to) == (start, end) if start else k.dates is None


def test_a_summary_of_the_news_about_something_is_about_it_not_the_collection():
    assert classify("Summarize the news about the harbour strike", TODAY).topic == "harbour strike"
    assert classify("Summarize the news about the harbour strike", TODAY).scope == "article"
    assert classify("Summarize these articles", TODAY).scope == "collection"


@pytest.mark.parametrize(("question", "topic", "start", "end"), [
    ("每个月各有多少篇关于罢工的报道？", "罢工", None, None),
    ("9月和10月哪个月关于罢工的报道多？", "罢工", "2026-09-01", "2026-10-31"),
    ("Which month had more articles about strikes, September or October?", "strikes", "2026-09-01", "2026-10-31"),
    ("How many articles about the strike were there each month?", "strike", None, None),
    ("按月统计一下关于罢工的报道", "罢工", None, None),
    ("每个月发了多少篇文章？", "", None, None),
    # this month against the one before: both months
    ("这个月关于罢工的报道比上个月多吗？", "罢工", "2026-10-01", "2026-11-30"),
    ("关于罢工的报道，9月多还是10月多？", "罢工", "2026-09-01", "2026-10-31"),
    ("How many articles about the stock market were there each month?", "stock market", None, None),  # not "stock ket"
    ("9月关于罢工的报道比上个月多吗？", "罢工", "2026-08-01", "2026-09-30"),
    ("关于罢工的报道，9月和10月哪个多？", "罢工", "2026-09-01", "2026-10-31"),
    ("9月和10月，罢工的报道各有多少篇？", "罢工", "2026-09-01", "2026-10-31"),
])
def test_counts_by_month(question, topic, start, end):
    k = classify(question, TODAY)
    assert (k.kind, k.by_month, k.topic) == ("count", True, topic)
    assert (k.dates.date_from, k.dates.date_to) == (start, end) if start else k.dates is None
    assert classify("10月有多少篇关于罢工的报道？", TODAY).by_month is False
    # which month something came out is a date, not a comparison of months
    assert classify("这项研究在2025年的哪个月出版？", TODAY).by_month is False


def test_the_newest_of_the_four_is_the_newest_article():
    k = classify("这四篇文章里哪篇最新？", TODAY)
    assert (k.kind, k.order, k.topic) == ("date", "newest", "")


@pytest.mark.parametrize(("question", "topic"), [
    ("女足世界杯期间，关于中国女足的报道一共有几篇？", "女足世界杯 中国女足"),  # 中 of 中国 stays; 期间 goes
    ("有没有火山喷发的新闻？", "火山喷发"),  # 发的 of 喷发的 is no "发的" (published)
    ("昨天发的文章有哪些", "昨天"),
    ("跟大运会有关的报道", "大运会"),  # 有关 goes whole, not 有 of it, and 跟 with it
    ("哪些报道和洪水有关？", "洪水"),
    ("有关于日本排放核污水的新闻吗", "日本排放核污水"),  # 有 + 关于, not 有关 + 于
    ("What are the most recent articles about Ukraine?", "Ukraine"),
    ("Tell me about the most recent reports on heavy rain", "heavy rain"),
    ("资料中有哪些关于台风的文章？", "台风"),  # jieba's 中有 is two kind words
    ("关于赖清德窜美的报道有多少篇？", "赖清德窜美"),  # the 的 before 报道 is a particle (not 美的)
    ("最早的一篇文章是哪篇？", ""),
    ("What was reported about the typhoon?", "reported typhoon"),
])
def test_a_topic_keeps_its_words_whole(question, topic):
    from rag.collection.question_kinds import topic_of

    assert topic_of(question) == topic


@pytest.mark.parametrize(("question", "sides", "start"), [
    ("罢工和地震，哪个报道得多？", ("罢工", "地震"), None),
    ("台积电和三星，哪家的新闻更多？", ("台积电", "三星"), None),
    ("杜苏芮和卡努哪个台风的报道更多？", ("杜苏芮", "卡努"), None),
    ("关于暴雨和高温的新闻，哪个更多？", ("暴雨", "高温"), None),
    ("10月关于地震和台风的报道哪个多", ("地震", "台风"), "2026-10-01"),
    ("Which had more coverage, Doksuri or Khanun?", ("Doksuri", "Khanun"), None),
    ("Were there more articles about floods or earthquakes?", ("floods", "earthquakes"), None),
    ("杜苏芮和卡努这两个台风，哪个报道更多？", ("杜苏芮", "卡努"), None),  # 这两个台风 names no third side
    ("关于杜苏芮的报道多还是关于卡努的报道多？", ("杜苏芮", "卡努"), None),
    ("10月上旬关于台风和地震的报道分别有多少篇？", ("台风", "地震"), "2026-10-01"),  # counted, not compared
])
def test_which_of_two_topics_has_more_articles_counts_both(question, sides, start):
    k = classify(question, TODAY)
    assert (k.kind, k.sides, k.by_month) == ("count", sides, False)
    assert (k.dates.date_from if k.dates else None) == start
    # one topic, or months compared, is not two topics
    assert classify("7月和8月哪个月关于暴雨的报道多？", TODAY).sides == ()
    assert classify("关于台风的报道多吗", TODAY).sides == ()


@pytest.mark.parametrize("question", ["这段时间主要有哪些大新闻？", "这两个月有哪些大新闻？",
                                      "What were the main stories of this period?"])
def test_the_big_news_of_the_time_the_collection_spans_is_its_overview(question):
    k = classify(question, TODAY)
    assert (k.kind, k.scope, k.topic, k.dates) == ("overview", "collection", "", None)


@pytest.mark.parametrize(("question", "topic"), [
    ("这个月罢工的新闻有哪些？", "罢工"),  # 这个月 whole, not 这个 and a 月 left
    ("10月底港口罢工都报道了些什么？", "港口罢工"),
    ("港口罢工，10月底都报了些啥？", "港口罢工"),
    ("10月上旬港口罢工，有哪些相关报道", "港口罢工"),
    ("最近港口罢工有什么大新闻？", "港口罢工"),  # what is new on it
])
def test_the_words_of_asking_leave_the_topic(question, topic):
    assert classify(question, TODAY).topic == topic


@pytest.mark.parametrize(("before", "question", "kind", "topic", "start", "end"), [
    ("10月有多少篇关于罢工的报道？", "那9月呢？", "count", "罢工", "2026-09-01", "2026-09-30"),
    # a part of the month alone: of the month before
    ("10月上旬有多少篇关于罢工的报道？", "那中旬呢？", "count", "罢工", "2026-10-11", "2026-10-20"),
    # 「X的呢」 with X a name, and a place alone, ask the same of another topic
    ("10月有多少篇关于罢工的报道？", "深圳的呢？", "count", "深圳", "2026-10-01", "2026-10-31"),
    ("10月有多少篇关于罢工的报道？", "月底呢", "count", "罢工", "2026-10-21", "2026-10-31"),
    ("10月有哪些关于罢工的报道？", "上海呢？", "date", "上海", "2026-10-01", "2026-10-31"),
    # 「只看…的」 narrows the listing before to its dates
    ("有哪些关于罢工的报道？", "只看10月下旬的", "which", "罢工", "2026-10-21", "2026-10-31"),
    ("10月有多少篇关于罢工的报道？", "关于地震的呢？", "count", "地震", "2026-10-01", "2026-10-31"),
    ("10月下旬有哪些暴雨的新闻？", "11月上旬呢？", "date", "暴雨", "2026-11-01", "2026-11-10"),
    ("How many articles about floods were published in October?", "And in September?", "count", "floods",
     "2026-09-01", "2026-09-30"),
    ("How many articles about floods were published in October?", "What about earthquakes?", "count", "earthquakes",
     "2026-10-01", "2026-10-31"),
    ("有哪些关于罢工的报道？", "其中有多少篇是10月的？", "count", "罢工", "2026-10-01", "2026-10-31"),
    ("最近有哪些新闻？", "那罢工的新闻呢？", "date", "罢工", "2026-11-17", "2026-11-23"),
    ("10月有多少篇关于罢工的报道？", "其中有多少篇提到港口？", "count", "罢工 港口", "2026-10-01", "2026-10-31"),
    ("10月有多少篇关于罢工的报道？", "其中10月下旬的有几篇？", "count", "罢工", "2026-10-21", "2026-10-31"),
    ("10月有多少篇关于罢工的报道？", "其中9月的有几篇？", "count", "罢工", "2026-09-01", "2026-09-30"),  # no overlap
])
def test_a_follow_up_swaps_the_dates_or_the_topic_of_a_collection_question(before, question, kind, topic, start, end):
    from rag.collection.question_kinds import follow_up

    k = follow_up(classify(before, TODAY), question, TODAY)
    assert (k.kind, k.topic, k.dates.date_from, k.dates.date_to) == (kind, topic, start, end)


@pytest.mark.parametrize(("before", "question"), [
    ("罢工持续了多久？", "那9月呢？"),  # a single fact before: the fact path's own follow-up
    ("10月有多少篇关于罢工的报道？", "那它是谁组织的呢？"),  # a pronoun asks something new
    ("10月有多少篇关于罢工的报道？", "罢工是谁组织的？"),  # a question of its own
    ("杜苏芮和卡努哪个台风的报道更多？", "那9月呢？"),  # two topics: not swapped one way
    # a fact asked of the same subject, not another topic: the fact path's follow-up
    ("10月有多少篇关于罢工的报道？", "那参与人数呢？"),
    ("10月有多少篇关于罢工的报道？", "And the death toll?"),
    ("10月有多少篇关于罢工的报道？", "谢谢呢"),
    # 「X的呢」 of a reply, a part of the listing or an attribute, and a word jieba only guessed
    ("10月有多少篇关于罢工的报道？", "好的呢"),
    ("10月有多少篇关于罢工的报道？", "剩下的呢？"),
    ("10月有多少篇关于罢工的报道？", "伤亡人数的呢？"),
    ("有哪些关于罢工的报道？", "那没有日期的呢？"),
    ("有多少篇关于华为的报道？", "那营收呢？"),
    ("10月有多少篇关于罢工的报道？", "拜拜呢"),
])
def test_not_every_question_after_a_collection_question_is_its_follow_up(before, question):
    from rag.collection.question_kinds import follow_up

    assert follow_up(classify(before, TODAY), question, TODAY) is None


@pytest.mark.parametrize(("question", "topic", "start"), [
    ("罢工的报道主要集中在哪几天？", "罢工", None),
    ("10月哪天关于罢工的报道最多？", "罢工", "2026-10-01"),
    ("哪天的新闻最多？", "", None),
    ("Which days had the most articles about floods?", "floods", None),
])
def test_counts_by_day(question, topic, start):
    k = classify(question, TODAY)
    assert (k.kind, k.by_day, k.by_month, k.topic) == ("count", True, False, topic)
    assert (k.dates.date_from if k.dates else None) == start
    assert classify("罢工是哪天开始的？", TODAY).by_day is False  # a date asked, not a count


@pytest.mark.parametrize("question", [
    "据报道，国庆期间哪天的客流量最多？",  # the most of something else, on a day
    "报道中提到的降雨集中在什么时候？",
    "According to the report, which day had the most rainfall?",
    "How many passengers per day were reported?",
    "Which store sold more items, Walmart or Target?",  # items, not articles
    "中国和美国谁发表的文章更多？",  # who published more papers
    "What did the first report say about climate?",  # the first report's content, not the oldest article
    "中美两国各有多少艘航母？",  # each of two countries, not each month
])
def test_news_words_in_a_fact_question_do_not_make_it_a_count_or_a_date(question):
    k = classify(question, TODAY)
    assert k.kind == "fact" and not k.by_day and not k.sides


def test_a_word_that_starts_with_and_keeps_it():
    from rag.collection.question_kinds import topic_of

    assert topic_of("和平协议相关的报道有几篇？").startswith("和平协议")  # 和平 is no "and 平"
    assert classify("和平与发展哪个的报道更多？", TODAY).sides == ("和平", "发展")


@pytest.mark.parametrize(("question", "dates", "topic"), [
    ("这个星期五发生了什么？", ("2023-08-18", "2023-08-18"), ""),  # that Friday, not the whole week
    ("上周五发生了什么？", ("2023-08-11", "2023-08-11"), ""),
    ("这周一有什么报道？", ("2023-08-14", "2023-08-14"), ""),
    ("本周三关于台风的报道有哪些？", ("2023-08-16", "2023-08-16"), "台风"),
    ("上周末有哪些关于暴雨的报道？", ("2023-08-12", "2023-08-13"), "暴雨"),
    ("上个星期天有什么新闻", ("2023-08-13", "2023-08-13"), ""),
    ("What happened last Friday?", ("2023-08-18", "2023-08-18"), ""),
    ("Any news from last weekend?", ("2023-08-12", "2023-08-13"), ""),
    ("上周一共有多少篇报道？", ("2023-08-07", "2023-08-13"), ""),  # 上周 + 一共, not Monday
])
def test_a_day_of_last_week_or_this_one(question, dates, topic):
    """Relative to the archive's newest day (a Saturday here): a weekday of the week before
    or of this one, or its weekend; the day is the filter, not the topic."""
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert (k.dates.date_from, k.dates.date_to) == dates and k.topic == topic
    if dates[0] == dates[1]:
        assert k.dates.label == dates[0]  # one day is said once


@pytest.mark.parametrize(("question", "topic", "start"), [
    ("关于卡努台风，最早和最晚的报道分别是哪天？", "卡努台风", None),
    ("关于卡努的第一篇和最后一篇报道是哪天？", "卡努", None),
    ("8月关于地震的报道，最早的和最新的分别是哪篇？", "地震", "2023-08-01"),
    ("When were the first and last reports on Khanun published?", "Khanun", None),
])
def test_the_first_and_the_last_report_on_a_topic(question, topic, start):
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert (k.kind, k.order, k.topic) == ("date", "both", topic) and not k.sides
    assert (k.dates.date_from if k.dates else None) == start


@pytest.mark.parametrize(("question", "topic", "dates"), [
    ("What did the archive say about Evergrande in August?", "Evergrande", ("2023-08-01", "2023-08-31")),
    ("8月份关于暑期旅游的报道有哪些？", "旅游", ("2023-08-01", "2023-08-31")),  # the month, not the summer
    ("暑期有哪些关于旅游的报道？", "旅游", ("2023-07-01", "2023-08-31")),
    ("最近关于房地产的新闻多吗？", "房地产", ("2023-08-13", "2023-08-19")),
    ("最近一个月关于地震的报道有几篇，分别在哪些地方？", "地震", ("2023-07-21", "2023-08-19")),
])
def test_more_of_a_users_wordings_of_a_topic_in_dates(question, topic, dates):
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert k.kind in ("date", "count") and k.topic == topic
    assert (k.dates.date_from, k.dates.date_to) == dates


@pytest.mark.parametrize(("before", "question", "expected"), [
    ("关于大运会的报道有多少篇？", "最早的一篇是什么时候？", ("date", "大运会", "oldest", None)),
    ("8月有哪些关于台风的报道？", "最新的一篇是哪篇？", ("date", "台风", "newest", "2023-08-01")),
    ("Which articles covered the Universiade in August?", "Which one is the newest?",
     ("date", "Universiade", "newest", "2023-08-01")),
    ("7月有哪些关于人工智能的报道？", "How many of them are from late July?", ("count", "人工智能", "", "2023-07-21")),
])
def test_a_question_about_the_articles_just_listed_is_asked_of_them(before, question, expected):
    """Without 「其中」: the earliest one, the newest one, how many of them: of the articles the
    question before listed (its topic, within its dates)."""
    import datetime as dt

    from rag.collection.question_kinds import follow_up, looks_like_follow_up

    today = dt.date(2023, 8, 19)
    assert looks_like_follow_up(question)
    k = follow_up(classify(before, today), question, today)
    assert (k.kind, k.topic, k.order, k.dates.date_from if k.dates else None) == expected


def test_the_earliest_one_after_a_fact_question_is_its_own_question():
    import datetime as dt

    from rag.collection.question_kinds import follow_up

    today = dt.date(2023, 8, 19)
    assert follow_up(classify("台风卡努是今年第几号台风？", today), "最早的一篇报道是哪天？", today) is None
    assert classify("最早的一篇报道是哪天？", today).order == "oldest"  # of the whole archive


@pytest.mark.parametrize(("question", "kind", "topic"), [
    ("各个月份关于台风的报道分别有多少篇？", "count", "台风"),  # not "份 台风"
    ("8月份最热门的话题有哪些？", "overview", ""),  # what the month was about, not a fact
    ("上周最热门的新闻是什么？", "overview", ""),
])
def test_months_and_hot_topics_in_a_users_words(question, kind, topic):
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert (k.kind, k.topic) == (kind, topic)


@pytest.mark.parametrize(("question", "topic"), [
    ("哪一周关于台风的报道最多？", "台风"),
    ("关于暴雨的报道在哪一周最多？", "暴雨"),
    ("每周各有多少篇关于地震的报道？", "地震"),
    ("Which week had the most articles about floods?", "floods"),
    ("How many articles about the typhoon were published each week?", "typhoon"),
    ("哪一周的新闻最多？", ""),
])
def test_counts_by_week(question, topic):
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert (k.kind, k.by_week, k.by_day, k.by_month, k.topic) == ("count", True, False, False, topic)
    assert not classify("上周有几篇关于台风的报道？", dt.date(2023, 8, 19)).by_week  # one week, counted


@pytest.mark.parametrize(("question", "topic", "periods"), [
    ("8月上旬和8月中旬，哪段时间关于暴雨的报道更多？", "暴雨", (("2023-08-01", "2023-08-10"), ("2023-08-11", "2023-08-20"))),
    ("7月下旬和8月上旬相比，哪个时间段关于洪水的报道多？", "洪水", (("2023-07-21", "2023-07-31"), ("2023-08-01", "2023-08-10"))),
    ("8月上旬和中旬哪段时间的新闻更多？", "", (("2023-08-01", "2023-08-10"), ("2023-08-11", "2023-08-20"))),
    # each period counted; 比 of 比亚迪 is no joiner between them
    ("8月上旬和8月中旬，关于比亚迪的报道分别有多少篇？", "比亚迪", (("2023-08-01", "2023-08-10"), ("2023-08-11", "2023-08-20"))),
    ("Were there more articles about floods in early August or in mid August?", "floods",
     (("2023-08-01", "2023-08-10"), ("2023-08-11", "2023-08-20"))),
])
def test_which_of_two_periods_has_more_articles(question, topic, periods):
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert (k.kind, k.topic, not k.sides) == ("count", topic, True)
    assert tuple((p.date_from, p.date_to) for p in k.periods) == periods
    # two months are counted by month; two topics by topic
    assert classify("7月和8月哪个月关于暴雨的报道多？", dt.date(2023, 8, 19)).by_month
    assert classify("北京和河北哪个地方的暴雨报道更多？", dt.date(2023, 8, 19)).periods == ()


@pytest.mark.parametrize(("question", "topic", "dates"), [
    ("上周日本有什么新闻？", "日本", ("2023-08-07", "2023-08-13")),  # 日本, not Sunday
    ("上周四川暴雨的报道有哪些？", "四川暴雨", ("2023-08-07", "2023-08-13")),
    ("本周三星发布了哪些新闻？", "三星", ("2023-08-14", "2023-08-19")),
    ("上周一带一路的报道", "一带一路", ("2023-08-07", "2023-08-13")),
    ("这周日本的新闻", "日本", ("2023-08-14", "2023-08-19")),
    ("这周一共有多少篇报道？", "", ("2023-08-14", "2023-08-19")),
])
def test_a_word_that_starts_with_a_weekday_character_is_a_word(question, topic, dates):
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert (k.topic, (k.dates.date_from, k.dates.date_to)) == (topic, dates)


@pytest.mark.parametrize("question", [
    "What were the first and last words of the report?",
    "Who was the first and last person to walk on the moon according to the article?",
    "How did the archive respond to the flood in July?",  # an archive as an institution
    "会议在上周五举行吗？",
    "上周五的会议讨论了什么？",
])
def test_fact_questions_with_first_and_last_an_archive_or_a_weekday_stay_facts(question):
    import datetime as dt

    assert classify(question, dt.date(2023, 8, 19)).kind == "fact"


def test_what_happened_in_the_archive_last_week_lists_the_week():
    import datetime as dt

    k = classify("What happened in the archive last week?", dt.date(2023, 8, 19))
    assert (k.kind, k.topic, k.dates.date_from) == ("date", "", "2023-08-07")


@pytest.mark.parametrize("question", [
    "最新的一篇关于地震的报道是什么时候？",  # its own topic
    "What article is the latest about the typhoon?",
    "第一是哪个队？",  # facts
    "最早是哪一年建成的？",
    "Which of these countries won the most medals?",
    "How many of them won gold?",
])
def test_questions_that_only_look_like_asking_of_the_listing_are_their_own(question):
    import datetime as dt

    from rag.collection.question_kinds import follow_up

    today = dt.date(2023, 8, 19)
    assert follow_up(classify("8月有哪些关于大运会的报道？", today), question, today) is None


def test_a_count_of_mentions_is_asked_with_a_verb_of_mentioning():
    import datetime as dt

    today = dt.date(2023, 8, 19)
    assert classify("8月份有几篇报道提到了华为？", today).mentions
    assert classify("How many reports mentioned Tesla in July?", today).mentions
    assert classify("卢旺达在几篇文章里出现过？", today).mentions
    assert not classify("8月出现了多少篇关于台风的报道？", today).mentions  # reports on it that appeared
    assert not classify("8月有多少篇关于华为的报道？", today).mentions


def test_of_a_listing_its_part_of_the_month_and_another_month():
    """「其中中旬的有几篇？」 after an August listing: August 11-20, picked from the articles that
    listing named (judged in August); 「其中7月的呢？」: July, the same question asked of it."""
    import datetime as dt

    from rag.collection.question_kinds import follow_up

    today = dt.date(2023, 8, 19)
    august = classify("8月有哪些关于台风的报道？", today)
    part = follow_up(august, "其中中旬的有几篇？", today)
    assert (part.kind, part.topic, part.dates.date_from, part.dates.date_to) == ("count", "台风", "2023-08-11", "2023-08-20")
    assert (part.judged_in.date_from, part.judged_in.date_to) == ("2023-08-01", "2023-08-31")
    july = follow_up(august, "其中7月的呢？", today)
    assert (july.kind, july.topic, july.dates.date_from, july.judged_in) == ("date", "台风", "2023-07-01", None)
    late = follow_up(classify("7月有哪些关于人工智能的报道？", today), "How many of them are from late July?", today)
    assert late.judged_in.date_from == "2023-07-01" and late.dates.date_from == "2023-07-21"


@pytest.mark.parametrize(("question", "dates"), [
    ("Any reports on floods since August 10?", ("2023-08-10", None)),
    ("What was published before August 3?", (None, "2023-08-02")),
    ("Articles until August 5 about the typhoon", (None, "2023-08-05")),
    ("Show me the news from August 8.", ("2023-08-08", "2023-08-08")),
])
def test_one_english_day_with_since_or_before(question, dates):
    import datetime as dt

    k = classify(question, dt.date(2023, 8, 19))
    assert (k.dates.date_from, k.dates.date_to) == dates
