"""The measured constants are one frozen Tuning (rag/tuned.py) that build_pipeline makes and
passes on: two Tunings answer differently side by side in one process, a `tuning:` override
in the config reaches the answer, and a bad override names its key. On the hashing fake
embedder (tests/fakes.py), so no model is loaded."""

from __future__ import annotations

import dataclasses

import pytest

from rag.config import config_from_dict
from rag.errors import ConfigError
from rag.tuned import DEFAULTS, GATE_FEATURES, NOT_INJECTED, Tuning
from tests.conftest import SHIPPED_CORPUS
from tests.fakes import HashEmbedder

DONATION_Q = "Anthropic向哪个组织捐赠了2000万美元？"


@pytest.fixture(scope="module")
def hash_index(tmp_path_factory):
    """The shipped corpus ingested once with the hashing embedder; sentence vectors on
    (answer.selection: semantic), so the gate and sentence scoring weigh meaning too; the
    trained reader off (its model is no fake, and it is tested in test_reader_model)."""
    from rag.pipeline import ingest

    def cfg_with(**sections):
        data = {"corpus": {"path": str(SHIPPED_CORPUS)}, "data_dir": str(root / "data"),
                "answer": {"selection": "semantic", "reader": "off"}, **sections}
        return config_from_dict(data)

    root = tmp_path_factory.mktemp("hash-index")
    embedder = HashEmbedder()
    ingest(cfg_with(), embedder=embedder, progress=False)
    return cfg_with, embedder


@pytest.fixture(scope="module")
def pipeline(hash_index):
    from rag.pipeline import build_pipeline

    cfg_with, embedder = hash_index
    return build_pipeline(cfg_with(), embedder=embedder)


def test_the_pipeline_is_built_with_the_defaults_and_passes_them_on(pipeline):
    assert pipeline.tuning == DEFAULTS
    assert pipeline.answerer.tuning is pipeline.tuning
    assert pipeline.reranker.tuning is pipeline.tuning  # the sentence reranker (vectors are on)


def test_two_tunings_in_one_process_answer_differently(pipeline):
    shut = pipeline.with_tuning(DEFAULTS.replace(gate_bias=-1e6))  # no evidence outweighs it
    every_sentence = pipeline.with_tuning(DEFAULTS.replace(keep_ratio=0.0, semantic_extra=0.0))
    default = pipeline.answer(DONATION_Q)
    assert not default.abstained and len(default.citations) == 1
    assert shut.answer(DONATION_Q).abstained
    assert len(every_sentence.answer(DONATION_Q).citations) == pipeline.cfg.answer.max_sentences
    # neither changed the pipeline they came from: nothing global was patched
    again = pipeline.answer(DONATION_Q)
    assert pipeline.tuning == DEFAULTS and again.text == default.text


def test_a_config_override_reaches_the_answer(hash_index):
    from rag.pipeline import build_pipeline

    cfg_with, embedder = hash_index
    cfg = cfg_with(tuning={"gate_bias": -1e6})
    assert cfg.tuning == (("gate_bias", -1e6),)
    p = build_pipeline(cfg, embedder=embedder)
    assert p.tuning == DEFAULTS.replace(gate_bias=-1e6)
    assert p.answer(DONATION_Q).abstained
    wider = build_pipeline(cfg_with(tuning={"keep_ratio": 0, "semantic_extra": 0}), embedder=embedder)
    assert wider.tuning.keep_ratio == 0.0 and len(wider.answer(DONATION_Q).citations) == 3


@pytest.mark.parametrize(("tuning", "message"), [
    ({"w_semantik": 2.0}, "unknown config key `tuning.w_semantik`"),
    ({"w_semantic": "high"}, "config key `tuning.w_semantic`: expected a number"),
    ({"w_semantic": True}, "config key `tuning.w_semantic`: expected a number"),
    ({"short_chars": 7.5}, "config key `tuning.short_chars`: expected an integer"),
    ({"sim_floor": 1.0}, "config key `tuning.sim_floor`: must be a number from 0 to 0.99"),
    ({"keep_ratio": -0.1}, "config key `tuning.keep_ratio`: must be a number from 0 to 1"),
    ({"article_weight": 1.0}, "config key `tuning.article_weight`: cannot be overridden yet: rag.index.lexical"),
    ([["w_semantic", 2.0]], "config `tuning` must be a mapping"),
])
def test_a_bad_override_names_its_key(tmp_path, tuning, message):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"tuning": tuning}, tmp_path)
    assert message in str(err.value)


def test_every_field_not_passed_on_yet_is_refused_and_every_other_is_accepted(tmp_path):
    numeric = [f for f in dataclasses.fields(Tuning) if f.name != "gate_model"]
    for f in numeric:
        value = getattr(DEFAULTS, f.name)
        if f.name in NOT_INJECTED:
            with pytest.raises(ConfigError, match=f"tuning.{f.name}"):
                config_from_dict({"tuning": {f.name: value}}, tmp_path)
        else:
            assert config_from_dict({"tuning": {f.name: value}}, tmp_path).tuning == ((f.name, value),)
    assert set(NOT_INJECTED) <= {f.name for f in numeric}


def test_tuning_is_frozen_and_replace_makes_another():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.w_semantic = 4.0  # type: ignore[misc]
    other = DEFAULTS.replace(w_semantic=4.0)
    assert other.w_semantic == 4.0 and DEFAULTS.w_semantic == 2.0
    with pytest.raises(TypeError):
        DEFAULTS.replace(w_semantik=4.0)


def test_gate_weights_follow_the_feature_order():
    assert list(DEFAULTS.gate_weights) == list(GATE_FEATURES)
    assert DEFAULTS.gate_weights["similarity_margin"] == 14.348
    assert DEFAULTS.replace(gate_absent_names=0.0).gate_weights["absent_names"] == 0.0


def test_evals_tune_measures_each_grid_point_with_its_own_tuning(pipeline):
    from evals.tune import _at_each_point

    points, per_point, current = _at_each_point(
        pipeline, {"gate_bias": (-1e6, DEFAULTS.gate_bias)}, lambda p: p.answer(DONATION_Q).abstained)
    assert points == [(-1e6,), (DEFAULTS.gate_bias,)]
    assert per_point == {(-1e6,): True, (DEFAULTS.gate_bias,): False}
    assert current == (DEFAULTS.gate_bias,) and pipeline.tuning == DEFAULTS


def test_with_tuning_needs_a_built_pipeline(pipeline):
    from rag.pipeline import Pipeline

    bare = Pipeline(pipeline.cfg, pipeline.retriever, pipeline.answerer, pipeline.lexical)
    with pytest.raises(TypeError, match="build_pipeline"):
        bare.with_tuning(DEFAULTS)


def test_a_number_in_exponent_form_is_a_number_though_yaml_reads_it_as_text(tmp_path):
    from rag.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("tuning:\n  reader_answer_margin: -1.0e9\n  reader_abstain_margin: 1e3\n", encoding="utf-8")
    assert dict(load_config(path).tuning) == {"reader_answer_margin": -1e9, "reader_abstain_margin": 1000.0}
