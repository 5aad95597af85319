"""The Playground's views: training curves, decision boundary, network graph, confusion matrix."""

from __future__ import annotations

from typing import Any

import streamlit as st

from netarium.analysis.playground import (
    DENSITY,
    confusion_matrix,
    decision_surface,
    feature_maps,
    network_weights,
    neuron_maps,
    node_map,
)
from netarium.models.taps import hidden_taps
from netarium.schema import SchemaError, field_choices
from netarium.training.live import LiveRun
from netarium.ui.lesson import toggle_state, view_toggle
from netarium.ui.session import apply_config, flash, hidden_controls
from netarium.ui.text import plain_markdown
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, heavy_result
from netarium.viz.boundary import boundary_figure
from netarium.viz.confusion import confusion_figure
from netarium.viz.curves import curves_figure
from netarium.viz.network import KIND_BIAS, KIND_INPUT, KIND_LINK, KIND_NODE, network_figure, node_name

BOUNDARY_ID = "boundary"
THUMB = 20  # grid of the node thumbnails (the Playground: DENSITY / 10 = 10, blurred by the browser)


def draw_curves(ctx: ViewContext) -> None:
    """Train/test loss and accuracy (R² for regression); cheap, so redrawn every tick."""
    c1, c2 = st.columns([1, 2])
    log_x = c1.toggle("log x", key=f"{ctx.key}.logx", value=ctx.options.get("log_x", False))
    smoothing = c2.slider("smoothing", 0.0, 0.99, 0.0, 0.01, key=f"{ctx.key}.smooth",
                          help="Exponential moving average of the curves (TensorBoard-style)")
    series = {m: ctx.snap.history.series(m) for m in ctx.snap.history.metrics() if m.startswith(("train_", "test_"))}
    diverged_at = ctx.snap.step if ctx.snap.state == "diverged" else None  # the curves stop there, marked
    st.plotly_chart(curves_figure(series, log_x=log_x, smoothing=smoothing, diverged_at=diverged_at), key=f"{ctx.key}.chart",
                    width="stretch", config={"displayModeBar": False})


SELECTED = "netarium.playground.node"  # (column, neuron) clicked in the network graph; the boundary view shows its map
EDITING = "netarium.playground.edit"  # ("weight", layer, i, j) or ("bias", layer, i, 0): the link or bias being edited


def selected_node() -> tuple[int, int] | None:
    """The node whose map the boundary view shows instead of the output (shared by the two views)."""
    sel = st.session_state.get(SELECTED)
    return (int(sel[0]), int(sel[1])) if sel else None


def boundary_key(ctx: ViewContext, toggle: str) -> str:
    """The widget key of the boundary view's toggle ("test", "disc") in the same slot group as ctx's view."""
    return f"{ctx.key.rsplit('.', 1)[0]}.{BOUNDARY_ID}.{toggle}"


def draw_boundary(ctx: ViewContext) -> None:
    """The decision boundary (or regression surface) with the training points, test points optional; a
    node selected in the network graph shows its own map instead, as hovering a node does in the Playground."""
    run = ctx.live.run
    task = run.task
    c1, c2 = st.columns(2)
    show_test = view_toggle(c1, "test data", boundary_key(ctx, "test"), "boundary.test")  # a lesson link may preset or hide them
    discretize = view_toggle(c2, "discretize", boundary_key(ctx, "disc"), "boundary.disc")

    def compute():
        _, model = ctx.live.model_copy()
        return decision_surface(model, task, resolution=DENSITY, loss_name=run.loss.name)

    surface = heavy_result(ctx, "surface", compute)
    background, name, node = None, "", selected_node()
    if node is not None:
        def compute_node():
            _, model = ctx.live.model_copy()
            return node_map(model, task, node[0], node[1], resolution=DENSITY, loss_name=run.loss.name)

        try:
            background = heavy_result(ctx, f"node{node[0]}.{node[1]}", compute_node)
        except ValueError:  # the network changed under the selection
            st.session_state.pop(SELECTED, None)
        else:
            name = _node_title(node[0], node[1], len(hidden_taps(run.model)) + 2, task.input_names)
            a, b = st.columns([5, 2], vertical_alignment="center")
            a.caption(plain_markdown(f"Showing {name} — click it again in the network graph to return to the output."))
            if b.button("Output", key=f"{ctx.key}.back", icon=":material/undo:", help="Show the network's output again"):
                st.session_state.pop(SELECTED, None)
                st.rerun()  # the network view's frame goes too
    fig = boundary_figure(surface, task.meta["points_train"], task.y_train.cpu(), task.meta["points_test"], task.y_test.cpu(),
                          kind=task.kind, n_classes=task.n_classes, discretize=discretize, show_test=show_test,
                          background=background, background_name=name)
    st.plotly_chart(fig, key=f"{ctx.key}.chart", width="stretch", config={"displayModeBar": False})


