"""count: how many articles, from the catalog, narrowed by the question's date range and
topic; the articles counted are named. An undated article is named as undated, never
counted in a date range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from rag.collection.context import (
    MAX_LINES,
    Context,
    Writer,
    about,
    article_line,
    best_sentences,
    mention_lines,
    mention_records,
    on_topic_records,
    range_words,
    scans,
    summary_lines,
    titles,
    undated_count_note,
    undated_note,
    undated_outside_range,
)
from rag.index.catalog import by_date
from rag.types import Answer


def answer(ctx: Context) -> Answer | None:
    kind = ctx.kind
    w = Writer()
    if kind.undated:
        records = [r for r in by_date(ctx.pipeline.lexical.articles) if not r.date and ctx.admitted_by_user(r)]
        w.text(ctx.say(f"没有注明日期的文章有{len(records)}篇", f"{len(records)} articles have no date"))
        _titles_or_stop(w, ctx, records)
        return w.answer(ctx) if records else None
    if kind.by_month or kind.by_day or kind.by_week:
        return _by_period(ctx, w, DAY if kind.by_day else WEEK if kind.by_week else MONTH)
    if (len(kind.sides) == 2 or len(kind.periods) == 2) and kind.page > 1:
        # both counts came on the first page: "更多" after them has nothing more to show
        w.text(ctx.say("两边的篇数都已列出，没有更多了。", "Both counts were given; there is no more."))
        return w.answer(ctx)
    if len(kind.sides) == 2:
        return _by_topic(ctx, w)
    if len(kind.periods) == 2:
        return _by_periods(ctx, w)
    if kind.topic and scans(ctx):
        # 「有几篇提到华为」 counts the articles that say it; 「关于华为的」 those about it
        records, words, undated = (mention_records if kind.mentions else on_topic_records)(ctx, kind.topic)
        label = _range_label(ctx)
        if kind.mentions:
            w.text(ctx.say(f"{label}提到{kind.topic}的文章有{len(records)}篇",
                           f"{len(records)} articles mention {kind.topic} {label}"))
        else:
            w.text(ctx.say(f"{label}关于{kind.topic}的文章有{len(records)}篇",
                           f"{len(records)} articles on {kind.topic} {label}"))
        if records:
            w.text(ctx.say("（从新到旧）：", " (newest first):"))
            (mention_lines if kind.mentions else summary_lines)(w, ctx, records, words)
        else:
            w.text("。" if ctx.zh else ".")
        undated_count_note(w, ctx, undated)
        return w.answer(ctx)
    if kind.topic:
        found = about(ctx, kind.topic, skip_related=kind.mentions is False, by_profile=not kind.mentions)
        if not found:
            return None
        w.text(ctx.say(f"{len(found)}篇文章涉及{kind.topic}{range_words(ctx)}：",
                       f"{len(found)} articles bear on {kind.topic}{range_words(ctx)}:"))
        for i, c in enumerate(found[:MAX_LINES], 1):
            w.text("\n")
            article_line(w, ctx, c.record, best_sentences(ctx, kind.topic, c, 1), i)
        return w.answer(ctx)
    records = by_date(ctx.records)
    if kind.dates:
        w.text(ctx.say(f"{kind.dates.label}发布的文章有{len(records)}篇", f"{len(records)} articles were published {kind.dates.label}"))
    else:
        w.text(ctx.say(f"资料中共有{len(records)}篇文章", f"The collection has {len(records)} articles"))
    _titles_or_stop(w, ctx, records)
    if kind.dates:
        undated_note(w, ctx, undated_outside_range(ctx), "不在任何日期范围内，未计入", "not counted in any date range")
    return w.answer(ctx) if records or kind.dates else None


def _titles_or_stop(w: Writer, ctx: Context, records: list) -> None:
    """After a count: the articles' titles, or the sentence's full stop when there are none."""
    if records:
        w.text("：" if ctx.zh else ": ")
        titles(w, ctx, records)
    else:
        w.text("。" if ctx.zh else ".")


def _range_label(ctx: Context) -> str:
    """The question's dates as the answer states them, else the whole collection."""
    return ctx.kind.dates.label if ctx.kind.dates else ctx.say("全部资料中", "in the whole collection")


def _newest_line(w: Writer, ctx: Context, records: list) -> None:
    """The newest of a group's articles (newest first), cited to its first summary sentence."""
    newest = records[0]
    article_line(w, ctx, newest, [ctx.evidence(newest, s) for s in newest.summary_spans[:1]])


