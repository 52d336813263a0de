"""What every kind's answer draws on: the Context of one answer (the pipeline's catalog,
retrieval and filters, looked up once), the articles that bear on a topic (`about`,
`best_article`, the pointers by meaning), an article's best sentences, and the Writer that
numbers the citations.

Sentences inside one article's passages are picked with rag.answering.extractive (select, render);
an article's summary competes with them and wins ties, since it is about the article's own
subject. For lists and comparisons, passages under a 「相关内容」-style heading are left out:
a line there that names another article is not evidence for that article's facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answering.extractive import (
    candidate_sentences,
    display,
    is_related_heading,
    points_back,
    render,
    select,
    similar,
)
from rag.collection.question_kinds import QuestionKind, merge_filters
from rag.index.catalog import by_date
from rag.retrieve.query import PROPER_NAME_TAGS, QueryTerms, SearchQuery, is_chinese, key_terms
from rag.text import normalize
from rag.tuned import Tuning
from rag.types import Answer, ArticleRecord, Citation, Hit, RetrievalFilter, SourceSpan

MAX_LINES = 10  # a collection overview or list names at most this many articles


@dataclass(frozen=True)
class Evidence:
    """One quotable sentence of one article."""

    record: ArticleRecord
    span: SourceSpan
    chunk_id: str  # "" for front-matter text
    display: str = ""  # the sentence as the answer shows it (rag.answering.extractive.render's form)


@dataclass(frozen=True)
class Candidate:
    """An article that bears on the topic, with its retrieved passages."""

    record: ArticleRecord
    coverage: float
    hits: tuple[Hit, ...]


def is_related(hit: Hit) -> bool:
    return any(is_related_heading(h.strip(), topic_links=True) for h in hit.chunk.heading_path)


def _profile(r: ArticleRecord) -> str:
    """What the catalog says about an article: title, original title, url words, tags, summary."""
    slug = re.sub(r"[-_/]+", " ", (r.url or "").rstrip("/").rsplit("/", 1)[-1])
    return "\n".join(p for p in (r.title, r.title_original or "", slug, " ".join(r.tags),
                                 " ".join(r.categories), r.summary) if p)


class Context:
    """What one answer needs from the pipeline, looked up once."""

    def __init__(self, pipeline, search: SearchQuery, kind: QuestionKind, user_flt: RetrievalFilter | None):
        flt = kind.merged_filter(user_flt)
        self.pipeline = pipeline
        self.user_flt = user_flt
        self.cfg = pipeline.cfg
        self.tuning: Tuning = pipeline.tuning
        self.search = search
        self.kind = kind
        self.flt = flt
        self.zh = is_chinese(search.question)
        lexical = pipeline.lexical
        self.lexical = lexical
        self.records = [r for r in lexical.articles if flt is None or flt.admits(r.id, r.date)]
        self.by_id = {r.id: r for r in lexical.articles}
        self.used_hits: list[Hit] = []
        dates = [r.date for r in lexical.articles if r.date and (user_flt is None or user_flt.admits(r.id, r.date))]
        self.records_newest = max(dates) if dates else None  # the newest date the asker's filter admits
        self._profiles: str | None = None
        self._shared: frozenset[str] | None = None

    def corpus_lacks(self, term: str) -> bool:
        if self._profiles is None:
            self._profiles = normalize("\n".join(_profile(r) for r in self.lexical.articles)).lower()
        return self.lexical.doc_freq.get(term, 0) == 0 and term not in self._profiles

    def shared_terms(self) -> frozenset[str]:
        """The terms every article's catalog entry (_profile) uses, in a collection of two or
        more articles: the words a whole collection shares, which narrow nothing."""
        if self._shared is None:
            from rag.text import terms

            articles = self.lexical.articles
            if self.pipeline.is_archive:
                self._shared = frozenset()  # an archive's articles share no subject word (and jieba over all is seconds)
                return self._shared
            sets = [set(terms(_profile(r))) for r in articles]
            self._shared = frozenset(set.intersection(*sets)) if len(sets) >= 2 else frozenset()
        return self._shared

    def admitted_by_user(self, r: ArticleRecord) -> bool:
        """Whether the asker's own filter (CLI/UI) admits the article, whatever the question's dates."""
        return self.user_flt is None or self.user_flt.admits(r.id, r.date)

    def say(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def date_of(self, r: ArticleRecord) -> str:
        return r.date or self.say("日期不详", "undated")

    def chunk_for(self, article_id: str, start: int, end: int) -> str:
        for c in self.lexical.chunks_of(article_id):
            if c.start <= start and end <= c.end:
                return c.id
        return ""

    def evidence(self, r: ArticleRecord, span: SourceSpan) -> Evidence:
        chunk_id = self.chunk_for(r.id, span.start, span.end) if span.field == "body" else ""
        return Evidence(r, span, chunk_id, display(span.text))

    def title_evidence(self, r: ArticleRecord) -> Evidence | None:
        if r.title_span is not None:
            return self.evidence(r, r.title_span)
        return self.evidence(r, r.summary_spans[0]) if r.summary_spans else None

    def retrieve(self, text: str, flt: RetrievalFilter | None = None) -> list[Hit]:
        from rag.text import terms

        flt = merge_filters(self.flt, flt)
        hits = self.pipeline.retriever.retrieve(text, flt, k=self.cfg.retrieval.candidates,
                                                weighted_terms=terms(text) or None)
        self.used_hits.extend(h for h in hits if h not in self.used_hits)
        return hits

    def terms_for(self, text: str, hits: list[Hit], extra: str = "", equivalents: bool = False) -> QueryTerms:
        """Key terms of `text` judged against the passages and `extra`; with `equivalents`,
        an English list word counts as present where its Chinese words are (_ZH_EQUIV)."""
        hay = normalize("\n".join([extra, *(h.chunk.search_text() for h in hits)])).lower()
        if equivalents:
            return key_terms(text, self.lexical.idf, lambda t: _in_zh(t, hay))
        return key_terms(text, self.lexical.idf, lambda t: t in hay)


def _covers(ctx: Context, q: QueryTerms, whole: bool = False) -> bool:
    """The topic can be judged here, and names nothing the whole collection lacks. A term
    this article lacks but others use ("国家", "公司") only lowers its coverage: such words
    are often the question's frame, while a name no article has ("德国") answers it: none.
    `whole`: every word of a topic in another language must have its Chinese word here
    ("nuclear weapons" is not "危险武器")."""
    most = 0.0 if whole else 0.5
    return bool(q.terms) and q.unknown_share <= most and not any(ctx.corpus_lacks(t) for t in q.absent)


def best_article(ctx: Context, topic: str) -> Candidate | None:
    """The one article a phrase points at ("肯尼亚那篇", "the ministry piece"): the best cover of
    the phrase's terms in its title, catalog entry or passages, names it lacks tolerated (the
    phrase is a pointer, not a claim), at least half of the phrase's weight covered."""
    found = about(ctx, topic, skip_related=True)
    if found:
        return found[0]
    found = about(ctx, topic, skip_related=True, strict=False)
    if found and found[0].coverage >= 0.5:
        return found[0]
    return _nearest_pointer(ctx, topic)


