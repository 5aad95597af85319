"""The Quadratic neurons view on the Playground: a quadratic net on circle gets its heatmaps with zero
contours and the network graph; on digits the view says it needs a 2-D input; an MLP is told what it needs."""

from __future__ import annotations

import json

PAGE = "pages/playground.py"


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_quadratic_net_on_circle_gets_its_neurons_and_the_graph(open_app) -> None:
    at = open_app(PAGE, task="circle", model="quadratic", **{"model.hidden": "3"})
    at.session_state["netarium.live"].step(20)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    assert "pg.quadratic-neurons.chart" in figs and "pg.network.chart" in figs
    data = figs["pg.quadratic-neurons.chart"]["data"]
    assert sum(t["type"] == "heatmap" for t in data) == 6  # 3 neurons x (quadratic, linear part)
    titles = [a["text"] for a in figs["pg.quadratic-neurons.chart"]["layout"]["annotations"]]
    assert titles[:2] == [titles[0], "neuron 1: linear part"] and titles[0].startswith("neuron 1: quadratic (")
    assert any("conic" in c.value for c in at.caption)


def test_on_digits_the_view_says_it_needs_a_2d_input(open_app) -> None:
    at = open_app(PAGE, task="digits", model="quadratic", **{"model.hidden": "4"})
    assert not at.exception
    assert any("needs a 2-D input" in i.value for i in at.info)
    assert "pg.quadratic-neurons.chart" not in charts(at)


def test_an_mlp_does_not_list_the_quadratic_view(open_app) -> None:
    at = open_app(PAGE, task="circle", model="mlp")  # a model family's own view shows only for that family
    assert not at.exception
    assert not any("Quadratic neurons" in c.value for c in at.caption)
    figs = charts(at)
    assert "pg.network.chart" in figs and "pg.quadratic-neurons.chart" not in figs


def test_the_geometry_dynamics_and_residual_pages_work_or_decline_for_a_quadratic_net(open_app) -> None:
    at = open_app("pages/geometry.py", task="circle", model="quadratic", **{"model.hidden": "4,3"})
    at.session_state["netarium.live"].step(20)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.get("plotly_chart")  # the geometry views read the taps layer1.post, layer2.post
    for page in ("pages/dynamics.py", "pages/residual.py", "pages/sparsity.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.error])
