"""date: the newest or oldest article, an article's date, the articles of a date range,
every article in date order, which of two came first; from the catalog's dates. An undated
article is named as undated, never placed in an order or a range."""

from __future__ import annotations

import datetime as dt

from rag.collection.context import (
    MAX_LINES,
    Context,
    Evidence,
    Writer,
    about,
    best_article,
    lacked_names,
    naming_the_topic,
    on_topic_records,
    range_words,
    scans,
    side_article,
    summary_lines,
    titles,
    undated_count_note,
    undated_note,
    undated_outside_range,
)
from rag.collection.question_kinds import RECENT_DAYS
from rag.index.catalog import by_date
from rag.retrieve.query import PROPER_NAME_TAGS
from rag.types import Answer, ArticleRecord


def answer(ctx: Context) -> Answer | None:
    kind = ctx.kind
    w = Writer()
    if kind.sides:
        return _which_first(ctx, w)
    if kind.asks_date:
        found = best_article(ctx, kind.topic) if kind.topic else None
        if found is None:
            return None
        r = found.record
        w.text("《" + r.title + "》")
        _cite_title(w, ctx, r)
        if r.date and r.date_span:
            w.text(ctx.say("发布于", " was published on "))
            w.cite(Evidence(r, r.date_span, "", r.date))
            w.text("。" if ctx.zh else ".")
        else:
            w.text(ctx.say("没有注明发布日期。", " gives no publication date."))
        return w.answer(ctx)
    if kind.undated:
        records = [r for r in by_date(ctx.records) if not r.date]
        if not records:
            return None
        w.text(ctx.say(f"没有注明日期的文章有{len(records)}篇：", f"{len(records)} articles have no date: "))
        titles(w, ctx, records)
        return w.answer(ctx)
    specific = _specific(ctx, kind.topic) and not (kind.listing and _phrasing_only(ctx, kind.topic))
    words: tuple[str, ...] = ()
    undated: list[ArticleRecord] | None = None  # None: every undated article the dates leave out
    if specific and scans(ctx):
        records, words, undated = on_topic_records(ctx, kind.topic)
        if kind.order:  # an end of the date order is one article: one that names the topic
            records = naming_the_topic(ctx, kind.topic, records) or records
    else:
        records = [c.record for c in about(ctx, kind.topic, skip_related=True)] if specific else ctx.records
    if kind.listing:
        return _chronology(ctx, w, records)
    if kind.order == "both":
        return _first_and_last(ctx, w, records, specific)
    if kind.order:
        dated = by_date([r for r in records if r.date], newest_first=kind.order == "newest")
        if not dated:
            return None
        r = dated[0]
        w.text(ctx.say("最新发布的是" if kind.order == "newest" else "最早发布的是",
                       "The newest is " if kind.order == "newest" else "The oldest is "))
        _title_and_date(w, ctx, r)
        w.text(ctx.say("。", "."))
        if r.summary_spans:
            w.text(ctx.say("它讲的是：", " It reports: "))
            w.cite(ctx.evidence(r, r.summary_spans[0]))
        undated_note(w, ctx, records, "无法判断先后", "so their place in the order is unknown")
        return w.answer(ctx)
    # a date range: the articles in it (on the topic), each with a summary sentence, newest first
    assert kind.dates is not None  # recency questions without one returned above
    records = by_date(records)
    on = ctx.say(f"关于{kind.topic}的", f" on {kind.topic}") if specific else ""
    if kind.recent and ctx.records_newest:
        days = _days(kind.dates)
        w.text(ctx.say(f"资料中最新的文章发布于{ctx.records_newest}，按最近{days}天（{kind.dates.label}）算：",
                       f"The newest article is from {ctx.records_newest}; the last {days} days ({kind.dates.label}):"))
        w.text("\n")
    if not records:
        if specific:
            w.text(ctx.say(f"{_within_words(kind.dates)}没有{on}文章。", f"No articles{on} were published {kind.dates.label}."))
            return w.answer(ctx) if kind.recent or scans(ctx) else None
        return _nothing_in_range(w, ctx)
    w.text(ctx.say(f"{kind.dates.label}发布的{on}文章有{len(records)}篇（从新到旧）：",
                   f"{len(records)} articles{on} were published {kind.dates.label} (newest first):"))
    summary_lines(w, ctx, records, words)
    if kind.recent:  # what is new: an undated article cannot be, and is only counted
        left = undated_outside_range(ctx) if undated is None else undated
        if left:
            w.text("\n" + ctx.say(f"另有{len(left)}篇文章没有注明日期，无法判断是否最新。",
                                  f"{len(left)} more are undated, so whether they are new is unknown."))
        return w.answer(ctx)
    if undated is not None:
        undated_count_note(w, ctx, undated)
    else:
        undated_note(w, ctx, undated_outside_range(ctx), "不在任何日期范围内，未列出", "so they fall in no date range")
    return w.answer(ctx)


