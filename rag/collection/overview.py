"""overview: the collection (its topic map with a representative article each, or for a
small collection one line per article, newest first), one article ("summarize
the article about X": its summary), or a named thing ("What is the Horizon Programme?": the
sentences of the covering article that say what it is)."""

from __future__ import annotations

from rag.collection.context import (
    Context,
    Writer,
    article_line,
    best_article,
    best_sentences,
    semantic_sentences,
    summary_lines,
    weak,
)
from rag.index.catalog import by_date
from rag.types import Answer


def answer(ctx: Context) -> Answer | None:
    kind = ctx.kind
    w = Writer()
    if kind.scope == "collection" or not kind.topic:
        records = by_date(ctx.records)
        if not records:
            return None
        if ctx.lexical.topics and len(records) == len(ctx.lexical.articles):
            return _topic_overview(ctx, w, records)
        w.text(ctx.say(f"资料中共有{len(records)}篇文章（按日期从新到旧）：",
                       f"The collection has {len(records)} articles (newest first):"))
        summary_lines(w, ctx, records)
        return w.answer(ctx)
    top = best_article(ctx, kind.topic)
    if top is None:
        return None
    if kind.scope == "article":
        spans = top.record.summary_spans[:3]
        evidence = [ctx.evidence(top.record, s) for s in spans] or best_sentences(ctx, kind.topic, top, 2)
        article_line(w, ctx, top.record, evidence)
        return w.answer(ctx)
    # define: "What is X?" - the sentences of the covering article that say what X is
    evidence = best_sentences(ctx, ctx.search.question, top, 2)
    if not evidence or all(weak(ctx, e, kind.topic) for e in evidence):
        evidence = semantic_sentences(ctx, top) or evidence
    if not evidence:
        return None
    for e in evidence:
        w.cite(e)
    return w.answer(ctx)


def _topic_overview(ctx: Context, w: Writer, records: list) -> Answer:
    """What a collection of thousands covers: its size and date span, then its topic map
    (rag.index.topics, made at ingest), each group with its size and the article nearest its
    centre, cited by that article's summary."""
    dated = [r.date for r in records if r.date]
    undated = len(records) - len(dated)
    span_zh = f"，发布于{min(dated)}至{max(dated)}" if dated else ""
    span_en = f", published {min(dated)} to {max(dated)}" if dated else ""
    topics = ctx.lexical.topics
    w.text(ctx.say(f"资料中共有{len(records)}篇文章{span_zh}" + (f"（另有{undated}篇没有注明日期）" if undated and dated else "")
                   + f"。按内容可分为{len(topics)}类（从多到少，每类举最接近该类中心的一篇）：",
                   f"The collection has {len(records)} articles{span_en}" + (f" ({undated} undated)" if undated and dated else "")
                   + f". By content they fall into {len(topics)} groups (largest first, each with the article nearest"
                   " its centre):"))
    for i, t in enumerate(topics, 1):
        w.text(ctx.say(f"\n{i}. {t.label}（{t.articles}篇），如", f"\n{i}. {t.label} ({t.articles} articles), e.g. "))
        r = ctx.by_id.get(t.representative)
        if r is not None:
            article_line(w, ctx, r, [ctx.evidence(r, s) for s in r.summary_spans[:1]])
    return w.answer(ctx)
