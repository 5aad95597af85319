"""The Geometry page inside the app: every geometry view of the live run, and a second seed on demand."""

from __future__ import annotations

import base64
import json
import threading

import numpy as np
import pytest

from netarium.training.jobs import Job
from netarium.ui.cache import STORE
from netarium.ui.views import geometry

PAGE = "pages/geometry.py"
CUBE = {"task": "cube", "task.samples_per_condition": "20", "model.hidden": "12"}


def array(value) -> np.ndarray:
    """A plotly JSON array, plain or typed ({"dtype", "bdata"[, "shape"]}), row by row if need be."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return a.reshape([int(n) for n in str(value["shape"]).split(",")]) if "shape" in value else a
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return np.stack([array(v) for v in value])
    return np.array(value, dtype=float)


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def second_net_job(at) -> Job | None:
    """The background job training the second net, from the live run's per-generation store."""
    return at.session_state[STORE][2].get(("job", geometry.SECOND_NET))


def rerun_until_drawn(at, key: str, tries: int = 100) -> None:
    """Rerun the page (as its polling fragment would) until chart `key` is drawn, at most `tries` times."""
    for _ in range(tries):
        at.run()
        assert not at.exception, at.exception
        if key in charts(at):
            return
        threading.Event().wait(0.1)
    pytest.fail(f"{key} was not drawn after {tries} reruns")


def test_geometry_page_draws_every_view_of_a_cube_run(open_app) -> None:
    at = open_app(PAGE, **CUBE)
    live = at.session_state["netarium.live"]
    live.step(60)
    at.run()
    assert not at.exception
    figs = charts(at)
    assert {"geo.embedding.chart", "geo.alignment.chart", "geo.cka.chart", "geo.rdm.chart"} <= set(figs)
    assert "geo.warped-grid.chart" not in figs  # the cube is not a 2-D task
    embedding = figs["geo.embedding.chart"]
    steps = [int(f["name"]) for f in embedding["frames"]]
    assert steps[0] == 0 and steps[-1] == 60 and steps == sorted(steps)
    assert set(steps[:-1]) <= set(live.run.snapshots.steps())
    cka = array(figs["geo.cka.chart"]["data"][0]["z"])
    assert np.allclose(np.diag(cka), 1.0, atol=1e-5)
    assert any("RSA input" in a["text"] for a in figs["geo.rdm.chart"]["layout"]["annotations"])
    assert not [k for k in figs if k.endswith(".across")]  # no second net yet


def test_second_seed_adds_cross_net_cka_and_unit_matching(open_app) -> None:
    at = open_app(PAGE, **CUBE)
    at.session_state["netarium.live"].step(40)
    at.run()
    at.button(key="geo.cka.train2").click().run()
    assert not at.exception
    rerun_until_drawn(at, "geo.cka.across")  # it trains in the background
    figs = charts(at)
    assert "geo.cka.across" in figs and "geo.unit-match.chart" in figs
    assert any("seed 1, 40 steps" in c.value for c in at.caption)
    across = array(figs["geo.cka.across"]["data"][0]["z"])
    assert across.shape == (3, 3) and 0 <= across.min() and across.max() <= 1 + 1e-6


def test_the_second_seed_trains_in_the_background_with_progress_then_is_drawn(open_app, monkeypatch) -> None:
    halfway, gate = threading.Event(), threading.Event()
    train = geometry.train_second

    def held(config, task, progress):
        progress(config.steps // 2, config.steps)
        halfway.set()
        gate.wait(30)
        return train(config, task, progress)

    monkeypatch.setattr(geometry, "train_second", held)
    at = open_app(PAGE, **CUBE)
    at.session_state["netarium.live"].step(40)
    at.run()
    at.button(key="geo.cka.train2").click().run()
    assert not at.exception
    job = second_net_job(at)
    assert job is not None and job.started and halfway.wait(10)
    at.run()  # the page did not wait for it: a progress bar, no second net yet
    bars = at.get("progress")
    assert bars and {b.value for b in bars} == {50} and all("training seed 1… 50%" in b.proto.text for b in bars)
    assert at.button(key="geo.cka.train2").disabled and "geo.cka.across" not in charts(at)
    gate.set()
    rerun_until_drawn(at, "geo.cka.across")
    assert job.done and job.progress == 1.0 and job.result.step_count == 40
    assert not at.get("progress") and second_net_job(at) is None  # its net was taken, the job forgotten
    assert any("second net: seed 1, 40 steps" in c.value for c in at.caption)
    assert "geo.unit-match.chart" in charts(at)


def test_a_reset_cancels_and_drops_a_stale_second_net_job(open_app, monkeypatch) -> None:
    gate = threading.Event()
    train = geometry.train_second
    monkeypatch.setattr(geometry, "train_second", lambda config, task, progress: gate.wait(30) and train(config, task, progress))
    at = open_app(PAGE, **CUBE)
    live = at.session_state["netarium.live"]
    live.step(10)
    at.run()
    at.button(key="geo.cka.train2").click().run()
    job = second_net_job(at)
    assert job is not None and job.running
    live.reset()  # a new generation: the job's net would be of a stale run
    at.run()
    assert second_net_job(at) is None and not at.get("progress")
    gate.set()
    assert job.join(30) and job.error == "cancelled" and job.result is None
    at.run()
    assert not at.exception and "geo.cka.across" not in charts(at)


def test_regression_task_is_told_what_the_page_needs(open_app) -> None:
    at = open_app(PAGE, task="reg-plane")
    assert any("need a classification task" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_two_d_task_gets_the_warped_grid(open_app) -> None:
    at = open_app(PAGE, task="circle", **{"model.hidden": "4,3"})
    figs = charts(at)
    assert "geo.warped-grid.chart" in figs
    assert not at.exception


def test_a_saved_run_of_the_same_architecture_is_a_second_net(open_app) -> None:
    from netarium.training.runs_io import save_live_run
    from netarium.training.store import RunStore, default_store_path

    at = open_app(PAGE, **CUBE)
    live = at.session_state["netarium.live"]
    live.step(30)
    with RunStore(default_store_path()) as store:
        run_id = save_live_run(store, live, name="thirty")
    live.step(20)
    at.run()
    at.selectbox(key="geo.cka.second").set_value(f"run:{run_id}").run()
    assert not at.exception
    assert any(f"saved run #{run_id} thirty (30 steps)" in c.value for c in at.caption)
    across = array(charts(at)["geo.cka.across"]["data"][0]["z"])
    assert across.shape == (3, 3) and abs(across[0, 0] - 1.0) < 1e-5  # the same input on both sides


def test_cka_kernel_switches_to_rbf(open_app) -> None:
    at = open_app(PAGE, **CUBE)
    at.segmented_control(key="geo.cka.kernel").set_value("rbf").run()
    assert not at.exception
    fig = charts(at)["geo.cka.chart"]
    assert "CKA (rbf)" in fig["layout"]["title"]["text"]
