"""KAN edge functions: each layer of the live KAN as a grid of its learned 1-D edge functions, updating
while it trains, and one edge enlarged (chosen in a selectbox)."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.kan import edge_curves
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz import kan as kviz


def draw_kan_edges(ctx: ViewContext) -> None:
    """Per layer, phi_ij over the layer's input range (line strength = L1 norm), and a chosen edge enlarged."""

    def compute():
        _, model = ctx.live.model_copy()
        return edge_curves(model)

    layers = heavy_result(ctx, "kan-edges", compute)
    names = [f"layer {c.index}: {c.shape[1]} → {c.shape[0]}" + (" (readout)" if c.index == len(layers) else "") for c in layers]
    pick = st.selectbox("layer", range(len(layers)), format_func=names.__getitem__, key=f"{ctx.key}.layer")
    curves = layers[pick if pick is not None and pick < len(layers) else 0]
    draw_chart(kviz.layer_grid_figure(curves), ctx, "grid")
    n_out, n_in = curves.shape
    edges = [(i, j) for i in range(n_out) for j in range(n_in)]
    edge = st.selectbox("enlarge edge", edges, format_func=lambda e: f"in {e[1] + 1} → out {e[0] + 1} (L1 {curves.l1[e]:.3f})",
                        key=f"{ctx.key}.edge.{curves.index}")
    if edge is not None:
        draw_chart(kviz.edge_figure(curves, *edge), ctx, "edge")


KAN_EDGES = VIEWS.register(View("kan-edges", "KAN edge functions", frozenset({"kan"}), draw_kan_edges, heavy=True,
                                description="Every edge's learned 1-D function per layer, line strength by its L1 norm; "
                                            "pick an edge to enlarge it",
                                places=(Place("playground", 50, quiet=True),)))
