"""The Playground's views: training curves, decision boundary, network graph, confusion matrix."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.playground import confusion_matrix, decision_surface, network_weights, neuron_maps
from netarium.ui.lesson import view_toggle
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, heavy_result
from netarium.viz.boundary import boundary_figure
from netarium.viz.confusion import confusion_figure
from netarium.viz.curves import curves_figure
from netarium.viz.network import network_figure, neuron_map_figure


def draw_curves(ctx: ViewContext) -> None:
    """Train/test loss and accuracy (R² for regression); cheap, so redrawn every tick."""
    c1, c2 = st.columns([1, 2])
    log_x = c1.toggle("log x", key=f"{ctx.key}.logx", value=ctx.options.get("log_x", False))
    smoothing = c2.slider("smoothing", 0.0, 0.99, 0.0, 0.01, key=f"{ctx.key}.smooth",
                          help="Exponential moving average of the curves (TensorBoard-style)")
    series = {m: ctx.snap.history.series(m) for m in ctx.snap.history.metrics() if m.startswith(("train_", "test_"))}
    st.plotly_chart(curves_figure(series, log_x=log_x, smoothing=smoothing), key=f"{ctx.key}.chart",
                    width="stretch", config={"displayModeBar": False})


def draw_boundary(ctx: ViewContext) -> None:
    """The decision boundary (or regression surface) with the training points, test points optional."""
    run = ctx.live.run
    task = run.task
    c1, c2 = st.columns(2)
    show_test = view_toggle(c1, "test data", f"{ctx.key}.test", "boundary.test")  # a lesson link may preset or hide them
    discretize = view_toggle(c2, "discretize", f"{ctx.key}.disc", "boundary.disc")

    def compute():
        _, model = ctx.live.model_copy()
        return decision_surface(model, task, resolution=60, loss_name=run.loss.name)

    surface = heavy_result(ctx, "surface", compute)
    fig = boundary_figure(surface, task.meta["points_train"], task.y_train.cpu(), task.meta["points_test"], task.y_test.cpu(),
                          kind=task.kind, n_classes=task.n_classes, discretize=discretize, show_test=show_test)
    st.plotly_chart(fig, key=f"{ctx.key}.chart", width="stretch", config={"displayModeBar": False})


def draw_network(ctx: ViewContext) -> None:
    """TensorFlow Playground's graph: links |w| wide, blue + / orange -, each neuron's map as its face.
    Click a neuron to enlarge its map."""
    run = ctx.live.run
    task = run.task

    def compute():
        _, model = ctx.live.model_copy()
        maps = neuron_maps(model, task, resolution=24, loss_name=run.loss.name) if task.is_2d else None
        return network_weights(model), maps

    weights, maps = heavy_result(ctx, "network", compute)
    selected = st.session_state.get(f"{ctx.key}.selected")
    fig = network_figure(weights.layer_sizes, weights.weights, maps.columns() if maps else None,
                         input_names=task.input_names, selected=selected, biases=weights.biases)
    event = st.plotly_chart(fig, key=f"{ctx.key}.chart", width="stretch", on_select="rerun",
                            selection_mode="points", config={"displayModeBar": False})
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else getattr(
        getattr(event, "selection", None), "points", [])
    for p in points:
        data = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(data, dict):  # typed arrays come back as {"0": col, "1": neuron}
            data = [data.get(str(i)) for i in range(len(data))]
        if data and len(data) == 2 and all(isinstance(v, int | float) for v in data):  # a node, not a link
            st.session_state[f"{ctx.key}.selected"] = selected = (int(data[0]), int(data[1]))
    if maps and selected:
        col, i = selected
        columns = maps.columns()
        if col < len(columns) and i < len(columns[col]):
            st.plotly_chart(neuron_map_figure(columns[col][i], maps.box, title=_node_title(col, i, len(columns), task.input_names)),
                            key=f"{ctx.key}.neuron", width="stretch", config={"displayModeBar": False})


def _node_title(col: int, i: int, n_cols: int, input_names: list[str]) -> str:
    if col == 0:
        return f"input {input_names[i] if i < len(input_names) else i}"
    if col == n_cols - 1:
        return f"output {i}"
    return f"layer {col}, neuron {i + 1}"


def draw_confusion(ctx: ViewContext) -> None:
    """Confusion matrix on the test set (rows: true class, columns: predicted)."""
    run = ctx.live.run
    task = run.task

    def compute():
        _, model = ctx.live.model_copy()
        return confusion_matrix(model, task.X_test, task.y_test, task.n_classes, run.loss.name)

    matrix = heavy_result(ctx, "confusion", compute)
    names = task.meta.get("class_names")
    st.plotly_chart(confusion_figure(matrix, names), key=f"{ctx.key}.chart", width="stretch",
                    config={"displayModeBar": False})


CURVES = VIEWS.register(View("curves", "Training curves", frozenset(), draw_curves,
                             description="Train and test loss and accuracy over steps",
                             places=(Place("playground", 40, "right", stamp=True), Place("dynamics", 10),
                                     Place("sparsity", 20, "right", needs=frozenset({"masks"})))))
BOUNDARY = VIEWS.register(View("boundary", "Decision boundary", frozenset({"2d"}), draw_boundary, heavy=True,
                               description="The model's output over the input plane, with the data",
                               places=(Place("playground", 30, "right"),)))
NETWORK = VIEWS.register(View("network", "Network graph", frozenset({"mlp"}), draw_network, heavy=True,
                              description="Neurons, their maps over the input plane, and the weights",
                              places=(Place("playground", 10, "left"),)))
CONFUSION = VIEWS.register(View("confusion", "Confusion matrix", frozenset({"classification"}), draw_confusion, heavy=True,
                                description="Test-set predictions against true classes",
                                places=(Place("playground", 20, "left"),)))
