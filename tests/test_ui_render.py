"""The chat's HTML and clean text (ui/render.py) and its logic without Gradio (ui/chat.py):
fast, no model, no server. The browser tests (test_browser.py) check what a reader sees."""

import json
import re

import pytest

from rag.errors import QuestionError, StoreUnavailableError
from rag.types import Answer, ArticleRecord, Citation
from ui.chat import (
    NO_MATCH,
    Conversations,
    FeedbackLog,
    Filters,
    date_problem,
    describe_filters,
    kb_choices,
    kb_page,
    range_problem,
    resolve_filters,
    user_message,
    welcome_html,
)
from ui.render import (
    Passage,
    answer_html,
    answer_text,
    conversation_markdown,
    group_sources,
    markdown_html,
    question_html,
    renumber,
)

BODY = ("## 合作背景\n\n在此背景下，我们需要完善的政策。**教育资源投入**：为此，Anthropic向"
        "Public First Action捐赠2000万美元。这是一个新的跨党派501(c)(4)组织。\n\n"
        "* 列表一\n* [链接](https://example.com/x) ![图](http://evil.example/a.png)")


def cite(marker, source, quote, start=None, field="body", chunk="c1", title="标题", date="2026-02-12"):
    start = BODY.index(quote) if start is None else start
    return Citation(marker, source, title, "https://example.com/a", date, quote, chunk, start,
                    start + len(quote), field)


def passages(c):
    return Passage(BODY, 0, ("合作背景",)) if c.field == "body" else Passage("摘要第一句。摘要第二句。")


