"""Page code an exported article kept in its text (style rules, scripts) is never quoted as
an answer: rag.answering.extractive.PAGE_CODE and page_code_spans."""

import pytest

from rag.answering.extractive import candidate_sentences, is_page_code
from rag.types import Chunk, Hit


@pytest.mark.parametrize("text", [
    ".imgisgif{display:inline-block;", "p { margin: 0 }", "$(function(){ function isMobile(){",
    '$(".img_insert").css("display","block")', "var mobile = isMobile();", "} else if(u.indexOf('ipod') !",
    "navigator.userAgent.toLowerCase();", "background-color:#00a2ff;", "border: 1px solid #ccc;", "z-index: 10",
    ',"items":[{"video_id":13887940,"video_source":"material","id":13887940,"url":"http:\\/\\/mp4.v.example.com',
])
def test_code_is_page_code(text):
    assert is_page_code(text)


@pytest.mark.parametrize("text", [
    "为此，Anthropic向Public First Action捐赠2000万美元。", "公式为{x|x>0}，函数f(x)的定义域。",
    'JSON格式如 {"name": "Claude"} 所示。', "var是JavaScript的关键字。", "比分：3:1", "颜色：红色；",
    "color: the new iPhone comes in five colors;", "If (and only if) the bill passes, it will take effect.",
    "GOV.UK(政府网站)上线了AI助手。", "C++中const int x = 5;表示常量",
    '他说:"我们会赢"，又说:"明天见"。', '字段"title": 标题，字段"date": 日期，两者都必填。',
])
def test_prose_is_not(text):
    assert not is_page_code(text)


def test_no_sentence_of_a_code_stretch_is_a_candidate():
    body = ("8月10日，在辽宁的一趟列车上，一名男子向女生索要微信被拒。"
            ".imgisgif{display:inline-block;position:relative;cursor:pointer;text-indent:0;}"
            ".imgisgif img{vertical-align:top;padding:0!important;border-radius:2px;}"
            "乘警随后赶到，双方被带离车厢。")
    chunk = Chunk("c0", "a.md", 0, body, 0, len(body), (), "t", None, None, "h", 1)
    texts = [s.text for s in candidate_sentences([Hit(chunk, 1.0)])]
    assert texts[0].startswith("8月10日") and any(t.startswith("乘警") for t in texts)
    assert not any(w in t for t in texts for w in ("important", "display", "radius", "{", "}")), texts


def test_no_sentence_of_embedded_json_is_a_candidate():
    body = ('视频加载中。,"items":[{"video_id":13887940,"video_source":"material","id":13887940,'
            '"url":"http:\\/\\/mp4.v.example.com\\/vod\\/1.mp4","imgurl":"https:\\/\\/p1.example.com\\/t1.png?'
            '7月26日，泉州召开防御台风新闻通气会。')
    chunk = Chunk("c0", "a.md", 0, body, 0, len(body), (), "t", None, None, "h", 1)
    texts = [s.text for s in candidate_sentences([Hit(chunk, 1.0)])]
    assert any(t.startswith("7月26日") for t in texts), texts
    assert not any(w in t for t in texts for w in ("video_id", "imgurl", "items")), texts
