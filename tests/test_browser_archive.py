"""A user's archive in a real browser (issue 25): the generated archive of tests/test_archive.py
(98 articles, hashing fake embedder, real Chroma, the real Gradio app) in headless Chromium:
the welcome summarises its topics instead of listing it, the knowledge base is searched and
paged, a ticked article stays ticked across searches and filters the answer, an example
question made from the archive is answered, and the topic overview shows with citations.
`python -m evals.ui_archive` measures the same page at 10,000 articles."""

from __future__ import annotations

import pytest

from rag.config import config_from_dict
from tests.conftest import free_port
from tests.fakes import HashEmbedder
from tests.test_archive import ARTICLES, _write
from tests.test_browser import (  # noqa: F401  (browser: the same headless Chromium fixture)
    DESKTOP,
    ask,
    browser,
    last_answer,
    no_error_badges,
    open_page,
    shot,
    shows,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def archive_server(tmp_path_factory):
    from rag.pipeline import build_pipeline, ingest
    from ui.app import build_app
    from ui.server import launch

    root = tmp_path_factory.mktemp("archive-ui")
    _write(root / "news", ARTICLES)
    cfg = config_from_dict({"corpus": {"path": str(root / "news")}, "data_dir": str(root / "data")})
    embedder = HashEmbedder()
    ingest(cfg, embedder=embedder, progress=False)
    app = build_app(build_pipeline(cfg, embedder=embedder), cfg)
    port = free_port()
    launch(app, cfg, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_the_archive_page_summarises_searches_pages_and_answers(browser, archive_server):  # noqa: F811
    page = open_page(browser, archive_server, DESKTOP)
    welcome = page.locator("#chatbot .welcome").inner_text()
    assert "98 篇文章" in welcome and "主要话题" in welcome and "《" not in welcome
    # the knowledge base: one page of 20, newest first, and a pager
    kb = page.locator("#kb label")
    assert kb.count() == 20
    assert "共 98 篇 articles · 第 1/5 页" in page.locator("#kb-info").inner_text()
    page.locator("#kb-next").click()
    shows(page, "#kb-info", "第 2/5 页")
    # search by a word of the title: the five earthquake reports
    page.locator("#kb-search textarea, #kb-search input").first.fill("地震")
    shows(page, "#kb-info", "5 篇匹配")
    assert kb.count() == 5 and all("地震" in t for t in kb.all_inner_texts())
    kb.first.click()  # tick one: it filters the answers and stays listed (and ticked) across searches
    shows(page, "#chip-articles", "只看")
    page.locator("#kb-search textarea, #kb-search input").first.fill("")
    shows(page, "#kb-info", "共 98 篇")
    assert page.locator("#kb input:checked").count() == 1 and "地震" in kb.first.inner_text()
    page.locator("#chip-clear").click()
    page.wait_for_function("() => document.querySelectorAll('#kb input:checked').length === 0", timeout=10_000)
    shot(page, "archive-kb.png")
    # an example question made from the archive (not a fixed list), answered with sources
    examples = page.locator("#chatbot .example, #chatbot button.example").all_inner_texts()
    assert "最近有哪些新闻？" in " ".join(examples), examples
    page.get_by_text("最近有哪些新闻？").first.click()
    page.wait_for_function("() => !!document.querySelector('#chatbot .bot') && !window.ragBusy", timeout=60_000)
    shows(page, "#chatbot", "2023-08-19")
    # the topic overview: groups with counts, each with a cited example
    ask(page, "这些文章主要讲了什么？")
    text = last_answer(page).inner_text()
    assert "按内容可分为3类" in text and "篇）" in text
    no_error_badges(page)
    shot(page, "archive-overview.png")
    # a conversation: the follow-ups ask the same of July, then of another topic
    ask(page, "8月有多少篇关于地震的报道？")
    assert "2023-08-01 至 2023-08-31关于地震的文章有5篇" in last_answer(page).inner_text()
    ask(page, "那7月呢？")
    assert "2023-07-01 至 2023-07-31关于地震的文章有0篇" in last_answer(page).inner_text()
    ask(page, "关于股市的呢？")
    assert "2023-07-01 至 2023-07-31关于股市的文章有7篇" in last_answer(page).inner_text()
    no_error_badges(page)
    shot(page, "archive-follow-up.png")