def _nearest_pointer(ctx: Context, phrase: str) -> Candidate | None:
    """The article the embedding model puts clearly nearest a phrase: by its passages, then
    by its profile. Never for a phrase naming something no article, title or URL has ("the
    Tesla deal"): the nearest is then not near, whatever the margin."""
    if _names_no_article_has(ctx, phrase):
        return None
    return _dense_pointer(ctx, phrase) or _profile_pointer(ctx, phrase)


def _profile_pointer(ctx: Context, phrase: str) -> Candidate | None:
    """A phrase in another language or other words than any title ("the donation", a
    programme's English name): the article whose profile (title, original title, summary;
    rag.index.catalog.profile_text) the embedding model puts nearest, ahead of the next by
    Tuning.profile_pointer_margin. None without a model or with fewer than two articles.
    (English names no article has led by up to 0.022: _nearest_pointer keeps them out.)"""
    sims = _profile_similarities(ctx, phrase)
    if len(sims) < 2:
        return None
    ranked = sorted(sims, key=lambda rs: -rs[1])
    if ranked[0][1] - ranked[1][1] < ctx.tuning.profile_pointer_margin:
        return None
    r = ranked[0][0]
    hits = [h for h in ctx.retrieve(phrase, RetrievalFilter(frozenset({r.id}))) if not is_related(h)]
    return Candidate(r, 0.0, tuple(hits))


