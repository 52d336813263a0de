"""Turning answers into safe HTML for the chat, and into clean text for copy and export.

Article text is untrusted. In the chat it is rendered as a small, safe subset of Markdown
(bold, lists, headings; raw HTML shown as text; links and images defanged to text), and every
character Markdown or HTML could act on is an entity, so neither Gradio's Markdown renderer nor
its sanitizer can turn a document's text into a tag, an image or a link.

A chat message for an answer holds everything the page needs to explain it: the text with its
markers as chips (each with a hidden preview: title, date, quote), the sources grouped one
number per article, and for every citation a hidden evidence block (the passage with the quoted
span marked) that the page's script shows in the evidence panel.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from markdown_it import MarkdownIt

from rag.index.catalog import field_label
from rag.types import Answer, Citation, ShortAnswer

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
# Gradio's renderer turns bare URLs into links even inside HTML blocks; a zero-width space
# after the scheme keeps URLs in documents as plain text.
_BARE_URL = re.compile(r"(?i)\b(https?|ftp|www)(?=://|\.)")
_MARKER = re.compile(r"\[(\d+)\]")
_MARKER_RUN = re.compile(r"(?:\[\d+\])+")
# Private-use characters mark places in text through the Markdown renderer: the quoted span
# (HL_START/HL_END) and answer markers (CHIP_START n CHIP_END). Documents cannot contain them:
# they are removed from untrusted text first.
HL_START, HL_END, CHIP_START, CHIP_END = "\ue000", "\ue001", "\ue002", "\ue003"
_PRIVATE = re.compile("[\ue000-\ue003]")
_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
# Characters Markdown could act on, as entities in text (never inside our own tags).
_ENTITY_CHARS = re.compile(r"[!\[\]()*_`#|~\\]")
_HTML_AND_MD = re.compile(r"[&<>\"'!\[\]()*_`#|~\\]")
_BLOCK_START = re.compile(r"[ \t]{0,3}(?:#{1,6}[ \t]+|[-*+][ \t]+|\d{1,9}[.)][ \t]+|>[ \t]?)")

UNDATED = "日期不详"


def _defang(text: str) -> str:
    return _BARE_URL.sub("\\1\u200b", text)


def escape_text(text: str) -> str:
    """Plain text that Markdown and HTML render literally."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(_defang(text), quote=False))


def escape_html(text: str) -> str:
    """For text inside an HTML block: entities for HTML and for Markdown's syntax
    characters, so no renderer can turn it into a tag, an image or a link."""
    return _HTML_AND_MD.sub(lambda m: f"&#{ord(m.group())};", _defang(text))


def escape_answer(text: str) -> str:
    """Like escape_text, but the answer's own [n] markers stay readable."""
    return re.sub(r"\\\[(\d+)\\\]", r"[\1]", escape_text(text))


def safe_url(url: str | None) -> str | None:
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return html.escape(url, quote=True).replace("(", "%28").replace(")", "%29")


# -- safe Markdown ----------------------------------------------------------------------------

def _link_open(self, tokens, idx, options, env):
    href = tokens[idx].attrGet("href") or ""
    return f'<span class="doc-link" title="{escape_html(_PRIVATE.sub("", str(href)))}">'


def _link_close(self, tokens, idx, options, env):
    return "</span>"


def _image(self, tokens, idx, options, env):
    alt = "".join(t.content for t in (tokens[idx].children or []))
    return f'<span class="doc-img">[图片 image: {html.escape(_PRIVATE.sub("", alt))}]</span>'


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True})
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


_MD = _markdown()


def _entities_in_text(rendered: str) -> str:
    """Markdown's syntax characters and bare URLs in the rendered text (not in tags) made inert."""
    parts = _TAG_OR_TEXT.split(rendered)
    for i in range(0, len(parts), 2):
        parts[i] = _ENTITY_CHARS.sub(lambda m: f"&#{ord(m.group())};", _defang(parts[i]))
    return "".join(parts)


def _one_line(rendered: str) -> str:
    """No newlines, so the HTML stays one HTML block inside the chat's Markdown; inside <pre>
    they become entities."""
    out = []
    for i, piece in enumerate(re.split(r"(<pre>.*?</pre>)", rendered, flags=re.S)):
        out.append(piece.replace("\n", "&#10;") if i % 2 else piece.replace("\n", ""))
    return "".join(out)


