"""Figures of a grid model on an operator-learning task: true (solid) against predicted (dashed) solutions of a
few test problems with the mean absolute error along x below, and MgNO's V-cycle levels: what each level adds
to each layer's output (relative norms) and, for one sample, the added curves along x.

Inputs are analysis.mgno results (any object with the same fields works)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def solutions_figure(sol: Any) -> go.Figure:
    """Top: each shown test problem's true u (solid) and prediction (dashed), one colour each, its relative L2
    error in the legend. Bottom: mean |u_pred - u| along x over the test problems, beside the RMS of u."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.65, 0.35],
                        subplot_titles=("test problems: true u (solid), predicted (dashed)",
                                        f"error along x, over {sol.n_test} test problems"))
    x = np.asarray(sol.x).tolist()
    for i, (true, pred) in enumerate(zip(sol.true, sol.pred, strict=True)):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=x, y=np.asarray(true).tolist(), mode="lines", line=dict(color=color, width=2),
                                 name=f"problem {i + 1} true", legendgroup=str(i)), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=np.asarray(pred).tolist(), mode="lines", line=dict(color=color, width=2, dash="dash"),
                                 name=f"problem {i + 1} predicted (rel. L2 {sol.rel_l2[i]:.3f})", legendgroup=str(i)), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=np.asarray(sol.abs_error).tolist(), mode="lines", line=dict(color="#111111", width=2),
                             name="mean |u_pred - u|"), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=np.asarray(sol.rms_true).tolist(), mode="lines", line=dict(color="#7f7f7f", width=1, dash="dot"),
                             name="RMS of u"), row=2, col=1)
    fig.update_xaxes(title_text="x", row=2, col=1)
    fig.update_yaxes(title_text="u", row=1, col=1)
    fig.update_yaxes(title_text="|error|", rangemode="tozero", row=2, col=1)
    fig.update_layout(height=520, margin=dict(l=50, r=10, t=40, b=40), plot_bgcolor="#ffffff",
                      title=dict(text=f"relative L2 test error {sol.test_rel_l2:.3f}", x=0.0, font=dict(size=13)),
                      legend=dict(font=dict(size=10)))
    return fig


def levels_figure(lc: Any) -> go.Figure:
    """Left: |what level d adds| / |V-cycle output| per layer (a line per layer over the levels, finest first).
    Right: the first layer's contributions along x for one sample (its strongest channel), a line per level:
    coarse levels add smooth, global shapes, fine levels local detail."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("|level's part| / |V-cycle output|", f"{lc.layers[0]}: each level's part along x "
                                        f"(sample 1, channel {lc.channel[0] + 1})"))
    levels = [f"level {d + 1} ({n} pts)" for d, n in enumerate(lc.sizes)]
    rel = np.asarray(lc.rel_norm)
    for i, name in enumerate(lc.layers):
        fig.add_trace(go.Scatter(x=levels, y=rel[i].tolist(), mode="lines+markers", name=name,
                                 line=dict(color=PALETTE[i % len(PALETTE)]), legendgroup="layers",
                                 hovertemplate=f"{name}, %{{x}}: %{{y:.3f}}<extra></extra>"), row=1, col=1)
    x = np.asarray(lc.x).tolist()
    curves = np.asarray(lc.curves)
    for d in range(curves.shape[1]):
        fig.add_trace(go.Scatter(x=x, y=curves[0, d].tolist(), mode="lines", name=levels[d], legendgroup="levels",
                                 line=dict(color=PALETTE[(d + 3) % len(PALETTE)], width=2)), row=1, col=2)
    fig.update_yaxes(title_text="relative norm", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="x", row=1, col=2)
    fig.update_layout(height=380, margin=dict(l=50, r=10, t=40, b=40), plot_bgcolor="#ffffff", legend=dict(font=dict(size=10)))
    return fig


def errors_figure(errors: dict[str, float], level: float, params: dict[str, int] | None = None) -> go.Figure:
    """Relative L2 test error per model as bars (parameter counts in the labels), the level the check asks of MgNO
    as a dashed line: lower is better."""
    params = params or {}
    names = [f"{n} ({params[n]:,} params)" if n in params else n for n in errors]
    fig = go.Figure(go.Bar(x=names, y=list(errors.values()), marker_color="#1f77b4", text=[f"{v:.3f}" for v in errors.values()],
                           textposition="outside", hovertemplate="%{x}<br>relative L2 test error %{y:.3f}<extra></extra>"))
    fig.add_hline(y=level, line_dash="dash", line_color="#d62728", annotation_text=f"MgNO's level {level:.2f}",
                  annotation_position="top left")
    top = max([*errors.values(), level])
    fig.update_layout(title="Relative L2 test error |u_pred - u| / |u| (lower is better)", yaxis_title="relative L2 error",
                      height=340, plot_bgcolor="white", yaxis_range=[0.0, top * 1.15], margin={"l": 50, "r": 10, "t": 50, "b": 40})
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee")
    return fig
