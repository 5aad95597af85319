"""The Dynamics page: live curvature against 2/η, the Hessian spectrum, the weight norm, Fourier
features of a modular net, XOR-cluster neurons, and GD vs SGD on demand."""

from __future__ import annotations

import json
import time

PAGE = "pages/dynamics.py"


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


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
    names = {t.get("name") for t in charts(at)["dyn.gd-sgd.chart"]["data"]}
    assert {"GD (full batch)", "SGD (batch 16)", "2/η"} <= names


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
