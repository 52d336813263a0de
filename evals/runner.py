"""Runs an eval set through a pipeline and scores it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from evals import metrics as m
from evals.dataset import EvalItem
from rag.types import Answer


@dataclass(frozen=True)
class ItemResult:
    id: str
    type: str
    question: str
    expected: str  # human-readable: the facts, or "(abstain)"
    gold: tuple[str, ...]
    answer: str
    abstained: bool
    should_abstain: bool
    correct: bool
    fact_recall: float
    ranked_articles: tuple[str, ...]
    cited_articles: tuple[str, ...]
    hit1: float | None
    hit3: float | None
    rr: float | None
    citation_precision: float | None
    citation_recall: float | None
    latency_ms: float
    error: str | None = None
    judge_fact_recall: float | None = None
    judge_faithfulness: float | None = None
    split: str = "dev"
    first_token_ms: float | None = None  # time to the first piece of streamed answer text


@dataclass(frozen=True)
class Streamed:
    """An answer_fn's result when it streamed: the Answer and when its first text arrived."""

    answer: Answer
    first_token_ms: float


@dataclass(frozen=True)
class TypeSummary:
    """The headline figures for the items of one question type."""

    items: int
    accuracy: float
    hit1: float | None
    citation_precision: float | None
    citation_recall: float | None
    abstention_precision: float | None
    abstention_recall: float | None


@dataclass(frozen=True)
class Summary:
    name: str
    items: int
    hit1: float | None
    hit3: float | None
    mrr: float | None
    accuracy: float
    citation_precision: float | None
    citation_recall: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    latency_p50_ms: float
    latency_p95_ms: float
    errors: int
    by_type: dict[str, float] = field(default_factory=dict)
    judge_fact_recall: float | None = None
    judge_faithfulness: float | None = None
    split: str = "all"  # dev, test, or all
    types: dict[str, TypeSummary] = field(default_factory=dict)
    first_token_p50_ms: float | None = None  # None when answers were not streamed
    first_token_p95_ms: float | None = None
    answer_chars_p50: float | None = None  # median answered length, markers left out


def _expected(item: EvalItem) -> str:
    if item.abstain:
        return "(abstain)"
    return " + ".join(" / ".join(f) for f in item.facts)


def score_item(item: EvalItem, answer, latency_ms: float) -> ItemResult:
    ranked = tuple(dict.fromkeys(h.chunk.article_id for h in answer.hits))
    cited = tuple(dict.fromkeys(c.source for c in answer.citations))
    answerable = not item.abstain
    return ItemResult(
        id=item.id, type=item.type, question=item.question, expected=_expected(item),
        gold=item.gold, answer=answer.text, abstained=answer.abstained,
        should_abstain=item.abstain,
        correct=m.answer_correct(answer.text, answer.abstained, item.facts, item.abstain),
        fact_recall=m.fact_recall(answer.text, item.facts) if answerable else float(answer.abstained),
        ranked_articles=ranked, cited_articles=cited,
        hit1=m.hit_at(list(ranked), item.gold, 1) if answerable else None,
        hit3=m.hit_at(list(ranked), item.gold, 3) if answerable else None,
        rr=m.reciprocal_rank(list(ranked), item.gold) if answerable else None,
        citation_precision=m.citation_precision(cited, item.gold) if answerable else None,
        citation_recall=m.citation_recall(cited, item.gold) if answerable and not answer.abstained else None,
        latency_ms=latency_ms, split=item.split,
    )


def error_result(item: EvalItem, exc: Exception, latency_ms: float) -> ItemResult:
    return ItemResult(item.id, item.type, item.question, _expected(item), item.gold, "", False,
                      item.abstain, False, 0.0, (), (), 0.0 if not item.abstain else None,
                      0.0 if not item.abstain else None, 0.0 if not item.abstain else None,
                      None, None, latency_ms, f"{type(exc).__name__}: {exc}", split=item.split)


def run_items(answer_fn: Callable, items: list[EvalItem], progress=None, judge=None) -> list[ItemResult]:
    """`answer_fn(question, history)` returns an Answer. Errors are recorded per item and
    counted in the summary, never turned into answers. `judge` (an LLMJudge) adds
    RAGAS-style scores to answerable items that were answered."""
    from rag.errors import RagError

    results = []
    for item in items:
        t0 = time.perf_counter()
        try:
            got = answer_fn(item.question, list(item.history) or None)
            first = got.first_token_ms if isinstance(got, Streamed) else None
            ans = got.answer if isinstance(got, Streamed) else got
            result = dataclasses.replace(score_item(item, ans, (time.perf_counter() - t0) * 1000),
                                         first_token_ms=first)
        except RagError as exc:
            results.append(error_result(item, exc, (time.perf_counter() - t0) * 1000))
        else:
            if judge is not None and not item.abstain and not ans.abstained:
                try:
                    j = judge.judge(item.question, item.facts, ans)
                    result = dataclasses.replace(result, judge_fact_recall=j.fact_recall,
                                                 judge_faithfulness=j.faithfulness)
                except RagError as exc:
                    result = dataclasses.replace(result, error=f"judge: {exc}")
            results.append(result)
        if progress:
            progress()
    return results


def summarize_type(results: list[ItemResult]) -> TypeSummary:
    abst_p, abst_r = m.abstention_scores([r.abstained for r in results], [r.should_abstain for r in results])
    return TypeSummary(
        items=len(results),
        accuracy=sum(r.correct for r in results) / len(results) if results else 0.0,
        hit1=m.mean(r.hit1 for r in results),
        citation_precision=m.mean(r.citation_precision for r in results),
        citation_recall=m.mean(r.citation_recall for r in results),
        abstention_precision=abst_p,
        abstention_recall=abst_r,
    )


def summarize(name: str, results: list[ItemResult], split: str = "all") -> Summary:
    by_type: dict[str, list[ItemResult]] = {}
    for r in results:
        by_type.setdefault(r.type, []).append(r)
    types = {t: summarize_type(rs) for t, rs in sorted(by_type.items())}
    abst_p, abst_r = m.abstention_scores([r.abstained for r in results], [r.should_abstain for r in results])
    latencies = [r.latency_ms for r in results]
    firsts = [r.first_token_ms for r in results if r.first_token_ms is not None]
    chars = [m.answer_chars(r.answer) for r in results if not r.abstained and r.error is None]
    return Summary(
        name=name,
        items=len(results),
        hit1=m.mean(r.hit1 for r in results),
        hit3=m.mean(r.hit3 for r in results),
        mrr=m.mean(r.rr for r in results),
        accuracy=sum(r.correct for r in results) / len(results) if results else 0.0,
        citation_precision=m.mean(r.citation_precision for r in results),
        citation_recall=m.mean(r.citation_recall for r in results),
        abstention_precision=abst_p,
        abstention_recall=abst_r,
        latency_p50_ms=m.percentile(latencies, 50),
        latency_p95_ms=m.percentile(latencies, 95),
        errors=sum(r.error is not None for r in results),
        by_type={t: ts.accuracy for t, ts in types.items()},
        judge_fact_recall=m.mean(r.judge_fact_recall for r in results),
        judge_faithfulness=m.mean(r.judge_faithfulness for r in results),
        split=split,
        types=types,
        first_token_p50_ms=m.percentile(firsts, 50) if firsts else None,
        first_token_p95_ms=m.percentile(firsts, 95) if firsts else None,
        answer_chars_p50=m.percentile(chars, 50) if chars else None,
    )


def as_dict(obj) -> dict:
    return dataclasses.asdict(obj)
