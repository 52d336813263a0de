"""The offline answerer: picks the best one to three sentences (more for list questions)
from the retrieved chunks, each followed by its citation marker.

Sentences are scored by meaning (cosine similarity of the question's e5 vector to the
sentence vectors stored at ingest) together with word coverage; every sentence of the
answer is a sentence of a retrieved chunk, so the answer is grounded by construction.
Whether to answer at all is decided from the evidence as a whole (`gate.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.retrieve.query import QueryTerms
from rag.text import clean_markdown, sentence_spans
from rag.tuned import DEFAULTS, Tuning
from rag.types import Citation, Hit

_DIGITS = re.compile(r"\d|[一二两三四五六七八九十百千万亿]+(个|年|项|家|大|万|亿|%)")
_AMOUNT = re.compile(r"(\d[\d,.]*|[一二两三四五六七八九十百千]+)\s*(万|亿|千万|百万)?\s*(美元|英镑|欧元|人民币|元|美金)|"
                     r"[$£€]\s?\d|\d\s?(million|billion)|\d+\s?(dollars|pounds|euros)", re.I)
_DATE = re.compile(r"\d{4}年|\d{1,2}月|\d{4}-\d{2}|(春|夏|秋|冬)季|今天|近期")
_ENUMERATION = re.compile(r"[二两三四五六七八九十\d]+(大|个|项|类|方面)|以下|包括|分别")
_TRAILING = re.compile(r"[；;，,、：:\s]+$")


@dataclass(frozen=True)
class Sentence:
    hit_rank: int
    hit: Hit
    start: int
    end: int
    text: str  # exact article text at [start, end)
    is_heading: bool
    is_quote_block: bool = False  # a "> " line: in news Markdown, usually an editor's note
    previous: str = ""  # the sentence before it in the same passage (for "该组织…", "它…")


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    score: float
    coverage: float  # share of the question's key-term weight the sentence contains
    similarity: float | None = None  # cosine similarity to the question (None: no vector)


# The heading of a list of other articles (「相关内容」, "See also"): its lines name them.
_RELATED_LIST = r"相关(?:内容|文档|文章|阅读|链接|新闻|报道)|延伸阅读|推荐阅读|related\b|see also\b|read more\b"
_RELATED = re.compile(rf"^(?:{_RELATED_LIST})", re.I)
_RELATED_OR_TOPICS = re.compile(rf"^(?:{_RELATED_LIST}|关联(?:主题|文章))", re.I)


def is_related_heading(text: str, *, topic_links: bool = False) -> bool:
    """A heading of a list of other articles. With `topic_links`, a list of linked topics
    or articles (「关联主题」, 「关联文章」) too: the collection answers skip those passages,
    while the sentence picker, tuned with them in, keeps them."""
    return bool((_RELATED_OR_TOPICS if topic_links else _RELATED).match(text))


def _names_another_article(chunk, line: str, text: str) -> bool:
    """A heading in a 「相关内容」 list is another article's title: it says nothing about
    that article's facts, and the article it sits in is not their source."""
    if is_related_heading(text):
        return True
    return line.lstrip().startswith("#") and any(is_related_heading(h) for h in chunk.heading_path)