def _names_no_article_has(ctx: Context, phrase: str) -> list[str]:
    """Names in a phrase ("Tesla", "Japan", 日本: capitalised, or tagged as a name) that no
    article, title, original title or URL uses."""
    from rag.retrieve.query import tagged_tokens

    names = [w.lower() for w in re.findall(r"\b[A-Z][\w.\-]*", phrase)]
    names += [w.lower() for w, tag in tagged_tokens(phrase) if tag in PROPER_NAME_TAGS]
    return [n for n in names if ctx.corpus_lacks(n)]


def _profile_similarities(ctx: Context, phrase: str) -> list[tuple[ArticleRecord, float]]:
    """Cosine of `phrase` (as a query) to each admitted article's profile. Profile vectors
    are made at ingest with the sentence vectors; an index made before that embeds them here once."""
    embedder = ctx.pipeline.retriever.embedder
    if embedder is None or not ctx.records:
        return []
    import numpy as np

    from rag.collection.archive import profile_vectors

    vs = profile_vectors(ctx.records, getattr(ctx.pipeline, "semantics", None),
                         lambda texts: _embed_cached(embedder, tuple(texts)))
    q = np.asarray(embedder.embed_query(phrase), dtype=np.float32)
    sims = vs @ (q / np.linalg.norm(q))
    return list(zip(ctx.records, sims.tolist()))




def _dense_pointer(ctx: Context, topic: str) -> Candidate | None:
    """A phrase in other words than the article's ("捐款" for 捐赠): the article whose passages
    the embedding model puts clearly nearest, ahead of the next article by a margin."""
    best: dict[str, float] = {}
    hits = [h for h in ctx.retrieve(topic) if h.dense_relevance is not None]
    for h in hits:
        best[h.chunk.article_id] = max(best.get(h.chunk.article_id, -1.0), h.dense_relevance or 0.0)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    if len(ranked) < 2 or ranked[0][1] - ranked[1][1] < ctx.tuning.dense_pointer_margin or ranked[0][0] not in ctx.by_id:
        return None
    aid = ranked[0][0]
    return Candidate(ctx.by_id[aid], 0.0, tuple(h for h in hits if h.chunk.article_id == aid))


# What an across-articles list enumerates ("哪些国家的政府", "which partners"): an article
# qualifies by any one of these and by the rest of the question, since UK is a 国家 whether
# or not its article says the word.
_CLASS_WORDS = frozenset(
    "国家 政府 公司 企业 机构 组织 部门 伙伴 合作伙伴 合作方 对象 地区 模型 新模型 功能 新功能 产品 项目 人 人物 "
    "government governments partner partners company companies organization organizations organisation "
    "organisations country countries agency agencies institution institutions body bodies".split())


# An English class or relation word is found in Chinese articles by its Chinese words:
# "which countries has the company partnered with" over Chinese news lists the articles that
# name a 国家 or 政府 and a 合作. A small closed vocabulary: the words lists are asked with.
_ZH_EQUIV = {
    "partnered": "合作 伙伴", "partnering": "合作 伙伴", "partnership": "合作 伙伴", "partnerships": "合作 伙伴",
    "work": "合作", "works": "合作", "worked": "合作", "working": "合作", "collaborated": "合作",
    "collaborate": "合作", "collaborates": "合作", "collaboration": "合作", "cooperated": "合作",
    "cooperate": "合作", "cooperation": "合作", "signed": "签署 签订", "deal": "合作 协议", "deals": "合作 协议",
}


_CLASS_ZH = {
    "government": "政府", "governments": "政府", "country": "国家 政府", "countries": "国家 政府",
    "company": "公司 企业", "companies": "公司 企业", "partner": "合作 伙伴", "partners": "合作 伙伴",
    "organization": "组织 机构", "organizations": "组织 机构", "organisation": "组织 机构",
    "organisations": "组织 机构", "agency": "部门 机构", "agencies": "部门 机构", "institution": "机构",
    "institutions": "机构", "body": "部门 机构 政府", "bodies": "部门 机构 政府",
}


# a ministry (交通部, 卫生部, 科学与技术部) is an agency too; 全部/部分/部署 are not
_MINISTRY = re.compile(r"(?<![全局分内外细干])部(?![分署件位])")


_MINISTRY_TERMS = frozenset({"agency", "agencies", "body", "bodies", "government", "governments"})


