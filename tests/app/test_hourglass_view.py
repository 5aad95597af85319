"""The Hourglass widths view on the Playground and the Residual stream page, with a live hourglass MLP;
the residual views work on it unchanged, and other models are not offered the view."""

from __future__ import annotations

import json

HOURGLASS = {"model": "hourglass", "model.wide": "16", "model.bottleneck": "4", "model.blocks": "2"}


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_playground_shows_the_hourglass_widths_over_training(open_app) -> None:
    at = open_app("pages/playground.py", task="spiral", **HOURGLASS)
    live = at.session_state["netarium.live"]
    at.run()
    live.step(20)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    key = next(k for k in figs if k.endswith("hourglass-widths.chart"))
    data = figs[key]["data"]
    bars = data[0]
    assert list(bars["x"]) == ["in", "lift (frozen)", "block1 waist", "block1 out", "block2 waist", "block2 out", "out"]
    assert bars["y"] == [2, 16, 4, 16, 4, 16, 1]  # the Playground's loss reads one output
    lines = [t for t in data[1:] if t.get("type") == "scatter"]
    assert [t["name"] for t in lines] == ["block1", "block2"] and len(lines[0]["x"]) == 2  # steps 0 and 20
    # 2 blocks of (16*4 + 4) + (4*16 + 16) = 296, readout 16 + 1; the lift 2*16 frozen
    assert figs[key]["layout"]["title"]["text"] == "313 trainable parameters, 32 frozen"
    assert any(k.endswith("hourglass-widths.spectra") for k in figs)
    assert any("frozen: a fixed random map" in c.value for c in at.caption)


def test_residual_page_runs_every_residual_view_on_the_hourglass(open_app) -> None:
    at = open_app("pages/residual.py", task="spiral", **HOURGLASS)
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    assert {"res.contributions.chart", "res.skip-effect.chart", "res.importance.chart", "res.logit-lens.chart"} <= set(figs)
    assert any(k.endswith("hourglass-widths.chart") for k in figs)
    table = at.dataframe[0].value
    assert list(table["after"]) == ["embed", "block1", "block2"]


def test_other_models_are_not_offered_the_view(open_app) -> None:
    at = open_app("pages/playground.py", task="spiral", model="residual-mlp")
    assert not at.exception
    assert not any(k.endswith("hourglass-widths.chart") for k in charts(at))


def test_geometry_dynamics_and_diagram_pages_draw_the_hourglass(open_app) -> None:
    for page in ("pages/geometry.py", "pages/dynamics.py"):
        at = open_app(page, task="spiral", **HOURGLASS)
        assert not at.exception and not at.error, (page, [e.value for e in at.error])
        assert charts(at), page
    at = open_app("pages/diagram.py", task="spiral", **HOURGLASS)
    assert not at.exception and not at.error
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "❄ frozen" in dot and 'style="dashed,filled"' in dot
