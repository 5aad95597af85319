"""The supervised trainer's cosine learning-rate decay: lr (1 + cos(pi t / T)) / 2 over the run's steps, a live
learning-rate change taken as the new base, and runs with a decay left to Runs by the batched sweep paths."""

import math

import pytest

from netarium.training import Config, Run
from netarium.training.ensemble import batch_signature
from netarium.training.func_ensemble import func_signature
from netarium.training.trainers import cosine_factor

BASE = Config(task={"name": "circle", "n_samples": 100}, model={"name": "mlp", "hidden": [4]}, optimizer={"name": "adam", "lr": 0.01},
              trainer={"name": "supervised", "lr_decay": "cosine"}, steps=10, batch_size=10, eval_every=5)


def test_the_factor_falls_from_one_to_zero_along_a_cosine():
    assert cosine_factor(0, 10) == 1.0 and cosine_factor(5, 10) == pytest.approx(0.5) and cosine_factor(10, 10) == 0.0
    assert cosine_factor(25, 10) == 0.0 and cosine_factor(3, 0) == 0.0
    assert cosine_factor(2, 8) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)


def test_each_step_uses_the_decayed_rate_and_a_live_change_becomes_the_base():
    run = Run(BASE)
    seen = []
    for _ in range(4):
        run.step(1)
        seen.append(run.lr)  # the rate the step just used
    assert seen == pytest.approx([0.01 * cosine_factor(t, 10) for t in range(4)])
    run.set_lr(0.1)  # the Playground's live learning rate
    run.step(1)
    assert run.lr == pytest.approx(0.1 * cosine_factor(4, 10))
    assert run.history.series("lr")[1][-1] == pytest.approx(0.1 * cosine_factor(4, 10))  # evaluated at step 5


def test_without_decay_the_rate_stays_and_decaying_runs_are_not_batched():
    plain = BASE.with_overrides({"trainer.lr_decay": "none"})
    run = Run(plain)
    run.step(3)
    assert run.lr == 0.01
    assert batch_signature(plain) is not None and batch_signature(BASE) is None
    kan = BASE.with_overrides({"model": {"name": "kan", "hidden": [2]}})
    assert func_signature(kan.with_overrides({"trainer.lr_decay": "none"})) is not None and func_signature(kan) is None
