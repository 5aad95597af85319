"""A watched run's curves before its first evaluation: train-loss points read from the steps themselves,
bounded, and only where a LiveRun asked for them."""

from __future__ import annotations

import math

import pytest

from netarium.training import Config, Run
from netarium.training.live import LiveRun
from netarium.training.run import EARLY_POINTS
from netarium.viz.curves import curves_figure

FULL_BATCH = Config(task={"name": "spiral", "n_samples": 200}, model={"name": "mlp", "hidden": [8]},
                    optimizer={"name": "sgd", "lr": 0.1}, batch_size=0, eval_every=200, steps=1000, device="cpu")


def stepped(run: Run, sizes: list[int]) -> Run:
    for n in sizes:
        run.step(n)
    return run


def test_a_headless_run_records_evaluations_only():
    run = stepped(Run(FULL_BATCH), [1] * 30)
    assert run.history.metrics() == []


def test_a_watched_run_has_train_loss_points_before_its_first_evaluation():
    run = Run(FULL_BATCH)
    run.early_loss_points = True
    stepped(run, [1] * 199)
    steps, values = map(list, run.history.series("train_loss"))  # copies: the history's lists grow
    every = 200 // EARLY_POINTS
    assert steps == list(range(every, 200, every)) and len(steps) <= EARLY_POINTS
    assert run.history.metrics() == ["train_loss"]  # nothing else is measured before the first evaluation
    # full batch: the point at step k is the loss of the weights after k - 1 steps, on the whole training set
    twin = Run(FULL_BATCH)
    for k in (steps[0], steps[5]):
        twin.step(k - 1 - twin.step_count)
        assert values[steps.index(k)] == pytest.approx(twin.evaluate()["train_loss"], rel=1e-5)
    assert values[0] > values[-1]  # and they show the loss falling
    run.step(1)  # step 200: the first evaluation, then no more early points
    run.step(50)
    steps_after, _ = run.history.series("train_loss")
    assert steps_after == [*steps, 200] and run.history.series("test_loss")[0] == [200]


def test_early_points_follow_the_step_calls_and_stay_bounded():
    run = Run(FULL_BATCH.with_overrides({"eval_every": 1000, "steps": 2000}))
    run.early_loss_points = True
    stepped(run, [3, 17, 1, 25, 100, 500, 354])  # the calls end at steps 3, 20, 21, 46, 146, 646 and 1000
    steps, values = run.history.series("train_loss")
    assert steps == [20, 46, 146, 646, 1000]  # a point where >= 1000 // 50 steps passed since the last; 1000 evaluated
    assert all(math.isfinite(v) for v in values)


def test_a_live_run_shows_a_training_curve_before_the_first_evaluation():
    live = LiveRun(FULL_BATCH)
    try:
        live.step(12)
        snap = live.snapshot()
        assert snap.step == 12 and snap.history.series("train_loss")[0] == [12]
        assert "test_loss" not in snap.history.metrics()
        fig = curves_figure({m: snap.history.series(m) for m in snap.history.metrics()})
        assert [t.name for t in fig.data] == ["train loss"] and list(fig.data[0].x) == [12]
    finally:
        live.close()
