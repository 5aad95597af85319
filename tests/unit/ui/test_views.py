"""The view registry: views declare their pages, order, columns and needs; a page's sections and what
a live run lacks come from what its model and task declare."""

from types import SimpleNamespace

import pytest

from netarium.models import ModelSpec, build_model
from netarium.models.masks import add_masks
from netarium.tasks import make_task
from netarium.ui.views import VIEWS, Place, View, unmet_need
from netarium.ui.views.base import ViewRegistry, offered


def live_of(task: str, task_params: dict, model: str, model_params: dict) -> SimpleNamespace:
    """What the registry reads of a LiveRun: its run's task and model."""
    t = make_task(task, task_params, seed=0)
    m = build_model(model, model_params, ModelSpec.for_task(t))
    return SimpleNamespace(run=SimpleNamespace(task=t, model=m))


CIRCLE_MLP = ("circle", {"n_samples": 100}, "mlp", {"hidden": [4]})


def ids(sections) -> list[str]:
    return [s.view.id for s in sections]


def test_pages_get_their_sections_in_order_with_their_columns() -> None:
    assert ids(VIEWS.for_page("playground")) == [
        "network", "confusion", "boundary", "curves", "grid-solutions", "finalmlp-gates", "finalmlp-streams", "hourglass-widths",
        "hypernetwork", "kan-edges", "mgno-levels", "quadratic-neurons", "noprop-chain", "state-trajectories", "recurrent-gates",
        "convex-optimum"]
    assert [s.place.column for s in VIEWS.for_page("playground")] == ["left", "left", "right", "right"] + ["full"] * 12
    assert ids(VIEWS.for_page("geometry")) == ["embedding", "alignment", "cka", "rdm", "unit-match", "warped-grid"]
    assert ids(VIEWS.for_page("residual")) == [
        "contributions", "skip-effect", "importance", "logit-lens", "attention", "hourglass-widths"]
    assert ids(VIEWS.for_page("dynamics")) == ["curves", "sharpness", "spectrum", "weight-norm", "fourier", "xor-neurons",
                                               "gd-sgd"]
    assert ids(VIEWS.for_page("sparsity")) == ["sparsity-summary", "curves", "connectivity", "recurrent-graph", "rewiring",
                                               "mask-heatmaps", "degrees", "pruning-curve"]
    assert ids(VIEWS.for_page("diagram")) == ["diagram"]
    assert VIEWS.for_page("runs") == []


def test_a_live_run_gets_only_the_sections_it_meets() -> None:
    live = live_of(*CIRCLE_MLP)
    assert ids(VIEWS.for_page("geometry", live)) == ["embedding", "alignment", "cka", "rdm", "unit-match", "warped-grid"]
    assert ids(VIEWS.for_page("dynamics", live)) == ["curves", "sharpness", "spectrum", "weight-norm", "gd-sgd"]
    assert ids(VIEWS.for_page("sparsity", live)) == ["pruning-curve"]  # the curves there need masks too
    add_masks(live.run.model)  # a live prune: masks at runtime
    assert ids(VIEWS.for_page("sparsity", live)) == ["sparsity-summary", "curves", "connectivity", "rewiring",
                                                     "mask-heatmaps", "degrees", "pruning-curve"]
    modular = live_of("modular", {"M": 7}, "mlp", {"hidden": [8]})
    assert ids(VIEWS.for_page("dynamics", modular)) == ["curves", "sharpness", "spectrum", "weight-norm", "fourier", "gd-sgd"]
    assert "warped-grid" not in ids(VIEWS.for_page("geometry", modular))


def test_residual_models_get_the_residual_page_and_only_the_transformer_attention() -> None:
    res = live_of("circle", {"n_samples": 100}, "residual-mlp", {"blocks": 2, "width": 8, "hidden": 8})
    assert ids(VIEWS.for_page("residual", res)) == ["contributions", "skip-effect", "importance", "logit-lens"]
    tf = live_of("modular", {"M": 7, "encoding": "tokens"}, "transformer", {"layers": 1, "d_model": 8, "heads": 2})
    assert ids(VIEWS.for_page("residual", tf))[-1] == "attention"
    rnn = live_of("modular", {"M": 7, "encoding": "tokens"}, "rnn", {"hidden": 6})
    assert "recurrent-graph" in ids(VIEWS.for_page("sparsity", rnn)) and "connectivity" not in ids(VIEWS.for_page("sparsity", rnn))


