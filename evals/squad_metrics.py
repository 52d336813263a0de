"""Short-answer metrics as the CMRC 2018 evaluator computes them: text lower-cased with
punctuation and spaces removed; exact match against any gold answer; character F1 from the
longest common substring (the evaluator's `find_lcs`), F1 = 2PR/(P+R) with
P = lcs/len(prediction) and R = lcs/len(gold), the best over the gold answers."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_answer(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


def _longest_common_substring(a: str, b: str) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best = cur[j]
        prev = cur
    return best


def exact_match(prediction: str, golds: list[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(g) for g in golds))


def f1(prediction: str, golds: list[str]) -> float:
    p = normalize_answer(prediction)
    best = 0.0
    for g in map(normalize_answer, golds):
        if not p or not g:
            continue
        lcs = _longest_common_substring(p, g)
        if lcs:
            precision, recall = lcs / len(p), lcs / len(g)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
