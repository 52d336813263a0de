"""which: the articles that mention something ("哪篇文章提到了X"), each with the sentence that
does; the articles on a topic ("有哪些关于X的报道"), which in an archive too large for
retrieved passages to see whole are found by scanning every article (rag.collection.archive),
newest first and paged."""

from __future__ import annotations

from rag.collection.context import (
    MAX_LINES,
    Context,
    Writer,
    about,
    article_line,
    mention,
    on_topic_records,
    scans,
    summary_lines,
)
from rag.types import Answer


def answer(ctx: Context) -> Answer | None:
    topic = ctx.kind.topic
    if not topic:
        return None
    if scans(ctx) and not ctx.kind.mentions:
        return on_topic_listing(ctx, topic)
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


def on_topic_listing(ctx: Context, topic: str) -> Answer:
    """"有哪些关于杜苏芮的报道": every article of the archive on the topic (not the few whose
    passages retrieval returns), newest first, a page at a time; none is said, not abstained."""
    records, words, _ = on_topic_records(ctx, topic)
    w = Writer()
    dates = ctx.kind.dates  # a follow-up's (「只看8月中旬的」): said, as a dated listing says them
    where_zh, where_en = (f"{dates.label}发布的", f" published {dates.label}") if dates else ("资料中", " in the collection")
    if not records:
        none_zh = f"{dates.label}没有发布关于{topic}的文章。" if dates else f"资料中没有关于{topic}的文章。"
        w.text(ctx.say(none_zh, f"No article{where_en} is on {topic}."))
        return w.answer(ctx)
    w.text(ctx.say(f"{where_zh}关于{topic}的文章有{len(records)}篇（从新到旧）：",
                   f"{len(records)} articles{where_en} are on {topic} (newest first):"))
    summary_lines(w, ctx, records, words)
    return w.answer(ctx)
