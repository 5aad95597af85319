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
    at.toggle(key="dg.diagram.collapsed").set_value(True).run()
    collapsed = at.get("graphviz_chart")[0].proto.spec
    assert "×3" in collapsed and collapsed.count("cluster") < dot.count("cluster")


def test_overlay_is_live_and_switchable(open_app) -> None:
    at = open_app(PAGE, **{"model.hidden": "6", "model.activation": "relu"})
    live = at.session_state["netarium.live"]
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "as of step 0 on" in dot and "‖W‖" in dot and "dead units" in dot
    first = live.run.model.layers[0].linear.weight.detach().norm().item()
    assert f"{first:.3g}" in dot
    live.step(25)
    at.run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "as of step 25 on" in dot
    assert f"{live.run.model.layers[0].linear.weight.detach().norm().item():.3g}" in dot
    at.selectbox(key="dg.diagram.learned").set_value("grad_norm").run()
    at.selectbox(key="dg.diagram.elementwise").set_value("mean_activation").run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "‖∇W‖" in dot and "mean activation" in dot and "‖W‖" not in dot
    at.selectbox(key="dg.diagram.learned").set_value("none").run()
    at.selectbox(key="dg.diagram.elementwise").set_value("none").run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "labelloc=b" not in dot and "as of step" not in dot
    assert not at.exception