def _class_coverage(q: QueryTerms, text: str) -> float:
    """Coverage of the question's terms other than the class words, 0 unless one of its class
    words (if it has any, in its own language or as _CLASS_ZH's Chinese) is there too."""
    hay = normalize(text).lower()
    classes = [t for t in q.terms if t in _CLASS_WORDS]
    if classes and not any(_has_class(t, hay) for t in classes):
        return 0.0
    rest = [(t, w) for t, w in zip(q.terms, q.weights) if t not in _CLASS_WORDS]
    total = sum(w for _, w in rest)
    found = sum(w for t, w in rest if _in_zh(t, hay))
    return found / total if total else (1.0 if classes else 0.0)


def _has_class(term: str, hay: str) -> bool:
    if term in hay or any(z in hay for z in _CLASS_ZH.get(term, "").split()):
        return True
    return term in _MINISTRY_TERMS and bool(_MINISTRY.search(hay))


def _in_zh(term: str, hay: str) -> bool:
    """The term, or one of its Chinese words (_CLASS_ZH, _ZH_EQUIV), is in `hay`."""
    words = (_CLASS_ZH.get(term, "") + " " + _ZH_EQUIV.get(term, "")).split()
    return term in hay or any(z in hay for z in words)


def lacked_names(ctx: Context) -> list[str]:
    """Names in a question not in Chinese (capitalised mid-sentence: "Germany") that no
    article uses: a list of what the articles say about them is empty."""
    found = re.findall(r"(?<=[\w,;:)] )[A-Z][\w.\-]*", ctx.search.question)
    return [n for n in found if ctx.corpus_lacks(n.lower())]


def about(ctx: Context, topic: str, *, skip_related: bool, by_profile: bool = False,
          strict: bool = True, classes: bool = False, whole: bool = False) -> list[Candidate]:
    """The articles that bear on `topic`, best first: those whose catalog entry (title,
    tags, summary) or, unless `by_profile`, retrieved passages cover enough of its key terms
    and mention every name in it. `by_profile` asks for articles that are about the topic,
    not ones that mention it in passing."""
    if not topic.strip():
        return [Candidate(r, 1.0, ()) for r in by_date(ctx.records)]
    if classes and not ctx.zh and lacked_names(ctx):
        return []
    if not ctx.zh and _names_no_article_has(ctx, topic):
        return []  # "the Tesla deal": its other words found in Chinese (deal -> 交易) do not make it one
    hits = ctx.retrieve(topic)
    if skip_related:
        hits = [h for h in hits if not is_related(h)]
    grouped: dict[str, list[Hit]] = {}
    for h in hits:
        grouped.setdefault(h.chunk.article_id, []).append(h)
    out = []
    for rank, (aid, article_hits) in enumerate(grouped.items()):
        r = ctx.by_id.get(aid)
        if r is None:
            continue
        q = ctx.terms_for(topic, article_hits, _profile(r), equivalents=classes and not ctx.zh)
        if strict and not _covers(ctx, q, whole):
            continue
        cover = (lambda text, q=q: _class_coverage(q, text)) if classes else q.coverage
        coverage = cover(_profile(r))
        if not by_profile:
            coverage = max([coverage] + [cover(h.chunk.search_text()) for h in article_hits])
        if coverage >= (ctx.tuning.lexical_min_coverage if strict else 0.0) and coverage > 0:
            out.append(Candidate(r, coverage - 0.01 * rank, tuple(article_hits)))
    return sorted(out, key=lambda c: -c.coverage)


