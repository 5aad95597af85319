"""Experiment kan: on its preset the KAN reaches the stated levels on reg-compose and spiral, beside an MLP
with about as many parameters; the check's verdict follows the numbers."""

from __future__ import annotations

import pytest

from netarium.experiments import EXPERIMENTS
from netarium.experiments.base import Result
from netarium.experiments.kan import ACC_LEVEL, R2_LEVEL, check_kan, variant_configs
from netarium.models import ModelSpec, build_model, parameter_count
from netarium.training.config import Config
from netarium.training.history import History


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


NUMBERS = {"compose_kan_test_r2": 0.998, "compose_kan_test_loss": 0.002, "compose_kan_params": 51.0,
           "compose_mlp_test_r2": 0.999, "compose_mlp_test_loss": 0.001, "compose_mlp_params": 51.0,
           "spiral_kan_test_acc": 0.97, "spiral_kan_params": 134.0, "spiral_mlp_test_acc": 0.95, "spiral_mlp_params": 137.0}


def test_variants_match_parameters_within_five_percent() -> None:
    configs = variant_configs(EXPERIMENTS.get("kan").config)
    assert list(configs) == ["compose_kan", "compose_mlp", "spiral_kan", "spiral_mlp"]
    counts = {}
    for name, c in configs.items():
        spec = ModelSpec(2, 1 if c.task.name == "reg-compose" else 2)
        counts[name] = parameter_count(build_model(c.model.name, c.model, spec))
    assert counts == {"compose_kan": 51, "compose_mlp": 51, "spiral_kan": 134, "spiral_mlp": 137}
    assert configs["spiral_kan"].seed == configs["spiral_mlp"].seed == 0


def test_check_judges_the_stated_levels() -> None:
    ok = check_kan(with_extra(NUMBERS))
    assert ok.passed and "better on one task and not on the other" in ok.reason
    assert not check_kan(with_extra({**NUMBERS, "compose_kan_test_r2": R2_LEVEL - 0.01})).passed
    failed = check_kan(with_extra({**NUMBERS, "spiral_kan_test_acc": ACC_LEVEL - 0.05}))
    assert not failed.passed and "does NOT reach" in failed.reason


@pytest.mark.slow
def test_preset_passes_its_check() -> None:
    exp = EXPERIMENTS.get("kan")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert e["compose_kan_test_r2"] >= R2_LEVEL and e["spiral_kan_test_acc"] >= ACC_LEVEL
    assert e["compose_kan_params"] == e["compose_mlp_params"] == 51 and len(result.runs) == 4
