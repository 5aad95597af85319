"""Experiment finalmlp: its variants (FinalMLP, an MLP within 10% of its parameters, logistic regression on the
one-hot fields) share the task and seed; the check judges the stated levels; the preset passes its check."""

from __future__ import annotations

import torch

from netarium.experiments import EXPERIMENTS
from netarium.experiments.base import Result
from netarium.experiments.finalmlp import BAYES_GAP, LR_GAP, check_finalmlp, variant_configs
from netarium.models import ModelSpec, build_model, parameter_count
from netarium.training.config import Config
from netarium.training.history import History

CTR = ModelSpec(6, 2, vocab_size=10)


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


NUMBERS = {"bayes_auc": 0.915, "finalmlp_test_auc": 0.897, "mlp_test_auc": 0.898, "logistic_test_auc": 0.716,
           "finalmlp_params": 7202.0, "mlp_params": 7442.0, "logistic_params": 122.0,
           "finalmlp_test_loss": 0.39, "mlp_test_loss": 0.39, "logistic_test_loss": 0.55}


def test_variants_share_task_and_seed_and_match_parameters_within_ten_percent() -> None:
    configs = variant_configs(EXPERIMENTS.get("finalmlp").config.with_overrides({"seed": 2}))
    assert list(configs) == ["finalmlp", "mlp", "logistic"]
    with torch.device("meta"):
        counts = {name: parameter_count(build_model(c.model.name, c.model, CTR)) for name, c in configs.items()}
    assert counts == {"finalmlp": 7202, "mlp": 7442, "logistic": 6 * 10 * 2 + 2}  # LR: a weight per (field, value) and class
    assert abs(counts["mlp"] - counts["finalmlp"]) <= 0.10 * counts["finalmlp"]
    assert {c.seed for c in configs.values()} == {2} and {c.task.name for c in configs.values()} == {"ctr"}
    assert configs["logistic"].model.hidden == []


def test_check_judges_the_stated_levels() -> None:
    ok = check_finalmlp(with_extra(NUMBERS))
    assert ok.passed and "FinalMLP did NOT beat the MLP (-0.0010 AUC)" in ok.reason
    assert "beat the MLP by 0.0030" in check_finalmlp(with_extra({**NUMBERS, "finalmlp_test_auc": 0.901})).reason
    far = check_finalmlp(with_extra({**NUMBERS, "finalmlp_test_auc": 0.915 - BAYES_GAP - 0.001}))
    assert not far.passed and "NOT within" in far.reason
    assert not check_finalmlp(with_extra({**NUMBERS, "logistic_test_auc": 0.898 - LR_GAP + 0.01})).passed
    assert not check_finalmlp(with_extra({**NUMBERS, "mlp_test_auc": 0.92})).passed  # above Bayes: something is wrong
    assert not check_finalmlp(with_extra({**NUMBERS, "mlp_params": 9000.0})).passed


def test_preset_passes_its_check() -> None:
    exp = EXPERIMENTS.get("finalmlp")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert len(result.runs) == 3 and e["finalmlp_params"] == 7202
    assert e["bayes_auc"] - BAYES_GAP <= e["finalmlp_test_auc"] <= e["bayes_auc"]
    assert e["logistic_test_auc"] <= min(e["finalmlp_test_auc"], e["mlp_test_auc"]) - LR_GAP


def test_the_figure_draws_each_variants_auc_under_the_bayes_line() -> None:
    from netarium.experiments.finalmlp import figure_finalmlp

    fig = figure_finalmlp(with_extra(NUMBERS))
    assert list(fig.data[0].x) == ["FinalMLP (7,202 params)", "MLP (7,442 params)", "logistic regression (122 params)"]
    assert list(fig.data[0].y) == [0.897, 0.898, 0.716]
    assert fig.layout.shapes[0].y0 == 0.915  # the Bayes AUC line
