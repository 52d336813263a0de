() => {
  // The page's own behaviour, run once when Gradio has rendered the app. Everything it shows
  // (previews, evidence) is HTML the server rendered and escaped (ui/render.py) and Gradio's
  // sanitizer has already passed; this script only moves it into view.
  document.documentElement.lang = "zh-CN";
  const $ = (sel, root = document) => root.querySelector(sel);
  const touch = () => window.matchMedia("(hover: none)").matches;
  const narrow = () => window.matchMedia("(max-width: 720px)").matches;

  // -- citation preview: hover (or focus) on desktop, tap on a touch screen -------------------
  const pop = document.createElement("div");
  pop.id = "cite-popover";
  pop.setAttribute("role", "tooltip");
  pop.hidden = true;
  document.body.appendChild(pop);
  let popFor = null;
  let hideTimer = null;

  function placePop(chip) {
    const r = chip.getBoundingClientRect();
    const w = pop.offsetWidth;
    const h = pop.offsetHeight;
    const left = Math.max(8, Math.min(r.left - 24, window.innerWidth - w - 8));
    let top = r.bottom + 6;
    if (top + h > window.innerHeight - 8) top = Math.max(8, r.top - h - 6);
    pop.style.left = `${left}px`;
    pop.style.top = `${top}px`;
  }

  function showPop(chip, pinned) {
    const src = chip.parentElement && chip.parentElement.querySelector(".cite-pop");
    if (!src) return;
    clearTimeout(hideTimer);
    pop.innerHTML = src.innerHTML;
    if (pinned) {
      const open = document.createElement("button");
      open.type = "button";
      open.className = "cp-open";
      open.textContent = "查看原文 View passage";
      open.addEventListener("click", () => { hidePop(); openEvidence(chip.getAttribute("href")); });
      pop.appendChild(open);
    }
    pop.hidden = false;
    popFor = chip;
    placePop(chip);
  }

  function hidePop() {
    pop.hidden = true;
    popFor = null;
  }

  document.addEventListener("mouseover", (e) => {
    if (touch()) return;
    const chip = e.target.closest && e.target.closest(".cite");
    if (chip) { if (chip !== popFor) showPop(chip, false); else clearTimeout(hideTimer); return; }
    if (popFor && !(e.target.closest && e.target.closest("#cite-popover"))) {
      clearTimeout(hideTimer);
      hideTimer = setTimeout(hidePop, 250);
    }
  });
  document.addEventListener("focusin", (e) => {
    const chip = e.target.closest && e.target.closest(".cite");
    if (chip) showPop(chip, touch());
  });
  window.addEventListener("scroll", () => { if (popFor) placePop(popFor); }, true);

  // -- the evidence panel: the cited passage with the quote marked ----------------------------
  const panel = document.createElement("aside");
  panel.id = "evidence";
  panel.hidden = true;
  panel.setAttribute("aria-label", "原文证据 Evidence");
  panel.innerHTML = '<div class="ev-bar"><span class="ev-label">原文 Evidence</span>'
    + '<button type="button" id="evidence-close" aria-label="关闭 Close">✕ 关闭 Close</button></div>'
    + '<div id="evidence-body"></div>';
  document.body.appendChild(panel);

  function openEvidence(href) {
    const key = (href || "").replace(/^#ev-/, "");
    const src = document.getElementById(`evsrc-${key}`);
    if (!src) return;
    const body = $("#evidence-body");
    body.innerHTML = src.innerHTML;
    panel.dataset.key = key;
    panel.hidden = false;
    document.body.classList.add("ev-open");
    document.querySelectorAll(".cite.active, .src-q.active").forEach((n) => n.classList.remove("active"));
    document.querySelectorAll(`[href="#ev-${key}"]`).forEach((n) => n.classList.add("active"));
    const mark = body.querySelector("mark.hl");
    panel.scrollTop = 0;
    if (mark) panel.scrollTop = Math.max(0, mark.offsetTop - panel.clientHeight / 3);
  }

  function closeEvidence() {
    panel.hidden = true;
    document.body.classList.remove("ev-open");
    document.querySelectorAll(".cite.active, .src-q.active").forEach((n) => n.classList.remove("active"));
  }
  window.ragResetEvidence = () => { closeEvidence(); hidePop(); resetScroll(); };
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") { hidePop(); closeEvidence(); } });

  // -- copy: the answer as clean text ---------------------------------------------------------
  function cleanText(ans) {
    const clone = ans.cloneNode(true);
    clone.querySelectorAll(".cite-pop, .ev-src, .msg-tools").forEach((n) => n.remove());
    clone.querySelectorAll(".cite").forEach((a) => a.replaceWith(document.createTextNode(`[${a.textContent}]`)));
    clone.querySelectorAll(".src-n").forEach((n) => n.replaceWith(document.createTextNode(`[${n.textContent}] `)));
    clone.querySelectorAll(".src-q").forEach((n) => n.prepend(document.createTextNode("   - ")));
    const box = document.createElement("div");
    box.className = "copy-box";
    box.appendChild(clone);
    // inside Gradio's container, where the message styles (one line per quote) apply
    ($(".gradio-container .contain") || document.body).appendChild(box);
    const text = box.innerText.replace(/[\u200b\u2060]/g, "").replace(/\n{3,}/g, "\n\n").trim();
    box.remove();
    return text;
  }

  async function copyAnswer(button) {
    const text = cleanText(button.closest(".ans"));
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.style.position = "fixed";
      area.style.left = "-9999px";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "已复制 Copied";
    setTimeout(() => { button.textContent = "复制 Copy"; }, 1500);
  }

  document.addEventListener("click", (e) => {
    const t = e.target;
    if (!t.closest) return;
    const chip = t.closest(".cite");
    if (chip) {
      e.preventDefault();
      if (touch()) showPop(chip, true); else { hidePop(); openEvidence(chip.getAttribute("href")); }
      return;
    }
    const quote = t.closest(".src-q");
    if (quote) { e.preventDefault(); openEvidence(quote.getAttribute("href")); return; }
    const copy = t.closest(".copy-msg");
    if (copy) { e.preventDefault(); copyAnswer(copy); return; }
    if (t.closest("#evidence-close")) { closeEvidence(); return; }
    if (!t.closest("#cite-popover")) hidePop();
  }, true);

  // -- scrolling: a new question goes to the top, its answer grows below it -----------------
  let lastTurn = -1;

  function scroller(node) {
    for (let n = node.parentElement; n && n !== document.body; n = n.parentElement) {
      const style = getComputedStyle(n).overflowY;
      if ((style === "auto" || style === "scroll") && n.clientHeight > 0) return n;
    }
    return null;
  }

  function resetScroll() {
    lastTurn = -1;
    pinned = -1;
    const wrap = $("#chatbot .message-wrap");
    if (wrap) wrap.style.minHeight = "";
  }

  function toQuestion(q) {
    const row = q.closest(".message-row") || q;
    const wrap = row.parentElement;
    const box = scroller(row);
    const rowTop = () => row.getBoundingClientRect().top;
    const inWrap = rowTop() - wrap.getBoundingClientRect().top;
    if (box && box.closest("#chatbot")) {
      // room below the question, so it can sit at the top while its answer streams in
      wrap.style.minHeight = `${inWrap + box.clientHeight}px`;
      box.scrollTop += rowTop() - box.getBoundingClientRect().top - 8;
    } else {
      const composer = $("#composer");
      const free = window.innerHeight - (composer ? composer.offsetHeight : 0);
      wrap.style.minHeight = `${inWrap + free}px`;
      window.scrollTo({ top: rowTop() + window.scrollY - 8 });
    }
  }

  // The question stays pinned at the top while its answer arrives (messages above may be
  // re-laid out meanwhile), until the reader scrolls or types.
  let pinned = -1;
  let pinUntil = 0;
  const unpin = () => { pinned = -1; };
  ["wheel", "touchmove", "keydown", "mousedown"].forEach((name) => window.addEventListener(name, unpin, { passive: true, capture: true }));

  function align() {
    if (pinned < 0 || performance.now() > pinUntil) return;
    const q = document.getElementById(`q-${pinned}`);
    if (q) toQuestion(q);
  }

  function watchChat() {
    const chat = $("#chatbot");
    if (!chat) { setTimeout(watchChat, 200); return; }
    new MutationObserver(() => {
      const qs = chat.querySelectorAll(".q[id^='q-']");
      if (!qs.length) { if (lastTurn !== -1) resetScroll(); return; }
      // Gradio labels each message with its raw HTML; a screen reader should hear a name
      chat.querySelectorAll("[data-testid='bot'][aria-label^='bot'], [data-testid='user'][aria-label^='user']")
        .forEach((m) => m.setAttribute("aria-label", m.dataset.testid === "bot" ? "回答 Answer" : "问题 Question"));
      const turn = Number(qs[qs.length - 1].id.slice(2));
      if (turn > lastTurn) { lastTurn = turn; pinned = turn; pinUntil = performance.now() + 15000; }
      requestAnimationFrame(align);
    }).observe(chat, { childList: true, subtree: true, characterData: true });
  }
  watchChat();

  // -- phone: the knowledge base and filters start folded ------------------------------------
  function foldSide() {
    const acc = $("#side-acc");
    if (!acc) { setTimeout(foldSide, 200); return; }
    const toggle = acc.querySelector("button.label-wrap, .label-wrap");
    if (narrow() && toggle && acc.querySelector(".label-wrap.open")) toggle.click();
  }
  foldSide();
}