def offered_features(live: LiveRun) -> list[str] | None:
    """Every input feature the task's schema offers (its `features` list of choices), or None."""
    info = type(live.config.task).model_fields.get("features")
    return field_choices(info) if info is not None else None


def draw_network(ctx: ViewContext) -> None:
    """TensorFlow Playground's graph: links |w| wide and coloured by w, biases as squares, each neuron's map
    as its face. Click a neuron to show its map on the decision boundary, a link or a bias to edit it, an
    input to feed that feature in or not."""
    run = ctx.live.run
    task = run.task
    offered = offered_features(ctx.live) if task.is_2d else None

    def compute():
        _, model = ctx.live.model_copy()
        maps = neuron_maps(model, task, resolution=THUMB, loss_name=run.loss.name) if task.is_2d else None
        unused = [f for f in offered or [] if f not in task.input_names]
        extra = dict(zip(unused, feature_maps(unused, maps.box, THUMB), strict=True)) if maps and unused else None
        return network_weights(model), maps, extra

    weights, maps, extra = heavy_result(ctx, "network", compute)
    selected = selected_node()
    fig = network_figure(weights.layer_sizes, weights.weights, maps.columns() if maps else None,
                         input_names=task.input_names, selected=selected, biases=weights.biases, masks=weights.masks,
                         all_inputs=offered if offered and set(task.input_names) <= set(offered) else None,
                         input_maps=extra, discretize=toggle_state(boundary_key(ctx, "disc"), "boundary.disc"),
                         link_curves=weights.curves or None)
    # Each click is handled once, then the chart gets a fresh key: plotly's selection would otherwise flip
    # between the clicked point and nothing as the figure is redrawn, and a second click on the same
    # marker (to deselect a node, to toggle an input back) would not register as a new selection.
    resets = st.session_state.get(f"{ctx.key}.resets", 0)
    key = f"{ctx.key}.chart" + (f".{resets}" if resets else "")
    event = st.plotly_chart(fig, key=key, width="stretch", on_select="rerun", selection_mode="points",
                            config={"displayModeBar": False})
    clicked = _clicked(event)
    if clicked is not None:
        st.session_state[f"{ctx.key}.resets"] = resets + 1
        _on_click(ctx, clicked, selected, offered)
        st.rerun()  # the boundary view follows the selection; the graph gets its fresh key
    _editor(ctx, weights)


def _clicked(event: Any) -> tuple[float, ...] | None:
    """The customdata [kind, col, a, b, value] of the clicked marker, or None (no point selected)."""
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else getattr(
        getattr(event, "selection", None), "points", [])
    for p in points:
        data = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(data, dict):  # typed arrays come back as {"0": kind, "1": col, ...}
            data = [data.get(str(i)) for i in range(len(data))]
        if data and len(data) == 5 and all(isinstance(v, int | float) for v in data):
            return tuple(float(v) for v in data)
    return None


