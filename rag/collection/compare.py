"""compare: one side per thing compared, each cited to its own article, side by side."""

from __future__ import annotations

import re

from rag.collection.context import (
    Context,
    Writer,
    article_line,
    best_sentences,
    semantic_sentences,
    side_article,
    weak,
)
from rag.text import normalize
from rag.types import Answer


def answer(ctx: Context) -> Answer | None:
    sides = ctx.kind.sides
    shared = _shared_context(ctx.search.question, sides)
    w = Writer()
    w.text(ctx.say(f"{sides[0]}与{sides[1]}对比：", f"{sides[0]} vs {sides[1]}:"))
    found_any = False
    used: set[str] = set()
    for side, other in ((sides[0], sides[1]), (sides[1], sides[0])):
        cand = side_article(ctx, side, shared, used)
        w.text(f"\n【{side}】")
        if cand is None:
            w.text(ctx.say("资料中没有找到相关信息。", "The articles say nothing about it."))
            continue
        used.add(cand.record.id)
        evidence = best_sentences(ctx, f"{side} {shared}", cand, 2, avoid=(other,))
        if not evidence or all(weak(ctx, e, f"{side} {shared}") for e in evidence):
            # asked in another language than the article's: its summary says what this side
            # is; the sentences of it closest in meaning
            evidence = semantic_sentences(ctx, cand, f"{side} {shared}", n=2, avoid=(other,), summary_only=True) or evidence
        if not evidence:
            w.text(ctx.say("资料中没有找到相关信息。", "The articles say nothing about it."))
            continue
        found_any = True
        article_line(w, ctx, cand.record, evidence)
    return w.answer(ctx) if found_any else None


def _shared_context(question: str, sides: tuple[str, ...]) -> str:
    """What the comparison is about besides the two sides ("the company ... 合作")."""
    text = normalize(question)
    for s in sides:
        text = text.replace(s, " ")
    text = re.sub(r"(比较|对比|一下|相比|有何不同|有什么不同|有什么区别|有哪些不同|区别|不同|差异|异同|侧重点"
                  r"|\bcompare\b|\bdiffer\w*\b|\bbetween\b|\bversus\b|\bvs\.?\b|\bhow\b|\bdoes\b|\bwhat\b|\bare\b"
                  r"|\bthe\b|\bwith\b|\band\b|\bfrom\b|与|和|跟|在|的|[？?。.,，])", " ", text, flags=re.I)
    return re.sub(r"\s+", " ", text).strip()
