"""A real browser: headless Debian Chromium driven by Playwright (never a downloaded browser),
at a desktop (1280x900) and a phone (390x844) viewport. One browser and the session's one
server for the module; each test checks points of issue 14 by what a reader sees.

Screenshots go to reports/ui/ (git-ignored); time to first text and to the full answer are
printed and written to reports/ui/timings.json.
"""

import json
import os
import re
import time
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
SHOTS = PROJECT_ROOT / "reports" / "ui"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DONATION = "Anthropic向哪个组织捐赠了2000万美元？"
QUOTE_1 = "为此，Anthropic向Public First Action捐赠2000万美元。"
QUOTE_2 = "这是一个新的跨党派501(c)(4)组织，将致力于支持AI公众教育、推动安全防护，并确保美国引领AI竞赛。"
TITLES = ["Anthropic与英国政府合作，为GOV.UK引入AI助手", "Anthropic与美国能源部合作，以AI推动科学发现新纪元",
          "Anthropic与卢旺达达成三年期合作：推动AI在医疗、教育与公共领域的应用",
          "Anthropic捐赠2000万美元支持AI政策倡导组织"]

if not Path(CHROMIUM).exists():
    if os.environ.get("RAG_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  (after the skip: only with a browser)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def timings():
    found: dict[str, list[float]] = {}
    yield found
    if found:
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "timings.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
        for name, (first, full) in found.items():
            print(f"\nbrowser {name}: first text after {first * 1000:.0f} ms, full answer after {full * 1000:.0f} ms")


def open_page(browser, url: str, device: dict):
    context = browser.new_context(accept_downloads=True, **device)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url
            and not r.url.startswith(("data:", "blob:")) else None)
    page.outside_requests = outside
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_function("() => !!document.getElementById('cite-popover')", timeout=30_000)  # page script ran
    return page


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def ask(page, question: str, how: str = "enter") -> tuple[float, float]:
    """Type a question and send it; return seconds to the first answer text and to the final
    answer (chips and sources, or the abstention)."""
    page.wait_for_function("() => !window.ragBusy", timeout=60_000)  # the last answer is done
    turn = page.locator("#chatbot .q").count()
    box = page.locator("#question textarea")
    box.fill(question)
    t0 = time.perf_counter()
    if how == "enter":
        box.press("Enter")
    elif how == "tap":
        page.locator("#send").tap()
    else:
        page.locator("#send").click()
    page.wait_for_function(
        "n => { const b = document.querySelectorAll('#chatbot .bot'); "
        "return b.length > n && b[b.length - 1].innerText.trim().length > 0 }", arg=turn, timeout=60_000)
    first = time.perf_counter() - t0
    page.wait_for_function("n => !!document.querySelector(`#ans-${n}:not(.streaming)`)", arg=turn, timeout=60_000)
    return first, time.perf_counter() - t0


def last_answer(page):
    return page.locator("#chatbot .bot").last


def shows(page, selector: str, text: str) -> None:
    """Wait until the element's visible text contains `text` (filters update as events land)."""
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return !!e && e.offsetParent !== null "
                           "&& e.innerText.includes(t) }", arg=[selector, text], timeout=10_000)


def no_error_badges(page) -> None:
    """What issue 14 saw: red "Error" badges over the chat and the box, or an error toast."""
    assert page.get_by_text("Error", exact=True).count() == 0
    assert page.locator(".toast-body.error").count() == 0
    assert page.locator("#chatbot").is_visible() and page.locator("#question textarea").is_visible()


