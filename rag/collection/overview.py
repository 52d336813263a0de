"""overview: the collection (one line per article, newest first), one article ("summarize
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
