"""Pure scoring functions. Everything here takes plain values and returns numbers."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_RUN = re.compile(r"[零〇一二两三四五六七八九十百千]+")
_DROP = re.compile(r"[\s\W_]+")
_MARKER = re.compile(r"\[\d+\]")


def _cn_to_int(run: str) -> int | None:
    total, digit = 0, None
    for ch in run:
        if ch in _CN_DIGITS:
            if digit is not None:  # "二〇二五" style: read digit by digit
                return int("".join(str(_CN_DIGITS[c]) for c in run if c in _CN_DIGITS)) if all(
                    c in _CN_DIGITS for c in run) else None
            digit = _CN_DIGITS[ch]
        else:
            total += (digit if digit is not None else 1) * _CN_UNITS[ch]
            digit = None
    return total + (digit or 0)


def normalize_answer(text: str) -> str:
    """Fold width and case, turn simple Chinese numerals into digits, drop spaces and
    punctuation: "两千 万美元" and "2000万美元" compare equal."""
    text = unicodedata.normalize("NFKC", text).lower()

    def to_digits(m: re.Match) -> str:
        value = _cn_to_int(m.group())
        return m.group() if value is None else str(value)

    text = _CN_RUN.sub(to_digits, text)
    return _DROP.sub("", text)


def fact_present(answer: str, alternatives: tuple[str, ...] | list[str]) -> bool:
    norm = normalize_answer(answer)
    return any(normalize_answer(a) in norm for a in alternatives if normalize_answer(a))


def answer_correct(answer: str, abstained: bool, facts, should_abstain: bool) -> bool:
    if should_abstain:
        return abstained
    return not abstained and all(fact_present(answer, f) for f in facts)


def fact_recall(answer: str, facts) -> float:
    facts = list(facts)
    return sum(fact_present(answer, f) for f in facts) / len(facts) if facts else 0.0


def first_rank(ranked_articles: list[str], gold) -> int | None:
    """1-based rank of the first gold article in a ranked list of article ids."""
    gold = set(gold)
    for i, a in enumerate(ranked_articles, 1):
        if a in gold:
            return i
    return None


def hit_at(ranked_articles: list[str], gold, k: int) -> float:
    r = first_rank(ranked_articles, gold)
    return 1.0 if r is not None and r <= k else 0.0


def reciprocal_rank(ranked_articles: list[str], gold) -> float:
    r = first_rank(ranked_articles, gold)
    return 1.0 / r if r else 0.0


def citation_precision(cited_articles, gold) -> float | None:
    """Share of cited articles that are gold; None when nothing was cited."""
    cited = set(cited_articles)
    if not cited:
        return None
    return len(cited & set(gold)) / len(cited)


def citation_recall(cited_articles, gold) -> float | None:
    gold = set(gold)
    if not gold:
        return None
    return len(set(cited_articles) & gold) / len(gold)


def abstention_scores(predicted: list[bool], expected: list[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of abstaining; None where undefined (nothing predicted/expected)."""
    tp = sum(p and e for p, e in zip(predicted, expected))
    predicted_n, expected_n = sum(predicted), sum(expected)
    precision = tp / predicted_n if predicted_n else None
    recall = tp / expected_n if expected_n else None
    return precision, recall


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def answer_chars(text: str) -> int:
    """How long an answer reads: its characters without the citation markers."""
    return len(_MARKER.sub("", text).strip())


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None
