"""The geometry experiments: each preset shows its phenomenon, and each check fails on numbers that
contradict it."""

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.geometry import TANH_RELU_SEEDS, check_convergent, check_degeneracy, check_tanh_relu
from netarium.training import Config
from netarium.training.history import History


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


@pytest.mark.parametrize("exp_id", ["geometry-tanh-relu", "convergent-learning", "degeneracy"])
def test_registered_on_the_geometry_page(exp_id):
    exp = EXPERIMENTS.get(exp_id)
    assert exp.page == "geometry" and exp.paper and exp.look_for


def test_geometry_tanh_relu_preset_shows_tanh_following_labels_and_relu_keeping_input():
    exp = EXPERIMENTS.get("geometry-tanh-relu")
    result = exp.run()
    assert len(result.runs) == 2 * TANH_RELU_SEEDS
    assert {r.config.model.activation[0] for r in result.runs} == {"tanh", "relu"}
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert e["tanh_labels"] > e["relu_labels"] and e["relu_input"] > e["tanh_input"]
    assert e["tanh_test_acc"] > 0.95 and e["relu_test_acc"] > 0.95


def test_tanh_relu_check_fails_when_the_order_flips():
    e = {"tanh_labels": 0.9, "relu_labels": 0.95, "tanh_input": 0.5, "relu_input": 0.6, "tanh_test_acc": 1, "relu_test_acc": 1}
    e |= {f"{k}_sem": 0.01 for k in ("tanh_labels", "relu_labels", "tanh_input", "relu_input")}
    c = check_tanh_relu(with_extra(e))
    assert not c.passed and "tanh NOT higher" in c.reason and "(ReLU higher)" in c.reason


def test_convergent_learning_preset_matches_units_and_cka_diagonal():
    exp = EXPERIMENTS.get("convergent-learning")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    for layer in ("layer1", "layer2"):
        assert e[f"{layer}_matched"] > e[f"{layer}_baseline"] + 0.3
    assert e["cka_diagonal"] > e["cka_off_diagonal"]


def test_convergent_check_fails_below_the_baseline_or_off_the_diagonal():
    e = {"layer1_matched": 0.6, "layer1_baseline": 0.1, "layer1_min_gain": 0.4, "layer2_matched": 0.1,
         "layer2_baseline": 0.12, "layer2_min_gain": -0.02, "cka_diagonal": 0.9, "cka_off_diagonal": 0.8, "cka_min_margin": 0.1}
    assert not check_convergent(with_extra(e)).passed
    e |= {"layer2_min_gain": 0.1, "cka_min_margin": -0.01}
    c = check_convergent(with_extra(e))
    assert not c.passed and "NOT higher" in c.reason
    e |= {"cka_min_margin": 0.01}
    assert check_convergent(with_extra(e)).passed


def test_degeneracy_preset_finds_both_planted_units():
    exp = EXPERIMENTS.get("degeneracy")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert e["planted_dead_unit"] != e["planted_copy_unit"] != e["planted_copy_source"]
    assert e["effective_rank_with_duplicate"] < e["effective_rank_before"]
    assert e["redundant_with_dead"] == e["redundant_before"] + 1


def test_degeneracy_check_fails_when_a_plant_is_missed():
    e = {"planted_dead_found": 1.0, "planted_duplicate_found": 0.0, "planted_dead_unit": 1.0, "planted_copy_unit": 2.0,
         "planted_copy_source": 3.0, "redundant_before": 2.0, "redundant_with_dead": 3.0, "redundant_with_duplicate": 2.0,
         "effective_rank_before": 5.0, "effective_rank_with_dead": 4.5, "effective_rank_with_duplicate": 5.0}
    c = check_degeneracy(with_extra(e))
    assert not c.passed and "MISSED" in c.reason
