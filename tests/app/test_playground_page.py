"""The Playground page inside the app (app.py's navigation and shared sidebar): its views and
controls render, the +/- buttons resize the network, the transport drives the session's run, and
sidebar edits apply live (learning rate) or re-initialise (data)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netarium.training.live import LiveRun

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGE = "pages/playground.py"
LIVE = "netarium.live"
TRANSPORT = ["transport.play", "transport.step", "transport.reset", "transport.restart", "transport.regenerate"]
CHARTS = ["pg.network.chart", "pg.confusion.chart", "pg.boundary.chart", "pg.curves.chart"]


@pytest.fixture
def open_app(open_app):
    """The shared fixture (tests/app/conftest.py), on this page by default."""
    return lambda page=PAGE, **query: open_app(page, **query)


def live_of(at: AppTest) -> LiveRun:
    return at.session_state[LIVE]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def status(at: AppTest) -> str:
    """The sidebar's status line ('step 1 · epoch 1.0 · 300 steps/s · paused')."""
    (line,) = [c.value for c in at.sidebar.caption if c.value.startswith("step ")]
    return line


def chart_keys(at: AppTest) -> list[str]:
    return [e.key for e in at.get("plotly_chart")]


def wait_for_step(live: LiveRun, predicate: Callable[[int], bool], timeout: float = 20.0) -> int:
    """Poll the worker's latest snapshot until its step satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    while not predicate(step := live.worker.latest().step):
        assert time.monotonic() < deadline, f"the worker's step stayed at {step} for {timeout} s"
        time.sleep(0.02)
    return step


def test_playground_renders_its_views_and_controls(open_app) -> None:
    at = open_app()
    keys = {b.key for b in at.button}
    assert set(TRANSPORT) <= keys
    assert {"pg.layers.plus", "pg.layers.minus", "pg.width0.plus", "pg.width0.minus", "pg.width1.plus", "pg.width1.minus"} <= keys
    assert "pg.width2.plus" not in keys  # the default network has two hidden layers
    assert [t.key for t in at.toggle if t.key.startswith("pg.")] == ["pg.boundary.test", "pg.boundary.disc", "pg.curves.logx"]
    assert at.slider(key="pg.curves.smooth").value == 0.0
    assert chart_keys(at) == CHARTS
    assert "**2 hidden layers**" in [m.value for m in at.markdown]
    assert captions(at)[:3] == ["4 neurons", "2 neurons", "as of step 0"]  # TensorFlow Playground's 4-2 default
    assert status(at).startswith("step 0 ·") and status(at).endswith("· ready")
    assert at.sidebar.button(key="transport.play").label == ":material/play_arrow:"


def test_layer_buttons_resize_the_network(open_app) -> None:
    at = open_app()
    live = live_of(at)
    assert live.config.model.hidden == [4, 2] and live.generation == 0

    at.button(key="pg.layers.plus").click().run()
    assert not at.exception, at.exception
    assert live_of(at) is live  # the same session run, re-initialised
    assert live.config.model.hidden == [4, 2, 2] and live.generation == 1
    assert live.run.config.model.hidden == [4, 2, 2]
    assert "**3 hidden layers**" in [m.value for m in at.markdown]
    assert at.button(key="pg.width2.plus")  # one more pair of +/- for the new layer

    at.button(key="pg.width0.plus").click().run()
    at.button(key="pg.width1.minus").click().run()
    at.button(key="pg.width2.plus").click().run()
    assert live.config.model.hidden == [5, 1, 3]
    assert captions(at)[:3] == ["5 neurons", "1 neurons", "3 neurons"]

    at.button(key="pg.layers.minus").click().run()
    assert not at.exception, at.exception
    assert live.config.model.hidden == [5, 1] and live.generation == 5
    assert at.query_params["model.hidden"] == "5,1"  # the URL follows


def test_step_trains_one_epoch_and_the_rerun_shows_it(open_app) -> None:
    """TensorFlow Playground's Step: one epoch, 250 training points in batches of 10 = 25 steps."""
    at = open_app()
    live = live_of(at)
    assert "one epoch (25 steps of 10 examples)" in at.button(key="transport.step").help
    at.button(key="transport.step").click().run()
    assert not at.exception, at.exception
    assert wait_for_step(live, lambda s: s >= 25) == 25
    # Step waits for the worker, so the rerun it causes already shows the new step (a paused page
    # does not refresh by itself afterwards).
    assert status(at).startswith("step 25 · epoch 1.0 ·") and status(at).endswith("· paused"), status(at)
    m = live.worker.latest().metrics  # TFP's readout over the curves: epoch, test and training loss
    assert f"as of step 25 · epoch 1 · test loss {m['test_loss']:.3f} · training loss {m['train_loss']:.3f}" in captions(at)
    at.button(key="transport.step").click().run()
    assert wait_for_step(live, lambda s: s >= 50) == 50
    assert status(at).startswith("step 50 · epoch 2.0 ·")


