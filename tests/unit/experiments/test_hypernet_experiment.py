"""Experiment hypernetwork-mip: plain vs MIP hypernetworks on the same data, batches and learning rate, over three
seeds; the check passes on the MIP net's stated accuracy and says per seed whether MIP reached the plain net's
final loss in fewer steps."""

from __future__ import annotations

import math

import pytest

from netarium.experiments import EXPERIMENTS
from netarium.experiments.base import Result
from netarium.experiments.hypernet import (
    ACC_LEVEL,
    SEEDS,
    SMOOTH,
    STEPS,
    check_hypernet,
    mip_figure,
    smoothed,
    steps_to_reach,
    variant_configs,
)
from netarium.training.config import Config
from netarium.training.history import History


def seed_numbers(seed: int, reach: float, acc: float = 0.95) -> dict[str, float]:
    return {f"plain_s{seed}_train_loss": 0.06, f"mip_s{seed}_train_loss": 0.04, f"plain_s{seed}_test_acc": 0.95,
            f"mip_s{seed}_test_acc": acc, f"mip_s{seed}_steps_to_plain_final": reach, f"plain_s{seed}_steps": 1000.0,
            f"plain_s{seed}_theta_norm_0": 7.0, f"mip_s{seed}_theta_norm_0": 11.0}


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra={"seeds": 3.0, "first_seed": 4.0, **extra})


def test_variants_differ_only_in_mip_and_share_seeds_and_data() -> None:
    planned = variant_configs(EXPERIMENTS.get("hypernetwork-mip").config.with_overrides({"seed": 7}))
    assert [(v, s) for v, s, _ in planned] == [("mip", 7), ("mip", 8), ("mip", 9), ("plain", 7), ("plain", 8), ("plain", 9)]
    mip, plain = planned[1][2], planned[4][2]
    assert mip.model.mip and not plain.model.mip
    assert mip.model.model_dump(exclude={"mip"}) == plain.model.model_dump(exclude={"mip"})
    assert mip.optimizer == plain.optimizer and mip.optimizer.name == "adam" and mip.batch_size == plain.batch_size == 100
    assert mip.seed == plain.seed == mip.data_seed == plain.data_seed == 8
    assert mip.task.name == "rotated-2d" and mip.steps == STEPS


def test_smoothed_steps_to_reach() -> None:
    h = History()
    for step, v in zip(range(25, 301, 25), [1.0, 0.8, 0.6, 0.1, 0.5, 0.4, 0.3, 0.3, 0.2, 0.2, 0.2, 0.2], strict=True):
        h.record(step, {"train_loss": v})
    steps, values = smoothed(h)
    assert values[0] == 1.0 and values[4] == pytest.approx((1.0 + 0.8 + 0.6 + 0.1 + 0.5) / SMOOTH)
    assert steps_to_reach(h, 0.35) == 200  # (0.1 + 0.5 + 0.4 + 0.3 + 0.3) / 5: the low evaluation at step 100 alone does not count
    assert steps_to_reach(h, 0.01) is None


def test_check_passes_on_the_accuracy_and_reports_the_claim_per_seed() -> None:
    ok = check_hypernet(with_extra({**seed_numbers(4, 400.0), **seed_numbers(5, 250.0), **seed_numbers(6, math.nan)}))
    assert ok.passed and "showed up on 2 of 3 seeds" in ok.reason and ok.numbers["claim_seeds"] == 2
    assert "seed 4" in ok.reason and "2.5x fewer steps" in ok.reason and "seed 6" in ok.reason
    assert "MIP did NOT reach it in fewer steps" in ok.reason
    none = check_hypernet(with_extra({**seed_numbers(4, math.nan), **seed_numbers(5, 1000.0), **seed_numbers(6, math.nan)}))
    assert none.passed and "did NOT show up on any seed" in none.reason
    low = check_hypernet(with_extra({**seed_numbers(4, 300.0), **seed_numbers(5, 300.0, acc=ACC_LEVEL - 0.01),
                                     **seed_numbers(6, 300.0)}))
    assert not low.passed and "BELOW" in low.reason


@pytest.mark.slow
def test_preset_passes_its_check_and_the_claim_shows() -> None:
    exp = EXPERIMENTS.get("hypernetwork-mip")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert len(result.runs) == 2 * SEEDS and result.state == "done"
    for seed in range(SEEDS):
        assert e[f"mip_s{seed}_test_acc"] >= ACC_LEVEL
        assert e[f"mip_s{seed}_steps_to_plain_final"] < e[f"plain_s{seed}_steps"] == STEPS  # measured: 425, 675, 350
        assert e[f"mip_s{seed}_theta_norm_0"] > 1.0
    assert check.numbers["claim_seeds"] == SEEDS
    fig = mip_figure(result)
    assert len(fig.data) == 2 * SEEDS and {t.name for t in fig.data} == {"MIP", "plain"}