def _topic_records(ctx: Context, topic: str) -> tuple[list, list] | None:
    """(the admitted articles on `topic`, newest first; the undated ones the dates left out),
    or None when a small collection's retrieval finds none on it."""
    if scans(ctx):
        records, _, undated = on_topic_records(ctx, topic)
        return records, undated
    found = about(ctx, topic, skip_related=ctx.kind.mentions is False, by_profile=not ctx.kind.mentions)
    if not found:
        return None
    return by_date([c.record for c in found]), []


def _by_topic(ctx: Context, w: Writer) -> Answer | None:
    """"杜苏芮和卡努哪个台风的报道更多": each topic's articles counted (in the question's
    dates), each with its newest article cited, and the larger named."""
    kind = ctx.kind
    counted = [(side, _topic_records(ctx, side)) for side in kind.sides]
    if all(found is None for _, found in counted):
        return None
    label = _range_label(ctx)
    w.text(ctx.say(f"{label}：", f"{label[:1].upper()}{label[1:]}:"))
    sizes = {}
    for side, found in counted:
        records = found[0] if found else []
        sizes[side] = len(records)
        w.text("\n" + ctx.say(f"关于{side}的文章有{len(records)}篇", f"{len(records)} articles on {side}"))
        if records:
            w.text(ctx.say("，最新一篇是", ", the newest "))
            _newest_line(w, ctx, records)
        else:
            w.text("。" if ctx.zh else ".")
    (a, n_a), (b, n_b) = sizes.items()
    if n_a != n_b:
        more, fewer = (a, b) if n_a > n_b else (b, a)
        w.text("\n" + ctx.say(f"关于{more}的文章更多（{sizes[more]}篇对{sizes[fewer]}篇）。",
                              f"More on {more} ({sizes[more]} against {sizes[fewer]})."))
    else:
        w.text("\n" + ctx.say(f"两者一样多（各{n_a}篇）。", f"As many on each ({n_a})."))
    left = sum(len(found[1]) for _, found in counted if found)
    if left:
        w.text("\n" + ctx.say(f"另有{left}篇相关文章没有注明日期，未计入。", f"{left} more on them are undated, not counted."))
    return w.answer(ctx)


def _by_periods(ctx: Context, w: Writer) -> Answer | None:
    """"8月上旬和8月中旬，哪段时间关于暴雨的报道更多": the topic's articles (found once, over
    both ranges) counted in each range, each range's newest cited, the larger named."""
    kind = ctx.kind
    found = _topic_records(ctx, kind.topic) if kind.topic else (by_date(list(ctx.records)), [])
    if found is None:
        return None
    records, undated = found
    on = ctx.say(f"关于{kind.topic}的", f" on {kind.topic}") if kind.topic else ""
    sizes: list[tuple[str, int]] = []
    for period in kind.periods:
        inside = [r for r in records if r.date and (period.date_from or "") <= r.date <= (period.date_to or "9999")]
        w.text(("\n" if sizes else "") + ctx.say(f"{period.label}{on}文章有{len(inside)}篇",
                                                  f"{len(inside)} articles{on} {period.label}"))
        if inside:
            w.text(ctx.say("，最新一篇是", ", the newest "))
            _newest_line(w, ctx, inside)
        else:
            w.text("。" if ctx.zh else ".")
        sizes.append((period.label, len(inside)))
    (a, n_a), (b, n_b) = sizes
    if n_a != n_b:
        (more, n_more), (_, n_fewer) = sorted(sizes, key=lambda x: -x[1])
        w.text("\n" + ctx.say(f"{more}期间的更多（{n_more}篇对{n_fewer}篇）。", f"More {more} ({n_more} against {n_fewer})."))
    else:
        w.text("\n" + ctx.say(f"两段时间一样多（各{n_a}篇）。", f"As many in each ({n_a})."))
    if undated:
        w.text("\n" + ctx.say(f"另有{len(undated)}篇相关文章没有注明日期，未计入。",
                              f"{len(undated)} more on it are undated, not counted."))
    return w.answer(ctx)


@dataclass(frozen=True)
class Period:
    """How a count is split by date: what names the group a date falls in, the words for it,
    and how many of them the answer shows."""
    group: Callable[[str], str]  # "2023-08" for a month, "2023-08-01" for a day
    zh: str
    zh_unit: str  # what a number of them is counted in: 3个月, 5天
    en: str
    busiest_first: bool  # days: the busiest few; months and weeks: every one, in order
    shown: int | None  # how many the answer lists (None: all)