def test_play_then_pause(open_app) -> None:
    at = open_app()
    live = live_of(at)
    at.button(key="transport.play").click().run()
    assert live.playing
    assert at.sidebar.button(key="transport.pause").label == ":material/pause:"
    first = wait_for_step(live, lambda s: s > 0)
    wait_for_step(live, lambda s: s > first)
    at.button(key="transport.pause").click().run()
    assert not at.exception, at.exception
    assert not live.playing
    paused_at = live.worker.latest().step
    assert status(at).startswith(f"step {paused_at:,} ·") and status(at).endswith("· paused"), status(at)
    time.sleep(0.3)
    assert live.worker.latest().step == paused_at
    assert at.sidebar.button(key="transport.play")


def test_reset_restart_and_regenerate(open_app) -> None:
    """Reset: same data, new weights (next seed, data seed pinned), paused; restart: the same run again;
    regenerate: new data (next data seed), same weights. Each says what it did."""
    at = open_app()
    live = live_of(at)
    at.button(key="transport.step").click().run()
    wait_for_step(live, lambda s: s >= 1)
    at.button(key="transport.reset").click().run()
    assert live.generation == 1 and live.worker.latest().step == 0 and not live.playing
    assert (live.config.seed, live.config.data_seed) == (1, 0)
    assert any(t.value.startswith("Reset: new initial weights (seed 1)") for t in at.toast)
    at.button(key="transport.restart").click().run()
    assert live.generation == 2 and (live.config.seed, live.config.data_seed) == (1, 0)
    at.button(key="transport.regenerate").click().run()
    assert not at.exception, at.exception
    assert live.generation == 3 and (live.config.seed, live.config.data_seed) == (1, 1)
    assert any(t.value.startswith("Regenerated: new data (data seed 1)") for t in at.toast)
    assert at.number_input(key="sidebar.run.seed").value == 1  # the sidebar follows
    assert at.query_params["seed"] == "1" and at.query_params["data_seed"] == "1"


def test_sidebar_learning_rate_applies_live(open_app) -> None:
    at = open_app()
    live = live_of(at)
    run, generation = live.run, live.generation
    lr = at.selectbox(key="sidebar.optimizer.sgd.lr")
    assert lr.value == 0.03 and lr.label == "Learning rate"
    lr.set_value(0.1).run()
    assert not at.exception, at.exception
    assert live_of(at) is live and live.run is run and live.generation == generation  # no re-initialisation
    assert live.config.optimizer.lr == 0.1
    deadline = time.monotonic() + 10
    while run.lr != 0.1:  # the worker swaps it in between two steps
        assert time.monotonic() < deadline, f"the optimizer's lr stayed {run.lr}"
        time.sleep(0.02)
    assert any(t.value.startswith("Applied live at step 0: optimizer.lr") for t in at.toast)
    assert at.query_params["optimizer.lr"] == "0.1"


