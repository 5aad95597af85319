"""The Hypernetwork view on the Playground: with model hypernetwork on a task family it draws the target net's
boundary at the gamma its slider picks and |theta(gamma)| over training (from the run's history) and across
gamma; other models and tasks are not offered it, and the other pages draw or decline without an error."""

from __future__ import annotations

import json

HYPER = {"task": "rotated-2d", "task.n_samples": "400", "model": "hypernetwork", "model.mip": "false"}


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_playground_draws_the_boundary_at_the_chosen_gamma_and_the_norms_over_training(open_app) -> None:
    at = open_app("pages/playground.py", **HYPER)
    live = at.session_state["netarium.live"]
    assert live.run.model.__class__.__name__ == "Hypernetwork" and not live.run.model.mip
    live.step(60)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    assert {"pg.hypernetwork.boundary", "pg.hypernetwork.norms", "pg.boundary.chart"} <= set(figs)
    (slider,) = [s for s in at.slider if s.key == "pg.hypernetwork.gamma"]
    assert slider.value == 0.5  # the task's view_gamma
    norms = figs["pg.hypernetwork.norms"]["data"]
    over_training = [t for t in norms if t["name"].startswith("γ = ")]
    assert [t["name"] for t in over_training] == ["γ = 0", "γ = 0.5", "γ = 1"]
    assert len(over_training[0]["x"]) >= 1 and over_training[0]["x"][-1] <= 60  # recorded at the run's evaluations
    profile = norms[3]["y"]  # |theta(gamma)| across gamma now: the plain hypernet's grows from gamma = 0
    assert len(profile) == 41 and profile[-1] > profile[0]
    caption = next(c.value for c in at.caption if "training examples with γ within" in c.value)
    assert "γ = 0.50" in caption and "plain" in caption
    before = figs["pg.hypernetwork.boundary"]["data"][0]["z"]
    slider.set_value(0.0).run()
    assert not at.exception and not at.error
    after = charts(at)["pg.hypernetwork.boundary"]["data"][0]["z"]
    assert after != before  # the boundary moved with gamma
    assert any("γ = 0.00" in c.value for c in at.caption)


def test_other_models_and_tasks_get_no_hypernetwork_view(open_app) -> None:
    at = open_app("pages/playground.py", task="rotated-2d", model="mlp")
    assert not at.exception and "pg.hypernetwork.boundary" not in charts(at)
    at = open_app("pages/playground.py", task="spiral", model="hypernetwork")  # gamma would be x1: no task family
    assert not at.exception and "pg.hypernetwork.boundary" not in charts(at)


def test_every_page_draws_or_declines_for_a_hypernetwork(open_app) -> None:
    for page in ["pages/side_by_side.py", "pages/diagram.py", "pages/geometry.py", "pages/dynamics.py", "pages/residual.py",
                 "pages/sparsity.py"]:
        at = open_app(page, **HYPER)
        assert not at.exception, (page, at.exception)
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])


def test_a_task_the_hypernetwork_cannot_read_is_said_in_one_line(open_app) -> None:
    for query in ({"task": "reber", "model": "hypernetwork"}, {**HYPER, "model.gammas": "3"}):
        at = open_app("pages/playground.py", **query)
        assert not at.exception, (query, at.exception)
        shown = [e.value for e in (*at.error, *at.warning)] + [t.value for t in at.toast]
        assert any("hypernetwork reads" in v for v in shown), (query, shown)
