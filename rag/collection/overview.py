"""overview: the collection (its topic map with a representative article each, or for a
small collection one line per article, newest first), one article ("summarize
the article about X": its summary), or a named thing ("What is the Horizon Programme?": the
sentences of the covering article that say what it is)."""

from __future__ import annotations

from rag.collection.context import (
    MAX_LINES,
    Context,
    Writer,
    article_line,
    best_article,
    best_sentences,
    scans,
    semantic_sentences,
    summary_lines,
    weak,
)
from rag.collection.question_kinds import names_one_article
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
        if kind.dates is not None and len(records) > MAX_LINES:
            window = _window_overview(ctx, w, records)
            if window is not None:
                return window
        w.text(ctx.say(f"资料中共有{len(records)}篇文章（按日期从新到旧）：",
                       f"The collection has {len(records)} articles (newest first):"))
        summary_lines(w, ctx, records)
        return w.answer(ctx)
    if kind.scope == "article" and scans(ctx) and not names_one_article(ctx.search.question):
        # "summarize the news about the Niger coup" in an archive: every article on it, each
        # with its summary sentence ("那篇…讲了什么" still picks the one it points at)
        from rag.collection.which import on_topic_listing

        return on_topic_listing(ctx, kind.topic)
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


def _window_overview(ctx: Context, w: Writer, records: list) -> Answer | None:
    """"7月份的新闻主要讲了什么": the articles of the dates asked grouped as ingest grouped the
    whole archive (each to the nearest topic centre, rag.index.topics), the groups by size,
    each with the article of the window nearest its centre, cited. None without a topic map
    with centres (a small collection, an older index): the articles are listed instead."""
    import numpy as np

    from rag.collection.archive import archive_view
    from rag.index.topics import nearest_topics

    topics = ctx.lexical.topics
    view = archive_view(ctx.pipeline)
    if view.profiles is None or not topics:
        return None
    profiles = view.profiles[[view.position[r.id] for r in records]]
    groups = nearest_topics(topics, profiles)
    if groups is None:
        return None
    centres = np.asarray([t.centre for t in topics], dtype=np.float32)
    counts = np.bincount(groups, minlength=len(topics))
    order = sorted((i for i in range(len(topics)) if counts[i]), key=lambda i: (-counts[i], i))
    assert ctx.kind.dates is not None
    label = ctx.kind.dates.label
    w.text(ctx.say(f"{label}发布的文章有{len(records)}篇，按内容可分为{len(order)}类（从多到少，每类举这段时间里最接近该类中心的一篇）：",
                   f"{len(records)} articles were published {label}; by content they fall into {len(order)} groups"
                   " (largest first, each with the article of those dates nearest its centre):"))
    for n, i in enumerate(order, 1):
        members = np.flatnonzero(groups == i)
        r = records[int(members[np.argmax(profiles[members] @ centres[i])])]
        w.text(ctx.say(f"\n{n}. {topics[i].label}（{counts[i]}篇），如", f"\n{n}. {topics[i].label} ({counts[i]} articles), e.g. "))
        article_line(w, ctx, r, [ctx.evidence(r, s) for s in r.summary_spans[:1]])
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