# Page code an exported article kept in its text (a style rule, a script): quoting it answers
# nothing. Each pattern with what it catches:
PAGE_CODE = (
    re.compile(r"[A-Za-z_][\w-]*\s*\{\s*[a-z-]+\s*:"),  # .imgisgif{display:inline-block;  p { margin:
    re.compile(r"\bfunction\s*\w*\s*\([^)]*\)\s*\{"),  # function isMobile(){
    re.compile(r"\$\(\s*(function\b|[\"'][.#]?[\w-]+[\"']\s*\)\s*\.)"),  # $(function(){  $(".img_insert").css(
    re.compile(r"\b(var|let|const)\s+\w+\s*=\s*[^=]"),  # var mobile = isMobile();
    re.compile(r"\}\s*else\b|\bif\s*\(\s*!?\w+[\w.]*\(|\breturn\s+\w+\s*;"),  # } else if(u.indexOf(
    re.compile(r"\b(document|window|navigator)\.\w+|\.(indexOf|css|addEventListener|getElementById)\("),
    # data a page embedded (a video player's JSON): two "key": pairs close together
    re.compile(r'(?:"[A-Za-z_][\w-]*"\s*:\s*(?:"[^"\u3400-\u9fff]*"|-?\d[\d.]*|\[|\{|true|false|null)'
               r'[\s,\[\]{}]*){2}'),  # ,"items":[{"video_id":13887940,"video_source":"material",
    # a style declaration standing alone once sentences are cut at ";": background-color:#00a2ff;
    re.compile(r"^[\s{};]*(?:[a-z]+(?:-[a-z]+)+|color|margin|padding|display|position|width|height|border"
               r"|float|cursor|background|font|overflow|top|left|right|bottom|opacity)"
               r"\s*:\s*[#A-Za-z0-9.%(),/!-]+(?:\s+[#A-Za-z0-9.%(),/!-]+){0,3}\s*;?[\s}]*$"),
)


def is_page_code(text: str) -> bool:
    return any(p.search(text) for p in PAGE_CODE)


# A stretch of page code is a long run without Chinese holding braces and semicolons, or
# JSON's "key": pairs: cut into sentences at ";" "!" "?", its pieces ("important;", a URL's
# tail) match no pattern alone
_NON_CJK_RUN = re.compile(r"[^\u3400-\u9fff\u3000-\u303f\uff00-\uffef]{40,}")
_JSON_KEY = re.compile(r'"[A-Za-z_][\w-]*"\s*:')


def page_code_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), _code_end(text, m)) for m in _NON_CJK_RUN.finditer(text)
            if (m.group().count("{") + m.group().count("}") >= 2 and m.group().count(";") >= 2)
            or len(_JSON_KEY.findall(m.group())) >= 3]


def _code_end(text: str, m: re.Match) -> int:
    """Digits at the run's end that start a date after it belong to the text ("…png?7月26日")."""
    if text[m.end() : m.end() + 1] in _DATE_UNIT:
        return m.start() + len(m.group().rstrip("0123456789"))
    return m.end()


_DATE_UNIT = frozenset("年月日时号点分")


def candidate_sentences(hits: list[Hit]) -> list[Sentence]:
    seen: set[tuple[str, int]] = set()
    out = []
    for rank, hit in enumerate(hits):
        c = hit.chunk
        previous = ""
        code = page_code_spans(c.text)
        for s, e in sentence_spans(c.text, c.start):
            for a, b in code:  # page code the export left in: skipped, or cut off the sentence
                if a <= s - c.start < b:
                    s = min(e, c.start + b)
                if a < e - c.start <= b:
                    e = max(s, c.start + a)
            text = c.text[s - c.start : e - c.start]
            if not text.strip():
                continue
            key = (c.article_id, s)
            if key not in seen:  # overlapping chunks repeat sentences
                seen.add(key)
                line_start = c.text.rfind("\n", 0, s - c.start) + 1
                prefix = c.text[line_start : s - c.start]
                quoted = prefix.lstrip().startswith(">")
                # "> " lines are editor's/translator's notes, not the article
                if not quoted and not _names_another_article(c, prefix, text) and not is_page_code(text):
                    out.append(Sentence(rank, hit, s, e, text, text in c.heading_path, quoted, previous))
            previous = text
    return out


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\W+", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def similar(a: str, b: str, share: float) -> bool:
    """Two sentences that say much the same: more than `share` of the shorter one's character
    bigrams are in the other. The answer's sentences are kept this far apart; the collection
    answers use 0.5, for a summary beside the lead it was written from."""
    x, y = _bigrams(a), _bigrams(b)
    return bool(x and y) and len(x & y) / min(len(x), len(y)) > share




