"""The Residual stream page: every residual view of a live transformer or residual MLP."""

from __future__ import annotations

import json

PAGE = "pages/residual.py"
SORT = {"task": "sort", "task.n_train": "600", "task.n_test": "200", "model": "transformer", "model.layers": "2",
        "model.d_model": "16", "model.heads": "2"}


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_transformer_gets_every_residual_view(open_app) -> None:
    at = open_app(PAGE, **SORT)
    live = at.session_state["netarium.live"]
    live.step(30)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    assert {"res.contributions.chart", "res.contributions.positions", "res.skip-effect.chart", "res.importance.chart",
            "res.logit-lens.chart", "res.attention.chart"} <= set(figs)
    names = {t.get("name") for t in figs["res.importance.chart"]["data"]}
    assert {"least important first", "most important first", "random order (mean ± sd)"} <= names
    table = at.dataframe[0].value
    assert list(table["after"]) == ["embed", "block1", "block2"]
    heads = [a["text"] for a in figs["res.attention.chart"]["layout"]["annotations"] if "head" in a["text"]]
    assert heads == ["block1 · head 1", "block1 · head 2", "block2 · head 1", "block2 · head 2"]


def test_residual_mlp_has_no_attention_views(open_app) -> None:
    at = open_app(PAGE, model="residual-mlp", **{"model.blocks": "3"})
    figs = charts(at)
    assert "res.contributions.chart" in figs and "res.attention.chart" not in figs
    assert "res.contributions.positions" not in figs  # one position: no per-position heatmap
    bars = {t.get("name") for t in figs["res.contributions.chart"]["data"]}
    assert "MLP |m|/|h+a|" in bars and "attention |a|/|h|" not in bars
    assert not at.exception


def test_a_model_without_blocks_is_told_what_the_page_needs(open_app) -> None:
    at = open_app(PAGE)
    assert any("need a model with residual blocks" in i.value for i in at.info)
