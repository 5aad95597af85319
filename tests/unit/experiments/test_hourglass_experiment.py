"""Experiment `hourglass`: matched trainable counts and its check on the preset."""

import pytest

from netarium.experiments import EXPERIMENTS
from netarium.experiments.hourglass import SETUPS, _spec, _trainable, configs_for, matched_hidden
from netarium.models import ModelSpec


def test_registered_and_the_baseline_is_matched_on_trainable_parameters():
    exp = EXPERIMENTS.get("hourglass")
    planned = configs_for(exp.config)
    assert [(t, v) for t, v, _ in planned] == [("digits", "hourglass"), ("digits", "baseline"), ("spiral", "hourglass"), ("spiral", "baseline")]
    for _task, variant, c in planned:
        assert c.seed == exp.config.seed and c.optimizer == exp.config.optimizer
        assert c.model.name == ("hourglass" if variant == "hourglass" else "residual-mlp")
    # digits: 3 blocks of (128*16 + 16) + (16*128 + 128) = 12720, readout 128*10 + 10 -> 14010 trainable
    assert _trainable("hourglass", SETUPS["digits"][1], _spec(SETUPS["digits"][0])) == 14010
    digits_base = planned[1][2].model
    assert digits_base.hidden == 129 and not digits_base.prenorm  # embed 64*16+16, 3 x (16h+h + 16h+16), 16*10+10 -> 14029


def test_matched_hidden_is_the_nearest_count():
    spec = ModelSpec(2, 2)
    base = {"width": 8, "blocks": 3, "prenorm": False}
    h = matched_hidden(1722, base, spec)
    counts = {k: _trainable("residual-mlp", {**base, "hidden": k}, spec) for k in (h - 1, h, h + 1)}
    assert counts[h] == min(counts.values(), key=lambda c: abs(c - 1722)) and h == 32


@pytest.mark.slow
def test_check_passes_on_the_preset():
    exp = EXPERIMENTS.get("hourglass")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    assert check.numbers["digits_hourglass_total"] - check.numbers["digits_hourglass_trainable"] == 64 * 128
    assert check.numbers["spiral_hourglass_test_acc"] >= 0.9 and "hourglass" in check.reason