@pytest.mark.parametrize(("needs", "words"), [
    (frozenset(), ""),
    (frozenset({"2d", "classification"}), ""),
    (frozenset({"regression"}), "a regression task"),
    (frozenset({"residual"}), "a model with residual blocks"),
    (frozenset({"modular"}), "the modular arithmetic task"),
    (frozenset({"mlp", "masks"}), "a sparse model with masks"),  # the first missing one, by name
    (frozenset({"xor-clusters", "attention"}), "a model with attention (the transformer)"),
])
def test_unmet_need_says_what_is_missing_in_words(needs, words) -> None:
    assert unmet_need(live_of(*CIRCLE_MLP), needs) == words


def test_offered_joins_the_task_and_the_model() -> None:
    assert {"2d", "classification", "mlp"} <= offered(live_of(*CIRCLE_MLP))


def test_a_new_view_shows_up_on_its_page_and_side_by_side_without_touching_either() -> None:
    registry = ViewRegistry("view")
    for view in VIEWS:
        registry.register(view)
    registry.register(View("probe", "A probe", frozenset({"mlp"}), lambda ctx: None,
                           places=(Place("geometry", 35, "full"), Place("dynamics", 5))))
    live = live_of(*CIRCLE_MLP)
    assert ids(registry.for_page("geometry", live)) == ["embedding", "alignment", "cka", "probe", "rdm", "unit-match",
                                                        "warped-grid"]
    assert ids(registry.for_page("dynamics", live))[0] == "probe"
    assert [v.id for v in registry.applicable(live)][-1] == "probe"  # side by side offers it, registration order


def test_side_by_side_order_is_registration_order() -> None:
    assert VIEWS.ids()[:5] == ["curves", "boundary", "network", "confusion", "diagram"]
    assert VIEWS.ids().index("embedding") < VIEWS.ids().index("contributions") < VIEWS.ids().index("sharpness") \
        < VIEWS.ids().index("sparsity-summary")


def test_the_playground_shows_a_model_familys_own_view_only_for_that_family():
    always = ["network", "confusion", "boundary", "curves"]
    assert ids(VIEWS.shown("playground", live_of(*CIRCLE_MLP))) == always
    kan = live_of("circle", {"n_samples": 100}, "kan", {"hidden": [3]})
    assert ids(VIEWS.shown("playground", kan)) == [*always, "kan-edges"]
    hyper = live_of("rotated-2d", {"n_samples": 100}, "hypernetwork", {})
    assert ids(VIEWS.shown("playground", hyper)) == [*always, "hypernetwork"]
    assert unmet_need(live_of("spiral", {"n_samples": 100}, "hypernetwork", {}), VIEWS.get("hypernetwork").needs) == \
        "a task family with a parameter gamma per example (rotated-2d, wave-2d)"
    final = live_of("digits", {}, "finalmlp", {})  # not 2-D: the boundary stays and says what it needs
    assert ids(VIEWS.shown("playground", final)) == [*always, "finalmlp-gates", "finalmlp-streams"]
    noprop = live_of("circle", {"n_samples": 100}, "noprop", {"blocks": 2})
    assert ids(VIEWS.shown("playground", noprop)) == [*always, "noprop-chain"]
    assert unmet_need(final, VIEWS.get("boundary").needs) and unmet_need(final, VIEWS.get("network").needs)
    mg = live_of("elliptic-1d", {"n_samples": 40}, "mgno", {"channels": 2, "layers": 1, "levels": 2})
    assert ids(VIEWS.shown("playground", mg)) == [*always, "grid-solutions", "mgno-levels"]
    assert unmet_need(mg, VIEWS.get("boundary").needs) == "a 2-D task"
    grid_mlp = live_of("elliptic-1d", {"n_samples": 40}, "mlp", {"hidden": [4]})
    assert ids(VIEWS.shown("playground", grid_mlp)) == [*always, "grid-solutions"]
    lstm = live_of("adding", {"L": 8, "n_train": 40, "n_test": 20}, "rnn", {"cell": "lstm", "hidden": 4})
    assert ids(VIEWS.shown("playground", lstm)) == [*always, "state-trajectories", "recurrent-gates"]
    conv = live_of("activity", {"L": 16, "n_train": 24, "n_test": 12}, "temporal-inception", {"filters": 2})
    assert ids(VIEWS.shown("playground", conv)) == [*always, "state-trajectories"]  # no gates: no LSTM or GRU