def _clipped(group: str, dates) -> str:
    """A week's "lo 至 hi" within the question's dates (July's first week: "2023-07-01 至
    2023-07-02", not from June 26): the days its count is of."""
    if " 至 " not in group or dates is None:
        return group
    lo, hi = group.split(" 至 ")
    lo, hi = max(lo, dates.date_from or lo), min(hi, dates.date_to or hi)
    return lo if lo == hi else f"{lo} 至 {hi}"


def _week_of(day: str) -> str:
    """"2023-07-31 至 2023-08-06": the Monday-to-Sunday week of an ISO date."""
    monday = dt.date.fromisoformat(day) - dt.timedelta(days=dt.date.fromisoformat(day).weekday())
    return f"{monday.isoformat()} 至 {(monday + dt.timedelta(days=6)).isoformat()}"


MONTH = Period(lambda d: d[:7], "月份", "个月", "month", False, None)
# 「北京暴雨的报道主要集中在哪几天」: the five busiest days answer it; the rest are counted
DAY = Period(lambda d: d[:10], "日期", "天", "day", True, 5)
WEEK = Period(_week_of, "周（周一至周日）", "周", "week", False, None)


def _by_period(ctx: Context, w: Writer, period: Period) -> Answer | None:
    """"每个月各有多少篇关于台风的报道", "which month had more articles about floods",
    "北京暴雨的报道主要集中在哪几天": the articles (on the topic, if one is named) counted per
    month (oldest first) or per day (busiest first) of publication, each with its newest
    article cited; the largest said; undated ones counted apart."""
    kind = ctx.kind
    undated: list = []  # on the topic, left out by the question's dates
    if kind.topic:
        found = _topic_records(ctx, kind.topic)
        if found is None:
            return None
        records, undated = found
    else:
        records = list(ctx.records)
    dated = by_date([r for r in records if r.date])
    groups: dict[str, list] = {}
    for r in dated:
        groups.setdefault(_clipped(period.group(r.date or ""), kind.dates), []).append(r)
    label = _range_label(ctx)
    on = ctx.say(f"关于{kind.topic}的", f" on {kind.topic}") if kind.topic else ""
    if not groups:
        w.text(ctx.say(f"{label}没有{on}文章。", f"No articles{on} {label}."))
        return w.answer(ctx) if scans(ctx) else None
    order = (sorted(groups, key=lambda g: (-len(groups[g]), g)) if period.busiest_first else sorted(groups))
    # days come a page of `shown` at a time: "更多" after them asks for the next busiest
    # months all come on the first page: "更多" after them has no more to show
    first = (max(1, kind.page) - 1) * (period.shown or len(order))
    shown = order[first : first + period.shown] if period.shown else order[first:]
    w.text(ctx.say(f"{label}{on}文章按发布{period.zh}统计（共{len(dated)}篇，分布在{len(groups)}{period.zh_unit}）",
                   f"Articles{on} {label} by {period.en} of publication ({len(dated)} in all, over {len(groups)} "
                   f"{period.en}s)"))
    if first and not shown:
        w.text(ctx.say("。（没有更多了）", ". (no more)"))
    elif first:
        w.text(ctx.say(f"，按篇数排第{first + 1}至{first + len(shown)}的：",
                       f"; the busiest {first + 1} to {first + len(shown)}:"))
    elif len(shown) < len(order):
        w.text(ctx.say(f"，最多的{len(shown)}{period.zh_unit}：", f"; the {len(shown)} busiest:"))
    else:
        w.text("：" if ctx.zh else ":")
    for group in shown:
        w.text(ctx.say(f"\n{group}：{len(groups[group])}篇，最新一篇是", f"\n{group}: {len(groups[group])}, the newest "))
        _newest_line(w, ctx, groups[group])
    sizes = sorted((len(g) for g in groups.values()), reverse=True)
    if len(sizes) > 1 and sizes[0] > sizes[1]:  # a tie has no "most"
        top = order[0] if period.busiest_first else max(sorted(groups), key=lambda g: len(groups[g]))
        w.text("\n" + ctx.say(f"最多的是{top}（{len(groups[top])}篇）。", f"The most: {top} ({len(groups[top])})."))
    later = len(order) - first - len(shown)
    if shown and later > 0:
        w.text("\n" + ctx.say(f"（另有{later}{period.zh_unit}未列出；回复“更多”查看下一页）",
                              f"({later} more {period.en}s not listed; reply \"more\" for the next page)"))
    left = [r for r in records if not r.date] + undated
    if left:
        w.text("\n" + ctx.say(f"另有{len(left)}篇没有注明日期，不属于任何{period.zh}。",
                              f"{len(left)} more are undated, so in no {period.en}."))
    return w.answer(ctx)
