"""The real Gradio app on a free loopback port, driven through gradio_client."""

import concurrent.futures

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(ui_server):
    return ui_server


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def last_reply(turns) -> str:
    """`/chat` returns the session's turns as data (like `/ask`); the last one as the clean text
    the page copies and exports: the answer, then its sources with their quotes."""
    from rag.types import Answer, Citation
    from ui.render import answer_text

    turn = turns[-1]
    assert set(turn) >= {"id", "question", "text", "citations", "abstained", "note"}
    answer = Answer(turn["text"], tuple(Citation(**c) for c in turn["citations"]), turn["abstained"],
                    turn["question"])
    return answer_text(answer) + ("\n" + turn["note"] if turn["note"] else "")


def test_answer_with_citation_then_follow_up_in_the_same_session(server):
    c = client(server)
    first = last_reply(c.predict("Anthropic向哪个组织捐赠了2000万美元？", api_name="/chat"))
    assert "Public First Action" in first and "[1]" in first
    assert "来源 Sources" in first and "https://www.anthropic.com/news/donate-public-first-action" in first
    assert "「为此，Anthropic向Public First Action捐赠2000万美元。」" in first
    follow = last_reply(c.predict("这个组织是由谁创立的？", api_name="/chat"))
    assert "共和党和民主党战略家" in follow
    c.predict("卢旺达政府与Anthropic签署了什么协议？", api_name="/chat")
    assert "三年" in last_reply(c.predict("为期几年？", api_name="/chat"))
    # another client (another browser session) has its own, empty history
    other = last_reply(client(server).predict("为期几年？", api_name="/chat"))
    assert "三年" not in other and "资料中没有找到相关信息" in other


def test_article_and_date_filters_reach_retrieval(server):
    c = client(server)
    question = "Anthropic向哪个组织捐赠了2000万美元？"
    only_rwanda = last_reply(c.predict(question, ["002_f48170bfe59e2718.txt"], "", "", api_name="/chat"))
    assert "donate-public-first-action" not in only_rwanda
    january = last_reply(client(server).predict(question, [], "2026-01-01", "2026-01-31", api_name="/chat"))
    assert "donate-public-first-action" not in january
    assert "不加筛选时资料中有相关内容" in january  # the filters caused the abstention, and it says so
    unfiltered = last_reply(client(server).predict(question, [], "", "", api_name="/chat"))
    assert "donate-public-first-action" in unfiltered


def test_abstention_shows_no_sources(server):
    reply = last_reply(client(server).predict("Anthropic和日本政府有合作吗？", api_name="/chat"))
    assert "资料中没有找到相关信息" in reply and "来源" not in reply


def test_stateless_ask_endpoint_returns_json(server):
    data = client(server).predict(
        "这个组织是由谁创立的？",
        [{"role": "user", "content": "Anthropic向哪个组织捐赠了2000万美元？"}],
        api_name="/ask",
    )
    assert data["abstained"] is False and "共和党" in data["text"]
    assert data["citations"][0]["source"] == "003_f37bc0b3fb1d0fae.txt"


def test_overlong_and_empty_questions_get_a_message(server):
    from gradio_client.exceptions import AppError

    c = client(server)
    with pytest.raises(AppError, match="^问题有 3000 个字.*limit is 2000"):
        c.predict("问" * 3000, api_name="/chat")
    with pytest.raises(AppError, match="empty"):
        c.predict("   ", api_name="/chat")
    with pytest.raises(AppError, match="^起始日期.*From date must look like 2026-01-31"):
        c.predict("问题", [], "last week", "", api_name="/chat")
    with pytest.raises(AppError, match="^起始日期 2026-03-01 晚于截止日期"):
        c.predict("问题", [], "2026-03-01", "2026-01-01", api_name="/chat")


def test_html_in_questions_is_kept_as_data_and_shown_escaped(server):
    from ui.render import question_html

    question = "<img src=x onerror=alert(1)>GOV.UK的AI助手聚焦哪个领域？"
    turns = client(server).predict(question, api_name="/chat")
    assert turns[-1]["question"] == question  # the API returns data; the page escapes it
    shown = question_html(turns[-1]["question"], 0)
    assert "<img" not in shown and "&#60;img" in shown


def test_twenty_concurrent_sessions_all_get_correct_answers(server):
    cases = [
        ("Anthropic向哪个组织捐赠了2000万美元？", "Public First Action"),
        ("卢旺达的教育工作者将获得多少个Claude Pro许可证？", "2000"),
        ("GOV.UK的AI助手首个应用场景聚焦哪个领域？", "就业"),
        ("Anthropic的首席科学官是谁？", "Jared Kaplan"),
        ("卢旺达ICT与创新部长是谁？", "Paula Ingabire"),
    ] * 4

    def run(case):
        question, expected = case
        return expected in last_reply(client(server).predict(question, api_name="/chat"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(run, cases, timeout=300))
    assert len(results) == 20 and all(results)


def status_of(server: str, path: str) -> tuple[int, bytes]:
    """GET without following redirects (an open redirect must show as a 3xx, not vanish)."""
    import http.client
    from urllib.parse import urlparse

    u = urlparse(server)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/" + path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


@pytest.mark.parametrize("path", [
    "/etc/passwd", "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd", "/ETC/PASSWD", "/Etc/Passwd", "%2e%2e/%2e%2e/etc/passwd", "....//....//etc/passwd",
    "data/lexical/meta.json", "corpus/000_8378715d027410b1.txt",
    "http://127.0.0.1:1/secret", "https://example.com/x.png", "//example.com/x",
])
def test_file_route_refuses_paths_outside_the_app(server, path):
    for prefix in ("gradio_api/file=", "file=", "gradio_api/file/"):
        status, body = status_of(server, prefix + path)
        assert b"root:" not in body and b"embedding_model" not in body, (prefix + path, status)
        assert 400 <= status < 500, (prefix + path, status)  # refused: no file, no redirect


def test_proxy_route_does_not_fetch_arbitrary_urls(server):
    for path in ("gradio_api/proxy=http://169.254.169.254/latest/meta-data/",
                 "proxy=http://127.0.0.1:1/", "gradio_api/proxy=https://example.com/"):
        status, _ = status_of(server, path)
        assert 400 <= status < 500, (path, status)
