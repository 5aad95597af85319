import math

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.playground import (
    BY_EPOCH,
    EARLY_EPOCH,
    SEEDS,
    THRESHOLD,
    check_playground,
    check_spiral,
)
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
    extra = {"seeds": list(range(len(firsts)))}
    for s, (f, a) in enumerate(zip(firsts, finals, strict=True)):
        extra.update({f"seed{s}_first_epoch": f, f"seed{s}_test_acc": a, f"seed{s}_epochs": 100.0})
    return Result(Config(), {"test_acc": finals[0]}, History(), steps=2500, seconds=1.0, extra=extra)


@pytest.mark.parametrize(("firsts", "finals", "passed", "median", "early", "on_time"), [
    ([21, 27, 31, 76], [1.0, 1.0, 0.996, 1.0], True, 29, 3, 4),
    ([21, 27, 31, math.nan], [1.0, 1.0, 1.0, 0.84], True, 29, 3, 3),  # one of four stalled, as in TFP: 3 >= 0.75 * 4
    ([21, 27, math.nan, math.nan], [1.0, 1.0, 0.84, 0.83], False, math.inf, 2, 2),  # half stalled
    ([21, 27, 31, 35], [1.0, 0.9, 0.8, 1.0], False, 29, 4, 2),  # two reached it, then fell back below
    ([55, 60, 61, 70], [1.0, 1.0, 1.0, 1.0], False, 60.5, 0, 4),  # all got there, but the median seed too late
])
def test_playground_check_judges_the_seeds_median_and_share(firsts, finals, passed, median, early, on_time):
    c = check_playground(tfp_result(firsts, finals))
    assert c.passed is passed and c.numbers["median_first_epoch"] == median
    assert c.numbers["seeds_by_epoch_50"] == early and c.numbers["seeds_by_epoch_100"] == on_time
    assert c.numbers["test_acc"] == finals[0] and c.numbers["threshold"] == THRESHOLD and c.numbers["seeds"] == 4
    assert c.numbers["seed1_first_epoch"] == firsts[1]
    assert f"{early} of 4 by epoch {EARLY_EPOCH}, {on_time} of 4 by epoch {BY_EPOCH} (needed: 3)" in c.reason
    assert ("stalled below" in c.reason) is (on_time < 4)


def test_playground_check_passes_on_the_preset():
    """The real thing: SEEDS seeds (0, 1, ...) as one batched sweep, 100 epochs each."""
    exp = EXPERIMENTS.get("playground")
    result = exp.run()
    c = exp.check(result)
    assert c.passed, c.reason
    assert result.extra["seeds"] == list(range(SEEDS)) and len(result.runs) == SEEDS and result.steps == 2500
    assert 30 <= c.numbers["median_first_epoch"] <= 50  # measured on the CPU: 40
    assert c.numbers["seeds_by_epoch_100"] >= SEEDS - 4  # measured: 46 of 48
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
