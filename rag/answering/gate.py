"""Whether the retrieved evidence answers the question, judged from the evidence as a
whole: how close in meaning its best sentences are, how much of the question's key-term
weight it covers, how strong retrieval was, and how much of what the question names it
never mentions. A logistic model over these few features, fitted on the dev split
(`python -m evals.tune --only gate`; its weights are in rag/tuned.py), so no single rule
(every word must appear) decides.

The same gate guards every answerer: an LLM is not asked when the gate says no.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rag.answering.extractive import Scored, evidence_coverage, expected_type_missing
from rag.retrieve.query import QueryTerms
from rag.tuned import GATE_FEATURES, Tuning
from rag.types import Hit


@dataclass(frozen=True)
class EvidenceFeatures:
    # how far the best retrieved sentence stands above the question's mean similarity to
    # the corpus: cross-lingual similarities run ~0.1 lower than same-language ones, the
    # margin does not
    similarity_margin: float
    chinese: float  # 1 for a question in Chinese (the corpus language), else 0
    coverage: float  # share of the question's key-term weight the retrieved passages cover
    absent_names: float  # share of the key-term weight in names no retrieved passage mentions
    absent_nouns: float  # ... in other nouns (often a paraphrase, sometimes what is asked)
    type_missing: float = 0.0  # asks for a date/number that the best sentence does not have
    asked_absent: float = 0.0  # 1 when the attribute asked for is in no retrieved passage
    semantic: bool = True  # sentence similarities were available
    unknown_share: float = 0.0  # non-Chinese questions: share of their words the evidence lacks

    @property
    def coverage_zh(self) -> float:
        """Word coverage is evidence for Chinese questions only: an English question's words
        mostly cannot occur in Chinese passages."""
        return self.coverage * self.chinese

    def as_vector(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in GATE_FEATURES}


def evidence_features(q: QueryTerms, hits: list[Hit], scored: list[Scored],
                      background: float | None, tuning: Tuning) -> EvidenceFeatures:
    """`background`: the question's mean similarity to the corpus's sentences."""
    sims = [s.similarity for s in scored if s.similarity is not None]
    margin = max(sims) - background if sims and background is not None else 0.0
    names = q.share_of(q.absent_names)
    return EvidenceFeatures(
        similarity_margin=margin,
        chinese=1.0 if q.chinese else 0.0,
        coverage=evidence_coverage(q, hits, tuning=tuning) if hits else 0.0,
        absent_names=names,
        absent_nouns=q.share_of(q.absent) - names,
        type_missing=1.0 if expected_type_missing(q, scored) else 0.0,
        asked_absent=1.0 if q.asked_absent else 0.0,
        semantic=bool(sims) and background is not None,
        unknown_share=q.unknown_share,
    )


def answer_probability(f: EvidenceFeatures, tuning: Tuning) -> float:
    """The gate model's probability that the evidence answers (higher: answer)."""
    weights = tuning.gate_weights
    z = tuning.gate_bias + sum(weights[k] * v for k, v in f.as_vector().items())
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def answerable(f: EvidenceFeatures, tuning: Tuning) -> bool:
    if not f.semantic:
        # No sentence vectors (answers chosen by words, or a model that cannot read the
        # corpus): the lexical rule of the word-only answerer.
        return (f.coverage >= tuning.lexical_min_coverage and f.absent_names == f.absent_nouns == 0
                and f.unknown_share <= tuning.max_unknown_share)
    if not f.chinese and f.similarity_margin < tuning.non_chinese_min_margin:
        return False  # cross-lingual similarity is noisier: a question in another language
        # must stand out further from the corpus background
    return answer_probability(f, tuning) >= tuning.gate_threshold