def evidence_coverage(q: QueryTerms, hits: list[Hit], top: int = 3, *, tuning: Tuning = DEFAULTS) -> float:
    """How much of the question the retrieved passages cover, with their titles and
    headings as context (a passage under "肯尼亚..." is about Kenya): the best single
    passage, or the top few together at a discount (questions spanning articles)."""
    single = max((q.coverage(h.chunk.search_text()) for h in hits), default=0.0)
    union = q.coverage("\n".join(h.chunk.search_text() for h in hits[:top]))
    return max(single, tuning.union_discount * union)


_ANAPHOR_THING = r"该|它|其|此|这|They\b|It\b|This\b"
_ANAPHOR = re.compile(rf"^({_ANAPHOR_THING}|他|她|The organi[sz]ation\b)")
_ANAPHOR_NOT_PERSON = re.compile(rf"^({_ANAPHOR_THING})")


def points_back(text: str, *, to_people: bool = True) -> bool:
    """The sentence starts by pointing back at the one before ("该组织…", "It…"), so it needs
    that one. Without `to_people`, 他/她 and "The organization" do not count (the collection
    answers' rule: there a sentence about a person stands on its own)."""
    return bool((_ANAPHOR if to_people else _ANAPHOR_NOT_PERSON).match(text))


def expected_type_missing(q: QueryTerms, scored: list[Scored], top: int = 1) -> bool:
    """The question asks for a date, a sum of money or a number and the best sentence has
    none: "…是哪一年成立的？" over passages that never give a year, "…支付了多少钱？" over
    passages whose numbers are not amounts of money."""
    best = [c.sentence.text for c in scored[:top]]
    if q.wants_money:
        return not any(_AMOUNT.search(t) for t in best)
    if q.wants_date:
        return not any(_DATE.search(t) for t in best)
    if q.wants_number:
        return not any(_DIGITS.search(t) for t in best)
    return False


def semantic_score(similarity: float | None, tuning: Tuning = DEFAULTS) -> float:
    """e5 cosine similarities crowd into 0.7-0.95; rescale so the floor maps to 0 (higher:
    closer in meaning)."""
    if similarity is None:
        return 0.0
    return max(0.0, (similarity - tuning.sim_floor) / (1.0 - tuning.sim_floor))


def score_sentences(q: QueryTerms, sentences: list[Sentence],
                    similarities: list[float | None] | None = None, *, tuning: Tuning = DEFAULTS) -> list[Scored]:
    """Best first; a higher `score` answers the question better."""
    t = tuning
    scored = []
    context_coverage: dict[str, float] = {}  # per passage, shared by its sentences
    sims = similarities if similarities is not None else [None] * len(sentences)
    for s, sim in zip(sentences, sims):
        own = q.coverage(s.text)
        if s.previous and points_back(s.text):
            # "该组织由…创立" is about the organisation the sentence before names; borrowed
            # terms count less, so the sentence that names things itself wins a tie
            own += t.anaphor_borrow * (q.coverage(s.previous + s.text) - own)
        chunk = s.hit.chunk
        if chunk.id not in context_coverage:
            context_coverage[chunk.id] = q.coverage(chunk.search_text())
        context = context_coverage[chunk.id]
        score = (t.w_lexical * own + t.w_semantic * semantic_score(sim, t)
                 + t.w_context * context + t.w_hit_rank / (1 + s.hit_rank))
        if q.wants_number and _DIGITS.search(s.text):
            score += t.number_bonus
        if q.wants_date and _DATE.search(s.text):
            score += t.number_bonus
        if q.is_list and (s.text.count("、") >= 2 or _ENUMERATION.search(s.text)):
            score += t.list_bonus  # list answers enumerate
        if s.is_heading:
            score -= t.heading_penalty  # a heading alone rarely answers; it still may
        if s.is_quote_block or "[[" in s.text:
            score -= t.note_penalty  # editor's notes and wiki-link lists point elsewhere
        if len(s.text) < t.short_chars:
            score -= t.short_penalty
        scored.append(Scored(s, score, own, sim))
    scored.sort(key=lambda x: (-x.score, x.sentence.hit_rank, x.sentence.start))
    return scored


