import math

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.playground import BY_EPOCH, THRESHOLD, check_playground, check_spiral
from netarium.schema import SchemaError
from netarium.training import Config
from netarium.training.history import History


def fake_result(acc: float) -> Result:
    return Result(Config(), {"test_acc": acc, "train_acc": 1.0}, History(), steps=10, seconds=0.1)


def test_the_playground_preset_is_tensorflow_playgrounds_default():
    """state.ts: circle, noise 0, 50% training data, x and y, [4, 2] tanh, learning rate 0.03, batch 10,
    no regularization; nn.ts/playground.ts: squared error on a tanh output, U(-0.5, 0.5) weights and 0.1
    biases, examples in a fixed order."""
    c = EXPERIMENTS.get("playground").config
    assert (c.task.name, c.task.noise, c.task.train_ratio, c.task.features, c.task.n_samples) == ("circle", 0.0, 0.5, ["x1", "x2"], 500)
    assert (c.model.name, c.model.hidden, c.model.activations(), c.model.init) == ("mlp", [4, 2], ["tanh", "tanh"], "tfp")
    assert (c.optimizer.name, c.optimizer.lr, c.optimizer.momentum, c.batch_size) == ("sgd", 0.03, 0.0, 10)
    assert (c.l1, c.l2, c.regularization, c.loss, c.order) == (0.0, 0.0, "tfp", "tfp", "fixed")
    assert c.steps == BY_EPOCH * 25 and c.eval_every == 25  # 250 training points / 10 = 25 steps an epoch
    exp = EXPERIMENTS.get("playground")
    assert exp.paper and exp.look_for and exp.page == "playground"
    with pytest.raises(SchemaError, match="unknown experiment"):
        EXPERIMENTS.get("nope")


def test_the_spiral_preset_stays_one_click_away():
    exp = EXPERIMENTS.get("playground-spiral")
    assert exp.config.task.name == "spiral" and exp.config.model.hidden == [16, 16] and exp.config.optimizer.name == "adam"
    assert exp.check is check_spiral and exp.page == "playground"


def tfp_result(firsts: list[float], finals: list[float]) -> Result:
    extra = {"seeds": [0, 1, 2]}
    for s, (f, a) in enumerate(zip(firsts, finals, strict=True)):
        extra.update({f"seed{s}_first_epoch": f, f"seed{s}_test_acc": a, f"seed{s}_epochs": 100.0})
    return Result(Config(), {"test_acc": finals[0]}, History(), steps=2500, seconds=1.0, extra=extra)


@pytest.mark.parametrize(("firsts", "finals", "passed", "early"), [
    ([21, 27, 31], [1.0, 1.0, 0.996], True, 3),
    ([21, 76, 31], [1.0, 1.0, 1.0], True, 2),  # one seed needs more than 50 epochs: still within 100
    ([21, math.nan, 31], [1.0, 0.84, 1.0], False, 2),  # one seed never got there
    ([21, 27, 31], [1.0, 0.9, 1.0], False, 3),  # reached, then fell back below
])
def test_playground_check_needs_every_seed_by_the_epoch(firsts, finals, passed, early):
    c = check_playground(tfp_result(firsts, finals))
    assert c.passed is passed and c.numbers["seeds_by_epoch_50"] == early
    assert c.numbers["test_acc"] == min(finals) and c.numbers["threshold"] == THRESHOLD
    assert c.numbers["seed1_first_epoch"] == firsts[1] or math.isnan(firsts[1])
    assert ("did not reach" in c.reason) is not passed and f"{early} of 3 by epoch 50" in c.reason


def test_playground_check_passes_on_the_preset():
    """The real thing: 3 seeds (0, 1, 2) as one batched sweep, 100 epochs each."""
    exp = EXPERIMENTS.get("playground")
    result = exp.run()
    c = exp.check(result)
    assert c.passed, c.reason
    assert result.extra["seeds"] == [0, 1, 2] and len(result.runs) == 3 and result.steps == 2500
    assert all(10 <= result.extra[f"seed{s}_first_epoch"] <= 50 for s in range(3))  # measured on the CPU: 21, 27, 31
    assert result.final == result.runs[0].metrics and result.runs[0].config.seed == 0


@pytest.mark.parametrize("acc,passed", [(0.95, True), (0.9, True), (0.899, False), (math.nan, False)])
def test_spiral_check_threshold(acc, passed):
    c = check_spiral(fake_result(acc))
    assert c.passed is passed
    assert c.numbers["threshold"] == 0.9 and (c.numbers["test_acc"] == acc or math.isnan(acc))
    assert ("reached" in c.reason) is passed


def test_experiment_run_uses_a_modified_config():
    exp = EXPERIMENTS.get("playground")
    res = exp.run(exp.config.with_overrides(["steps=40", "eval_every=20"]))
    assert res.steps == 40 and res.runs[0].config.steps == 40
    assert res.history.series("test_acc")[0] == [20, 40]
    assert res.final == res.runs[0].metrics