def _mark_span(rendered: str, cls: str = "hl") -> str:
    """Wrap every piece of text between HL_START and HL_END in <mark>, tag by tag, so the
    highlight stays well formed across bold, list items or paragraphs."""
    start, end = rendered.find(HL_START), rendered.find(HL_END)
    if start < 0 or end < start:
        return rendered
    inner = _TAG_OR_TEXT.split(rendered[start + 1 : end])
    for i in range(0, len(inner), 2):
        if inner[i]:
            inner[i] = f'<mark class="{cls}">{inner[i]}</mark>'
    return rendered[:start] + "".join(inner) + rendered[end + 1 :]


def _render(text: str, highlight: tuple[int, int] | None, inline: bool) -> str:
    """`text` (already free of untrusted private-use characters) as safe HTML; the chip
    placeholders in it survive, the highlight becomes <mark>."""
    if highlight is not None:
        s, e = highlight
        if not 0 <= s < e <= len(text):
            highlight = None
        else:
            line_start = text.rfind("\n", 0, s) + 1
            block = _BLOCK_START.match(text, line_start)
            if block and line_start <= s < block.end():
                s = block.end()  # the mark goes after "## " or "- ", which must start the line
            text = text[:s] + HL_START + text[s:e] + HL_END + text[e:]
    rendered = _entities_in_text(_MD.renderInline(text) if inline else _MD.render(text))
    if highlight is not None:
        rendered = _mark_span(rendered)
    return _one_line(rendered.replace(HL_START, "").replace(HL_END, ""))


def markdown_html(text: str, highlight: tuple[int, int] | None = None, inline: bool = False) -> str:
    """Untrusted Markdown as safe one-line HTML; `highlight` (offsets into `text`) is marked."""
    if _PRIVATE.search(text):  # keep offsets: private characters become plain spaces
        text = _PRIVATE.sub(" ", text)
    return _render(text, highlight, inline)


def plain_inline(text: str) -> str:
    """Untrusted inline Markdown as escaped HTML (bold and the like rendered, links as text)."""
    return markdown_html(text, inline=True)


# -- grouping ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceGroup:
    """One article among an answer's sources, with the citations that quote it."""

    number: int
    source: str
    title: str
    url: str | None
    date: str | None
    items: tuple[tuple[int, Citation], ...]  # (index in answer.citations, citation)


def group_sources(citations: tuple[Citation, ...] | list[Citation]) -> list[SourceGroup]:
    """One numbered source per article, numbered in the order the answer first cites them."""
    groups: dict[str, list[tuple[int, Citation]]] = {}
    for i, c in enumerate(citations):
        groups.setdefault(c.source, []).append((i, c))
    out = []
    for n, (source, items) in enumerate(groups.items(), start=1):
        first = items[0][1]
        out.append(SourceGroup(n, source, first.title, first.url, first.date, tuple(items)))
    return out


def renumber(text: str, citations) -> str:
    """The answer's markers in the article numbering of group_sources ("[1]…[2]" of one
    article both become "[1]")."""
    number = {c.marker: g.number for g in group_sources(citations) for _, c in g.items}
    return _MARKER.sub(lambda m: f"[{number[int(m.group(1))]}]" if int(m.group(1)) in number else m.group(),
                       text)


# -- the chat message -------------------------------------------------------------------------

@dataclass(frozen=True)
class Passage:
    """What a citation's evidence shows: the text that holds the quote. `start` is the offset
    of `text` in the cited field (the chunk's offset in the body); -1 when unknown, then the
    quote is looked up in the text."""

    text: str
    start: int = -1
    headings: tuple[str, ...] = ()


PassageLookup = Callable[[Citation], "Passage | str | None"]


def _quote_span(c: Citation, p: Passage) -> tuple[int, int] | None:
    if p.start >= 0:
        s, e = c.start - p.start, c.end - p.start
        if 0 <= s < e <= len(p.text) and p.text[s:e] == c.quote:
            return s, e
    i = p.text.find(c.quote)
    return (i, i + len(c.quote)) if c.quote and i >= 0 else None


def _date(date: str | None) -> str:
    return escape_html(date or UNDATED)


def _title_html(title: str, url: str | None, cls: str) -> str:
    link = safe_url(url)
    text = escape_html(title)
    return f'<a class="{cls}" href="{link}">{text}</a>' if link else f'<span class="{cls}">{text}</span>'


