"""The Dynamics page: live curvature against 2/η, the Hessian spectrum, the weight norm, Fourier
features of a modular net, XOR-cluster neurons, and GD vs SGD on demand."""

from __future__ import annotations

import json
import threading
import time

from netarium.training.jobs import Job
from netarium.ui.cache import STORE
from netarium.ui.views import dynamics

PAGE = "pages/dynamics.py"


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def gd_sgd_job(at, batch: int) -> Job | None:
    """The background job training GD and SGD with this batch, from the live run's per-generation store."""
    return at.session_state[STORE][2].get(("job", f"gd-sgd.{batch}"))


def rerun_until_trained(at, tries: int = 300) -> set[str]:
    """Rerun the page (as its polling fragment would) until the GD vs SGD chart has both runs, at most
    `tries` times; the names of its traces."""
    for _ in range(tries):
        at.run()
        assert not at.exception, at.exception
        names = {t.get("name") for t in charts(at)["dyn.gd-sgd.chart"]["data"]}
        if "GD (full batch)" in names:
            return names
        time.sleep(0.1)
    raise AssertionError(f"GD vs SGD was not drawn after {tries} reruns")


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_curvature_is_measured_live_against_two_over_eta(open_app) -> None:
    at = open_app(PAGE, **{"optimizer": "sgd", "optimizer.lr": "0.5"})
    live = at.session_state["netarium.live"]
    tracker = at.session_state["netarium.curvature"]
    live.step(20)
    wait_for(lambda: tracker.snapshot().steps[-1:] == [20])  # it measures whenever the step has moved
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    h = tracker.snapshot()
    assert h.steps[-1] == 20 and h.lr[-1] == 0.5 and len(h.eigenvalues[-1]) == 3
    assert h.eigenvalues[-1][0] == h.sharpness[-1] >= h.eigenvalues[-1][1] >= h.eigenvalues[-1][2]
    figs = charts(at)
    edge = next(t for t in figs["dyn.sharpness.chart"]["data"] if t.get("name") == "2/η")
    assert edge["y"][-1] == 4.0  # 2 / 0.5
    assert any(t.get("type") == "histogram" for t in figs["dyn.spectrum.chart"]["data"])  # small model: whole spectrum
    assert "dyn.weight-norm.chart" in figs and "dyn.fourier.chart" not in figs and "dyn.xor-neurons.chart" not in figs


def test_gd_vs_sgd_trains_both_side_by_side(open_app) -> None:
    at = open_app(PAGE)
    at.select_slider(key="dyn.gd-sgd.batch").set_value(16).run()
    at.button(key="dyn.gd-sgd.train").click().run()
    assert not at.exception
    names = rerun_until_trained(at)  # they train in the background
    assert {"GD (full batch)", "SGD (batch 16)", "2/η"} <= names


def test_gd_vs_sgd_shows_progress_while_it_trains_and_the_page_is_not_held(open_app, monkeypatch) -> None:
    halfway, gate = threading.Event(), threading.Event()
    train = dynamics.train_gd_sgd

    def held(config, batch, progress):
        progress(dynamics.GD_SGD_STEPS, 2 * dynamics.GD_SGD_STEPS)  # GD done, SGD to come
        halfway.set()
        gate.wait(30)
        return train(config, batch, progress)

    monkeypatch.setattr(dynamics, "train_gd_sgd", held)
    at = open_app(PAGE)
    at.select_slider(key="dyn.gd-sgd.batch").set_value(8).run()
    at.button(key="dyn.gd-sgd.train").click().run()
    job = gd_sgd_job(at, 8)
    assert job is not None and job.started and halfway.wait(10)
    at.run()
    assert not at.exception
    (bar,) = at.get("progress")
    assert bar.value == 50 and "training GD and SGD… 50%" in bar.proto.text
    assert at.button(key="dyn.gd-sgd.train").disabled
    assert {t.get("name") for t in charts(at)["dyn.gd-sgd.chart"]["data"]} <= {"2/η"}  # nothing trained yet
    gate.set()
    names = rerun_until_trained(at)
    assert {"GD (full batch)", "SGD (batch 8)"} <= names
    assert job.done and job.progress == 1.0 and not at.get("progress")
    steps, sharpness, loss_steps, _ = job.result["SGD (batch 8)"]
    assert loss_steps[-1] == dynamics.GD_SGD_STEPS and len(steps) == len(sharpness) > 0
    assert not at.button(key="dyn.gd-sgd.train").disabled


def test_modular_task_gets_fourier_features(open_app) -> None:
    at = open_app(PAGE, task="modular", **{"task.M": "11", "model.hidden": "16"})
    at.session_state["netarium.live"].step(30)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    fig = charts(at)["dyn.fourier.chart"]
    assert {t.get("name") for t in fig["data"]} >= {"restricted loss", "excluded loss", "full loss"}
    assert any("key frequencies of the first layer now" in c.value and "of the hidden activations" in c.value for c in at.caption)


def test_xor_clusters_task_gets_the_neuron_view(open_app) -> None:
    at = open_app(PAGE, task="xor-clusters", **{"task.d": "200", "model.hidden": "20", "model.activation": "relu"})
    at.session_state["netarium.live"].step(3)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    fig = charts(at)["dyn.xor-neurons.chart"]
    assert [f["name"] for f in fig["frames"]][-1] == "3"
    assert any("flipped subset" in c.value for c in at.caption)


def test_weight_norm_is_drawn_and_a_far_edge_does_not_flatten_the_curves(open_app) -> None:
    at = open_app(PAGE, **{"optimizer": "adam", "optimizer.lr": "0.001"})  # 2/η = 2000, far above the sharpness
    live = at.session_state["netarium.live"]
    tracker = at.session_state["netarium.curvature"]
    live.step(400)
    wait_for(lambda: tracker.snapshot().steps[-1:] == [400])
    at.run()
    figs = charts(at)
    names = {t.get("name") for t in figs["dyn.weight-norm.chart"]["data"]}
    assert names == {"weight norm", "grad norm"}
    layout = figs["dyn.sharpness.chart"]["layout"]
    assert layout["yaxis"]["range"][1] < 2000 and any("far above" in a["text"] for a in layout["annotations"])


def test_curves_show_the_training_loss_before_the_first_evaluation(open_app) -> None:
    at = open_app(PAGE, **{"eval_every": "500"})
    live = at.session_state["netarium.live"]
    live.step(30)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    curves = charts(at)["dyn.curves.chart"]
    (trace,) = curves["data"]
    assert trace["name"] == "train loss" and trace["x"] == [30] and trace["y"][0] > 0
