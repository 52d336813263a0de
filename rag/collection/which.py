"""which: the articles that mention something, each with the sentence that does."""

from __future__ import annotations

from rag.collection.context import (
    MAX_LINES,
    Context,
    Writer,
    about,
    article_line,
    mention,
)
from rag.types import Answer


def answer(ctx: Context) -> Answer | None:
    topic = ctx.kind.topic
    if not topic:
        return None
    found = about(ctx, topic, skip_related=False, whole=True)  # the topic itself is mentioned
    if not found:
        return None
    w = Writer()
    if len(found) == 1:
        w.text(ctx.say(f"提到{topic}的是这篇：", f"{topic} is mentioned in: "))
    else:
        w.text(ctx.say(f"{len(found)}篇文章提到{topic}：", f"{len(found)} articles mention {topic}:"))
    for i, c in enumerate(found[:MAX_LINES], 1):
        w.text("\n")
        article_line(w, ctx, c.record, mention(ctx, topic, c), i if len(found) > 1 else None)
    return w.answer(ctx) if w.citations else None
