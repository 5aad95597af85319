"""The KAN edge functions view on the Playground page: with model kan it draws each layer's grid of edge
functions and an enlarged edge, the network graph draws the KAN's links; with an MLP it is not offered."""

from __future__ import annotations

PAGE = "pages/playground.py"
LIVE = "netarium.live"


def chart_keys(at) -> list[str]:
    return [e.key for e in at.get("plotly_chart")]


def test_kan_view_draws_the_edge_grid_and_an_enlarged_edge(open_app) -> None:
    at = open_app(PAGE, model="kan", **{"model.hidden": "3"})
    assert not at.exception
    assert at.session_state[LIVE].run.model.__class__.__name__ == "KAN"
    keys = chart_keys(at)
    assert "pg.kan-edges.grid" in keys and "pg.kan-edges.edge" in keys, keys
    assert "pg.network.chart" in keys  # the network graph draws the KAN's L1 links
    (layer,) = [s for s in at.selectbox if s.key == "pg.kan-edges.layer"]
    assert layer.options == ["layer 1: 2 → 3", "layer 2: 3 → 1 (readout)"]  # the Playground: one logit for two classes
    edge = next(s for s in at.selectbox if s.key == "pg.kan-edges.edge.1")
    assert len(edge.options) == 2 * 3  # every edge of layer 1 can be enlarged
    layer.set_value(1).run()
    assert not at.exception
    edge = next(s for s in at.selectbox if s.key == "pg.kan-edges.edge.2")
    assert len(edge.options) == 3 * 1
    assert not [e for e in at.error], [e.value for e in at.error]


def test_an_mlp_gets_no_kan_view(open_app) -> None:
    at = open_app(PAGE)
    assert "pg.kan-edges.grid" not in chart_keys(at)


PAGES = ["pages/side_by_side.py", "pages/diagram.py", "pages/geometry.py", "pages/residual.py", "pages/dynamics.py",
         "pages/sparsity.py"]


def test_every_page_draws_or_declines_for_a_kan(open_app) -> None:
    for page in PAGES:
        at = open_app(page, model="kan", **{"model.hidden": "3"})
        assert not at.exception, (page, at.exception)
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])
