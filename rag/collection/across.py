"""across: one item per article that has one (at most two sentences each), about the topic
or, for "每篇文章…", from every article the filters admit."""

from __future__ import annotations

from rag.collection.context import (
    MAX_LINES,
    Candidate,
    Context,
    Writer,
    about,
    article_line,
    best_sentences,
    is_related,
    mention,
)
from rag.index.catalog import by_date
from rag.types import Answer


def answer(ctx: Context) -> Answer | None:
    question = ctx.search.question
    if ctx.kind.each:  # "每篇文章里…": every article the filters admit, each with its best sentence
        hits = [h for h in ctx.retrieve(ctx.kind.topic or question) if not is_related(h)]
        found = [Candidate(r, 1.0, tuple(h for h in hits if h.chunk.article_id == r.id))
                 for r in by_date(ctx.records)]
    else:  # about the topic (its catalog entry), or mentioning it (its passages)
        found = about(ctx, ctx.kind.topic or question, skip_related=True, by_profile=not ctx.kind.mentions,
                      classes=True)
    if not found:
        return None
    w = Writer()
    w.text(ctx.say(f"资料中有{len(found)}篇文章相关，每篇一项：", f"{len(found)} articles bear on this, one item each:"))
    for i, c in enumerate(found[:MAX_LINES], 1):
        evidence = (mention(ctx, ctx.kind.topic or question, c) if ctx.kind.mentions
                    else best_sentences(ctx, question, c, 1, prefer_summary=True))
        if evidence:
            w.text("\n")
            article_line(w, ctx, c.record, evidence, i)
    return w.answer(ctx) if w.citations else None
