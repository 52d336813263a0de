"""Chinese-aware text handling: sentence spans with offsets, search terms, display cleanup.

jieba is imported on first use; its dictionary loads from a pickle (rag.jieba_dictionary).
"""

from __future__ import annotations

import bisect
import functools
import re
import sys
import unicodedata

_SENTENCE_END = re.compile(
    r"""(?:[。！？；!?;]+[”’"'」』）)】]*)   # CJK/ASCII sentence ends, with closing quotes
      |(?:(?<=[^\d\sA-Z.])\.(?=\s|$))     # an ASCII period before a space (not 4.6, U.S.A.)
      |\n""",
    re.VERBOSE,
)
_LEADING_MARKUP = re.compile(r"^(?:#{1,6}\s+|>\s?|[*+\-]\s+|\d{1,3}[.)]\s+|\s+)+")
# One definition of a Chinese character (CJK unified ideographs, extension A, compatibility)
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
CJK_CHAR = re.compile(f"[{CJK_CHARS}]")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # a date as filters, front matter and the API write it
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


# Longest sentence span: a run without a sentence end is cut into pieces no longer than
# this. e5 reads 512 tokens (its position table); its tokenizer makes about 0.8 tokens of a
# Chinese character (405 for 500 measured), so a piece fits one window with the "passage: "
# prefix. Real sentences in news prose run well under 200 characters, so only unpunctuated
# runs (a pasted table, a hostile one-line file) are cut, and each costs linear time.
MAX_SENTENCE_CHARS = 500
# Where a long run is cut, latest first within the last half of a piece: after a clause
# mark or a space, so a cut falls between clauses rather than inside a word.
_SOFT_BREAK = frozenset("，、,：:）)」』” \t\u3000")
# Markdown images and links and HTML character references are atoms: a sentence never ends
# inside one (「官网是![logo](…)」 must not end at its "!", "&lt;" not at its ";", a URL's "?"
# or ";" is no sentence end) and a long run is not cut inside one. Bounded, so a link that
# never closes costs nothing extra; a longer one is ordinary text.
_ATOM = re.compile(
    r"""!?\[[^\[\]\n]{0,500}\]\([^()\s]{0,2000}(?:[ \t]+"[^"\n]{0,500}")?\)
      |&(?:[A-Za-z][A-Za-z0-9]{1,31}|\#[0-9]{1,7}|\#[xX][0-9A-Fa-f]{1,6});""",
    re.VERBOSE,
)
# A label (title, heading, keyword line) longer than this is not a label but a pasted body
# or an attack: it is cut to this length where it is repeated beside every chunk's text for
# the embedder and BM25 (the longest real headlines are under 100 characters).
MAX_LABEL_CHARS = 300


def label(text: str) -> str:
    """`text` cut to MAX_LABEL_CHARS: what is repeated beside every chunk stays small."""
    return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS].rstrip()


