"""The home page renders the registries: title, experiments gallery, tasks, models, optimizers."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netarium.experiments import EXPERIMENTS
from netarium.models import MODELS
from netarium.tasks import TASKS
from netarium.training.optim import OPTIMIZERS

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture(scope="module")
def home() -> AppTest:
    """The app, run once through its navigation to the default (home) page."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    return at


def table_values(at: AppTest, column: str) -> list[set[str]]:
    """For every rendered table that has `column`, the set of values in that column."""
    return [set(t.value[column]) for t in at.table if column in t.value.columns]


def test_home_runs_without_exception(home: AppTest) -> None:
    assert not home.exception
    assert [t.value for t in home.title] == ["Netarium"]


def test_home_lists_every_experiment(home: AppTest) -> None:
    (ids,) = table_values(home, "id")
    assert "playground" in ids
    assert ids == {e.id for e in EXPERIMENTS}


def test_home_lists_tasks_models_and_optimizers(home: AppTest) -> None:
    names = table_values(home, "name")
    for registry in (TASKS, MODELS, OPTIMIZERS):
        assert set(registry.names()) in names, f"no table lists exactly the {registry.kind}s"


def test_home_shows_headless_commands(home: AppTest) -> None:
    code = "\n".join(c.value for c in home.code)
    assert "netarium list" in code
    assert "netarium run playground --check" in code