def test_sidebar_noise_reinitialises(open_app) -> None:
    at = open_app()
    live = live_of(at)
    run = live.run
    at.slider(key="sidebar.task.circle.noise").set_value(30.0).run()  # percent, as the Playground
    assert not at.exception, at.exception
    assert live.generation == 1 and live.run is not run
    assert live.config.task.noise == 0.3 and live.run.config.task.noise == 0.3
    assert live.worker.latest().step == 0
    assert any("re-initialised" in t.value and "data were drawn again" in t.value for t in at.toast)
    assert at.query_params["task.noise"] == "0.3"
    assert not at.error


def test_url_config_reaches_the_page(open_app) -> None:
    at = open_app(**{"task": "circle", "task.noise": "0.25", "model.hidden": "4,2", "seed": "3"})
    live = live_of(at)
    assert (live.config.task.name, live.config.task.noise, live.config.model.hidden, live.config.seed) == ("circle", 0.25, [4, 2], 3)
    assert captions(at)[:2] == ["4 neurons", "2 neurons"]
    assert at.slider(key="sidebar.task.circle.noise").value == 25.0
    assert at.text_input(key="sidebar.model.mlp.hidden").value == "4,2"


def test_a_failing_view_shows_an_error_line_not_a_traceback(open_app, monkeypatch) -> None:
    import dataclasses

    from netarium.ui.views import VIEWS

    def broken(ctx) -> None:
        raise RuntimeError("boom in the curves")

    monkeypatch.setitem(VIEWS._items, "curves", dataclasses.replace(VIEWS.get("curves"), draw=broken))
    at = open_app()
    assert not at.exception
    errors = [e.value for e in at.error]  # one plain sentence; the exception went to the server log
    assert "The Training curves view could not be drawn for this run because of an internal error" in " ".join(errors)
    assert not any("boom" in e or "RuntimeError" in e for e in errors)
    assert any(k == "pg.boundary.chart" for k in (c.key for c in at.get("plotly_chart")))  # the rest still drawn


def test_a_diverged_run_says_so_in_place_of_the_heavy_views(open_app) -> None:
    at = open_app(**{"task": "reg-plane", "optimizer": "sgd", "optimizer.lr": "10", "model.hidden": "64,64",
                     "model.activation": "relu"})
    live = at.session_state[LIVE]
    live.step(20)
    assert live.worker.latest().state == "diverged"
    at.run()
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Network graph: the run diverged") for w in warnings)
    assert any(w.startswith("Decision boundary: the run diverged") for w in warnings)
    assert not at.exception
    (curves,) = [c for c in at.get("plotly_chart") if c.key.endswith("curves.chart")]
    spec = json.loads(curves.proto.spec)  # one call of 20 steps: no loss was read before it blew up, and it says so
    assert [a["text"] for a in spec["layout"]["annotations"]] == [
        f"diverged at step {live.run.step_count}, before any finite value was recorded"]
    live.restart()
    live.step(1)  # a finite loss read, then the blow-up: the curve keeps that point, marked where it diverged
    live.step(30)
    at.run()
    (curves,) = [c for c in at.get("plotly_chart") if c.key.endswith("curves.chart")]
    spec = json.loads(curves.proto.spec)
    assert [sh["x0"] for sh in spec["layout"]["shapes"]] == [live.run.step_count]
    assert [(t["name"], t["x"]) for t in spec["data"]] == [("train loss", [1])]
    assert all(math.isfinite(y) for t in spec["data"] for y in t["y"])


def click_graph(at: AppTest, customdata: list[float]) -> AppTest:
    """A click on a marker of the network graph, as the browser reports it (the chart's selection state)."""
    (key,) = [k for k in chart_keys(at) if k.startswith("pg.network.chart")]
    at.session_state[key] = {"selection": {"points": [{"customdata": customdata}], "point_indices": [], "box": [], "lasso": []}}
    return at.run()