def _first_and_last(ctx: Context, w: Writer, records: list[ArticleRecord], specific: bool) -> Answer | None:
    """"关于卡努，最早和最晚的报道分别是哪天": the oldest and the newest article (on the topic,
    in the dates asked), each with its title and date cited."""
    dated = by_date([r for r in records if r.date], newest_first=False)
    if not dated:
        return None
    on = ctx.say(f"关于{ctx.kind.topic}的", f" on {ctx.kind.topic}") if specific else ""
    oldest, newest = dated[0], dated[-1]
    if oldest is newest:
        w.text(ctx.say(f"{on}文章中注明日期的只有一篇：", f"Only one dated article{on}: "))
        _title_and_date(w, ctx, oldest)
    else:
        w.text(ctx.say(f"{on}{len(dated)}篇注明日期的文章中，最早的是", f"Of {len(dated)} dated articles{on}, the oldest is "))
        _title_and_date(w, ctx, oldest)
        w.text(ctx.say("；最新的是", "; the newest is "))
        _title_and_date(w, ctx, newest)
    w.text(ctx.say("。", "."))
    undated_note(w, ctx, records, "无法判断先后", "so their place in the order is unknown")
    return w.answer(ctx)


def _title_and_date(w: Writer, ctx: Context, r: ArticleRecord) -> None:
    w.text(f"《{r.title}》")
    _cite_title(w, ctx, r)
    w.text(ctx.say("，发布于", ", published on "))
    _cite_date(w, r)


def _within_words(dates) -> str:
    """"2024-01-01 至 2024-12-31之间", but one day or an open range as its label says it."""
    return dates.label + ("之间" if dates.date_from and dates.date_to and dates.date_from != dates.date_to else "")


def _days(dates) -> int:
    """The days a recency range spans ("最近三天": 3; "最近": RECENT_DAYS)."""
    try:
        return (dt.date.fromisoformat(dates.date_to) - dt.date.fromisoformat(dates.date_from)).days + 1
    except (TypeError, ValueError):
        return RECENT_DAYS


def _cite_title(w: Writer, ctx: Context, r: ArticleRecord) -> None:
    """A hidden marker after a title the answer names: the title (or summary) it quotes."""
    title = ctx.title_evidence(r)
    if title:
        w.cite(title, show=False)


def _cite_date(w: Writer, r: ArticleRecord) -> None:
    """The article's date, cited to its front-matter line when that line holds it verbatim."""
    if r.date_span:
        w.cite(Evidence(r, r.date_span, "", r.date or ""))
    else:
        w.text(r.date or "")


def _nothing_in_range(w: Writer, ctx: Context) -> Answer | None:
    """No dated article in the question's range: said so, with the undated ones named."""
    assert ctx.kind.dates is not None
    w.text(ctx.say(f"{_within_words(ctx.kind.dates)}没有发布文章。", f"No articles were published {ctx.kind.dates.label}."))
    undated_note(w, ctx, undated_outside_range(ctx), "不在任何日期范围内", "so they fall in no date range")
    return w.answer(ctx) if w.citations else None


