"""What a task offers the views: its registered tags, with its kind and "2d" read off the built task."""

import pytest

from netarium.tasks import make_task
from netarium.tasks.base import TASK_CAPABILITIES


@pytest.mark.parametrize(("name", "params", "has", "lacks"), [
    ("circle", {"n_samples": 100}, {"2d", "classification", "playground"}, {"regression", "modular"}),
    ("reg-plane", {"n_samples": 100}, {"2d", "regression"}, {"classification"}),
    ("modular", {"M": 7}, {"modular", "classification"}, {"2d", "xor-clusters"}),
    ("xor-clusters", {"d": 20, "n_train": 40, "n_test": 20}, {"xor-clusters", "classification"}, {"2d", "modular"}),
    ("cube", {"samples_per_condition": 5}, {"classification"}, {"2d", "regression"}),
])
def test_a_task_offers_its_tags_kind_and_shape(name, params, has, lacks) -> None:
    task = make_task(name, params, seed=0)
    assert has <= task.capabilities and not lacks & task.capabilities
    assert task.kind in task.capabilities and ("2d" in task.capabilities) == task.is_2d


def test_kind_comes_from_the_built_task_not_a_tag() -> None:
    task = make_task("circle", {"n_samples": 100}, seed=0)
    task.kind = "regression"  # as a CSV file of the same name could decide
    assert "regression" in task.capabilities and "classification" not in task.capabilities


def test_needs_have_words() -> None:
    assert TASK_CAPABILITIES["2d"] == "a 2-D task" and TASK_CAPABILITIES["modular"] == "the modular arithmetic task"