def best_sentences(ctx: Context, question: str, cand: Candidate, n: int = 1,
                   avoid: tuple[str, ...] = (), prefer_summary: bool = False) -> list[Evidence]:
    """Up to `n` sentences of one article for `question`: its passages' best sentences
    (rag.answering.extractive.select) against its summary's best; the summary wins ties, or always
    with `prefer_summary` (an item per article should be about the article's own subject).
    A second sentence is the summary's next one when there is one. Sentences naming
    something in `avoid` (the other side of a comparison) are passed over, as are
    headings, editor's notes and quotes cut off mid-way."""
    hits = list(cand.hits)
    q = ctx.terms_for(question, hits, _profile(cand.record))
    body = select(q, hits, n + 2, n + 2) if hits and q.terms else []
    body = [s for s in body if _usable(s, avoid)]
    summary = [s for s in cand.record.summary_spans if not _mentions(s.text, avoid)]
    ranked = sorted(summary, key=lambda s: -q.coverage(s.text))  # stable: earlier first on ties
    picked: list[Evidence] = []
    body_best = q.coverage(body[0].text) if body else 0.0
    if ranked and q.coverage(ranked[0].text) > 0 and (prefer_summary or q.coverage(ranked[0].text) >= body_best):
        picked.append(ctx.evidence(cand.record, ranked[0]))
        following = [x for x in summary if x.start > ranked[0].start][:1]
        if n > 1 and following:
            picked.append(ctx.evidence(cand.record, following[0]))
    for s in body:
        if len(picked) >= n:
            break
        if any(similar(s.text, p.span.text, ctx.tuning.overlap_share) for p in picked):
            continue
        text, _ = render([s])
        picked.append(Evidence(cand.record, SourceSpan("body", s.text, s.start, s.end), s.hit.chunk.id,
                               re.sub(r"\[\d+\]$", "", text)))
    if not picked and prefer_summary and summary:
        picked.append(ctx.evidence(cand.record, summary[0]))
    return picked[:n]


def _usable(s, avoid: tuple[str, ...]) -> bool:
    if s.is_quote_block or s.is_heading or _mentions(s.text, avoid):
        return False
    return s.text.count("“") == s.text.count("”") and s.text.count('"') % 2 == 0


def _mentions(text: str, names: tuple[str, ...]) -> bool:
    hay = normalize(text).lower()
    return any(n.lower() in hay for n in names)


class Writer:
    """Builds the answer text and its numbered citations; one marker per distinct span."""

    def __init__(self):
        self.parts: list[str] = []
        self.citations: list[Citation] = []
        self._markers: dict[tuple[str, str, int, int], int] = {}
        self._prose: set[int] = set()  # parts written by text(), not quoted

    def text(self, s: str) -> None:
        self._prose.add(len(self.parts))
        self.parts.append(s)

    def cite(self, e: Evidence, show: bool = True) -> None:
        key = (e.record.id, e.span.field, e.span.start, e.span.end)
        if key not in self._markers:
            self._markers[key] = len(self.citations) + 1
            r = e.record
            self.citations.append(Citation(self._markers[key], r.id, r.title, r.url, r.date, e.span.text,
                                           e.chunk_id, e.span.start, e.span.end, e.span.field))
        self.parts.append((e.display if show else "") + f"[{self._markers[key]}]")

    def answer(self, ctx: Context) -> Answer:
        parts = self.parts if ctx.zh else [_english_dates(p) if i in self._prose else p for i, p in enumerate(self.parts)]
        text = "".join(parts).strip()
        return Answer(text=text, citations=tuple(self.citations), abstained=False,
                      question=ctx.search.question, search_query=ctx.search.text,
                      hits=tuple(ctx.used_hits), kind=ctx.kind.kind.value)


_ISO = r"(\d{4}-\d{2}-\d{2})"


def _english_dates(s: str) -> str:
    """A date range in an English answer's own words ("2023-08-01 to 2023-08-31", "2023-08-19 or
    earlier", "since 2023-08-01"): the labels are made once, in Chinese."""
    s = re.sub(_ISO + r"\s*至\s*" + _ISO, r"\1 to \2", s)
    s = re.sub(_ISO + r"\s*及以前", r"\1 or earlier", s)
    return re.sub(_ISO + r"\s*以来", r"since \1", s)


def article_line(w: Writer, ctx: Context, r: ArticleRecord, evidence: list[Evidence], number: int | None = None):
    head = f"{number}. " if number is not None else ""
    w.text(f"{head}《{r.title}》（{ctx.date_of(r)}）：" if ctx.zh else f"{head}《{r.title}》 ({ctx.date_of(r)}): ")
    for e in evidence:
        w.cite(e)


def titles(w: Writer, ctx: Context, records: list[ArticleRecord]) -> None:
    for i, r in enumerate(records[:MAX_LINES]):
        w.text(("、" if ctx.zh else ", ") if i else "")
        e = ctx.title_evidence(r)
        w.text(f"《{r.title}》（{ctx.date_of(r)}）" if ctx.zh else f"《{r.title}》 ({ctx.date_of(r)})")
        if e is not None:
            w.cite(e, show=False)
    if len(records) > MAX_LINES:
        w.text(ctx.say(f"等（另有{len(records) - MAX_LINES}篇未列出）", f" and {len(records) - MAX_LINES} more"))
    w.text("。" if ctx.zh else ".")