def test_desktop_answer_chips_preview_evidence_copy_export_feedback(browser, ui_server, shipped_index, timings):
    page = open_page(browser, ui_server, DESKTOP)
    # the page: Chinese, one CJK-capable font stack, a welcome that says what the bot knows
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    fonts = page.evaluate("['.app-header h1', '#question textarea', '#chatbot', '#kb label span']"
                          ".map(s => getComputedStyle(document.querySelector(s)).fontFamily)")
    assert len(set(fonts)) == 1 and "WenQuanYi Micro Hei" in fonts[0], fonts
    welcome = page.locator("#chatbot .welcome").inner_text()
    assert "4 篇文章" in welcome and all(t in welcome for t in TITLES)
    # the knowledge base lists every article with its date (or 日期不详), a summary, a count
    kb = page.locator("#kb label")
    assert kb.count() == 4 and "4 篇文章" in page.locator("#kb").inner_text()
    labels = kb.all_inner_texts()
    assert all(any(t in label for label in labels) for t in TITLES)
    assert sum("日期不详" in label for label in labels) == 1 and any("2026-02-12 · 人工智能公司" in x for x in labels)
    # controls that do what they say: nothing to send or export yet, and no dead share icon
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#export")).to_be_disabled()
    assert "有回答后即可导出" in page.locator("#export-hint").inner_text()
    assert page.locator("#chatbot button[aria-label='Share'], #chatbot button[title='Share']").count() == 0
    shot(page, "desktop-welcome.png")

    timings["desktop, first question"] = ask(page, DONATION, how="click")
    answer = page.locator("#chatbot .message-row", has=page.locator("#ans-0"))
    chips = answer.locator("a.cite")
    assert chips.all_inner_texts() == ["1", "1"]  # two sentences, one article: one number
    # the reader's short answer comes first, large, and is marked inside its quote
    expect(answer.locator(".short-answer")).to_contain_text("Public First Action")
    assert answer.locator(".src").count() == 1 and answer.locator(".src-q").count() == 2
    link = answer.locator("a.src-title")
    assert link.inner_text() == TITLES[3]
    assert link.get_attribute("href") == "https://www.anthropic.com/news/donate-public-first-action"

    # hovering a marker shows its own quote, with the title and date
    chips.nth(1).hover()
    page.wait_for_selector("#cite-popover:not([hidden])")
    preview = page.locator("#cite-popover").inner_text()
    assert QUOTE_2 in preview and QUOTE_1 not in preview and TITLES[3] in preview and "2026-02-12" in preview
    shot(page, "desktop-preview.png")
    chips.nth(0).hover()
    page.wait_for_function("q => document.getElementById('cite-popover').innerText.includes(q)", arg=QUOTE_1)
    # clicking opens the evidence panel: the passage as Markdown, exactly the cited span marked
    chips.nth(0).click()
    panel = page.locator("#evidence")
    panel.wait_for(state="visible")
    assert "".join(panel.locator("mark.hl").all_inner_texts()) == QUOTE_1
    text = panel.inner_text()
    assert "在此背景下" in text and "**" not in text and TITLES[3] in text  # context, rendered, titled
    shot(page, "desktop-answer-evidence.png")
    page.locator("#evidence-close").click()
    assert panel.is_hidden()

    timings["desktop, second question"] = ask(page, "这个组织是由谁创立的？")
    assert "共和党和民主党战略家" in last_answer(page).inner_text()  # a follow-up uses the history

    # copy gives clean text
    answer.locator(".copy-msg").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    # the short answer the reader read first, then the cited sentences
    assert copied.startswith("Public First Action\n\n" + QUOTE_1 + "[1]"), copied[:200]
    assert QUOTE_2 in copied and "来源 Sources" in copied
    for dirt in ("\\(", "&#", "<details>", "<br>", "\\-"):
        assert dirt not in copied, dirt

    # a changed thumb: the answer's latest line in the feedback log is its vote
    from evals.feedback import read_feedback

    log = Path(shipped_index.data_dir) / shipped_index.ui.feedback_log
    answer.hover()
    answer.locator("button[aria-label='Dislike']").click()
    answer.locator("button[aria-label='Like']").click()
    deadline = time.time() + 30  # two queued events; slow when the box is busy
    mine: list[dict] = []
    while time.time() < deadline:
        lines = read_feedback(log) if log.exists() else []  # an answer's last line is its vote
        mine = [r for r in lines if r.get("question") == DONATION]
        if mine and mine[-1]["vote"] == "up":
            break
        time.sleep(0.2)
    assert len(mine) == 1 and mine[0]["vote"] == "up", mine
    assert mine[0]["citations"][0]["source"] == "003_f37bc0b3fb1d0fae.txt"

    # export: a file named by date and first question, in clean text
    with page.expect_download(timeout=30_000) as download:
        page.locator("#export").click()
    name = download.value.suggested_filename
    assert re.fullmatch(r"对话-\d{4}-\d{2}-\d{2}-Anthropic向哪个组织捐赠了2000万美元\.md", name), name
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert "501(c)(4)" in exported and "共和党和民主党战略家" in exported and "\\(" not in exported
    assert page.outside_requests == []  # the page reached for nothing beyond the app
    page.context.close()


