"""The Convex page: pressing Solve on a small preset trains the runs and solves the program, then shows the
numbers (optimum, certified gap, patterns, neurons), the objective and gap figures and one boundary per run
beside the optimum's; asking for every pattern with too many points is a clear message."""

from __future__ import annotations

import json

PAGE = "pages/convex.py"


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def solve_button(at):
    return next(b for b in at.button if b.label == "Solve")


def test_solve_on_a_small_preset_shows_the_figures_and_numbers(open_app) -> None:
    at = open_app(PAGE)
    assert any("press **Solve**" in i.value for i in at.info)
    at.slider(key="cvx.n").set_value(20)
    at.slider(key="cvx.seeds").set_value(2)
    at.select_slider(key="cvx.steps").set_value(500)
    solve_button(at).click()
    at.run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = {m.label: m.value for m in at.metric}
    assert {"optimum J*", "certified gap", "patterns", "active patterns", "recovered neurons", "best run J"} <= set(labels)
    assert labels["patterns"] == "381"  # every pattern of 20 points: 20 * 19 + 1
    assert float(labels["optimum J*"]) <= float(labels["best run J"]) * (1 + 1e-6)
    figs = charts(at)
    assert {"cvx.objective", "cvx.gap"} | {f"cvx.boundary.{i}" for i in range(5)} <= set(figs)
    assert "cvx.boundary.5" not in figs  # the optimum, 2 Adam runs and 2 SGD runs
    names = {t.get("name") for t in figs["cvx.objective"]["data"]}
    assert {"ADMM (convex program)", "adam seed 0", "adam seed 1", "sgd seed 0", "sgd seed 1"} <= names
    assert figs["cvx.gap"]["layout"]["yaxis"]["type"] == "log"
    assert any("at or below" in m.value for m in at.markdown)

    # the robust section: on demand, one point per radius for each line, accuracies in [0, 1]
    assert "cvx.robust.figure" not in figs
    next(b for b in at.button if b.key == "cvx.robust.go").click()
    at.run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    robust = charts(at)["cvx.robust.figure"]
    lines = {t["name"]: t for t in robust["data"]}
    assert set(lines) == {"robust net under PGD (test)", "robust net, clean (test)", "robust net, certified (train)",
                          "standard net under PGD (test)", "standard net, clean (test)"}
    for t in lines.values():
        assert t["x"] == [0.0, 0.02, 0.05, 0.1] and all(0.0 <= v <= 1.0 for v in t["y"])
    # at eps = 0 nothing moves the points: PGD accuracy is the clean accuracy, for both nets
    assert lines["robust net under PGD (test)"]["y"][0] == lines["robust net, clean (test)"]["y"][0]
    assert any("robust solves reached their tolerance" in c.value for c in at.caption)


def test_every_pattern_with_too_many_points_is_a_clear_message(open_app) -> None:
    at = open_app(PAGE)
    at.slider(key="cvx.n").set_value(100)
    solve_button(at).click()
    at.run()
    assert not at.exception
    assert any("only for n ≤ 60" in e.value for e in at.error)
    assert "cvx.objective" not in charts(at)
