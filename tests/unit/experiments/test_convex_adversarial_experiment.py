"""Experiment convex-adversarial: the variants it trains, the check's verdict on given numbers, and on its
preset the robust convex net beats the standard one under PGD, with the certificate below the attack."""

from __future__ import annotations

import pytest

from netarium.experiments import EXPERIMENTS
from netarium.experiments.base import Result
from netarium.experiments.convex_adversarial import EPS, SEEDS, check_convex_adversarial, variant_configs
from netarium.training.config import Config
from netarium.training.history import History

NUMBERS = {"eps": 0.3, "lam": 1e-4, "patterns": 80.0, "robust_neurons": 150.0, "std_converged": 0.0, "robust_converged": 0.0,
           "robust_test_pgd": 0.87, "robust_test_clean": 0.93, "robust_train_pgd": 0.88, "robust_train_certified": 0.87,
           "std_test_pgd": 0.64, "std_test_clean": 0.78, "std_train_pgd": 0.81,
           "sgd_mean_test_pgd": 0.71, "sgd_mean_test_clean": 0.85, "pgd_mean_test_pgd": 0.81, "pgd_mean_test_clean": 0.84}


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


def test_variants_are_sgd_and_pgd_training_of_one_width_over_seeds() -> None:
    configs = variant_configs(EXPERIMENTS.get("convex-adversarial").config.with_overrides({"seed": 5}), 37)
    assert list(configs) == [f"{k}{i}" for i in range(SEEDS) for k in ("sgd", "pgd")]
    assert {c.model.hidden[0] for c in configs.values()} == {37}
    assert [c.seed for c in configs.values()] == [5 + i for i in range(SEEDS) for _ in range(2)]
    assert {c.trainer.name for n, c in configs.items() if n.startswith("pgd")} == {"adversarial"}
    assert {c.trainer.eps for n, c in configs.items() if n.startswith("pgd")} == {EPS}
    assert {c.trainer.name for n, c in configs.items() if n.startswith("sgd")} == {"supervised"}


def test_check_judges_robust_against_standard_under_attack() -> None:
    ok = check_convex_adversarial(with_extra(NUMBERS))
    assert ok.passed and "PGD-trained 0.81" in ok.reason and "below the robust convex net" in ok.reason
    failed = check_convex_adversarial(with_extra({**NUMBERS, "robust_test_pgd": 0.64}))
    assert not failed.passed and "NOT fewer" in failed.reason


@pytest.mark.slow
def test_preset_passes_its_check() -> None:
    exp = EXPERIMENTS.get("convex-adversarial")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert e["robust_test_pgd"] > e["std_test_pgd"]
    assert e["robust_train_pgd"] >= e["robust_train_certified"] >= 0.7  # the certificate holds against PGD
    assert e["std_test_clean"] >= e["std_test_pgd"] and e["robust_test_clean"] >= e["robust_test_pgd"]
    assert len(result.runs) == 2 * SEEDS
    assert {type(r.trainer).__name__ for r in result.runs} == {"Supervised", "Adversarial"}
    for e_ in (0.1, 0.2):
        assert 0.5 <= e[f"curve_robust_{e_}_test_pgd"] <= e[f"curve_robust_{e_}_test_clean"]
