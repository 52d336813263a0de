"""The chat page over a large archive, measured in headless Chromium (issue 25): `rag serve`
started on the archive's config (time until it answers HTTP), the page's weight (every byte
the browser fetched to show it: document, scripts, styles, fonts, the app's config), first
paint and first contentful paint, then a walk a user would take: search the knowledge base,
tick an article, ask an example question, see the topic overview. Screenshots and a JSON
report go to reports/ui-archive/ (git-ignored).

    python -m evals.ui_archive --config data/archive10k.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rag.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
OUT = PROJECT_ROOT / "reports" / "ui-archive"


def start_server(config: str, port: int) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    rag = Path(sys.executable).parent / "rag"
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(rag), "--config", config, "serve", "--port", str(port)], env=env,
                            stdout=open(OUT / "serve.log", "w"), stderr=subprocess.STDOUT)
    while time.perf_counter() - t0 < 300:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return proc, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((OUT / "serve.log").read_text()) from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("rag serve did not answer in 300 s")


def walk(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        received: dict[str, int] = {}
        urls: dict[str, str] = {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], int(e["encodedDataLength"])))
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("#kb label", timeout=120_000)
        out["page_ready_s"] = round(time.perf_counter() - t0, 2)
        page.wait_for_timeout(3000)  # Gradio keeps a stream open: "network idle" never comes
        out["page_bytes"] = sum(received.values())
        out["requests"] = len(received)
        out["largest"] = [f"{received[r] // 1024} KB {urls.get(r, '?').split('?')[0][-60:]}"
                          for r in sorted(received, key=lambda r: -received[r])[:40]]
        paints = page.evaluate("Object.fromEntries(performance.getEntriesByType('paint').map(p => [p.name, p.startTime]))")
        out["first_paint_ms"] = round(paints.get("first-paint", -1))
        out["first_contentful_paint_ms"] = round(paints.get("first-contentful-paint", -1))
        out["kb_listed"] = page.locator("#kb label").count()
        out["kb_info"] = page.locator("#kb-info").inner_text()
        page.screenshot(path=str(OUT / "welcome.png"))
        box = page.locator("#kb-search textarea, #kb-search input").first
        t = time.perf_counter()
        box.fill("台风")
        page.wait_for_function("() => document.querySelector('#kb-info').innerText.includes('匹配')", timeout=30_000)
        out["kb_search_s"] = round(time.perf_counter() - t, 2)
        out["kb_search_info"] = page.locator("#kb-info").inner_text()
        if page.locator("#kb label").count():
            page.locator("#kb label").first.click()
            page.wait_for_selector("#chip-articles", state="visible", timeout=30_000)
            page.screenshot(path=str(OUT / "kb-search.png"))
            page.locator("#chip-clear").click()
            page.wait_for_selector("#chip-articles", state="hidden", timeout=30_000)
        examples = page.locator("#chatbot button").all_inner_texts()
        out["examples"] = [e for e in examples if "？" in e or "?" in e]
        question = next((e for e in out["examples"] if "最近" in e), out["examples"][0] if out["examples"] else None)
        for name, q in (("example", question), ("overview", "这些文章主要讲了什么？")):
            if q is None:
                continue
            n = page.locator("#chatbot .bot").count()
            page.locator("#question textarea").fill(q)
            t = time.perf_counter()
            page.locator("#question textarea").press("Enter")
            page.wait_for_function("n => !!document.querySelector(`#ans-${n}:not(.streaming)`)", arg=n, timeout=120_000)
            out[f"{name}_answer_s"] = round(time.perf_counter() - t, 2)
            out[f"{name}_answer_head"] = page.locator("#chatbot .bot").last.inner_text()[:300]
            page.screenshot(path=str(OUT / f"{name}.png"))
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    from rag.answering.llm_local import free_port

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc, ready = start_server(args.config, port)
    try:
        result = {"serve_ready_s": round(ready, 2), **walk(f"http://127.0.0.1:{port}/")}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    (OUT / "ui-archive.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
