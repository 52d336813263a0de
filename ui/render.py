"""Turning answers into safe Markdown for the chat. Article text is untrusted: it is
escaped so that HTML, images and links inside documents are shown as text, never live."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urlparse

from rag.collection import field_label
from rag.types import Answer

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
# Gradio's renderer turns bare URLs into links even inside HTML blocks; a zero-width space
# after the scheme keeps URLs in documents as plain text.
_BARE_URL = re.compile(r"(?i)\b(https?|ftp|www)(?=://|\.)")


def _defang(text: str) -> str:
    return _BARE_URL.sub("\\1\u200b", text)


def escape_text(text: str) -> str:
    """Plain text that Markdown and HTML render literally."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(_defang(text), quote=False))


def escape_html(text: str) -> str:
    """For text inside an HTML block: entities for HTML and for Markdown's syntax
    characters, so no renderer can turn it into a tag, an image or a link."""
    return re.sub(r"[!\[\]()*_`#|~\\]", lambda m: f"&#{ord(m.group())};",
                  html.escape(_defang(text), quote=True))


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


def sources_markdown(answer: Answer, passages: Callable[[str], str | None] | None = None) -> str:
    """Numbered sources: title, date, link, the quoted sentence, and the passage around it."""
    if answer.abstained or not answer.citations:
        return ""
    lines = ["**来源 Sources**", ""]
    for c in answer.citations:
        title = escape_text(c.title)
        url = safe_url(c.url)
        head = f"[{title}]({url})" if url else title
        lines.append(f"{c.marker}. {head} · {escape_text(c.date or '日期不详')}")
        label = field_label(c.field)  # quoted from the front matter: say which field
        lines.append(f"    > {escape_text(label) + ': ' if label else ''}「{escape_text(c.quote)}」")
        passage = passages(c.chunk_id) if passages else None
        if passage:
            lines.append(
                # One line, so the whole block stays HTML and no Markdown inside it renders.
                f"    <details><summary>上下文 context</summary>"
                f"{escape_html(passage).replace(chr(10), '<br>')}</details>"
            )
        lines.append("")
    return "\n".join(lines)


def answer_markdown(answer: Answer, passages: Callable[[str], str | None] | None = None) -> str:
    body = escape_answer(answer.text)
    if answer.abstained:
        return f"_{body}_"
    if answer.unsupported:
        body += "\n\n⚠️ " + escape_text("未被引用资料支持的句子 Not supported by the cited passages: ")
        body += " ".join(escape_text(s) for s in answer.unsupported)
    sources = sources_markdown(answer, passages)
    return f"{body}\n\n{sources}" if sources else body


def _label(citation: dict) -> str:
    label = field_label(citation.get("field", "body"))
    return f"{escape_text(label)}: " if label else ""


def conversation_markdown(turns: list[dict]) -> str:
    """Export: the conversation with its sources, as a Markdown document."""
    out = ["# 对话记录 Conversation", ""]
    for t in turns:
        out += [f"**问 Q:** {escape_text(t['question'])}", "", f"**答 A:** {escape_answer(t['answer'])}", ""]
        for c in t.get("citations", []):
            url = safe_url(c.get("url"))
            out.append(f"{c['marker']}. {escape_text(c['title'])} ({escape_text(c.get('date') or '日期不详')})"
                       + (f" {url}" if url else "") + f": {_label(c)}「{escape_text(c['quote'])}」")
        out.append("")
    return "\n".join(out)
