"""The training-dynamics experiments: each preset shows its phenomenon, and each check fails on
numbers that contradict it."""

import numpy as np
import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.dynamics import check_modular_grokking, check_stability, check_xor_grokking
from netarium.training import Config
from netarium.training.history import History


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


@pytest.mark.parametrize("exp_id", ["xor-grokking", "stability", "modular-grokking"])
def test_preset_shows_its_phenomenon(exp_id):
    exp = EXPERIMENTS.get(exp_id)
    assert exp.page == "dynamics"
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    if exp_id == "xor-grokking":
        assert len(e["curves"]["test"]) == exp.config.steps
        assert e["step1_flipped_acc"] == 1.0 and e["test_crosses_target_at"] > 1
    elif exp_id == "stability":
        assert 0.8 <= e["gd_mean_sharpness_after"] * e["lr"] / 2 <= 1.2
        assert e["sgd10_trace"] < e["sgd50_trace"] < e["gd_trace"]
    else:
        assert e["adamw_t2"] >= 2 * e["adamw_t1"] and e["muon_t2"] >= 2 * e["muon_t1"]
        assert e["fraction_0.2_test_acc"] < 0.95
        assert {r.config.optimizer.name for r in result.runs} == {"adamw", "muon"}
        assert e["transformer_t2"] >= 2 * e["transformer_t1"] and result.runs[-1].config.model.name == "transformer"


def test_xor_check_needs_the_step1_signature_and_the_late_generalization():
    e = {"step1_train_acc": 1.0, "step1_flipped_acc": 1.0, "step1_test_acc": 0.8, "final_train_acc": 1.0, "final_flipped_acc": 1.0,
         "final_test_acc": 0.95, "target_test_acc": 0.85, "test_crosses_target_at": 3.0, "eta": 0.1}
    c = check_xor_grokking(with_extra(e))
    assert not c.passed and "NOT the step-1 signature" in c.reason  # test accuracy already high after one step
    e |= {"step1_test_acc": 0.55, "final_flipped_acc": 0.5}
    assert "NOT grokked" in check_xor_grokking(with_extra(e)).reason
    e |= {"final_flipped_acc": 1.0}
    assert check_xor_grokking(with_extra(e)).passed


def test_modular_check_needs_a_delay_and_a_low_fraction_that_stays_low():
    e = {"adamw_t1": 300.0, "adamw_t2": 500.0, "muon_t1": 200.0, "muon_t2": 900.0, "fraction_0.2_test_acc": 0.1,
         "fraction_0.2_steps": 1000.0, "train_fraction": 0.4}
    c = check_modular_grokking(with_extra(e))
    assert not c.passed and "adamw: train 100% at step 300, test >= 0.95 at step 500 (NOT grokking)" in c.reason
    e |= {"adamw_t2": 700.0, "fraction_0.2_test_acc": 0.97}
    assert "does NOT stay low" in check_modular_grokking(with_extra(e)).reason
    e |= {"fraction_0.2_test_acc": 0.2}
    assert check_modular_grokking(with_extra(e)).passed


def test_stability_check_rejects_a_plateau_below_two_over_eta():
    e = {"lr": 2.0, "two_over_lr": 1.0, "gd_max_sharpness": 0.7, "gd_reached_at_step": float("nan"),
         "gd_mean_sharpness_after": float("nan"), "gd_loss_rise_fraction": 0.0, "gd_final_sharpness": 0.7, "gd_trace": 50.0,
         "sgd50_final_sharpness": 0.6, "sgd50_trace": 40.0, "sgd10_final_sharpness": 0.5, "sgd10_trace": 30.0,
         "gd_trace_times_lr_over_2": 50.0, "sgd50_trace_times_lr_over_2": 40.0, "sgd10_trace_times_lr_over_2": 30.0}
    c = check_stability(with_extra(e))
    assert not c.passed and "NEVER reached" in c.reason and "NOT the edge" in c.reason


def test_modular_grokking_trains_the_transformer_beside_the_mlps_with_the_same_numbers():
    """With two torch threads allowed, the transformer trains on its own thread (each run on one torch
    thread); the numbers are those of the sequential order, and the thread setting comes back."""
    import torch

    from netarium.experiments.dynamics import MODULAR_GROKKING, run_modular_grokking

    config = MODULAR_GROKKING.config.with_overrides(["task.M=11", "model.hidden=[16]", "steps=50"])
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        beside = run_modular_grokking(config)
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        alone = run_modular_grokking(config)
    finally:
        torch.set_num_threads(before)
    assert set(beside.extra) == set(alone.extra) and "transformer_t1" in beside.extra
    np.testing.assert_array_equal([beside.extra[k] for k in sorted(beside.extra)], [alone.extra[k] for k in sorted(alone.extra)])
    assert [r.step_count for r in beside.runs] == [r.step_count for r in alone.runs] == [50, 50, 1000, 50]
    for a, b in zip(beside.runs, alone.runs, strict=True):
        assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))
