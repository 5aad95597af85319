"""Quadratic neurons over the input plane: per neuron, its quadratic pre-activation beside its linear
part, as heatmaps with the zero contour (the decision curve: a conic for a first-layer neuron, a line for
the linear part)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.analysis.quadratic import QuadraticResponses
from netarium.viz.boundary import DIVERGING
from netarium.viz.curves import empty_figure

MAX_NEURONS = 8  # rows drawn; the caption says when a layer has more
ROW_HEIGHT = 190


def _scaled(values: np.ndarray) -> np.ndarray:
    """Values over [-1, 1] by their largest magnitude (the sign is what the zero contour separates)."""
    m = float(np.abs(values).max())
    return values / m if m > 0 else values


def _panel(fig: go.Figure, r: QuadraticResponses, values: np.ndarray, row: int, col: int, line: str) -> None:
    z = _scaled(values)
    fig.add_trace(go.Heatmap(x=r.xs, y=r.ys, z=z, colorscale=DIVERGING, zmin=-1.0, zmax=1.0, showscale=False,
                             hovertemplate="x1 %{x:.2f}<br>x2 %{y:.2f}<br>value / max|value| %{z:.2f}<extra></extra>"),
                  row=row, col=col)
    if float(z.min()) < 0 < float(z.max()):
        fig.add_trace(go.Contour(x=r.xs, y=r.ys, z=z, contours=dict(start=0, end=0, size=1, coloring="lines"),
                                 line=dict(color=line, width=2.5), showscale=False, hoverinfo="skip"),
                      row=row, col=col)


def quadratic_neurons_figure(r: QuadraticResponses, max_neurons: int = MAX_NEURONS) -> go.Figure:
    """One row per neuron (at most `max_neurons`): left its quadratic pre-activation
    (w_r·x + b_r)(w_g·x + b_g) + w_b·(x⊙x) + c, right its linear part w_r·x + b_r, each scaled by its largest
    magnitude, orange < 0 < blue, with the zero contour drawn."""
    n = min(r.n_neurons, max_neurons)
    if n == 0:
        return empty_figure("no quadratic neurons")
    titles = []
    for i in range(n):
        conic = f" ({r.conics[i]})" if r.conics else ""
        titles += [f"neuron {i + 1}: quadratic{conic}", f"neuron {i + 1}: linear part"]
    fig = make_subplots(rows=n, cols=2, subplot_titles=titles, horizontal_spacing=0.08,
                        vertical_spacing=min(0.3 / max(n, 1), 0.08))
    for i in range(n):
        _panel(fig, r, r.quadratic[i], i + 1, 1, "#222222")
        _panel(fig, r, r.linear[i], i + 1, 2, "#666666")
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, scaleanchor="x", constrain="domain")
    for i in range(1, 2 * n + 1):
        fig.update_yaxes(scaleanchor=f"x{i if i > 1 else ''}", row=(i - 1) // 2 + 1, col=(i - 1) % 2 + 1)
    fig.update_annotations(font=dict(size=11))
    fig.update_layout(height=ROW_HEIGHT * n + 40, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="#ffffff",
                      title=dict(text=f"Layer {r.layer}: quadratic neurons (left) and their linear parts (right)",
                                 x=0.0, xanchor="left", font=dict(size=14)))
    return fig
