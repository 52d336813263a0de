"""Each question kind once through the real Gradio app (gradio_client), with the real model
and index: the answer, its markers, and sources that say which front-matter field a quote is from."""

import pytest

from tests.test_ui import client, last_reply

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("question, expected", [
    ("这些文章主要讲了什么？", ["资料中共有4篇文章", "（日期不详）", "摘要 summary: 「人工智能公司Anthropic宣布"]),
    ("一共有几篇文章？", ["资料中共有4篇文章", "标题 title: 「Anthropic与英国政府合作"]),
    ("Anthropic最新发布的是哪篇文章？", ["最新发布的是《Anthropic捐赠2000万美元支持AI政策倡导组织》[1]",
                                     "日期 date: 「2026-02-12」", "无法判断先后"]),
    ("哪篇文章提到了Jared Kaplan？", ["提到Jared Kaplan的是这篇", "genesis-mission-partnership"]),
    ("Anthropic最近和哪些政府合作？", ["每篇一项", "gov-UK-partnership", "anthropic-rwanda-mou",
                                    "genesis-mission-partnership"]),
    ("比较Anthropic与英国和卢旺达的合作有何不同", ["【英国】", "【卢旺达】", "就业"]),
    ("把这几篇按发布时间从早到晚排一下", ["按发布日期从早到晚", "1. 2025-12-18", "3. 2026-02-12", "无法排入先后顺序",
                                     "日期 date: 「2025-12-18」"]),
    ("Compare the donation with the Genesis Mission.", ["【donation】", "【Genesis Mission】",
                                                        "donate-public-first-action", "genesis-mission-partnership"]),
])
def test_each_kind_through_the_chat(ui_server, question, expected):
    reply = last_reply(client(ui_server).predict(question, api_name="/chat"))
    assert "[1]" in reply and "来源 Sources" in reply
    for piece in expected:
        assert piece in reply, (piece, reply)


def test_ask_endpoint_returns_fields_and_kind(ui_server):
    data = client(ui_server).predict("Anthropic最新发布的是哪篇文章？", [], api_name="/ask")
    assert data["kind"] == "date" and not data["abstained"]
    assert [c["field"] for c in data["citations"][:2]] == ["title", "date"]
    assert data["citations"][1]["quote"] == "2026-02-12"


def test_ui_date_filter_narrows_a_collection_question(ui_server):
    reply = last_reply(client(ui_server).predict("这些文章主要讲了什么？", [], "2026-01-01", "", api_name="/chat"))
    assert "资料中共有2篇文章" in reply and "卢旺达" not in reply.split("来源 Sources")[0]


@pytest.mark.parametrize(("title", "subject"), [
    ("Anthropic与英国政府合作，为GOV.UK引入AI助手", True),
    ("河南一老人将男婴放在路边后离开", True),
    ("致敬医者情怀", True),
    ("四川", False),  # too short to name an article
    ("8月18日基金净值", False),  # a date
    ("新京报讯\u00a0据中国驻欧盟使团官微消息", False),  # a dateline
    ("张某某（报案人丈夫", False),  # a parenthesis the title cut left open
    ("上海外高桥港区海通国际汽车码头刚刚送走“图兰朵”号外贸滚装轮", False),  # a lead, not a title
])
def test_an_example_question_names_an_articles_subject(title, subject):
    from ui.chat import _topic, names_a_subject

    assert names_a_subject(_topic(title)) is subject