def _list_items_after(best: Sentence, sentences: list[Sentence]) -> list[Sentence]:
    """The bullet items right after a sentence that introduces a list (ends with '：')."""
    if not best.text.rstrip().endswith(("：", ":")):
        return []
    c = best.hit.chunk
    body_after = [s for s in sentences if s.hit.chunk.id == c.id and s.start > best.start]
    return sorted(body_after, key=lambda s: s.start)


def _continuation(s: Sentence, sentences: list[Sentence]) -> Sentence | None:
    """The sentence right after `s` in its passage, if it starts by pointing back at it."""
    for other in sentences:
        if other.hit.chunk.id == s.hit.chunk.id and other.previous == s.text and points_back(other.text):
            return other
    return None


def _relevant(c: Scored, tuning: Tuning) -> bool:
    """Says something about the question: shares its words or its meaning."""
    return c.coverage > 0 or semantic_score(c.similarity, tuning) > 0


def select(q: QueryTerms, hits: list[Hit], max_sentences: int, list_max: int,
           similarity=None, *, tuning: Tuning = DEFAULTS) -> list[Sentence]:
    """`similarity(texts) -> list[float | None]`: the question's similarity to sentences."""
    sentences = candidate_sentences(hits)
    scored = score_sentences(q, sentences, similarity([s.text for s in sentences]) if similarity else None,
                             tuning=tuning)
    return select_scored(q, sentences, scored, max_sentences, list_max, tuning=tuning)


def select_scored(q: QueryTerms, sentences: list[Sentence], scored: list[Scored],
                  max_sentences: int, list_max: int, *, tuning: Tuning = DEFAULTS) -> list[Sentence]:
    if not scored or not _relevant(scored[0], tuning):
        return []
    best = scored[0]
    chosen = [best.sentence]
    limit = list_max if q.is_list else max_sentences
    if q.is_list:
        for s in _list_items_after(best.sentence, sentences)[: limit - 1]:
            chosen.append(s)
    follow = _continuation(best.sentence, sentences)
    if follow is not None and len(chosen) < limit and follow not in chosen:
        chosen.append(follow)  # "X是…。它能够…": the next sentence goes on about X
    covered = q.matched(best.sentence.text)
    for cand in scored[1:]:
        if len(chosen) >= limit:
            break
        s = cand.sentence
        if cand.score < tuning.keep_ratio * best.score or not _relevant(cand, tuning) or s in chosen:
            continue
        if any(similar(s.text, c.text, tuning.repeat_share) for c in chosen):
            continue
        new_terms = q.matched(s.text) - covered
        if not new_terms and semantic_score(cand.similarity, tuning) < tuning.semantic_extra:
            continue  # adds neither a new question word nor a close match in meaning
        chosen.append(s)
        covered |= new_terms
    return chosen


def render(chosen: list[Sentence]) -> tuple[str, tuple[Citation, ...]]:
    parts, citations = [], []
    for n, s in enumerate(chosen, 1):
        c = s.hit.chunk
        citations.append(
            Citation(n, c.article_id, c.title, c.url, c.date, s.text, c.id, s.start, s.end)
        )
        parts.append(f"{display(s.text)}[{n}]")
    return "".join(parts), tuple(citations)


def display(text: str) -> str:
    """A sentence as an answer shows it: Markdown removed, a trailing comma or colon trimmed,
    and a full stop when it ends without one."""
    text = _TRAILING.sub("", clean_markdown(text))
    if text and text[-1] not in "。！？!?.…”\"」":
        text += "。"
    return text
