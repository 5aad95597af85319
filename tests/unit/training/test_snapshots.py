"""Weight snapshots over training: bounded, spread in log-time, and exactly the weights of their step."""

import math

import torch
from torch import nn

from netarium.training import Config, Run
from netarium.training.snapshots import Snapshots

CFG = Config(task={"name": "xor", "n_samples": 200}, model={"name": "mlp", "hidden": [6]}, steps=10, seed=4)


def test_a_snapshot_holds_exactly_the_weights_of_its_step():
    run = Run(CFG)
    run.step(300)
    steps = run.snapshots.steps()
    assert steps[0] == 0 and steps[-1] <= 300 and len(steps) <= run.snapshots.capacity
    for step in (steps[1], steps[len(steps) // 2], steps[-1]):
        again = Run(CFG)
        again.step(step)  # the same config and seed reach the same weights at the same step
        model = run.snapshots.model_at(step, run.model)
        for (name, a), b in zip(model.state_dict().items(), again.model.state_dict().values(), strict=True):
            assert torch.equal(a, b), f"{name} differs at step {step}"
    fresh = Run(CFG)
    first = run.snapshots.model_at(0, run.model)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), fresh.model.state_dict().values(), strict=True))


def test_early_steps_are_dense_and_the_count_stays_bounded_and_log_spread():
    snaps = Snapshots(nn.Linear(3, 2), max_gap=50, capacity=12)
    model = nn.Linear(3, 2)
    for step in range(0, 5001):
        if snaps.due(step):
            snaps.record(step, model)
    steps = snaps.steps()
    assert len(steps) == 12 and steps[0] == 0
    assert steps[-1] >= 5000 - 50  # the newest is never thinned away
    gaps = [math.log1p(b) - math.log1p(a) for a, b in zip(steps[1:], steps[2:], strict=False)]
    assert max(gaps) < 3 * min(gaps)  # roughly even in log(1 + step)
    assert steps[1] <= 10  # the early phase is sampled


def test_models_over_the_byte_budget_keep_no_snapshots():
    snaps = Snapshots(nn.Linear(100, 100), budget_bytes=3 * 101 * 100 * 4)
    assert not snaps.enabled and not snaps.due(0)
    run = Run(CFG)
    assert run.snapshots.enabled and run.snapshots.steps() == [0]
    try:
        run.snapshots.state_at(7)
    except KeyError as e:
        assert "recorded: [0]" in str(e)
    else:
        raise AssertionError("no KeyError for a step never recorded")
