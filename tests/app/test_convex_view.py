"""Solve for the global optimum on the Playground: shown for a one-hidden-layer ReLU MLP on a 2-class 2-D task
(and only then); its button solves the program on the run's data and shows the optimum's J next to the live
net's, the neurons used, both boundaries, and says that a cross-entropy run is not a like-for-like race."""

from __future__ import annotations

import json

PAGE = "pages/playground.py"


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_a_relu_mlp_gets_the_button_and_the_solve(open_app) -> None:
    at = open_app(PAGE, task="xor", model="mlp", **{"model.hidden": "6", "model.activation": "relu", "task.n_samples": "80"})
    at.session_state["netarium.live"].step(30)
    at.run()
    button = next(b for b in at.button if b.label == "Solve for the global optimum")
    assert any("default λ = 0.001" in c.value for c in at.caption)
    button.click()
    at.run(timeout=60)
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = {m.label: m.value for m in at.metric}
    assert "optimum J*" in labels and any(k.startswith("live net's J (step") for k in labels)
    assert labels["patterns"] == "1,561"  # 40 training points: every pattern, 40 * 39 + 1
    figs = charts(at)
    assert {"pg.convex-optimum.optimum", "pg.convex-optimum.live"} <= set(figs)
    assert any("not a like-for-like race" in c.value for c in at.caption)


def test_a_tanh_mlp_does_not_show_it(open_app) -> None:
    at = open_app(PAGE, task="xor", model="mlp", **{"model.hidden": "6", "model.activation": "tanh"})
    assert not at.exception
    assert not any(b.label == "Solve for the global optimum" for b in at.button)
    at2 = open_app(PAGE, task="xor", model="mlp", **{"model.hidden": "6,4", "model.activation": "relu"})
    assert not any(b.label == "Solve for the global optimum" for b in at2.button)