def _chronology(ctx: Context, w: Writer, records: list[ArticleRecord]) -> Answer | None:
    """"把这几篇按发布时间从早到晚排一下": every article in date order, each with its date
    (cited to the front matter) and its summary's first sentence; the undated ones after,
    named as undated."""
    newest = ctx.kind.order == "newest"
    dated = by_date([r for r in records if r.date], newest_first=newest)
    if not dated and ctx.kind.dates is not None:
        return _nothing_in_range(w, ctx)
    if not records:
        return None
    w.text(ctx.say(f"按发布日期{'从新到旧' if newest else '从早到晚'}{range_words(ctx)}：",
                   f"By publication date, {'newest' if newest else 'oldest'} first{range_words(ctx)}:"))
    for i, r in enumerate(dated[:MAX_LINES], 1):
        w.text(f"\n{i}. ")
        _cite_date(w, r)
        w.text(f" 《{r.title}》")
        _cite_title(w, ctx, r)
        if r.summary_spans:
            w.text("：" if ctx.zh else ": ")
            w.cite(ctx.evidence(r, r.summary_spans[0]))
    if len(dated) > MAX_LINES:
        w.text("\n" + ctx.say(f"（另有{len(dated) - MAX_LINES}篇未列出）", f"({len(dated) - MAX_LINES} more not listed)"))
    undated = records if ctx.kind.dates is None else undated_outside_range(ctx)
    undated_note(w, ctx, undated, "无法排入先后顺序", "so their place in the order is unknown")
    return w.answer(ctx)


def _which_first(ctx: Context, w: Writer) -> Answer | None:
    """"法国那篇和融资那篇，哪个先发的？": both articles with their dates, earlier first; an
    undated one is said to be undated, not placed."""
    picked: list[ArticleRecord] = []
    for side in ctx.kind.sides:
        cand = side_article(ctx, side, "", {r.id for r in picked})
        if cand is None or cand.record in picked:
            return None
        picked.append(cand.record)
    dated = sorted((r for r in picked if r.date), key=lambda r: r.date or "")
    for i, r in enumerate(dated):
        w.text((ctx.say("；", "; ") if i else "") + f"《{r.title}》")
        _cite_title(w, ctx, r)
        w.text(ctx.say("发布于", " was published on "))
        _cite_date(w, r)
    if len(dated) == 2:
        same = dated[0].date == dated[1].date
        w.text(ctx.say("。两篇同一天发布。" if same else f"。《{dated[0].title}》发布得更早。",
                       ". Both came out the same day." if same else f". 《{dated[0].title}》 came first."))
    elif dated:
        w.text("。" if ctx.zh else ".")
    undated_note(w, ctx, picked, "无法判断先后", "so which came first is unknown")
    return w.answer(ctx)


def _specific(ctx: Context, topic: str) -> bool:
    """A topic that narrows the collection: not just words every article shares (the name
    of the company or subject a collection is about, asked with "…最新发布的是哪篇")."""
    from rag.text import terms

    words = [t for t in terms(topic) if len(t) > 1 or t.isascii()]
    shared = ctx.shared_terms()
    return bool(words) and not all(w in shared for w in words) and len(ctx.records) > 0


def _phrasing_only(ctx: Context, topic: str) -> bool:
    """What is left of a listing question after its kind words ("帮我排个队" -> 个队,
    "Put …" -> put) is phrasing, not a subject, when no article uses any of its words and
    none of them is a name (日本, "Germany"): the list is then of every article."""
    from rag.retrieve.query import tagged_tokens

    tokens = [(w.lower(), tag) for w, tag in tagged_tokens(topic) if len(w) > 1 or w.isascii()]
    if any(not ctx.corpus_lacks(w) for w, _ in tokens):
        return False
    if any(tag in PROPER_NAME_TAGS for _, tag in tokens):
        return False
    return not lacked_names(ctx)