def test_clicking_an_input_feeds_that_feature_in_or_out(open_app) -> None:
    at = open_app(**{"task": "circle", "model.hidden": "4,2"})
    live = live_of(at)
    click_graph(at, [3, 0, 2, 0, 0])  # row 2 of the input column: x1^2, not used yet
    assert not at.exception, at.exception
    assert live.config.task.features == ["x1", "x2", "x1^2"] and live.generation == 1
    assert live.run.model.layers[0].linear.weight.shape == (4, 3)
    click_graph(at, [3, 0, 0, 1, 0])  # x1: used, so it goes
    assert live.config.task.features == ["x2", "x1^2"] and live.generation == 2
    assert at.query_params["task.features"] == "x2,x1^2"
    click_graph(at, [3, 0, 1, 1, 0])
    click_graph(at, [3, 0, 2, 1, 0])  # the last one stays: a network needs an input
    assert live.config.task.features == ["x1^2"]
    assert any("At least one feature" in w.value for w in at.warning)


def test_clicking_a_link_or_a_bias_edits_it_between_steps(open_app) -> None:
    at = open_app(**{"task": "circle", "model.hidden": "4,2"})
    live = live_of(at)
    weight = live.run.model.layers[0].linear.weight
    click_graph(at, [1, 0, 1, 2, float(weight.detach()[2, 1])])  # x2 -> layer1 #3
    box = at.number_input(key="pg.network.edit.weight.0.1.2")
    assert box.label == "Weight x2 → layer1 #3" and box.value == pytest.approx(float(weight.detach()[2, 1]), abs=1e-6)
    box.set_value(1.25).run()
    assert not at.exception, at.exception
    assert float(weight.detach()[2, 1]) == 1.25
    assert any("Weight x2 → layer1 #3 set to 1.25 at step 0" in t.value for t in at.toast)
    click_graph(at, [2, 3, 0, 0, 0.0])  # the output's bias: linear map 2 (the readout)
    bias = at.number_input(key="pg.network.edit.bias.2.0.0")
    assert bias.label == "Bias of output"  # TFP's default: one tanh output
    bias.set_value(-0.5).run()
    assert float(live.run.model.readout.bias.detach()[0]) == -0.5
    at.button(key="pg.network.edit.done").click().run()
    assert not [n for n in at.number_input if n.key.startswith("pg.network.edit")]


def test_a_selected_neuron_shows_its_map_on_the_boundary_view(open_app) -> None:
    at = open_app(**{"task": "circle", "model.hidden": "4,2"})
    at.session_state["netarium.playground.node"] = (1, 1)  # what a click on layer1 #2 in the graph stores
    at.run()
    assert not at.exception, at.exception
    assert "Showing layer 1, neuron 2 — click it again in the network graph to return to the output." in captions(at)
    boundary = next(e for e in at.get("plotly_chart") if e.key == "pg.boundary.chart")
    assert "layer 1, neuron 2 = %{z:.3f}" in boundary.proto.spec  # the node's map is the heatmap
    at.button(key="pg.boundary.back").click().run()
    assert "netarium.playground.node" not in at.session_state
    assert not any(c.startswith("Showing") for c in captions(at))


def test_the_graphs_thumbnails_follow_the_discretize_toggle(open_app) -> None:
    """TFP discretizes every node's map with the output's: the sheet of thumbnails then holds two colours only."""
    import base64
    import io
    import json

    import numpy as np
    from PIL import Image

    def sheet_colours(at: AppTest) -> int:
        (chart,) = [e for e in at.get("plotly_chart") if e.key.startswith("pg.network.chart")]
        (image,) = [i for i in json.loads(chart.proto.spec)["layout"]["images"] if i.get("name") == "thumbnails"]
        rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(image["source"].split(",", 1)[1]))).convert("RGBA"))
        return len({tuple(p) for p in rgba[rgba[..., 3] == 255][:, :3]})

    at = open_app(**{"task": "circle", "model.hidden": "4,2"})
    assert sheet_colours(at) > 10  # tanh maps: many shades
    at.toggle(key="pg.boundary.disc").set_value(True).run()
    assert not at.exception, at.exception
    assert sheet_colours(at) == 2  # TFP's orange and blue
    at.toggle(key="pg.boundary.disc").set_value(False).run()
    assert sheet_colours(at) > 10
