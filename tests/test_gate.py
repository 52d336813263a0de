"""rag.answering.gate: the logistic answer gate and the rules around it, on evidence features given
directly (no index, no model)."""

from __future__ import annotations

import math

import pytest

from rag.answering.gate import EvidenceFeatures, answer_probability, answerable
from rag.tuned import DEFAULTS, GATE_FEATURES


def features(**changes) -> EvidenceFeatures:
    """A Chinese question whose words the evidence covers, with sentence vectors, no margin."""
    base = dict(similarity_margin=0.0, chinese=1.0, coverage=1.0, absent_names=0.0, absent_nouns=0.0)
    return EvidenceFeatures(**{**base, **changes})


def test_probability_is_the_logistic_of_bias_plus_weighted_features():
    f = features(similarity_margin=0.1, absent_nouns=0.5)
    z = DEFAULTS.gate_bias + sum(DEFAULTS.gate_weights[k] * getattr(f, k) for k in GATE_FEATURES)
    assert answer_probability(f, DEFAULTS) == pytest.approx(1 / (1 + math.exp(-z)))
    assert list(f.as_vector()) == list(GATE_FEATURES)


def test_probability_points_up_with_the_similarity_margin_and_down_with_absent_names():
    low, high = features(similarity_margin=0.0), features(similarity_margin=0.2)
    assert answer_probability(high, DEFAULTS) > answer_probability(low, DEFAULTS)
    named = features(similarity_margin=0.2, absent_names=0.5)
    assert answer_probability(named, DEFAULTS) < answer_probability(high, DEFAULTS)


def test_probability_stays_finite_for_extreme_evidence():
    assert answer_probability(features(similarity_margin=1e9), DEFAULTS) == pytest.approx(1.0)
    assert answer_probability(features(similarity_margin=-1e9), DEFAULTS) == pytest.approx(0.0)


def test_answers_at_the_threshold_and_the_threshold_is_the_tunings():
    strong, weak = features(similarity_margin=0.1), features(coverage=0.0)
    assert answerable(strong, DEFAULTS) and not answerable(weak, DEFAULTS)
    p = answer_probability(weak, DEFAULTS)  # ~0.34: a Chinese question the evidence does not cover
    assert 0.3 < p < 0.5
    assert answerable(weak, DEFAULTS.replace(gate_threshold=p))
    assert not answerable(strong, DEFAULTS.replace(gate_bias=-1e6))


def test_a_question_in_another_language_must_clear_the_margin_floor():
    english = features(chinese=0.0, similarity_margin=0.045)
    assert answer_probability(english, DEFAULTS) >= 0.5  # the model alone would answer ...
    assert not answerable(english, DEFAULTS)  # ... but 0.045 is under the 0.05 floor
    assert answerable(english, DEFAULTS.replace(non_chinese_min_margin=0.04))
    assert answerable(features(chinese=0.0, similarity_margin=0.06), DEFAULTS)


def test_without_sentence_vectors_the_lexical_rule_decides():
    covered = features(semantic=False, coverage=0.6, similarity_margin=-1.0)
    assert answerable(covered, DEFAULTS)  # the logistic model is not asked: its margin is moot
    assert not answerable(features(semantic=False, coverage=0.59), DEFAULTS)
    assert not answerable(features(semantic=False, absent_names=0.1), DEFAULTS)
    assert not answerable(features(semantic=False, absent_nouns=0.1), DEFAULTS)
    assert not answerable(features(semantic=False, unknown_share=0.6), DEFAULTS)
    assert answerable(features(semantic=False, unknown_share=0.6), DEFAULTS.replace(max_unknown_share=0.7))
    assert answerable(features(semantic=False, coverage=0.5), DEFAULTS.replace(lexical_min_coverage=0.5))


def test_word_coverage_counts_for_chinese_questions_only():
    assert features(coverage=0.8).coverage_zh == 0.8
    assert features(coverage=0.8, chinese=0.0).coverage_zh == 0.0