def _atoms(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    end = len(text) if end is None else end
    if "](" not in text[start:end] and "&" not in text[start:end]:
        return []
    return [(m.start(), m.end()) for m in _ATOM.finditer(text, start, end)]


def _atom_at(atoms: list[tuple[int, int]], pos: int) -> tuple[int, int] | None:
    """The atom that holds `pos` strictly inside it (a cut at its start is outside)."""
    i = bisect.bisect_left(atoms, (pos,)) - 1  # the last atom starting before `pos`
    if i >= 0 and pos < atoms[i][1]:
        return atoms[i]
    return None


def _sentence_ends(text: str, atoms: list[tuple[int, int]]):
    """(start, end) of each sentence-end mark outside atoms."""
    pos = 0
    starts = [a for a, _ in atoms]
    while (m := _SENTENCE_END.search(text, pos)) is not None:
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and atoms[i][0] <= m.start() < atoms[i][1]:
            pos = atoms[i][1]  # a mark inside an image, link or entity
            continue
        end = m.end()
        if i + 1 < len(atoms) and atoms[i + 1][0] < end:
            end = atoms[i + 1][0]  # "！![图](…)": the mark ends where the image begins
        yield m.start(), end
        pos = end


def split_run(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut text[start:end] into pieces of at most `limit` characters, preferring a cut
    after a clause mark or a space in each piece's second half, never inside an image,
    link or entity unless one alone is longer than a piece. Linear in the length."""
    pieces = []
    atoms = _atoms(text, start, end) if end - start > limit else []
    while end - start > limit:
        cut = start + limit
        for j in range(start + limit, start + limit // 2, -1):
            if text[j - 1] in _SOFT_BREAK:
                cut = j
                break
        atom = _atom_at(atoms, cut)
        if atom is not None and atom[0] > start:
            cut = atom[0]
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def sentence_spans(text: str, base: int = 0, limit: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Split `text` into sentences; return (start, end) offsets (plus `base`) of each,
    trimmed of surrounding whitespace and leading Markdown markers, so that
    `text[start-base:end-base]` is the sentence as written. A sentence never ends inside a
    Markdown image or link or an HTML entity, and none is longer than `limit` (the chunker
    passes its chunk size, so a long run is cut once, into chunk-sized pieces)."""
    spans = []
    pos = 0
    for mark_start, mark_end in _sentence_ends(text, _atoms(text)):
        end = mark_end if text[mark_start] != "\n" else mark_start
        spans.append((pos, end))
        pos = mark_end
    spans.append((pos, len(text)))
    result = []
    for start, end in spans:
        piece = text[start:end]
        lead = _LEADING_MARKUP.match(piece)
        if lead:
            start += lead.end()
        end = _rstrip(text, start, end)
        if end - start > limit:
            for s, e in split_run(text, start, end, limit):
                while s < e and text[s].isspace():
                    s += 1
                e = _rstrip(text, s, e)
                if e > s and _has_word(text[s:e]):
                    result.append((s + base, e + base))
        elif end > start and _has_word(text[start:end]):
            result.append((start + base, end + base))
    return result


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _has_word(s: str) -> bool:
    return any(ch.isalnum() for ch in s)


@functools.cache
def _jieba():
    import jieba

    from rag.jieba_dictionary import load_dictionary

    jieba.setLogLevel(60)  # it prints to stderr when it builds its cache
    load_dictionary(jieba)
    return jieba


def tagged_words(run: str) -> list[tuple[str, str]]:
    """(word, part-of-speech tag) of a run of Chinese characters (as `script_runs` gives
    them), as `jieba.posseg.lcut(run, HMM=False)` gives them: jieba's dictionary cut, each
    word tagged as jieba's dictionary tags it ("x" for none; the same pairs on 128,000 runs
    of the news archive and the qa questions, measured 2026-12-07, and on the shipped
    articles in tests/test_jieba_dictionary.py). Latin letters and digits inside a run would
    be "x" here and "eng"/"m" there: callers pass Chinese runs only. Without importing
    jieba.posseg, whose import reads the dictionary again and loads the tables only its HMM
    uses: 0.4 s of a cold `rag ask`."""
    from rag.jieba_dictionary import word_tags

    jieba = _jieba()
    tags = word_tags(jieba)
    return [(w, tags.get(w, "x")) for w in jieba.lcut(run, HMM=False)]


# Characters that are words of their own far more often than parts of a name (是, 的, 在, 中,
# 哪, 之, 曾, 最, 比...): a word jieba's HMM guesses with one of them in it is phrasing cut
# wrongly ("世是" of 本笃十六世是, "市有", "曾于", "前比" of 跟几年前比, "最受"), not a name.
# Examples in tests/test_heuristics.py.
_FUNCTION_CHARS = frozenset("是有在的了和与及或被把将已曾又也都就还中上下里为于由而会自哪何其之这那每各该此"
                            "从向对到给让使以吗呢吧啊么多少几什谁怎前后比跟很最更较过所不得地着著来去要太一"
                            "他她它我你")


GUESSED_NAME_TAG = "nw"  # not a tag of jieba's dictionary: a word its HMM guessed


def tagged_words_with_names(run: str) -> list[tuple[str, str]]:
    """tagged_words, with the names jieba's dictionary lacks joined back: a name it has no
    entry for (杜苏芮, a typhoon of 2023; 潘仕成) comes out of its dictionary cut as single
    characters, which a question's key terms drop; its HMM, which cuts the articles for
    search (`terms`), guesses them as one word. A guessed word keeps the part between the
    _FUNCTION_CHARS at its ends (卡努是 -> 卡努, 是): two or more characters with none of
    them is tagged GUESSED_NAME_TAG; any other guess goes back to the dictionary's
    single characters (the HMM only re-cuts runs of characters the dictionary left single)."""
    from rag.jieba_dictionary import word_tags

    jieba = _jieba()
    tags = word_tags(jieba)
    out: list[tuple[str, str]] = []
    for w in jieba.lcut(run, HMM=True):
        if w in tags or len(w) == 1:
            out.append((w, tags.get(w, "x")))
            continue
        start, end = 0, len(w)
        while start < end and w[start] in _FUNCTION_CHARS:
            start += 1
        while end > start and w[end - 1] in _FUNCTION_CHARS:
            end -= 1
        core = w[start:end]
        if len(core) < 2 or set(core) & _FUNCTION_CHARS:
            out.extend(tagged_words(w))
            continue
        out.extend(tagged_words(w[:start]) if start else [])
        out.append((core, GUESSED_NAME_TAG))
        out.extend(tagged_words(w[end:]) if end < len(w) else [])
    return out


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
    (Node.js, 501(c)(4), 4.6, 69%), lowercased, without stopwords or punctuation."""
    out: list[str] = []
    for chinese, run in script_runs(normalize(text)):
        out.extend(_cjk_terms(run) if chinese else latin_terms(run))
    return out


def dictionary_words(text: str) -> list[tuple[int, int, int]]:
    """jieba's dictionary words in `text` (precise mode, no guessed words): (start, end, how
    often the dictionary counts the word)."""
    jieba = _jieba()
    spans, at = [], 0
    for word in jieba.cut(text, HMM=False):
        spans.append((at, at + len(word), jieba.get_FREQ(word) or 0))
        at += len(word)
    return spans


def latin_terms(text: str) -> list[str]:
    found = []
    for m in _LATIN_TERM.finditer(text):
        word = m.group().lower()
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if word not in STOPWORDS:
            found.append(sys.intern(word))
    return found


@functools.lru_cache(maxsize=100_000)
def _cjk_terms_cached(run: str) -> tuple[str, ...]:
    # interned: a 10,000-article BM25 build holds ~6M terms of ~200k distinct words, 360 MB
    # as separate string objects
    words = _jieba().cut_for_search(run)
    return tuple(sys.intern(w) for w in words if w not in STOPWORDS)


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