def _label_html(c: Citation) -> str:
    label = field_label(c.field)
    return f'<span class="field">{escape_html(label)}</span> ' if label else ""


def _quote_html(c: Citation, short: ShortAnswer | None = None) -> str:
    """The quote; the short answer, when it lies in this quote, marked inside it."""
    if short is not None and short.marker == c.marker and c.quote[short.start : short.end] == short.text:
        quote = (f"{plain_inline(c.quote[: short.start])}<mark class=\"short\">{plain_inline(short.text)}</mark>"
                 f"{plain_inline(c.quote[short.end :])}")
        return f"{_label_html(c)}「{quote}」"
    return f"{_label_html(c)}「{plain_inline(c.quote)}」"


def evidence_html(c: Citation, passage: Passage | str | None) -> str:
    """The evidence for one citation: where it is from and the passage with the quote marked."""
    if isinstance(passage, str):
        passage = Passage(passage)
    head = (f'<div class="ev-head">{_title_html(c.title, c.url, "ev-title")}'
            f'<span class="ev-date">{_date(c.date)}</span></div>')
    if passage is None or not passage.text:
        body = f'<div class="ev-passage"><p>{_quote_html(c)}</p></div>'
        return head + body
    crumbs = "".join(f'<span class="ev-crumb">{escape_html(h)}</span>' for h in passage.headings)
    where = f'<div class="ev-where">{_label_html(c)}{crumbs}</div>' if crumbs or c.field != "body" else ""
    span = _quote_span(c, passage)
    body = markdown_html(passage.text, span)
    if span is None:  # the passage changed since the answer: show the quote on its own
        body = f'<p class="ev-quote">{_quote_html(c)}</p>' + body
    return f'{head}{where}<div class="ev-passage">{body}</div>'


def _preview_html(number: int, items: list[tuple[int, Citation]], short: ShortAnswer | None = None) -> str:
    c = items[0][1]
    quotes = "".join(f'<span class="cp-quote">{_quote_html(ci, short)}</span>' for _, ci in items)
    return (f'<span class="cp-head">[{number}] {escape_html(c.title)} · {_date(c.date)}</span>'
            f"{quotes}")


def _chip(turn: int, number: int, items: list[tuple[int, Citation]], short: ShortAnswer | None = None) -> str:
    first = items[0][0]
    # a word joiner keeps the chip on the line of the sentence it closes
    return (f'\u2060<sup class="cite-ref"><a class="cite" href="#ev-{turn}-{first}" role="button" '
            f'tabindex="0">{number}</a><span class="cite-pop" hidden>{_preview_html(number, items, short)}</span></sup>')


def _body_with_chips(answer: Answer, turn: int) -> str:
    """The answer text as safe Markdown, its [n] markers replaced by chips in article numbering."""
    index = {c.marker: (i, c) for i, c in enumerate(answer.citations)}
    number = {c.marker: g.number for g in group_sources(answer.citations) for _, c in g.items}
    chips: list[str] = []

    def run(m: re.Match) -> str:
        by_number: dict[int, list[tuple[int, Citation]]] = {}
        for marker in (int(x) for x in _MARKER.findall(m.group())):
            if marker in index:
                by_number.setdefault(number[marker], []).append(index[marker])
        out = ""
        for n, items in by_number.items():
            chips.append(_chip(turn, n, items, answer.short_answer))
            out += f"{CHIP_START}{len(chips) - 1}{CHIP_END}"
        return out

    text = _MARKER_RUN.sub(run, _PRIVATE.sub(" ", sentences_text(answer)))
    rendered = _render(text, None, inline=False)
    return re.sub(f"{CHIP_START}(\\d+){CHIP_END}", lambda m: chips[int(m.group(1))], rendered)


def sentences_text(answer: Answer) -> str:
    """The answer's sentences: its text without the short answer's first line."""
    if answer.short_answer is not None and "\n" in answer.text:
        return answer.text.split("\n", 1)[1]
    return answer.text


def _short_answer_html(answer: Answer) -> str:
    short = answer.short_answer
    if short is None:
        return ""
    return f'<p class="short-answer"><strong>{plain_inline(short.text)}</strong></p>'