def undated_note(w: Writer, ctx: Context, records: list[ArticleRecord], why_zh: str, why_en: str) -> None:
    """The undated articles a date answer leaves out: named, or only counted when there are
    more than a list holds (an archive's hundreds)."""
    undated = [r for r in records if not r.date]
    if not undated:
        return
    if len(undated) > MAX_LINES:
        w.text("\n" + ctx.say(f"另有{len(undated)}篇文章没有注明日期，{why_zh}。", f"{len(undated)} more are undated, {why_en}."))
        return
    w.text("\n" + ctx.say(f"{len(undated)}篇文章没有注明日期，{why_zh}：", f"{len(undated)} undated, {why_en}: "))
    titles(w, ctx, undated)


def undated_count_note(w: Writer, ctx: Context, records: list[ArticleRecord]) -> None:
    """The undated articles on a scanned topic that the dates leave out, counted, not named:
    an article of no date is not an answer to "in August", and an archive has hundreds."""
    if records:
        w.text("\n" + ctx.say(f"另有{len(records)}篇相关文章没有注明日期，不在这个日期范围内。",
                              f"{len(records)} more on it are undated, so they fall in no date range."))


def page_slice(ctx: Context, records: list) -> tuple[int, list]:
    """(number of the first line, the lines of the asked page) of a listing: MAX_LINES a page."""
    first = (max(1, ctx.kind.page) - 1) * MAX_LINES
    return first + 1, records[first : first + MAX_LINES]


def more_note(w: Writer, ctx: Context, total: int) -> None:
    """After a page of a listing: how many are left and how to see them (in the chat, "更多";
    `rag ask --page N`)."""
    shown_to = min(total, max(1, ctx.kind.page) * MAX_LINES)
    left = total - shown_to
    if left > 0:
        w.text("\n" + ctx.say(f"（另有{left}篇未列出；回复“更多”查看下一页）",
                              f"({left} more not listed; reply \"more\" for the next page)"))
    elif ctx.kind.page > 1 and shown_to <= (ctx.kind.page - 1) * MAX_LINES:
        w.text("\n" + ctx.say("（没有更多了）", "(no more)"))


def summary_lines(w: Writer, ctx: Context, records: list[ArticleRecord], words: tuple[str, ...] = ()) -> None:
    """One line per article of the asked page: title, date and a summary sentence (the first
    naming one of `words`, else the first), then how many are left."""
    first, page = page_slice(ctx, records)
    for i, r in enumerate(page, first):
        w.text("\n")
        spans = [s for s in r.summary_spans if any(x in normalize(s.text).lower() for x in words)][:1] or r.summary_spans[:1]
        article_line(w, ctx, r, [ctx.evidence(r, s) for s in spans], i)
    more_note(w, ctx, len(records))


def mention_lines(w: Writer, ctx: Context, records: list[ArticleRecord], words: tuple[str, ...]) -> None:
    """As summary_lines, each article's line quoting where it says one of `words`: its
    summary's sentence if that says it, else the first sentence of its text that does (a
    mention is often in passing, deep in the body)."""
    from rag.text import sentence_spans

    first, page = page_slice(ctx, records)
    for i, r in enumerate(page, first):
        w.text("\n")
        evidence = [ctx.evidence(r, s) for s in r.summary_spans if _says(s.text, words)][:1]
        for c in ctx.lexical.chunks_of(r.id) if not evidence else ():
            found = next(((a, b) for a, b in sentence_spans(c.text, c.start)
                          if _says(c.text[a - c.start : b - c.start], words)), None)
            if found is not None:
                text = c.text[found[0] - c.start : found[1] - c.start]
                evidence = [Evidence(r, SourceSpan("body", text, found[0], found[1]), c.id, display(text))]
                break
        article_line(w, ctx, r, evidence or [ctx.evidence(r, s) for s in r.summary_spans[:1]], i)
    more_note(w, ctx, len(records))


def _says(text: str, words: tuple[str, ...]) -> bool:
    return any(x in normalize(text).lower() for x in words)


def scans(ctx: Context) -> bool:
    """A collection too large for retrieved passages to see every article: topics are found
    by scanning it (rag.collection.archive)."""
    return ctx.pipeline.is_archive


