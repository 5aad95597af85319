"""Sequence models' insides on the Playground: the states of test sequences over time on their principal
components (coloured by class or target), and an LSTM / GRU layer's gates at every step, recomputed from
its weights (torch's fused layers do not expose them)."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.sequences import recurrent_gates, state_trajectories
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz import sequences as sviz

TRAJECTORIES = 60  # test sequences drawn as trajectories
GATE_BATCH = 32  # test sequences the gates are recomputed on


def draw_trajectories(ctx: ViewContext) -> None:
    """PC1-PC2 of the states of the first test sequences, one line each from the first step to the last."""
    task = ctx.live.run.task

    def compute():
        _, model = ctx.live.model_copy()
        return state_trajectories(model, task.X_test, task.y_test, task.kind, task.meta.get("class_names"), TRAJECTORIES)

    tr = heavy_result(ctx, "trajectories", compute)
    draw_chart(sviz.trajectory_figure(tr), ctx)
    colour = ("its class" if tr.labels is not None else "its target" if tr.values is not None else "nothing (a sequence task)")
    st.caption(f"Each line is one test sequence's state (tap {tr.tap!r}) from step to step, projected on the two principal "
               f"components of all its steps' states; colour: {colour}. Sequences that the model tells apart end far apart.")


def draw_gates(ctx: ViewContext) -> None:
    """The chosen layer's gates for one test sequence (units x steps) and their means over time."""
    task = ctx.live.run.task

    def compute():
        _, model = ctx.live.model_copy()
        return recurrent_gates(model, task.X_test[:GATE_BATCH])

    traces = heavy_result(ctx, "gates", compute)
    pick = 0
    if len(traces) > 1:
        pick = st.selectbox("layer", range(len(traces)), format_func=lambda i: traces[i].name, key=f"{ctx.key}.layer") or 0
    trace = traces[min(pick, len(traces) - 1)]
    n = trace.shape[0]
    sample = st.number_input("test sequence", 0, n - 1, 0, key=f"{ctx.key}.sample")
    draw_chart(sviz.gates_figure(trace, int(sample)), ctx)
    label = ""
    if task.kind == "classification" and "class_names" in task.meta:
        label = f" (class {task.meta['class_names'][int(task.y_test[int(sample)])]})"
    elif task.kind == "regression":
        label = f" (target {float(task.y_test[int(sample)].reshape(-1)[0]):.3f})"
    if task.meta.get("channel_names") == ["value", "marker"]:  # the adding problem: where the values to add are
        marked = task.X_test[int(sample), :, 1].nonzero().flatten().tolist()
        label += f", marked at steps {' and '.join(map(str, marked))}"
    st.caption(f"Sequence {int(sample)}{label}. The gates are recomputed from the layer's weights and recorded inputs; "
               f"the recomputed states match the layer's own within {trace.error:.1e}.")


STATE_TRAJECTORIES = VIEWS.register(View(
    "state-trajectories", "State trajectories", frozenset({"states"}), draw_trajectories, heavy=True,
    description="Test sequences' states over time on their two principal components, coloured by class or target",
    places=(Place("playground", 52, quiet=True),),
))

RECURRENT_GATES = VIEWS.register(View(
    "recurrent-gates", "LSTM / GRU gates", frozenset({"recurrent-gates"}), draw_gates, heavy=True,
    description="An LSTM or GRU layer's gates for a test sequence at every step (units x time), and their means over time",
    places=(Place("playground", 53, quiet=True),),
))