def _sources_html(answer: Answer, turn: int) -> str:
    rows = []
    for g in group_sources(answer.citations):
        quotes = "".join(f'<a class="src-q" id="ev-{turn}-{i}" href="#ev-{turn}-{i}">'
                         f"{_quote_html(c, answer.short_answer)}</a>" for i, c in g.items)
        rows.append(f'<div class="src" id="src-{turn}-{g.number}"><span class="src-n">{g.number}</span>'
                    f'{_title_html(g.title, g.url, "src-title")} <span class="src-date">· {_date(g.date)}</span>'
                    f'<div class="src-quotes">{quotes}</div></div>')
    return f'<div class="sources"><div class="sources-h">来源 Sources</div>{"".join(rows)}</div>'


def _evidence_blocks(answer: Answer, turn: int, passages: PassageLookup | None) -> str:
    blocks = []
    for i, c in enumerate(answer.citations):
        passage = passages(c) if passages else None
        blocks.append(f'<div class="ev-src" id="evsrc-{turn}-{i}" hidden>{evidence_html(c, passage)}</div>')
    return "".join(blocks)


def answer_html(answer: Answer, turn: int = 0, passages: PassageLookup | None = None, note: str = "") -> str:
    """The chat message for an answer: one HTML block (see the module docstring)."""
    if answer.abstained:
        body = f'<p class="abstain"><em>{escape_html(answer.text)}</em></p>'
        if note:
            body += f'<p class="note">{escape_html(note)}</p>'
        return f'<div class="ans" id="ans-{turn}">{body}</div>'
    body = _short_answer_html(answer) + _body_with_chips(answer, turn)
    if answer.unsupported:
        body += ('<p class="unsupported">⚠️ ' + escape_html("未被引用资料支持的句子 Not supported by the cited "
                 "passages: " + " ".join(answer.unsupported)) + "</p>")
    if note:
        body += f'<p class="note">{escape_html(note)}</p>'
    sources = _sources_html(answer, turn) if answer.citations else ""
    tools = '<div class="msg-tools"><button type="button" class="copy-msg">复制 Copy</button></div>'
    return (f'<div class="ans" id="ans-{turn}">{body}{sources}{tools}'
            f"{_evidence_blocks(answer, turn, passages)}</div>")


def answer_markdown(answer: Answer, passages: PassageLookup | None = None) -> str:
    """The chat message for a single answer (see answer_html)."""
    return answer_html(answer, 0, passages)


def question_html(question: str, turn: int) -> str:
    return f'<div class="q" id="q-{turn}">{escape_html(question)}</div>'


def streaming_html(text: str) -> str:
    """An answer while it streams: plain escaped text; chips come with the final answer."""
    return f'<div class="ans streaming">{escape_html(text)}</div>'


# -- clean text: copy and export --------------------------------------------------------------

def _md_inert(text: str) -> str:
    """Clean text for a Markdown file: as written, except what a Markdown viewer would make
    live (HTML tags, images, links)."""
    return text.replace("<", "\\<").replace("![", "!\\[").replace("](", "\\](")


def answer_text(answer: Answer) -> str:
    """An answer as clean text: markers in article numbering, then the sources."""
    lines = [renumber(answer.text, answer.citations)]
    if answer.unsupported:
        lines.append("⚠️ 未被引用资料支持的句子 Not supported by the cited passages: " + " ".join(answer.unsupported))
    groups = group_sources(answer.citations) if not answer.abstained else []
    if groups:
        lines += ["", "来源 Sources:"]
    for g in groups:
        lines.append(f"{g.number}. {g.title}（{g.date or UNDATED}）" + (f" {g.url}" if safe_url(g.url) else ""))
        for _, c in g.items:
            label = field_label(c.field)
            lines.append(f"   - {label + ': ' if label else ''}「{c.quote}」")
    return "\n".join(lines)


def conversation_markdown(turns, date: str = "") -> str:
    """Export: the conversation with its sources, as a Markdown document of clean text."""
    out = [f"# 对话记录 Conversation{' · ' + date if date else ''}", ""]
    for i, t in enumerate(turns, start=1):
        answer: Answer = t.answer
        out += [f"## {i}. 问 Q: {_md_inert(answer.question)}", "", _md_inert(answer_text(answer)), ""]
        if t.note:
            out += [_md_inert(t.note), ""]
    return "\n".join(out)


def without_hits(answer: Answer) -> Answer:
    """What a session keeps of an answer: everything but the retrieved passages."""
    return dataclasses.replace(answer, hits=())
