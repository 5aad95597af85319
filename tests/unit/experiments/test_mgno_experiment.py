"""Experiment mgno: MgNO, an MLP and a 1-D CNN matched to its parameter count on the same task, seed and training;
the check judges MgNO's stated relative L2 level and says honestly whether it beat each baseline; the preset passes."""

from __future__ import annotations

import pytest
import torch

from netarium.experiments import EXPERIMENTS
from netarium.experiments.base import Result
from netarium.experiments.mgno import LEVEL, MATCH, check_mgno, variant_configs
from netarium.models import ModelSpec, build_model, parameter_count
from netarium.training.config import Config
from netarium.training.history import History

GRID = ModelSpec(126, 63, grid_channels=2)


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


NUMBERS = {"mgno_test_rel_l2": 0.25, "mlp_test_rel_l2": 0.35, "cnn1d_test_rel_l2": 0.70,
           "mgno_params": 10041.0, "mlp_params": 10125.0, "cnn1d_params": 9751.0,
           "mgno_diverged": 0.0, "mlp_diverged": 0.0, "cnn1d_diverged": 0.0}


def test_variants_share_task_seed_and_training_and_match_parameters() -> None:
    configs = variant_configs(EXPERIMENTS.get("mgno").config.with_overrides({"seed": 3}))
    assert list(configs) == ["mgno", "mlp", "cnn1d"]
    with torch.device("meta"):
        counts = {name: parameter_count(build_model(c.model.name, c.model, GRID)) for name, c in configs.items()}
    assert counts == {"mgno": 10041, "mlp": 10125, "cnn1d": 9751}
    assert all(abs(counts[n] - counts["mgno"]) <= MATCH * counts["mgno"] for n in counts)
    assert configs["mlp"].model.hidden == [43, 43] and configs["cnn1d"].model.channels == 25
    assert {c.seed for c in configs.values()} == {3} and {c.task.name for c in configs.values()} == {"elliptic-1d"}
    assert {c.trainer.lr_decay for c in configs.values()} == {"cosine"} and len({c.steps for c in configs.values()}) == 1


def test_check_judges_the_level_and_reports_the_claim_honestly() -> None:
    ok = check_mgno(with_extra(NUMBERS))
    assert ok.passed and "MgNO beat both baselines: the paper's claim showed up" in ok.reason
    part = check_mgno(with_extra({**NUMBERS, "mlp_test_rel_l2": 0.2}))
    assert part.passed and "beat the 1-D CNN but not the other" in part.reason and "only in part" in part.reason
    assert "did NOT show up" in check_mgno(with_extra({**NUMBERS, "mlp_test_rel_l2": 0.2, "cnn1d_test_rel_l2": 0.2})).reason
    above = check_mgno(with_extra({**NUMBERS, "mgno_test_rel_l2": LEVEL + 0.01}))
    assert not above.passed and "does NOT reach" in above.reason
    assert not check_mgno(with_extra({**NUMBERS, "mlp_params": 13000.0})).passed
    assert not check_mgno(with_extra({**NUMBERS, "mgno_diverged": 1.0})).passed


def test_the_figure_draws_each_models_error_under_the_level() -> None:
    fig = EXPERIMENTS.get("mgno").figure(with_extra(NUMBERS))
    bars = fig.data[0]
    assert list(bars.x) == ["MgNO (10,041 params)", "MLP (10,125 params)", "1-D CNN (9,751 params)"]
    assert list(bars.y) == [0.25, 0.35, 0.70] and fig.layout.shapes[0].y0 == LEVEL


@pytest.mark.slow
def test_preset_passes_its_check() -> None:
    exp = EXPERIMENTS.get("mgno")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert len(result.runs) == 3 and e["mgno_params"] == 10041
    assert e["mgno_test_rel_l2"] <= LEVEL and e["cnn1d_test_rel_l2"] > e["mgno_test_rel_l2"]
    assert "test_rel_l2" in result.runs[0].history.metrics()