class TopicScan:
    """A topic as the whole collection is scanned for it (rag.collection.archive): its word
    groups and vector, made once per answer; `select` keeps the records on it."""

    def __init__(self, ctx: Context, topic: str):
        from rag.collection.archive import archive_view, named_groups, topic_groups, topic_words

        self.ctx = ctx
        self.view = archive_view(ctx.pipeline)
        embedder = ctx.pipeline.retriever.embedder
        self.groups = topic_groups(self.view, topic, ctx.tuning, embedder)
        self.required = named_groups(topic, self.groups)
        self.words = tuple(dict.fromkeys(w for g in self.groups for w in g))
        self.named = bool(topic_words(topic))  # it had words, even if none is matched here
        self.vector = embedder.embed_query(" ".join(topic_words(topic)) or topic) if embedder is not None else None

    def saying(self, records: list[ArticleRecord]) -> list[ArticleRecord]:
        """Those of `records` whose text says a word of every group, in the order given."""
        view = self.view
        return [r for r in records
                if all(any(w in view.texts[view.position[r.id]] for w in g) for g in self.groups)]

    def select(self, records: list[ArticleRecord]) -> list[ArticleRecord]:
        from rag.collection.archive import on_topic

        ctx = self.ctx
        return by_date(on_topic(self.view, records, self.groups, ctx.tuning, ctx.lexical.idf, self.vector,
                                by_meaning=self.named, required=self.required))


def on_topic_records(ctx: Context, topic: str) -> tuple[list[ArticleRecord], tuple[str, ...], list[ArticleRecord]]:
    """The admitted articles on `topic` by scanning the whole collection, newest first; the
    words they were matched by; and the undated articles on it that the dates left out."""
    scan = TopicScan(ctx, topic)
    undated = scan.select(undated_outside_range(ctx)) if ctx.kind.dates else []
    judged_in = ctx.kind.judged_in
    if judged_in is not None and ctx.flt is not None:
        # of an earlier listing ("其中下旬的"): its articles, judged in its dates, that these dates admit
        wider = merge_filters(ctx.user_flt, RetrievalFilter(None, judged_in.date_from, judged_in.date_to))
        pool = [r for r in ctx.lexical.articles if wider is None or wider.admits(r.id, r.date)]
        flt = ctx.flt
        return [r for r in scan.select(pool) if flt.admits(r.id, r.date)], scan.words, undated
    return scan.select(ctx.records), scan.words, undated


def naming_the_topic(ctx: Context, topic: str, records: list[ArticleRecord]) -> list[ArticleRecord]:
    """Of `records` (on the topic), those whose text says a word of each of the topic's groups:
    the first or the last report on 卡努台风 names 卡努 (the topic model may admit a typhoon
    report that never does, and at the ends of the date order one such is the answer)."""
    scan = TopicScan(ctx, topic)
    return scan.saying(records) if scan.groups else records


def mention_records(ctx: Context, topic: str) -> tuple[list[ArticleRecord], tuple[str, ...], list[ArticleRecord]]:
    """As on_topic_records, but the articles that mention the topic (「有几篇报道提到了华为」):
    every word of it said (or a word standing for it: 杜苏芮 for 台风), in passing or not. A
    topic with no word to look for (an English name nothing glosses) is read by meaning."""
    scan = TopicScan(ctx, topic)
    if not scan.groups:
        return on_topic_records(ctx, topic)
    undated = scan.saying(undated_outside_range(ctx)) if ctx.kind.dates else []
    # the words as asked: a line quotes where an article says them, before a stand-in
    return by_date(scan.saying(ctx.records)), tuple(g[0] for g in scan.groups), undated


def weak(ctx: Context, e: Evidence, topic: str) -> bool:
    """The sentence shares no key term with the topic (a question in another language)."""
    q = ctx.terms_for(topic, list(ctx.used_hits), e.span.text)
    return q.coverage(e.span.text) == 0


