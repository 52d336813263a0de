"""What a question asks for: its key terms with weights, its kind, and follow-up handling."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import normalize, terms

_CJK = re.compile(r"[\u3400-\u9fff]")
# Words that point back at an earlier turn: "这个组织", "它", "they", ...
_DEICTIC = re.compile(
    r"(这个|那个|这家|那家|这项|该|它|他们|她们|它们|其|此|上述|前面|刚才|这些|那些|这位|那位|对方"
    r"|\b(it|its|they|them|their|this|that|these|those|he|she|his|her)\b)",
    re.IGNORECASE,
)
_LIST = re.compile(r"(哪些|哪几|哪[一二两三四五六七八九十\d]+[个项家大类方]|有几[个项]|列举|分别|包括什么|\bwhich\b.*\bare\b|\bwhat are\b|\blist\b)", re.I)
_NUMBER = re.compile(r"(多少|几[个年月天项家]|多大|多久|比例|百分之|how (many|much)|what (share|percent))", re.I)
_WHEN = re.compile(r"(何时|什么时候|哪一?年|哪天|几月|日期|\bwhen\b|what (date|year))", re.I)


@dataclass(frozen=True)
class QueryTerms:
    """Key terms of a question: no term is a substring of another, single Chinese
    characters only when nothing longer is left. `weights` are IDF values."""

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    is_list: bool = False
    wants_number: bool = False
    wants_date: bool = False

    @property
    def total(self) -> float:
        return sum(self.weights)

    def coverage(self, text: str) -> float:
        """Share of the key-term weight that appears in `text` (case- and width-folded)."""
        if not self.terms:
            return 0.0
        hay = normalize(text).lower()
        got = sum(w for t, w in zip(self.terms, self.weights) if t in hay)
        return got / self.total if self.total else 0.0

    def matched(self, text: str) -> set[str]:
        hay = normalize(text).lower()
        return {t for t in self.terms if t in hay}


def key_terms(question: str, idf) -> QueryTerms:
    found = list(dict.fromkeys(terms(question)))
    maximal = [t for t in found if not any(t != o and t in o for o in found)]
    longer = [t for t in maximal if not (len(t) == 1 and _CJK.match(t))]
    chosen = longer or maximal
    return QueryTerms(
        terms=tuple(chosen),
        weights=tuple(idf(t) for t in chosen),
        is_list=bool(_LIST.search(question)),
        wants_number=bool(_NUMBER.search(question)),
        wants_date=bool(_WHEN.search(question)),
    )


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class SearchQuery:
    """The question as retrieval sees it. For a follow-up, the earlier user turns add their
    terms once while the question's own terms count twice, so the new question still leads."""

    question: str
    text: str  # for the dense retriever
    lexical_terms: tuple[str, ...]
    is_followup: bool


def condense(question: str, history: list[dict] | None, max_turns: int) -> SearchQuery:
    own = terms(question)
    earlier = [m.get("content", "") for m in (history or []) if m.get("role") == "user"]
    earlier = [e for e in earlier if isinstance(e, str) and e.strip()][-max_turns:] if max_turns else []
    content_terms = [t for t in own if not (len(t) == 1 and _CJK.match(t))]
    followup = bool(earlier) and (bool(_DEICTIC.search(question)) or len(set(content_terms)) <= 2)
    if not followup:
        return SearchQuery(question, question, tuple(own), False)
    carried = [t for e in earlier for t in terms(e)]
    return SearchQuery(question, " ".join([*earlier, question]), tuple(own + own + carried), True)
