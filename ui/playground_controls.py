"""TensorFlow Playground's +/- controls for hidden layers and neurons per layer (MLP only)."""

from __future__ import annotations

import streamlit as st

from netarium.schema import SchemaError
from netarium.training.live import LiveRun
from netarium.ui.session import flash

MAX_LAYERS, MAX_WIDTH = 8, 1024


def resized(model: dict, hidden: list[int]) -> dict:
    """The model section with new hidden widths; a per-layer activation list follows the depth."""
    acts = list(model.get("activation", ["tanh"]))
    if len(acts) > 1:
        acts = (acts + [acts[-1]] * len(hidden))[: max(len(hidden), 1)]
    return {**model, "hidden": hidden, "activation": acts}


def _set_hidden(live: LiveRun, hidden: list[int]) -> None:
    try:
        model = resized(live.config.model, hidden)
        change = live.apply(live.config.with_overrides({"model.hidden": model["hidden"], "model.activation": model["activation"]}))
        if change.message:
            flash(change.message)
    except SchemaError as e:
        flash(f"Not applied: {e}", "error")


def layer_controls(live: LiveRun) -> None:
    """Buttons that add/remove hidden layers and neurons, as in TensorFlow Playground."""
    if live.config.model["name"] != "mlp" or "model.hidden" in st.session_state.get("netarium.hidden", set()):
        return
    hidden = list(live.config.model["hidden"])
    head, *layers = st.columns([3] + [2] * max(len(hidden), 1), vertical_alignment="center")
    with head:
        a, b, c = st.columns([1, 1, 2], gap="small", vertical_alignment="center")
        a.button("−", key="pg.layers.minus", on_click=_set_hidden, args=(live, hidden[:-1]), disabled=not hidden,
                 help="Remove the last hidden layer")
        b.button("+", key="pg.layers.plus", on_click=_set_hidden, args=(live, hidden + [hidden[-1] if hidden else 4]),
                 disabled=len(hidden) >= MAX_LAYERS, help="Add a hidden layer")
        c.markdown(f"**{len(hidden)} hidden layer{'s' if len(hidden) != 1 else ''}**")
    for i, width in enumerate(hidden):
        with layers[i]:
            fewer = hidden[:i] + [width - 1] + hidden[i + 1 :]
            more = hidden[:i] + [width + 1] + hidden[i + 1 :]
            a, b = st.columns(2, gap="small")
            a.button("−", key=f"pg.width{i}.minus", on_click=_set_hidden, args=(live, fewer), disabled=width <= 1,
                     help=f"One neuron fewer in layer {i + 1}")
            b.button("+", key=f"pg.width{i}.plus", on_click=_set_hidden, args=(live, more), disabled=width >= MAX_WIDTH,
                     help=f"One neuron more in layer {i + 1}")
            st.caption(f"{width} neurons")