def semantic_sentences(ctx: Context, cand: Candidate, query: str | None = None, n: int = 1,
              avoid: tuple[str, ...] = (), summary_only: bool = False) -> list[Evidence]:
    """For a name asked in another language than the article's ("Horizon Programme" for
    「地平线计划」): the summary or passage sentences closest in meaning to `query` (default:
    the question), by the embedding model, up to `n`; the summary's first sentences when
    there is no model. Sentences naming something in `avoid` are passed over; with
    `summary_only`, only the summary's sentences compete when it has any."""
    options = [ctx.evidence(cand.record, s) for s in cand.record.summary_spans if not _mentions(s.text, avoid)]
    if not (summary_only and options):
        options += [Evidence(cand.record, SourceSpan("body", s.text, s.start, s.end), s.hit.chunk.id,
                             display(s.text))
                    for s in candidate_sentences(list(cand.hits))
                    if not s.is_quote_block and not s.is_heading and len(s.text) >= 12 and _usable(s, avoid)]
    embedder = ctx.pipeline.retriever.embedder
    if not options:
        return []
    if embedder is None:
        return options[:n]
    import numpy as np

    qv = np.asarray(embedder.embed_query(query or ctx.search.question))
    vs = np.asarray(_embed_cached(embedder, tuple(o.span.text for o in options)))
    order = [int(i) for i in np.argsort(-(vs @ qv), kind="stable")]
    best = order[0]
    chosen = options[best]
    before = options[best - 1] if best > 0 else None
    if (points_back(chosen.span.text, to_people=False) and before is not None and before.chunk_id == chosen.chunk_id
            and before.span.field == "body" and before.span.end <= chosen.span.start):
        return [before, chosen]  # "该计划旨在…" needs the sentence that names the plan
    picked = [chosen]
    for i in order[1:]:
        if len(picked) >= n:
            break
        o = options[i]
        if not points_back(o.span.text, to_people=False) and not any(
                similar(o.span.text, p.span.text, ctx.tuning.overlap_share) for p in picked):
            picked.append(o)
    return sorted(picked, key=lambda e: (e.span.field != "summary", e.span.start))  # as the article reads


_CACHE: dict[tuple[str, str], list[float]] = {}


def _embed_cached(embedder, texts: tuple[str, ...]) -> list[list[float]]:
    missing = [t for t in texts if (embedder.name, t) not in _CACHE]
    if missing:
        if len(_CACHE) > 20_000:
            _CACHE.clear()
        for t, v in zip(missing, embedder.embed_documents(missing)):
            _CACHE[(embedder.name, t)] = v
    return [_CACHE[(embedder.name, t)] for t in texts]


def range_words(ctx: Context) -> str:
    d = ctx.kind.dates
    return f"（{d.label}）" if d and ctx.zh else (f" ({d.label})" if d else "")


def undated_outside_range(ctx: Context) -> list[ArticleRecord]:
    """Undated articles the question's date range left out (the user's own filter kept)."""
    return [r for r in ctx.pipeline.lexical.articles if not r.date and ctx.admitted_by_user(r)]


def mention(ctx: Context, topic: str, cand: Candidate) -> list[Evidence]:
    """The sentence where the article mentions the topic (a related-links line counts: it
    does mention it, though it is no evidence for the facts); else its best sentence."""
    q = ctx.terms_for(topic, list(cand.hits), _profile(cand.record))
    for s in select(q, list(cand.hits), 3, 3) if q.terms else []:
        if not s.is_quote_block and q.coverage(s.text) > 0:
            text, _ = render([s])
            return [Evidence(cand.record, SourceSpan("body", s.text, s.start, s.end), s.hit.chunk.id,
                             re.sub(r"\[\d+\]$", "", text))]
    return best_sentences(ctx, topic, cand, 1, prefer_summary=True)


def side_article(ctx: Context, side: str, shared: str, used: set[str]) -> Candidate | None:
    """The article a side of a comparison is about: the side named in its title or catalog
    entry first, then in its passages, then the article the embedding model puts clearly
    nearest (its passages, then its profile); a side not yet given an article is preferred."""
    found = about(ctx, side, skip_related=True) or about(ctx, side, skip_related=True, strict=False)
    if not found:
        pointer = _nearest_pointer(ctx, side)
        found = [pointer] if pointer is not None else []
    if not found:
        return None

    def rank(c: Candidate):
        q = ctx.terms_for(side, list(c.hits), _profile(c.record))
        in_title = q.coverage(f"{c.record.title} {c.record.title_original or ''}")
        return (c.record.id in used, -in_title, -q.coverage(_profile(c.record)), -c.coverage)

    best = sorted(found, key=rank)[0]
    hits = ctx.retrieve(f"{side} {shared}", RetrievalFilter(frozenset({best.record.id})))
    hits = [h for h in hits if not is_related(h)]
    return Candidate(best.record, best.coverage, tuple(hits) or best.hits)