def plain(html_text: str) -> str:
    """The text a browser would show (entities decoded, tags dropped)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def test_passage_markdown_is_rendered_safely_with_the_quote_marked():
    quote = "为此，Anthropic向Public First Action捐赠2000万美元。"
    out = markdown_html(BODY, (BODY.index(quote), BODY.index(quote) + len(quote)))
    assert "<strong>教育资源投入</strong>" in out and "<li>" in out and "<h2>" in out
    assert "<a " not in out and "<img" not in out and "](" not in out  # link and image as text
    assert 'class="doc-link"' in out and "[图片 image: 图]" in plain(out)
    marked = "".join(re.findall(r'<mark class="hl">(.*?)</mark>', out))
    assert plain(marked) == quote  # exactly the cited span
    assert "501(c)(4)" in plain(out) and "\n" not in out


def test_a_mark_across_bold_stays_well_formed():
    start = BODY.index("**教育")
    end = BODY.index("为此")
    out = markdown_html(BODY, (start, end))
    assert out.count("<mark") == out.count("</mark>") == 2
    assert plain("".join(re.findall(r'<mark class="hl">(.*?)</mark>', out))) == "教育资源投入："
    assert re.search(r"<strong><mark[^>]*>教育资源投入</mark></strong>", out)


def test_raw_html_and_private_characters_in_documents_are_inert():
    out = markdown_html("<script>alert(1)</script><img src=x onerror=alert(1)> a\ue002 0\ue003 b")
    assert "<script" not in out and "<img" not in out and "&lt;script&gt;" in out
    assert "\ue002" not in out and "\ue003" not in out


def test_sources_grouped_one_number_per_article_and_markers_follow():
    q1, q2 = "为此，Anthropic向Public First Action捐赠2000万美元。", "这是一个新的跨党派501(c)(4)组织。"
    citations = (cite(1, "a.md", q1), cite(2, "b.md", "在此背景下，我们需要完善的政策。", title="乙"),
                 cite(3, "a.md", q2))
    answer = Answer(f"{q1}[1]另一句。[2]{q2}[3]", citations, False, "问题")
    groups = group_sources(citations)
    assert [(g.number, g.source, [i for i, _ in g.items]) for g in groups] == [(1, "a.md", [0, 2]),
                                                                               (2, "b.md", [1])]
    assert renumber(answer.text, citations).endswith("另一句。[2]这是一个新的跨党派501(c)(4)组织。[1]")
    html_out = answer_html(answer, 3, passages)
    chips = re.findall(r'<a class="cite" href="#ev-3-(\d)"[^>]*>(\d)</a>', html_out)
    assert chips == [("0", "1"), ("1", "2"), ("2", "1")]  # each chip opens its own citation
    assert html_out.count('class="src" ') == 2  # one source per article
    previews = re.findall(r'<span class="cite-pop" hidden>(.*?)</span></sup>', html_out)
    assert q2.replace("(", "&#40;").replace(")", "&#41;") in previews[2] and "[1] 标题" in previews[2]
    evidence = re.search(r'id="evsrc-3-2" hidden>(.*?)</div></div>(?=<div class="ev-src"|</div>$)', html_out)
    assert plain("".join(re.findall(r'<mark class="hl">(.*?)</mark>', evidence.group(1)))) == q2


def test_front_matter_citation_shows_its_field_and_marks_the_quote():
    c = Citation(1, "a.md", "标题", None, None, "摘要第二句。", "", 300, 306, "summary")
    out = answer_html(Answer("摘要第二句。[1]", (c,), False, "q"), 0, passages)
    assert "摘要 summary" in out and "日期不详" in out
    assert re.search(r'<mark class="hl">摘要第二句。</mark>', out)


def test_abstention_has_no_sources_and_says_the_note():
    out = answer_html(Answer("资料中没有找到相关信息。", (), True, "q"), 1, None, note="筛选 filters <b>")
    assert "来源" not in out and "筛选 filters &#60;b&#62;" in out


def test_clean_text_and_export_are_not_escaped_but_inert():
    quote = "这是一个新的跨党派501(c)(4)组织。"
    answer = Answer(f"{quote}[1]", (cite(1, "a.md", quote),), False, "日期 2026-02-12 <img src=x>")
    text = answer_text(answer)
    assert text.startswith(f"{quote}[1]") and "「这是一个新的跨党派501(c)(4)组织。」" in text
    assert "\\" not in text and "&#" not in text and "<br>" not in text
    from ui.chat import Turn

    doc = conversation_markdown([Turn("t1", answer)], "2026-03-05")
    assert "2026-02-12" in doc and "501(c)(4)" in doc and "\\(" not in doc
    assert "\\<img" in doc and "<img" not in doc.replace("\\<img", "")  # a viewer shows it as text


def test_question_is_escaped():
    out = question_html("<img src=x onerror=alert(1)>问", 2)
    assert "<img" not in out and 'id="q-2"' in out


# -- ui/chat.py -------------------------------------------------------------------------------

def record(aid, date, title="T", summary="摘要。"):
    return ArticleRecord(aid, title, None, date, None, (), (), summary, "front_matter", (), None, None, "h")


CATALOG = [record("a", "2026-01-27"), record("b", "2025-12-18"), record("c", None, "卢旺达")]


@pytest.mark.parametrize("value, ok", [("", True), ("2026-01-31", True), ("2026-02-30", False),
                                       ("last week", False), ("2026/01/31", False)])
def test_date_fields_are_checked_with_a_bilingual_line(value, ok):
    problem = date_problem(value, "from")
    assert (problem == "") == ok
    if not ok:
        assert problem.startswith("起始日期") and "From date" in problem and "date_from" not in problem


def test_reversed_range_and_filters_that_admit_nothing_are_refused():
    assert "晚于" in range_problem("2026-03-01", "2026-01-01") and range_problem("2026-01-01", "2026-03-01") == ""
    with pytest.raises(QuestionError, match="after the To date"):
        resolve_filters(Filters.of([], "2026-03-01", "2026-01-01"), CATALOG)
    with pytest.raises(QuestionError) as err:
        resolve_filters(Filters.of(["c"], "2026-01-01", ""), CATALOG)  # only an undated article
    assert str(err.value) == NO_MATCH


def test_undated_articles_are_an_explicit_choice_with_a_date_range():
    without = resolve_filters(Filters.of([], "2026-01-01", ""), CATALOG)
    assert without.admits("a", "2026-01-27") and not without.admits("c", None)
    with_undated = resolve_filters(Filters.of([], "2026-01-01", "", True), CATALOG)
    assert with_undated.article_ids == frozenset({"a", "c"}) and with_undated.admits("c", None)
    assert resolve_filters(Filters.of([], "", ""), CATALOG) is None
    _, dates = describe_filters(Filters.of([], "2026-01-01", "", True), {})
    assert "含日期不详" in dates and "不含" not in dates


def test_user_messages_are_one_line_chinese_first():
    long = user_message(QuestionError("the question is 5000 characters long; the limit is 2000"))
    assert long.startswith("问题有 5000 个字") and long.endswith("the limit is 2000.") and "\n" not in long
    assert user_message(QuestionError("the question is empty")).startswith("请先输入问题。")
    store = user_message(StoreUnavailableError("cannot reach the Chroma server at x:1"))
    assert store.startswith("暂时连不上") and "cannot reach the Chroma server" in store


def test_knowledge_base_and_welcome_list_every_article():
    labels = [label for label, _ in kb_choices(CATALOG)]
    assert len(labels) == 3 and labels[2].startswith("卢旺达\n日期不详 · ")
    welcome = welcome_html(CATALOG)
    assert "3 篇文章" in welcome and "2025-12-18 至 2026-01-27" in welcome and "1 篇日期不详" in welcome


def test_the_knowledge_base_of_an_archive_is_searched_and_paged_with_ticked_articles_first():
    archive = [record(f"n{i:04d}", f"2023-{7 + i // 3000:02d}-{1 + i % 28:02d}",
                      f"{'台风' if i % 100 == 0 else '股市'}新闻{i}", "摘要。") for i in range(6000)]
    first = kb_page(archive, "", "", "", [], 1)
    assert len(first.choices) == 20 and first.pages == 300 and first.info(6000) == "共 6000 篇 articles · 第 1/300 页 page"
    assert first.choices[0][1] == "n3023"  # newest first (2023-08-28), ties by id
    typhoon = kb_page(archive, "台风", "", "", [], 1)
    assert typhoon.matching == 60 and typhoon.pages == 3 and all("台风" in label for label, _ in typhoon.choices)
    dated = kb_page(archive, "台风", "2023-08-01", "2023-08-10", [], 1)
    assert dated.matching and all("2023-08-01" <= label.split("\n")[1][:10] <= "2023-08-10" for label, _ in dated.choices)
    ticked = kb_page(archive, "台风", "", "", ["n0001", "nope"], 9)  # past the last page: the last
    assert ticked.page == 3 and ticked.choices[0][1] == "n0001" and len(ticked.choices) == 21
    assert kb_page(archive, "没有这个词", "", "", [], 1).info(6000).startswith("没有匹配的文章")
    assert kb_page(archive, "台风", "2023-13-01", "", [], 1).matching == 60  # a bad date is ignored here


def test_the_welcome_of_an_archive_summarises_its_topics():
    from rag.index.topics import Topic

    topics = [Topic("台风、暴雨、防汛", ("台风", "暴雨", "防汛"), 1200, "a"), Topic("股市、基金", ("股市", "基金"), 900, "b")]
    welcome = welcome_html(CATALOG * 40, topics)
    assert "120 篇文章" in welcome and "台风、暴雨、防汛 <span class='kb-date'>1200 篇" in welcome
    assert "<li>T " not in welcome  # no article listed one by one


def test_votes_are_appended_and_the_last_line_of_an_answer_is_its_vote(tmp_path):
    from evals.feedback import read_feedback

    log = FeedbackLog(tmp_path / "feedback.jsonl", max_bytes=10_000)
    log.path.write_text("not json, written by hand\n", encoding="utf-8")
    log.append({"answer_id": "a1", "vote": "down", "question": "Q1"})
    log.append({"answer_id": "b2", "vote": "up", "question": "Q2"})
    before = log.path.read_bytes()
    log.append({"answer_id": "a1", "vote": "up", "question": "Q1"})
    assert log.path.read_bytes().startswith(before)  # appended, nothing rewritten
    assert log.path.read_text(encoding="utf-8").splitlines()[0] == "not json, written by hand"
    notes: list[str] = []
    assert [(r["answer_id"], r["vote"]) for r in read_feedback(log.path, notes.append)] == [("a1", "up"), ("b2", "up")]
    assert len(notes) == 1 and "line 1 skipped" in notes[0]
    log.append({"answer_id": "b2", "vote": None})  # withdrawn
    assert [r["answer_id"] for r in read_feedback(log.path, notes.append)] == ["a1"]


def test_the_feedback_log_is_rotated_past_its_size(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.jsonl", max_bytes=10_000)
    for i in range(100):
        log.append({"answer_id": f"a{i}", "vote": "down", "question": "问" * 300})
    assert log.rotated.exists() and log.path.stat().st_size <= 10_000 and log.rotated.stat().st_size <= 10_000
    last = json.loads(log.path.read_text(encoding="utf-8").splitlines()[-1])
    assert last["answer_id"] == "a99"


def test_a_tab_that_started_a_new_conversation_has_left_the_old_one():
    tabs = Conversations(limit=2)
    tabs.join("tab1", "c1")
    assert not tabs.left("tab1", "c1")
    tabs.join("tab1", "c9")  # a later question in the same tab does not move it
    assert not tabs.left("tab1", "c1")
    tabs.start("tab1", "c2")  # new conversation
    assert tabs.left("tab1", "c1") and not tabs.left("tab1", "c2")
    tabs.start("tab2", "x")
    tabs.start("tab3", "y")  # over the limit: tab1 is forgotten, its answers just finish
    assert not tabs.left("tab1", "c1")
