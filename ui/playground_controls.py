"""TensorFlow Playground's +/- controls for hidden layers and neurons per layer (MLP only)."""

from __future__ import annotations

import streamlit as st

from netarium.schema import Params, SchemaError
from netarium.training.live import LiveRun
from netarium.ui.session import apply_config, flash, hidden_controls

MAX_LAYERS, MAX_WIDTH = 8, 1024


def resized(model: Params, hidden: list[int]) -> dict[str, list]:
    """Overrides giving the mlp new hidden widths; a per-layer activation list follows the depth."""
    acts = list(model.activation)
    if len(acts) > 1:
        acts = (acts + [acts[-1]] * len(hidden))[: max(len(hidden), 1)]
    return {"model.hidden": hidden, "model.activation": acts}


def _set_hidden(live: LiveRun, hidden: list[int]) -> None:
    try:
        new = live.config.with_overrides(resized(live.config.model, hidden))
    except SchemaError as e:
        flash(f"Not applied: {e}", "error")
        return
    apply_config(new)


def layer_controls(live: LiveRun) -> None:
    """Buttons that add/remove hidden layers and neurons, as in TensorFlow Playground."""
    if live.config.model.name != "mlp" or {"model.hidden", "pg.layers"} & hidden_controls():
        return
    hidden = list(live.config.model.hidden)
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
            st.caption(f"{width:,} neurons")
