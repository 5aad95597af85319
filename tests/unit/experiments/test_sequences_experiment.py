"""Experiment sequences: every model of a task has about the target's parameter count; the check judges the
stated levels (gated cells below, the Elman RNN above the adding problem's levels; TS-LSTM and
Temporal-Inception accuracy on activity) and says honestly what showed; the preset passes on its seed."""

from __future__ import annotations

import pytest

from netarium.experiments import EXPERIMENTS
from netarium.experiments.base import Result
from netarium.experiments.sequences import (
    ACTIVITY_LEVELS,
    ELMAN_MSE,
    GATED_MSE,
    VARIANTS,
    check_sequences,
    planned,
)
from netarium.models import ModelSpec, build_model, parameter_count
from netarium.tasks import make_task
from netarium.training.config import Config
from netarium.training.history import History

NUMBERS: dict[str, float] = {}
for task, variant, *_ in VARIANTS:
    NUMBERS[f"{task}_{variant}_params"] = 1300.0
    NUMBERS[f"{task}_{variant}_steps"] = 400.0
    NUMBERS[f"{task}_{variant}_test_loss"] = 0.001 if task == "adding" else 0.3
    if task != "adding":
        NUMBERS[f"{task}_{variant}_test_acc"] = 0.9
NUMBERS["adding_elman_test_loss"] = 0.17


def with_extra(**changes: float) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra={**NUMBERS, **changes})


def test_every_task_matches_parameter_counts_within_twenty_percent() -> None:
    plan = planned(EXPERIMENTS.get("sequences").config)
    assert [(t, v) for t, v, _ in plan] == [(t, v) for t, v, *_ in VARIANTS]
    counts: dict[str, dict[str, int]] = {}
    for task, variant, cfg in plan:
        t = make_task(cfg.task.name, cfg.task, seed=0)
        counts.setdefault(task, {})[variant] = parameter_count(build_model(cfg.model.name, cfg.model, ModelSpec.for_task(t)))
        assert cfg.seed == 0 and cfg.trainer.grad_clip == 1.0
    for task, by_variant in counts.items():
        lo, hi = min(by_variant.values()), max(by_variant.values())
        assert hi <= 1.2 * lo, (task, by_variant)  # a convolution width steps the count coarsely
    assert counts["adding"]["lstm"] == 1297  # H = 16: 4 * 16 * (2 + 16 + 2) + 16 + 1
    assert planned(Config(seed=3))[0][2].seed == 3


def test_check_judges_the_stated_levels_and_reports_the_claim() -> None:
    ok = check_sequences(with_extra())
    assert ok.passed and "the review's claim showed up" in ok.reason and "1,300 params" in ok.reason
    assert not check_sequences(with_extra(adding_lstm_test_loss=GATED_MSE + 0.01)).passed
    assert not check_sequences(with_extra(adding_gru_test_loss=0.1)).passed
    solved = check_sequences(with_extra(adding_elman_test_loss=ELMAN_MSE - 0.05))
    assert not solved.passed and "did NOT show up" in solved.reason
    assert not check_sequences(with_extra(**{"activity_ts-lstm_test_acc": ACTIVITY_LEVELS["ts-lstm"] - 0.01})).passed
    assert not check_sequences(with_extra(**{"activity_temporal-inception_test_acc": 0.8})).passed
    bi = check_sequences(with_extra(**{"activity_bi-lstm_test_acc": 0.95}))
    assert bi.passed and "the bidirectional LSTM beat the unidirectional one" in bi.reason


@pytest.mark.slow
def test_preset_passes_its_check() -> None:
    exp = EXPERIMENTS.get("sequences")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert e["adding_gru_test_loss"] < GATED_MSE < ELMAN_MSE < e["adding_elman_test_loss"]
    assert e["activity_temporal-inception_test_acc"] >= ACTIVITY_LEVELS["temporal-inception"]
    assert e["delay_temporal-inception_test_acc"] > 0.9  # its receptive field (17 steps) covers the delay of 8


def test_figure_has_a_panel_per_task_with_every_model_and_the_levels() -> None:
    from netarium.experiments.sequences import figure_sequences

    fig = figure_sequences(with_extra())
    assert [d.x for d in fig.data] == [("elman", "gru", "lstm", "ts-lstm", "temporal-inception"),
                                       ("ts-lstm", "temporal-inception", "lstm", "bi-lstm"),
                                       ("elman", "lstm", "temporal-inception")]
    assert fig.data[0].y[0] == 0.17 and fig.data[0].text[0] == "1,300 p"
    assert len(fig.layout.shapes) == 5 and fig.layout.yaxis.type == "log"  # 3 adding levels, 2 activity levels


def test_seeds_of_temporal_inception_batch_on_the_sweep_engine_and_lstm_seeds_fall_back_to_runs() -> None:
    """torch.func stacks the convolutions; torch has no vmap rule for its fused LSTM (aten::lstm), so those
    members train as ordinary Runs (the group builder's probe refuses them)."""
    from netarium.training.sweep import Member
    from netarium.training.sweep_run import plan_groups

    task = {"name": "activity", "L": 16, "n_train": 60, "n_test": 24}
    kinds = {}
    for name, model in [("ti", {"name": "temporal-inception", "filters": 2}), ("lstm", {"name": "rnn", "cell": "lstm", "hidden": 4})]:
        configs = [Config(task=task, model=model, batch_size=16, steps=5, device="cpu", seed=s) for s in range(2)]
        groups = plan_groups([Member(i, {}, 0, c, None) for i, c in enumerate(configs)])
        kinds[name] = [type(g).__name__ for g in groups]
        for g in groups:
            g.close()
    assert kinds == {"ti": ["FuncGroup"], "lstm": ["RunGroup"]}
