"""The residual-stream experiments: each preset shows its phenomenon, and each check fails on numbers
that contradict it."""

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.residual import (
    WIDTH_TASKS,
    WIDTHS,
    check_deep_vs_shallow,
    check_layer_drop,
    check_one_layer,
)
from netarium.training import Config
from netarium.training.history import History


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


@pytest.mark.parametrize("exp_id", ["residual-depth", "layer-drop", "deep-vs-shallow", "one-layer-transformer"])
def test_preset_shows_its_phenomenon(exp_id):
    exp = EXPERIMENTS.get(exp_id)
    assert exp.page == "residual"
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    if exp_id == "residual-depth":
        assert e["test_acc"] >= 0.95 and e["rel_second_half"] < e["rel_first_half_without_layer1"]
        assert e["skip_output_second_half"] < e["skip_output_first_half"]
    elif exp_id == "layer-drop":
        assert e["k_max"] == 4 and e["least_k0"] == e["random_k0"] == e["most_k0"]
        assert e["most_k1"] < e["least_k1"]  # the ranking means something: the most important one matters
    elif exp_id == "deep-vs-shallow":
        assert e["sequential_params"] == e["parallel_params"] and len(result.runs) == 2
        assert {r.config.model.layout for r in result.runs} == {"sequential", "parallel"}
    else:
        assert len(result.runs) == len(WIDTHS) * len(WIDTH_TASKS)
        assert {r.config.task.L for r in result.runs} == {10}


def test_layer_drop_check_fails_when_least_important_first_is_worse():
    e = {"k_max": 2.0, "least_k1": 0.95, "random_k1": 0.97, "least_k2": 0.9, "random_k2": 0.8, "most_k1": 0.3, "most_k2": 0.2}
    c = check_layer_drop(with_extra(e))
    assert not c.passed and "worse at k=1" in c.reason
    e["least_k1"] = 0.961  # within one point of random counts
    assert check_layer_drop(with_extra(e)).passed


def test_deep_vs_shallow_check_needs_losses_within_15_percent():
    e = {"sequential_test_loss": 0.10, "parallel_test_loss": 0.12, "sequential_train_loss": 0.1, "parallel_train_loss": 0.1,
         "sequential_params": 10.0, "parallel_params": 10.0, "relative_difference": 0.02 / 0.12}
    c = check_deep_vs_shallow(with_extra(e))
    assert not c.passed and "NOT within" in c.reason
    e |= {"parallel_test_loss": 0.11, "relative_difference": 0.01 / 0.11}
    assert check_deep_vs_shallow(with_extra(e)).passed


def test_one_layer_check_fails_when_error_rises_with_width():
    e = {f"{t}_d{d}_error": err for t in WIDTH_TASKS for d, err in zip(WIDTHS, (0.4, 0.1, 0.0), strict=True)}
    assert check_one_layer(with_extra(e)).passed
    e["sort_d16_error"] = 0.2
    c = check_one_layer(with_extra(e))
    assert not c.passed and "sort: d=4 0.400 → d=8 0.100 → d=16 0.200 (does NOT fall)" in c.reason
