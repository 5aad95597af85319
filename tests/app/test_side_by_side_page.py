"""The side-by-side page inside the app: 2-4 slots, each a selectbox of the views that apply to the
session's run; changing a slot changes which view is drawn there."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netarium.ui.views import VIEWS

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGE = "pages/side_by_side.py"
LIVE = "netarium.live"
ALL_VIEWS = ["curves", "boundary", "network", "confusion", "diagram", "embedding", "rdm", "cka", "alignment", "unit-match",
             "warped-grid", "sharpness", "spectrum", "weight-norm", "gd-sgd", "pruning-curve"]  # registration order; a 2-D classification MLP
DYNAMICS = ["sharpness", "spectrum", "weight-norm", "gd-sgd"]  # views that apply to any run


@pytest.fixture
def open_app(open_app):
    """The shared fixture (tests/app/conftest.py), on this page by default."""
    return lambda page=PAGE, **query: open_app(page, **query)


def slots(at: AppTest) -> list[str]:
    """The view id chosen in each slot selectbox, slot 1 first (they sit in two columns)."""
    n = sum(1 for s in at.selectbox if s.key.startswith("sbs.slot"))
    return [at.selectbox(key=f"sbs.slot{i}").value for i in range(n)]


def drawn(at: AppTest) -> list[str]:
    """The views drawn, as their bold titles over the slots."""
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**")]


def charts(at: AppTest) -> list[str]:
    return [e.key for e in at.get("plotly_chart")]


def test_two_slots_by_default_with_every_applicable_view(open_app) -> None:
    at = open_app()
    assert at.segmented_control(key="sbs.n").value == 2
    assert slots(at) == ["boundary", "network"]
    for i in range(2):
        box = at.selectbox(key=f"sbs.slot{i}")
        assert box.label == f"Slot {i + 1}"
        assert box.options == [VIEWS.get(v).title for v in ALL_VIEWS]  # a 2-D classification MLP: all of them
    assert drawn(at) == ["Decision boundary", "Network graph"]
    assert charts(at) == ["sbs.0.boundary.chart", "sbs.1.network.chart"]
    assert {t.key for t in at.toggle} >= {"sbs.0.boundary.test", "sbs.0.boundary.disc"}
    assert {"transport.play", "transport.step"} <= {b.key for b in at.sidebar.button}  # the shared sidebar is there


def test_changing_a_slot_changes_the_view_drawn(open_app) -> None:
    at = open_app()
    at.selectbox(key="sbs.slot0").set_value("confusion").run()
    assert not at.exception, at.exception
    assert slots(at) == ["confusion", "network"]
    assert drawn(at) == ["Confusion matrix", "Network graph"]
    assert charts(at) == ["sbs.0.confusion.chart", "sbs.1.network.chart"]
    assert "sbs.0.boundary.test" not in {t.key for t in at.toggle}  # the boundary's own toggles went with it

    at.selectbox(key="sbs.slot1").set_value("curves").run()
    assert not at.exception, at.exception
    assert drawn(at) == ["Confusion matrix", "Training curves"]
    assert charts(at) == ["sbs.0.confusion.chart", "sbs.1.curves.chart"]
    assert at.toggle(key="sbs.1.curves.logx").value is False


def test_four_slots_show_four_views(open_app) -> None:
    at = open_app()
    at.segmented_control(key="sbs.n").set_value(4).run()
    assert not at.exception, at.exception
    assert slots(at) == ["boundary", "network", "curves", "confusion"]
    assert drawn(at) == ["Decision boundary", "Network graph", "Training curves", "Confusion matrix"]
    assert charts(at) == ["sbs.0.boundary.chart", "sbs.1.network.chart", "sbs.2.curves.chart", "sbs.3.confusion.chart"]

    at.segmented_control(key="sbs.n").set_value(3).run()
    assert slots(at) == ["boundary", "network", "curves"] and len(charts(at)) == 3


def test_slots_offer_only_the_views_that_apply(open_app) -> None:
    at = open_app(task="reg-plane")  # regression: no confusion matrix
    assert at.session_state[LIVE].config.task.name == "reg-plane"
    titles = [VIEWS.get(v).title for v in ["curves", "boundary", "network", "diagram", *DYNAMICS, "pruning-curve"]]
    assert at.selectbox(key="sbs.slot0").options == titles
    at.segmented_control(key="sbs.n").set_value(4).run()
    assert not at.exception, at.exception
    assert slots(at) == ["boundary", "network", "curves", "diagram"]  # no confusion matrix offered
    assert "sbs.2.curves.chart" in charts(at) and len(at.get("graphviz_chart")) == 1


@pytest.mark.parametrize("view_id", ["embedding", "rdm", "cka", "alignment", "warped-grid", "diagram"])
def test_every_heavy_view_draws_in_a_slot(open_app, view_id) -> None:
    at = open_app()
    at.session_state["netarium.live"].step(20)
    at.selectbox(key="sbs.slot0").set_value(view_id).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    if view_id == "diagram":
        assert at.get("graphviz_chart")
    else:
        assert f"sbs.0.{view_id}.chart" in charts(at)