def _on_click(ctx: ViewContext, clicked: tuple[float, ...], selected: tuple[int, int] | None,
              offered: list[str] | None) -> None:
    """Act on a click in the graph: select a neuron (again: deselect it), edit a link or a bias, toggle an input."""
    kind, col, a, b = (int(v) for v in clicked[:4])
    if kind == KIND_NODE:
        if selected == (col, a):
            st.session_state.pop(SELECTED, None)
        else:
            st.session_state[SELECTED] = (col, a)
    elif kind in (KIND_LINK, KIND_BIAS):
        editing = ("weight", col, a, b) if kind == KIND_LINK else ("bias", col - 1, a, 0)
        st.session_state[EDITING] = editing
        st.session_state.pop(_editor_key(ctx, editing), None)  # the editor starts from the value now
    elif kind == KIND_INPUT:
        _toggle_feature(ctx.live, offered, a)


def _toggle_feature(live: LiveRun, offered: list[str] | None, row: int) -> None:
    """Feed the clicked feature in, or stop feeding it (the Playground's input click): a re-initialisation."""
    if not offered or not 0 <= row < len(offered):
        flash("This task's inputs are fixed: they cannot be switched by clicking.", "warning")
        return
    if "task.features" in hidden_controls():
        flash("This lesson fixes the input features.", "warning")
        return
    name = offered[row]
    current = list(live.config.task.features)
    new = [f for f in offered if (f in current) != (f == name)]
    if not new:
        flash("At least one feature must feed the network.", "warning")
        return
    try:
        config = live.config.with_overrides({"task.features": new})
    except SchemaError as e:
        flash(f"Not applied: {e}", "error")
        return
    apply_config(config)


def _editor(ctx: ViewContext, weights: Any) -> None:
    """A number input for the clicked link's weight or bias; a new value applies between two steps and
    training goes on from it (LiveRun.set_weight / set_bias)."""
    editing = st.session_state.get(EDITING)
    if not editing:
        return
    what, layer, i, j = editing[0], int(editing[1]), int(editing[2]), int(editing[3])
    try:
        current = float(weights.weights[layer][j, i] if what == "weight" else weights.biases[layer][i])
    except (IndexError, TypeError):  # the network changed since the click
        st.session_state.pop(EDITING, None)
        return
    n_cols = len(weights.layer_sizes)
    names = ctx.live.run.task.input_names
    dst = node_name(layer + 1, j if what == "weight" else i, n_cols, weights.layer_sizes[layer + 1], names)
    label = plain_markdown(f"Weight {node_name(layer, i, n_cols, weights.layer_sizes[layer], names)} → {dst}" if what == "weight"
                           else f"Bias of {dst}")  # input names may be a CSV file's header
    key = _editor_key(ctx, editing)

    def apply() -> None:
        value = st.session_state[key]
        try:
            if what == "weight":
                ctx.live.set_weight(layer, i, j, value)
            else:
                ctx.live.set_bias(layer, i, value)
        except ValueError as e:
            flash(f"Not set: {e}", "error")
            return
        flash(f"{label} set to {value:g} at step {ctx.live.run.step_count:,}; training goes on from it.", "live")

    a, b = st.columns([3, 1], vertical_alignment="bottom")
    a.number_input(label, value=current, step=0.1, format="%.3f", key=key, on_change=apply,
                   help="The Playground's weight editor: the new value applies between two steps.")
    b.button("Done", key=f"{ctx.key}.edit.done", on_click=lambda: st.session_state.pop(EDITING, None))


def _editor_key(ctx: ViewContext, editing: tuple[Any, ...]) -> str:
    what, layer, i, j = editing
    return f"{ctx.key}.edit.{what}.{layer}.{i}.{j}"


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
BOUNDARY = VIEWS.register(View(BOUNDARY_ID, "Decision boundary", frozenset({"2d"}), draw_boundary, heavy=True,
                               description="The model's output over the input plane, with the data",
                               places=(Place("playground", 30, "right"),)))
NETWORK = VIEWS.register(View("network", "Network graph", frozenset({"links"}), draw_network, heavy=True,
                              description="Neurons, their maps over the input plane, and the weights",
                              places=(Place("playground", 10, "left"),)))
CONFUSION = VIEWS.register(View("confusion", "Confusion matrix", frozenset({"classification"}), draw_confusion, heavy=True,
                                description="Test-set predictions against true classes",
                                places=(Place("playground", 20, "left"),)))
