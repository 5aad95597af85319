"""The Diagram page inside the app: the live model's circuit diagram, its code and parameter counts."""

from __future__ import annotations

from torch import nn

from netarium.models import parameter_count

PAGE = "pages/diagram.py"


def test_diagram_page_draws_the_live_model(open_app) -> None:
    at = open_app(PAGE, **{"model.hidden": "5,3"})
    live = at.session_state["netarium.live"]
    (chart,) = at.get("graphviz_chart")
    dot = chart.proto.spec
    n_linear = sum(isinstance(m, nn.Linear) for m in live.run.model.modules())
    assert n_linear == 3 and dot.count("<B>L</B>") == n_linear  # one bold learned box per linear map
    assert "h 5" in dot and "h 3" in dot and "m 2" in dot
    assert at.subheader[0].value == f"mlp: {parameter_count(live.run.model):,} parameters"
    rows = at.table[0].value
    assert int(rows["parameters"].sum()) == parameter_count(live.run.model)
    assert "Linear(in_features=2, out_features=5" in at.code[0].value


def test_residual_model_collapses_its_repeated_blocks(open_app) -> None:
    at = open_app(PAGE, **{"model": "residual-mlp", "model.blocks": "3"})
    dot = at.get("graphviz_chart")[0].proto.spec
    assert dot.count("cluster") >= 3  # one shaded residual region per block
    at.toggle(key="dg.collapsed").set_value(True).run()
    collapsed = at.get("graphviz_chart")[0].proto.spec
    assert "×3" in collapsed and collapsed.count("cluster") < dot.count("cluster")
