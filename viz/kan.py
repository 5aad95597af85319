"""A KAN's learned edge functions: one layer as a grid of small plots (row = output node, column = input
node; input range on x, phi_ij(x) on y; line width and opacity by the edge's L1 norm), and one edge enlarged."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.analysis.kan import EdgeCurves

MAX_CELLS = 144  # a layer with more edges shows its first rows and columns up to this many plots
LINE = "#1f77b4"
MIN_WIDTH, MAX_WIDTH = 0.6, 3.5


def edge_strengths(curves: EdgeCurves) -> np.ndarray:
    """Each edge's L1 norm over the layer's largest, in [0, 1] (all zeros for an all-zero layer)."""
    top = float(curves.l1.max()) if curves.l1.size else 0.0
    return curves.l1 / top if top > 0 else np.zeros_like(curves.l1)


def shown_grid(curves: EdgeCurves, max_cells: int = MAX_CELLS) -> tuple[int, int]:
    """(rows, cols) of edges drawn: all of them, or the first ones so that rows * cols <= max_cells."""
    n_out, n_in = curves.shape
    cols = min(n_in, max(1, int(np.sqrt(max_cells))))
    rows = min(n_out, max(1, max_cells // cols))
    return rows, cols


def layer_grid_figure(curves: EdgeCurves, title: str = "", max_cells: int = MAX_CELLS) -> go.Figure:
    """One subplot per edge j -> i of the layer, phi_ij over [-r, r]; width and opacity follow its L1 norm."""
    rows, cols = shown_grid(curves, max_cells)
    strength = edge_strengths(curves)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, horizontal_spacing=0.02, vertical_spacing=0.03,
                        column_titles=[f"in {j + 1}" for j in range(cols)], row_titles=[f"out {i + 1}" for i in range(rows)])
    for i in range(rows):
        for j in range(cols):
            s = float(strength[i, j])
            fig.add_trace(go.Scatter(
                x=curves.xs, y=curves.ys[:, i, j], mode="lines", showlegend=False,
                line={"color": LINE, "width": MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * s}, opacity=0.25 + 0.75 * s,
                hovertemplate=f"edge in {j + 1} → out {i + 1}<br>x %{{x:.2f}}<br>φ %{{y:.3f}}<br>L1 {curves.l1[i, j]:.3f}<extra></extra>",
            ), row=i + 1, col=j + 1)
    n_out, n_in = curves.shape
    more = f" (first {rows} × {cols} of {n_out} × {n_in} edges)" if (rows, cols) != (n_out, n_in) else ""
    fig.update_xaxes(showticklabels=False, zeroline=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, zeroline=True, zerolinecolor="#dddddd", showgrid=False)
    fig.update_layout(title=(title or f"Layer {curves.index}: {n_in} → {n_out}") + more, height=max(180, 70 * rows + 60),
                      margin={"l": 10, "r": 30, "t": 60, "b": 10}, plot_bgcolor="white")
    return fig


def edge_figure(curves: EdgeCurves, out_index: int, in_index: int) -> go.Figure:
    """One edge's function phi_ij(x) over the layer's input range, enlarged, with its L1 norm."""
    n_out, n_in = curves.shape
    if not (0 <= out_index < n_out and 0 <= in_index < n_in):
        raise ValueError(f"edge ({in_index} → {out_index}) is outside layer {curves.index} ({n_in} → {n_out})")
    fig = go.Figure(go.Scatter(x=curves.xs, y=curves.ys[:, out_index, in_index], mode="lines", line={"color": LINE, "width": 2.5},
                               hovertemplate="x %{x:.3f}<br>φ %{y:.4f}<extra></extra>"))
    fig.update_layout(title=f"Layer {curves.index}, edge in {in_index + 1} → out {out_index + 1}: L1 {curves.l1[out_index, in_index]:.4f}",
                      xaxis_title=f"input (range ±{curves.input_range:g})", yaxis_title="φ(x)", height=300,
                      margin={"l": 50, "r": 10, "t": 50, "b": 40}, plot_bgcolor="white")
    fig.update_xaxes(showgrid=True, gridcolor="#eeeeee")
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee", zeroline=True, zerolinecolor="#bbbbbb")
    return fig