def test_mistakes_stay_inline_with_the_conversation(browser, ui_server, capfd):
    page = open_page(browser, ui_server, DESKTOP)
    capfd.readouterr()
    box = page.locator("#question textarea")
    # Enter, then a click on Send straight after: one question, one answer, no error
    box.fill("卢旺达ICT与创新部长是谁？")
    box.press("Enter")
    page.locator("#send").click(force=True)
    page.wait_for_selector("#ans-0:not(.streaming)", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator("#chatbot .q").count() == 1 and page.locator("#chatbot .bot").count() == 1
    assert "Paula Ingabire" in last_answer(page).inner_text()
    no_error_badges(page)
    assert page.locator("#notice .notice").count() == 0
    # the message slots take no room while they have nothing to say
    expect(page.locator("#counter")).to_be_hidden()
    expect(page.locator("#notice")).to_be_hidden()

    # near the limit a counter; over it Send is disabled and Enter gets one line beside the box
    box.fill("问" * 1700)
    expect(page.locator("#counter")).to_have_text("1700 / 2000")
    expect(page.locator("#send")).to_be_enabled()
    box.fill("问" * 5000)
    expect(page.locator("#counter")).to_contain_text("5000 / 2000 · 超出字数上限")
    expect(page.locator("#send")).to_be_disabled()
    box.press("Enter")
    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert notice.inner_text().startswith("⚠️ 问题有 5000 个字") and "the limit is 2000" in notice.inner_text()
    assert box.input_value() == "问" * 5000  # kept, to be shortened
    assert page.locator("#chatbot .bot").count() == 1
    no_error_badges(page)
    box.fill("问" * 10)  # short again: the counter goes
    expect(page.locator("#counter")).to_be_hidden()

    # a bad date: a line beside its field, and the send says so inline
    page.locator("#date-from textarea").fill("last week")
    page.locator("#date-to textarea").click()
    page.wait_for_selector("#date-from-msg .field-msg")
    assert page.locator("#date-from-msg").inner_text().startswith("起始日期应写成 2026-01-31")
    box.fill("卢旺达ICT与创新部长是谁？")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('#notice').innerText.includes('起始日期')")
    assert page.locator("#chatbot .bot").count() == 1
    no_error_badges(page)
    # a reversed range is named beside the To field
    page.locator("#date-from textarea").fill("2026-03-01")
    page.locator("#date-to textarea").fill("2026-01-01")
    page.locator("#date-to textarea").press("Enter")
    shows(page, "#date-to-msg", "起始日期 2026-03-01 晚于截止日期 2026-01-01")
    assert page.locator("#date-from-msg .field-msg").count() == 0
    shot(page, "desktop-mistakes-inline.png")
    log = capfd.readouterr().err
    assert log.count("refused:") == 2 and "Traceback" not in log, log  # one line per mistake
    page.context.close()


def test_filters_chips_abstentions_suggestions_and_clear(browser, ui_server):
    page = open_page(browser, ui_server, DESKTOP)
    # a date range shows as a chip, undated articles an explicit choice in it
    page.locator("#date-from textarea").fill("2026-01-01")
    page.locator("#date-to textarea").fill("2026-01-31")
    page.locator("#date-to textarea").press("Enter")
    chip = page.locator("#chip-dates")
    shows(page, "#chip-dates", "2026-01-01 – 2026-01-31 · 不含日期不详")
    page.locator("#undated input").check()
    shows(page, "#chip-dates", "2026-01-01 – 2026-01-31 · 含日期不详 incl")
    page.locator("#undated input").uncheck()
    shows(page, "#chip-dates", "2026-01-01 – 2026-01-31 · 不含日期不详")

    # an abstention the filters caused says so and offers to clear them
    ask(page, DONATION)
    page.wait_for_selector("#chatbot .options button", timeout=30_000)
    said = last_answer(page).inner_text()
    assert "资料中没有找到相关信息" in said and "在当前筛选条件" in said and "2026-01-01 – 2026-01-31" in said
    options = page.locator("#chatbot .options button")
    assert options.all_inner_texts() == ["清除筛选并重新提问 Clear filters and ask again"]
    shot(page, "desktop-filter-abstention.png")
    options.first.click()
    page.wait_for_selector("#ans-1:not(.streaming)", timeout=60_000)
    assert QUOTE_1 in last_answer(page).inner_text()
    expect(chip).to_be_hidden()
    expect(page.locator("#date-from textarea")).to_have_value("")

    # picking an article in the knowledge base is the article filter; its chip removes it
    page.locator("#kb label", has_text="卢旺达").click()
    articles = page.locator("#chip-articles")
    shows(page, "#chip-articles", "只看 Only: 《Anthropic与卢旺达")
    articles.click()
    articles.wait_for(state="hidden")
    assert page.locator("#kb input:checked").count() == 0

    # an abstention without filters suggests questions the collection answers; one click sends
    ask(page, "Anthropic和日本政府有合作吗？")
    page.wait_for_selector("#chatbot .options button", timeout=60_000)
    suggestions = page.locator("#chatbot .options button").all_inner_texts()
    assert 2 <= len(suggestions) <= 3 and all(s.endswith("？") for s in suggestions), suggestions
    page.locator("#chatbot .options button").first.click()
    page.wait_for_selector("#ans-3:not(.streaming)", timeout=60_000)
    assert last_answer(page).locator(".sources").count() == 1  # answered, with sources

    # the chat's own clear icon resets the conversation, not just the display
    ask(page, "卢旺达政府与Anthropic签署了什么协议？")
    # a question sent while the reader has scrolled up is brought into view, at the top
    page.evaluate("document.querySelector('#chatbot .panel-wrap').scrollTop = 0")
    ask(page, "为期几年？")
    assert "三年" in last_answer(page).inner_text()
    chat, asked = page.locator("#chatbot").bounding_box(), page.locator("#q-5").bounding_box()
    assert chat["y"] <= asked["y"] < chat["y"] + 120, (chat, asked)
    page.locator("#chatbot button[aria-label='Clear']").click()
    page.wait_for_selector("#chatbot .welcome")
    expect(page.locator("#export")).to_be_disabled()
    ask(page, "为期几年？")
    assert "三年" not in last_answer(page).inner_text()  # the follow-up has no history to lean on

    # an example chip in the empty chat sends at once
    page.locator("#new").click()
    page.wait_for_selector("#chatbot .welcome")
    chips = page.locator("#chatbot button.example")
    assert chips.count() >= 3  # made from the indexed articles, each checked by answering it
    chip = chips.nth(1)  # the first is the collection overview; then one per article
    asked = chip.inner_text().strip()
    assert asked.endswith("的主要内容是什么？"), asked
    chip.click()
    page.wait_for_selector("#ans-0:not(.streaming)", timeout=60_000)
    said = [q.inner_text() for q in page.locator("#chatbot .q").all()], last_answer(page).inner_text()
    assert said[0] == [asked] and "资料中没有找到" not in said[1], said
    assert last_answer(page).locator("a.cite").count() >= 1  # a cited answer
    page.context.close()


def test_phone_layout(browser, ui_server, timings):
    page = open_page(browser, ui_server, PHONE)
    height = PHONE["viewport"]["height"]

    def box(selector):
        return page.locator(selector).bounding_box()

    composer = box("#composer")
    assert composer["y"] + composer["height"] <= height + 1 and composer["y"] > height / 2  # at the bottom
    expect(page.locator("#kb")).to_be_hidden()  # folded away
    expect(page.locator("#side-acc")).to_be_visible()
    shot(page, "phone-welcome.png")

    ask(page, DONATION, how="tap")
    timings["phone"] = ask(page, "Anthropic与美国能源部的合作聚焦哪三大领域？", how="tap")
    page.wait_for_timeout(300)
    question, answer = box("#q-1"), box("#ans-1")
    composer = box("#composer")
    assert 0 <= question["y"] < answer["y"] < composer["y"] - 40, (question, answer, composer)  # its start shows
    field = box("#question textarea")
    assert field["y"] >= 0 and field["y"] + field["height"] <= height
    # the page scrolls, nothing inside it does
    nested = page.evaluate("""() => [...document.querySelectorAll('#main *')].filter(e => {
        const s = getComputedStyle(e).overflowY;
        return (s === 'auto' || s === 'scroll') && e.tagName !== 'TEXTAREA' && e.scrollHeight > e.clientHeight + 1;
    }).map(e => e.className)""")
    assert nested == [] and page.evaluate("document.documentElement.scrollHeight") > height
    shot(page, "phone-answer.png")

    # tapping a marker shows its preview; from there, the evidence sheet
    chip = page.locator("#ans-1 a.cite").first
    chip.tap()
    page.wait_for_selector("#cite-popover:not([hidden]) .cp-open")
    quote = page.locator("#cite-popover .cp-quote").first.inner_text().strip("「」")
    page.locator("#cite-popover .cp-open").tap()
    sheet = page.locator("#evidence")
    sheet.wait_for(state="visible")
    assert "".join(sheet.locator("mark.hl").all_inner_texts()) == quote
    sheet_box = sheet.bounding_box()
    assert abs(sheet_box["y"] + sheet_box["height"] - height) < 2 and sheet_box["width"] >= 380
    shot(page, "phone-evidence.png")
    page.locator("#evidence-close").tap()

    # the knowledge base and filters open from their fold
    page.locator("#side-acc .label-wrap").tap()
    page.locator("#kb").wait_for(state="visible")
    assert page.locator("#kb label").count() == 4
    page.context.close()


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    """The shipped corpus plus a document carrying an injection, indexed with the hashing
    embedder (seconds, no model), served twice: with the extractive answerer, and with a
    scripted chat model that streams its answer slowly."""
    import dataclasses
    import shutil

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from rag.config import config_from_dict
    from rag.pipeline import build_pipeline, ingest
    from tests.conftest import SHIPPED_CORPUS, free_port
    from tests.fakes import HashEmbedder
    from tests.slow_server import REPLY
    from tests.test_security import INJECTED
    from ui.app import build_app
    from ui.server import launch

    root = tmp_path_factory.mktemp("site")
    shutil.copytree(SHIPPED_CORPUS, root / "corpus")
    (root / "corpus" / "injected.md").write_text(INJECTED, encoding="utf-8")
    cfg = config_from_dict({"corpus": {"path": str(root / "corpus")}, "data_dir": str(root / "data")})
    emb = HashEmbedder(384, unk=0.58)
    ingest(cfg, embedder=emb, progress=False)
    scripted = cfg.replace(answer=dataclasses.replace(cfg.answer, answerer="openai"),
                           llm=dataclasses.replace(cfg.llm, model="scripted"))
    model = FakeListChatModel(responses=[REPLY] * 20, sleep=0.03)
    apps = {"extractive": build_app(build_pipeline(cfg, embedder=emb), cfg),
            "streaming": build_app(build_pipeline(scripted, embedder=emb, chat_model=model), scripted)}
    urls = {}
    for name, app in apps.items():
        port = free_port()
        launch(app, cfg, "127.0.0.1", port, block=False)
        urls[name] = f"http://127.0.0.1:{port}/"
    yield urls
    for app in apps.values():
        app.close()


def test_a_click_or_enter_while_an_answer_streams_is_harmless(browser, small_site, timings):
    from tests.slow_server import REPLY

    page = open_page(browser, small_site["streaming"], DESKTOP)
    box = page.locator("#question textarea")
    box.fill("卢旺达ICT与创新部长是谁？")
    t0 = time.perf_counter()
    box.press("Enter")
    page.wait_for_selector("#chatbot .ans.streaming")  # the text arrives piece by piece
    first = time.perf_counter() - t0
    expect(page.locator("#send")).to_be_disabled()  # nothing to send while it streams
    box.fill("Anthropic向哪个组织捐赠了2000万美元？")
    expect(page.locator("#send")).to_be_disabled()  # not even with a new question typed
    page.locator("#send").click(force=True)
    box.press("Enter")
    page.wait_for_selector("#ans-0:not(.streaming)", timeout=60_000)
    timings["desktop, streamed (scripted model, 0.03 s a character)"] = [first, time.perf_counter() - t0]
    page.wait_for_timeout(800)
    assert page.locator("#chatbot .q").count() == 1 and page.locator("#chatbot .bot").count() == 1
    assert REPLY[:20] in last_answer(page).inner_text() and last_answer(page).locator("a.cite").count() >= 1
    assert box.input_value() == "Anthropic向哪个组织捐赠了2000万美元？"  # what was typed meanwhile is kept
    expect(page.locator("#send")).to_be_enabled()  # and can be sent now
    no_error_badges(page)
    page.context.close()


def test_injected_document_renders_inert_in_the_browser(browser, small_site):
    page = open_page(browser, small_site["extractive"], DESKTOP)
    ask(page, "2031年量子计算峰会在哪里举办？")
    last_answer(page).locator("a.cite").first.click()  # the passage that holds the injection
    panel = page.locator("#evidence")
    panel.wait_for(state="visible")
    shown = panel.inner_text().replace("\u200b", "")  # URLs in documents are defanged
    assert "赫尔辛基" in "".join(panel.locator("mark.hl").all_inner_texts())
    assert "[图片 image: track]" in shown  # an image is its alt text, never fetched
    assert '<img src="http://evil.example/x.png" onerror="alert(1)">' in shown  # HTML shown as text
    assert page.locator("img[src*='evil'], a[href*='evil']").count() == 0
    assert page.outside_requests == []
    page.context.close()
