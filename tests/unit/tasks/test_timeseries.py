"""Time-series tasks: the adding problem (two marked values, their sum), the delay line (the token d steps
back), and the synthetic activity windows (balanced classes, three channels, tempo and phase jitter)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netarium.models import ModelSpec
from netarium.schema import SchemaError
from netarium.tasks import TASKS, make_task
from netarium.tasks.sequence import IGNORE_INDEX
from netarium.tasks.timeseries import ACTIVITIES


def test_adding_marks_one_value_in_each_half_and_the_target_is_their_sum() -> None:
    t = make_task("adding", {"L": 20, "n_train": 500, "n_test": 100}, seed=3)
    assert t.kind == "regression" and t.X_train.shape == (500, 20, 2) and t.y_train.shape == (500, 1)
    assert t.X_train.dtype == torch.float32 and t.n_inputs == 20 and t.n_outputs == 1
    assert t.meta["channels"] == 2 and t.meta["channel_names"] == ["value", "marker"]
    marks = t.X_train[:, :, 1]
    assert torch.equal(marks[:, :10].sum(1), torch.ones(500)) and torch.equal(marks[:, 10:].sum(1), torch.ones(500))
    torch.testing.assert_close(t.y_train[:, 0], (t.X_train[:, :, 0] * marks).sum(1))
    values = t.X_train[:, :, 0]
    assert float(values.min()) >= 0 and float(values.max()) < 1
    big = make_task("adding", {"n_train": 20000, "n_test": 10}, seed=0)
    baseline = float(((big.y_train - 1) ** 2).mean())  # predicting 1: Var(u1 + u2) = 2/12
    assert baseline == pytest.approx(1 / 6, abs=0.005) and big.meta["baseline_mse"] == pytest.approx(1 / 6)
    spec = ModelSpec.for_task(t)
    assert spec.channels == 2 and spec.n_inputs == 20 and not spec.per_position
    assert "timeseries" in t.capabilities and "regression" in t.capabilities


def test_tasks_are_deterministic_by_seed() -> None:
    for name in ("adding", "delay", "activity"):
        a, b, c = (make_task(name, {"n_train": 30, "n_test": 12}, seed=s) for s in (1, 1, 2))
        assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
        assert not torch.equal(a.X_train, c.X_train)


def test_delay_targets_are_the_tokens_d_steps_back() -> None:
    t = make_task("delay", {"n_symbols": 5, "L": 12, "d": 3, "n_train": 50, "n_test": 20}, seed=0)
    assert t.kind == "sequence" and t.vocab_size == 5 and t.X_train.shape == t.y_train.shape == (50, 12)
    assert bool((t.y_train[:, :3] == IGNORE_INDEX).all())
    assert torch.equal(t.y_train[:, 3:], t.X_train[:, :9]) and torch.equal(t.y_test[:, 3:], t.X_test[:, :9])
    assert t.meta["scored_from"] == 3 and "3 steps before" in t.meta["description"]
    zero = make_task("delay", {"d": 0, "L": 4, "n_train": 10, "n_test": 10}, seed=0)
    assert torch.equal(zero.y_train, zero.X_train)
    with pytest.raises(SchemaError) as err:
        make_task("delay", {"L": 5, "d": 5})
    assert err.value.key == "task.d"


def test_activity_windows_are_balanced_noisy_periodic_patterns() -> None:
    t = make_task("activity", {"L": 32, "n_train": 120, "n_test": 60, "noise": 0.0, "speed_jitter": 0.0}, seed=0)
    assert t.kind == "classification" and t.X_train.shape == (120, 32, 3) and t.n_classes == len(ACTIVITIES) == 6
    assert np.bincount(t.y_train.numpy()).tolist() == [20] * 6 and np.bincount(t.y_test.numpy()).tolist() == [10] * 6
    assert t.meta["class_names"] == ["walk", "stairs", "run", "cycle", "jump", "idle"]
    # without noise each channel is a gain times a sinusoid: the idle class moves least, jump most on z
    rms = {name: float(t.X_train[t.y_train == k].square().mean(1).sqrt().mean(0)[2]) for k, name in enumerate(t.meta["class_names"])}
    assert rms["jump"] > rms["run"] > rms["idle"] and rms["idle"] < 0.2
    noisy = make_task("activity", {"L": 32, "n_train": 120, "n_test": 60, "noise": 1.0}, seed=0)
    assert float((noisy.X_train - t.X_train).std()) > 0.5


def test_registered_with_their_tags() -> None:
    assert {"timeseries"} <= TASKS.get("adding").tags and {"timeseries"} <= TASKS.get("activity").tags
    assert {"sequence", "tokens"} <= TASKS.get("delay").tags
