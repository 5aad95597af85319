"""Experiment noprop: on its preset NoProp reaches the stated accuracy on digits beside backprop through the same
blocks, with the activation memory each holds for backward; the check's verdict and claim follow the numbers."""

from __future__ import annotations

import pytest

from netarium.experiments import EXPERIMENTS
from netarium.experiments.base import Result
from netarium.experiments.noprop import ACC_LEVEL, check_noprop, variant_configs
from netarium.training.config import Config
from netarium.training.history import History
from netarium.viz.noprop import experiment_figure


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


NUMBERS = {"noprop_test_acc": 0.975, "noprop_train_acc": 0.99, "noprop_held_bytes": 80_000.0,
           "backprop_test_acc": 0.98, "backprop_train_acc": 1.0, "backprop_held_bytes": 760_000.0,
           "params": 54_610.0, "blocks": 10.0, "noprop_sampled_test_acc": 0.96}


def test_variants_share_model_task_batches_and_seed() -> None:
    configs = variant_configs(EXPERIMENTS.get("noprop").config.with_overrides({"seed": 4}))
    assert list(configs) == ["noprop", "backprop"]
    assert configs["noprop"].trainer.name == "noprop" and configs["backprop"].trainer.name == "supervised"
    assert configs["noprop"].trainer.weighting == "snr" and configs["noprop"].trainer.eta == 0.1  # the paper's
    a, b = (c.model_dump() for c in configs.values())
    assert {k: v for k, v in a.items() if k != "trainer"} == {k: v for k, v in b.items() if k != "trainer"}
    assert configs["backprop"].seed == 4


def test_check_judges_the_level_and_reports_the_claim_honestly() -> None:
    ok = check_noprop(with_extra(NUMBERS))
    assert ok.passed and "the paper's claim showed up" in ok.reason and "9.5x" in ok.reason
    worse = check_noprop(with_extra({**NUMBERS, "noprop_test_acc": 0.93}))
    assert worse.passed and "did NOT show up" in worse.reason and "more than 2% below backprop" in worse.reason
    heavier = check_noprop(with_extra({**NUMBERS, "noprop_held_bytes": 900_000.0}))
    assert heavier.passed and "NoProp did not hold less memory" in heavier.reason
    failed = check_noprop(with_extra({**NUMBERS, "noprop_test_acc": ACC_LEVEL - 0.01}))
    assert not failed.passed and "does NOT reach" in failed.reason
    fig = experiment_figure(NUMBERS)
    assert [list(t.y) for t in fig.data] == [[0.975, 0.98], [80_000 / 1024, 760_000 / 1024]]


@pytest.mark.slow
def test_preset_passes_its_check() -> None:
    exp = EXPERIMENTS.get("noprop")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert e["noprop_test_acc"] >= ACC_LEVEL and len(result.runs) == 2
    assert e["noprop_held_bytes"] * 5 < e["backprop_held_bytes"]
    assert result.runs[0].trainer.log.metrics()[-1] == "head"
