"""The operator-learning views on the Playground: with model mgno on elliptic-1d they draw true against predicted
solutions with the error along x, and each V-cycle level's part; the curves get a relative L2 panel; views that
need a 2-D task decline in one line; an MLP on the same task gets the solutions view but not the levels; every
other page draws or declines."""

from __future__ import annotations

import plotly.io

PAGE = "pages/playground.py"
LIVE = "netarium.live"
MGNO = {"task": "elliptic-1d", "model": "mgno", "model.channels": "4", "model.layers": "2", "model.levels": "3",
        "task.n_samples": "100", "batch_size": "16", "eval_every": "5"}


def chart(at, key: str):
    return next((e for e in at.get("plotly_chart") if e.key == key), None)


def figure(at, key: str):
    return plotly.io.from_json(chart(at, key).proto.spec)


def test_mgno_views_draw_solutions_levels_and_a_relative_l2_curve(open_app) -> None:
    at = open_app(PAGE, **MGNO)
    live = at.session_state[LIVE]
    assert live.run.task.name == "elliptic-1d" and live.run.model.__class__.__name__ == "MgNO"
    live.step(20)
    at.run()
    assert not at.exception and not [e.value for e in at.error], [e.value for e in at.error]
    sol = figure(at, "pg.grid-solutions.chart")
    names = [t.name for t in sol.data]
    assert names[:2] == ["problem 1 true"] + [n for n in names if n.startswith("problem 1 predicted")][:1]
    assert len([n for n in names if n.endswith("true")]) == 4 and "mean |u_pred - u|" in names
    assert len(sol.data[0].x) == 63 and all(v >= 0 for v in sol.data[-2].y)
    levels = figure(at, "pg.mgno-levels.chart")
    layer_lines = [t for t in levels.data if t.legendgroup == "layers"]
    assert [t.name for t in layer_lines] == ["layer1", "layer2"]
    assert list(layer_lines[0].x) == ["level 1 (63 pts)", "level 2 (31 pts)", "level 3 (15 pts)"]
    assert len([t for t in levels.data if t.legendgroup == "levels"]) == 3
    curves = figure(at, "pg.curves.chart")
    assert {"train rel. L2", "test rel. L2"} <= {t.name for t in curves.data}
    assert any("relative L2" in (ax.title.text or "") for ax in [curves.layout.yaxis, curves.layout.yaxis2, curves.layout.yaxis3])
    assert any("Relative L2 error |u_pred - u| / |u|" in c.value for c in at.caption)
    # the 2-D views say they do not apply, in one line
    assert any("Decision boundary: needs a 2-D task" in c.value for c in at.caption), [c.value for c in at.caption]


def test_an_mlp_on_the_grid_task_gets_solutions_but_no_levels(open_app) -> None:
    at = open_app(PAGE, task="elliptic-1d", model="mlp")
    assert not at.exception and not [e.value for e in at.error]
    assert chart(at, "pg.grid-solutions.chart") is not None and chart(at, "pg.mgno-levels.chart") is None
    at = open_app(PAGE)  # the circle: neither
    assert chart(at, "pg.grid-solutions.chart") is None and chart(at, "pg.mgno-levels.chart") is None


def test_mgno_on_a_2d_task_is_refused_in_one_sentence(open_app) -> None:
    at = open_app(PAGE, model="mgno")
    assert not at.exception
    text = " ".join(e.value for e in [*at.error, *at.warning, *at.info])
    assert "1-D grid" in text, text


PAGES = ["pages/side_by_side.py", "pages/diagram.py", "pages/geometry.py", "pages/residual.py", "pages/dynamics.py",
         "pages/sparsity.py"]


def test_every_page_draws_or_declines_for_mgno(open_app) -> None:
    for page in PAGES:
        at = open_app(page, **MGNO)
        assert not at.exception, (page, at.exception)
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])
    at = open_app("pages/diagram.py", **MGNO)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "layer 1 · level 2 (31 points)" in dot and "R↓" in dot and "P↑" in dot
