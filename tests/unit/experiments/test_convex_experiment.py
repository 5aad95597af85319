"""Experiment `convex-relu`: the preset's runs train the program's objective (no readout bias, weight decay
lam, the tfp loss on ±1 targets); the check fails on numbers that contradict it; the preset passes (slow)."""

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.convex import BASE, LAM, check_convex, sgd_configs
from netarium.training import Config
from netarium.training.history import History


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


RUNS = {f"{p}_run{k}": v + 0.0001 * k for p, v in (("a", 0.3134), ("b", 0.3425)) for k in range(5)}
GOOD = {"lam": 0.05, "width": 40.0, "a_n": 60.0, "b_n": 200.0,
        "a_optimum": 0.3133, "a_lower": 0.31328, "a_gap": 6e-5, "a_convex_objective": 0.31329, "a_patterns": 3541.0,
        "a_working": 33.0, "a_active": 11.0, "a_neurons": 11.0, "a_rounds": 1.0, "a_iterations": 8000.0,
        "b_optimum": 0.3424, "b_lower": 0.34239, "b_gap": 3e-5, "b_convex_objective": 0.342398, "b_patterns": 169.0,
        "b_working": 70.0, "b_active": 41.0, "b_neurons": 41.0, "b_rounds": 1.0, "b_iterations": 8000.0} | RUNS


def test_the_preset_trains_the_programs_objective():
    assert BASE.model.readout_bias is False and BASE.model.hidden == [40] and BASE.model.activations() == ["relu"]
    assert BASE.optimizer.weight_decay == LAM and BASE.loss == "tfp"
    configs = sgd_configs(BASE.with_overrides({"seed": 4}), 60)
    assert [c.seed for c in configs] == [4, 5, 6, 7, 8] and {c.data_seed for c in configs} == {4}
    assert {c.task.n_samples for c in configs} == {120}


def test_check_fails_on_contradicting_numbers():
    good = check_convex(with_extra(GOOD))
    assert good.passed, good.reason
    assert "certified global" in good.reason and "lam = 0.05" in good.reason
    bad = check_convex(with_extra(GOOD | {"a_optimum": 0.3135}))  # above run 0
    assert not bad.passed and "NOT <= every run" in bad.reason
    assert not check_convex(with_extra(GOOD | {"a_gap": 5e-3})).passed  # not certified
    assert not check_convex(with_extra(GOOD | {"b_convex_objective": 0.35})).passed  # mapped net disagrees
    wide = check_convex(with_extra(GOOD | {"a_neurons": 50.0}))
    assert wide.passed and "more than the runs' width" in wide.reason


@pytest.mark.slow
def test_preset_passes():
    exp = EXPERIMENTS.get("convex-relu")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    assert len(result.runs) == 10 and result.extra["a_patterns"] == 3541
