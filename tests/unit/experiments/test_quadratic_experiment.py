"""Experiment `quadratic`: the preset passes with matched counts, and the check fails on numbers that
contradict it; loss spikes are counted as jumps above twice the lowest loss so far."""

import math

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.quadratic import (
    STABILITY_SEEDS,
    VARIANTS,
    check_quadratic,
    loss_spikes,
    matched_configs,
    stability_configs,
)
from netarium.training import Config
from netarium.training.history import History


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


GOOD = {
    "circle_quadratic_params": 13.0, "circle_linear_params": 12.0, "circle_quadratic_acc": 1.0, "circle_linear_acc": 0.8,
    "spiral_quadratic_params": 90.0, "spiral_linear_params": 87.0, "spiral_quadratic_acc": 0.97, "spiral_linear_acc": 0.95,
    "relinear_diverged": 0.0, "relinear_collapsed": 0.0, "relinear_spikes": 0.0,
    "random_slow_diverged": 0.0, "random_slow_collapsed": 0.0, "random_slow_spikes": 0.0,
    "random_diverged": 1.0, "random_collapsed": 4.0, "random_spikes": 1.0, "stability_seeds": 5.0,
}


def test_loss_spikes_counts_jumps_once_and_stops_at_nan():
    assert loss_spikes([1.0, 0.5, 0.4, 0.9, 1.0, 0.3, 0.2, 0.5]) == 2
    assert loss_spikes([1.0, 0.9, 0.8]) == 0
    assert loss_spikes([1.0, 0.1, 0.5, math.nan, 9.0]) == 1


def test_configs_cover_the_variants_and_seeds():
    base = Config(seed=7)
    m = matched_configs(base)
    assert {(t, k) for t, k, _, _ in m} == {("circle", "quadratic"), ("circle", "linear"), ("spiral", "quadratic"), ("spiral", "linear")}
    assert {c.model.name for *_, c in m} == {"quadratic", "mlp"} and {s for _, _, s, _ in m} == {7, 8}
    s = stability_configs(base)
    assert len(s) == len(VARIANTS) * STABILITY_SEEDS
    relinear = [c for name, _, c in s if name == "relinear"]
    assert all(c.model.init == "relinear" and c.model.quadratic_lr == 0.1 and c.optimizer.name == "sgd" for c in relinear)
    assert {c.model.quadratic_lr for name, _, c in s if name == "random"} == {1.0}


def test_check_fails_on_contradicting_numbers():
    assert check_quadratic(with_extra(GOOD)).passed
    c = check_quadratic(with_extra(GOOD | {"spiral_quadratic_acc": 0.85}))
    assert not c.passed and "does NOT reach" in c.reason
    assert not check_quadratic(with_extra(GOOD | {"circle_linear_params": 20.0})).passed
    assert not check_quadratic(with_extra(GOOD | {"relinear_diverged": 1.0})).passed
    c = check_quadratic(with_extra(GOOD | {"relinear_collapsed": 5.0}))
    assert not c.passed and "NOT steadier" in c.reason
    assert "lr factor, not the init" in check_quadratic(with_extra(GOOD)).reason


@pytest.mark.slow
def test_preset_passes_with_matched_counts():
    exp = EXPERIMENTS.get("quadratic")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert (e["circle_quadratic_params"], e["circle_linear_params"]) == (13.0, 12.0)
    assert (e["spiral_quadratic_params"], e["spiral_linear_params"]) == (90.0, 87.0)
    assert e["circle_quadratic_acc"] > e["circle_linear_acc"]  # one conic vs two lines
    assert result.state == "done" and len(result.runs) == 8 + len(VARIANTS) * STABILITY_SEEDS
