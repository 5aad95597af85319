import math

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.playground import check_playground
from netarium.schema import SchemaError
from netarium.training import Config
from netarium.training.history import History


def fake_result(acc: float) -> Result:
    return Result(Config(), {"test_acc": acc, "train_acc": 1.0}, History(), steps=10, seconds=0.1)


def test_registry_has_playground_with_a_valid_preset():
    exp = EXPERIMENTS.get("playground")
    assert exp.config.task.name == "spiral" and exp.config.model.name == "mlp"
    assert exp.paper and exp.look_for and exp.page == "playground"
    with pytest.raises(SchemaError, match="unknown experiment"):
        EXPERIMENTS.get("nope")


@pytest.mark.parametrize("acc,passed", [(0.95, True), (0.9, True), (0.899, False), (math.nan, False)])
def test_playground_check_threshold(acc, passed):
    c = check_playground(fake_result(acc))
    assert c.passed is passed
    assert c.numbers["threshold"] == 0.9 and (c.numbers["test_acc"] == acc or math.isnan(acc))
    assert ("reached" in c.reason) is passed


def test_experiment_run_uses_a_modified_config():
    exp = EXPERIMENTS.get("playground")
    res = exp.run(exp.config.with_overrides(["steps=40", "eval_every=20"]))
    assert res.steps == 40 and res.runs[0].config.steps == 40
    assert res.history.series("test_acc")[0] == [20, 40]
    assert res.final == res.runs[0].metrics
