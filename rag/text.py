"""Chinese-aware text handling: sentence spans with offsets, search terms, display cleanup.

jieba is imported on first use: it costs ~1 s to load its dictionary.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SENTENCE_END = re.compile(
    r"""(?:[。！？；!?;]+[”’"'」』）)】]*)   # CJK/ASCII sentence ends, with closing quotes
      |(?:(?<=[^\d\sA-Z.])\.(?=\s|$))     # an ASCII period before a space (not 4.6, GOV.UK)
      |\n""",
    re.VERBOSE,
)
_LEADING_MARKUP = re.compile(r"^(?:#{1,6}\s+|>\s?|[*+\-]\s+|\d{1,3}[.)]\s+|\s+)+")
# One definition of a Chinese character (CJK unified ideographs, extension A, compatibility)
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
CJK_CHAR = re.compile(f"[{CJK_CHARS}]")
# A Markdown ATX heading line: group 1 the #s, group 2 the text
HEADING_LINE = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t\u3000]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_LATIN_TERM = re.compile(
    r"[A-Za-z0-9]+(?:[.\-'’&][A-Za-z0-9]+)*(?:\([A-Za-z0-9]{1,3}\))*%?"
)

STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 或 也 都 就 而 并 被 把 将 对 从 向 为 于 以 之 其 这 那 这个 那个 这些 那些 此
    一个 一些 一种 有 有没有 没有 吗 呢 吧 啊 么 什么 哪 哪个 哪些 哪里 哪儿 哪家 谁 多少 几 几个 怎么 怎样 如何 为什么
    是否 是不是 请问 请 告诉 我 我们 你 你们 他 她 它 他们 它们 该 等 中 上 下 里 个 能 会 可以 要 给 让 还 又
    多 什么样 哪一个 哪一 哪位 何时 何 时候 什么时候 当时 其中 关于 方面 通过 进行 以及 还有 由 所 已 已经 曾 曾经
    分别 主要 具体 一下 一 二 三 提到 文章 文中 报道 资料 内容 说 表示 指出 介绍 哪年 哪天 几月 几年 多大 多久
    a an the of to in on for and or is are was were be been by with as at from that this these those it its
    what which who whom whose when where why how did does do has have had will would can could should
    about into than then there their they them he she his her we our you your i me my not no yes
    much many any some each per via s
    """.split()
)


def normalize(text: str) -> str:
    """NFKC folds full-width letters, digits and punctuation into their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


def sentence_spans(text: str, base: int = 0) -> list[tuple[int, int]]:
    """Split `text` into sentences; return (start, end) offsets (plus `base`) of each,
    trimmed of surrounding whitespace and leading Markdown markers, so that
    `text[start-base:end-base]` is the sentence as written."""
    spans = []
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end() if match.group() != "\n" else match.start()
        spans.append((pos, end))
        pos = match.end()
    spans.append((pos, len(text)))
    result = []
    for start, end in spans:
        piece = text[start:end]
        lead = _LEADING_MARKUP.match(piece)
        if lead:
            start += lead.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start and _has_word(text[start:end]):
            result.append((start + base, end + base))
    return result


def _has_word(s: str) -> bool:
    return any(ch.isalnum() for ch in s)


@functools.cache
def _jieba():
    import jieba

    jieba.setLogLevel(60)  # it prints to stderr when it builds its cache
    jieba.initialize()
    return jieba


def script_runs(text: str):
    """Yield (is_chinese, run) for the alternating Chinese and other stretches of `text`."""
    pos = 0
    for cjk in _CJK_RUN.finditer(text):
        if cjk.start() > pos:
            yield False, text[pos : cjk.start()]
        yield True, cjk.group()
        pos = cjk.end()
    if pos < len(text):
        yield False, text[pos:]


def terms(text: str) -> list[str]:
    """Search terms: jieba words for Chinese, whole tokens for Latin names and numbers
    (GOV.UK, 501(c)(4), 4.6, 69%), lowercased, without stopwords or punctuation."""
    out: list[str] = []
    for chinese, run in script_runs(normalize(text)):
        out.extend(_cjk_terms(run) if chinese else latin_terms(run))
    return out


def latin_terms(text: str) -> list[str]:
    found = []
    for m in _LATIN_TERM.finditer(text):
        word = m.group().lower()
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if word not in STOPWORDS:
            found.append(word)
    return found


@functools.lru_cache(maxsize=100_000)
def _cjk_terms_cached(run: str) -> tuple[str, ...]:
    words = _jieba().cut_for_search(run)
    return tuple(w for w in words if w not in STOPWORDS)


def _cjk_terms(run: str) -> list[str]:
    return list(_cjk_terms_cached(run))


_WIKI_LINK = re.compile(r"\[\[(?:[^\]|]*\|)?([^\]]*)\]\]")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)")


def clean_markdown(text: str) -> str:
    """Readable plain text for answers: no bullets, headings, emphasis or link syntax."""
    text = _WIKI_LINK.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    lines = []
    for line in text.split("\n"):
        line = _LEADING_MARKUP.sub("", line).strip()
        if line:
            lines.append(line)
    return " ".join(lines)
