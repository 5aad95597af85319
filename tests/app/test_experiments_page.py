"""The experiments page: a card per experiment; Open loads the preset; Check runs in the background."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.jobs import CheckJob
from netarium.training.history import History
from netarium.ui.text import shown_text

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "pages" / "experiments.py"
APP = ROOT / "app.py"
PRESET = EXPERIMENTS.get("playground")


@pytest.fixture(autouse=True)
def small_presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private run store, and the playground preset cut to 50 CPU steps so a check is quick."""
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    small = dataclasses.replace(PRESET, config=PRESET.config.with_overrides({"steps": 50, "device": "cpu"}))
    monkeypatch.setitem(EXPERIMENTS._items, "playground", small)
    yield


def page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.run()
    return at


def close_live(at: AppTest) -> None:
    if "netarium.live" in at.session_state:
        at.session_state["netarium.live"].close()


def test_gallery_shows_every_experiment() -> None:
    at = page()
    assert not at.exception
    assert [t.value for t in at.title] == ["Experiments"]
    assert [s.value for s in at.subheader] == [e.title for e in EXPERIMENTS]
    captions = " ".join(c.value for c in at.caption)
    for exp in EXPERIMENTS:
        assert f"`{exp.id}`" in captions and exp.paper in captions
        assert any(exp.look_for in m.value for m in at.markdown)
        assert at.button(key=f"experiments.open.{exp.id}").label == "Open"
        assert at.button(key=f"experiments.check.{exp.id}").label == "Check"
    assert len(at.json) == len(EXPERIMENTS)  # each preset config, in its expander
    assert json.loads(at.json[0].value) == EXPERIMENTS.get("playground").config.model_dump(mode="json")


def test_check_runs_in_the_background_and_shows_the_verdict() -> None:
    at = page()
    at.button(key="experiments.check.playground").click().run()
    assert not at.exception
    job: CheckJob = at.session_state["experiments.jobs"]["playground"]
    assert job.started and job.config.steps == 50
    assert job.join(120)
    at.run()
    assert not at.exception
    verdicts = [s.value for s in at.success] + [e.value for e in at.error]
    # 50 steps are 2 epochs of TensorFlow Playground's default: too few to reach 0.95 on any seed
    assert verdicts == [e.value for e in at.error] and len(verdicts) == 1
    assert verdicts[0].startswith("FAILED: 48 seeds (from seed 0): the median seed never reached test accuracy 0.95 in 100 epochs")
    table = at.dataframe[0].value
    assert list(table["number"])[:5] == ["median_first_epoch", "threshold", "seeds", "seeds_by_epoch_50", "seeds_by_epoch_100"]
    assert table.set_index("number").loc["steps", "value"] == 50
    assert at.button(key="experiments.check.playground").label == "Check again"


def test_progress_shows_while_running_and_the_button_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    gate, halfway = threading.Event(), threading.Event()

    def slow(config, progress) -> Result:
        progress(25, 50)
        halfway.set()
        gate.wait(30)
        return Result(config, {"test_acc": 0.5, "train_acc": 0.5}, History(), steps=50, seconds=0.1)

    exp = EXPERIMENTS.get("playground-spiral")  # one run, judged on its final test accuracy
    monkeypatch.setitem(EXPERIMENTS._items, "playground-spiral", dataclasses.replace(exp, runner=slow))
    at = page()
    at.button(key="experiments.check.playground-spiral").click().run()
    job: CheckJob = at.session_state["experiments.jobs"]["playground-spiral"]
    assert halfway.wait(10)
    at.run()
    assert not at.exception
    (bar,) = at.get("progress")
    assert bar.value == 50 and "50%" in bar.proto.text
    assert at.button(key="experiments.check.playground-spiral").disabled  # one check at a time
    gate.set()
    assert job.join(10)
    at.run()
    assert [e.value for e in at.error] == ["FAILED: test accuracy 0.500 stayed below 0.9"]
    assert not at.button(key="experiments.check.playground-spiral").disabled


def test_a_check_that_raises_shows_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(config, progress) -> Result:
        raise ValueError("no data")

    monkeypatch.setitem(EXPERIMENTS._items, "playground", dataclasses.replace(EXPERIMENTS.get("playground"), runner=boom))
    at = page()
    at.button(key="experiments.check.playground").click().run()
    assert at.session_state["experiments.jobs"]["playground"].join(10)
    at.run()
    assert not at.exception
    assert [shown_text(e.value) for e in at.error] == [  # the ValueError went to the server log
        "The check could not run because of an internal error (the details are in the server log)."]


def test_open_loads_the_preset_and_says_where_to_look() -> None:
    at = page()
    live = at.session_state["netarium.live"] if "netarium.live" in at.session_state else None
    assert live is None  # the gallery alone starts no run
    at.button(key="experiments.open.playground").click().run()
    assert not at.exception
    live = at.session_state["netarium.live"]
    try:
        assert live.config == EXPERIMENTS.get("playground").config
        infos = [i.value for i in at.info]
        assert "Loaded experiment playground" in infos
        assert "Open the Playground page to see it." in infos  # this page alone has no navigation
    finally:
        close_live(at)


def test_open_in_the_app_switches_to_the_playground_with_the_preset() -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    try:
        live = at.session_state["netarium.live"]
        live.apply(live.config.with_overrides({"seed": 7, "task.noise": 0.3}))
        at.switch_page("pages/experiments.py").run()
        assert [t.value for t in at.title] == ["Experiments"]
        at.button(key="experiments.open.playground").click().run()
        assert not at.exception
        assert at.session_state["netarium.live"].config == EXPERIMENTS.get("playground").config
        assert "Experiments" not in [t.value for t in at.title]  # we left the gallery
        assert "Loaded experiment playground" in [i.value for i in at.info]  # the flash followed us
    finally:
        close_live(at)
