"""The Geometry page inside the app: every geometry view of the live run, and a second seed on demand."""

from __future__ import annotations

import base64
import json

import numpy as np

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
    figs = charts(at)
    assert "geo.cka.across" in figs and "geo.unit-match.chart" in figs
    assert any("seed 1, 40 steps" in c.value for c in at.caption)
    across = array(figs["geo.cka.across"]["data"][0]["z"])
    assert across.shape == (3, 3) and 0 <= across.min() and across.max() <= 1 + 1e-6


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
