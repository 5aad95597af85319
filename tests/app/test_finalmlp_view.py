"""The FinalMLP views on the Playground page: with model finalmlp on a 2-D task, on ctr and on digits they draw
the gates per field and the fusion terms; with an MLP they are not offered; every other page draws or declines."""

from __future__ import annotations

import plotly.io

PAGE = "pages/playground.py"
LIVE = "netarium.live"


def chart(at, key: str):
    return next((e for e in at.get("plotly_chart") if e.key == key), None)


def bars(at, key: str) -> list:
    """The bar traces of a drawn plotly chart (typed arrays decoded by plotly)."""
    fig = plotly.io.from_json(chart(at, key).proto.spec)
    return [t for t in fig.data if t.type == "bar"]


def test_finalmlp_views_draw_gates_per_field_and_the_fusion_terms(open_app) -> None:
    at = open_app(PAGE, model="finalmlp")
    assert not at.exception
    assert at.session_state[LIVE].run.model.__class__.__name__ == "FinalMLP"
    gates = bars(at, "pg.finalmlp-gates.chart")
    assert [t.name for t in gates] == ["stream 1", "stream 2"]
    assert all(list(t.x) == ["x1", "x2"] for t in gates)  # one bar per field of the circle task
    assert all(0 < v < 2 for t in gates for v in t.y)
    terms = bars(at, "pg.finalmlp-streams.chart")[0]
    assert list(terms.x) == ["stream 1", "stream 2", "bilinear"] and all(v >= 0 for v in terms.y)
    assert not [e for e in at.error], [e.value for e in at.error]
    assert any("Stream 1's gate reads fields x1" in c.value for c in at.caption)


def test_finalmlp_on_ctr_and_digits(open_app) -> None:
    at = open_app(PAGE, task="ctr", model="finalmlp")
    run = at.session_state[LIVE].run
    assert run.task.name == "ctr" and run.model.__class__.__name__ == "FinalMLP"
    gates = bars(at, "pg.finalmlp-gates.chart")
    assert list(gates[0].x) == [f"field{f}" for f in range(1, 7)]
    bayes = f"the Bayes AUC (of the true click probabilities) is {run.task.meta['bayes_auc']:.4f}"
    assert any(bayes in c.value for c in at.caption), [c.value for c in at.caption]
    assert not [e for e in at.error], [e.value for e in at.error]
    at = open_app(PAGE, task="digits", model="finalmlp")
    assert at.session_state[LIVE].run.task.name == "digits"
    assert len(bars(at, "pg.finalmlp-gates.chart")[0]["x"]) == 64
    assert chart(at, "pg.finalmlp-streams.chart") is not None
    assert not [e for e in at.error], [e.value for e in at.error]


def test_an_mlp_gets_no_finalmlp_view(open_app) -> None:
    at = open_app(PAGE)
    assert chart(at, "pg.finalmlp-gates.chart") is None and chart(at, "pg.finalmlp-streams.chart") is None


PAGES = ["pages/side_by_side.py", "pages/diagram.py", "pages/geometry.py", "pages/residual.py", "pages/dynamics.py",
         "pages/sparsity.py"]


def test_every_page_draws_or_declines_for_a_finalmlp(open_app) -> None:
    for page in PAGES:
        at = open_app(page, model="finalmlp")
        assert not at.exception, (page, at.exception)
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])
