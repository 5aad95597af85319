"""Figures of the convex program beside SGD/Adam (analysis/convex.py's ConvexComparison): the objective
against iterations (steps) and against seconds, the relative gap to the optimum on a log axis, and the
decision surfaces of the optimum and of each run. Pure plotly; no training."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.analysis.convex import ConvexComparison, relative_gap
from netarium.viz.boundary import boundary_figure

ADMM_COLOR = "#1f77b4"
FISTA_COLOR = "#9467bd"
RUN_COLORS = ["#ff7f0e", "#2ca02c", "#d62728", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
ADMM_NAME = "ADMM (convex program)"
FISTA_NAME = "FISTA (gated relaxation: a lower bound, not a ReLU net)"
OPTIMUM_NAME = "optimum"


def _thin(x: np.ndarray, y: np.ndarray, most: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """At most `most` points, evenly spaced, the last one kept (a 20,000-iteration trace is 600 in a browser)."""
    if len(x) <= most:
        return x, y
    idx = np.unique(np.r_[np.linspace(0, len(x) - 1, most).astype(int), len(x) - 1])
    return x[idx], y[idx]


def _series(c: ConvexComparison) -> list[dict[str, Any]]:
    """name, colour, x by iteration, x by seconds, objective, final point (iteration, seconds, value) or None."""
    s = c.solve
    out = [dict(name=ADMM_NAME, color=ADMM_COLOR, it=np.arange(1, len(s.objective) + 1), sec=np.asarray(s.seconds),
                f=np.asarray(s.objective), final=None, dash="solid")]
    if c.fista is not None and c.fista.objective:
        f = c.fista
        out.append(dict(name=FISTA_NAME, color=FISTA_COLOR, it=np.arange(1, len(f.objective) + 1), sec=np.asarray(f.seconds),
                        f=np.asarray(f.objective), final=None, dash="dot"))
    for k, r in enumerate(c.runs):
        out.append(dict(name=r.label, color=RUN_COLORS[k % len(RUN_COLORS)], it=np.asarray(r.steps, dtype=float),
                        sec=np.asarray(r.seconds), f=np.asarray(r.objective), dash="solid",
                        final=(r.steps[-1] if r.steps else 0, r.seconds[-1] if r.seconds else 0.0, r.final)))
    return out


def objective_figure(c: ConvexComparison) -> go.Figure:
    """Two panels, the objective J against iterations (SGD/Adam: steps) and against seconds, every solver and
    run on the same axes; the optimum as a dashed line; each run's final J (from its weights) as a point."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("objective vs iteration (runs: steps)", "objective vs time"),
                        horizontal_spacing=0.08)
    for ser in _series(c):
        for col, key in ((1, "it"), (2, "sec")):
            x, y = _thin(ser[key], ser["f"])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=ser["name"], legendgroup=ser["name"], showlegend=col == 1,
                                     line=dict(color=ser["color"], dash=ser["dash"], width=1.6)), row=1, col=col)
            if ser["final"] is not None:
                fx = ser["final"][0] if col == 1 else ser["final"][1]
                fig.add_trace(go.Scatter(x=[fx], y=[ser["final"][2]], mode="markers", name=f"{ser['name']}: final J",
                                         legendgroup=ser["name"], showlegend=False,
                                         marker=dict(color=ser["color"], size=9, symbol="circle-open", line=dict(width=2)),
                                         hovertemplate=f"{ser['name']}<br>final J = %{{y:.8f}}<extra></extra>"), row=1, col=col)
    for col in (1, 2):
        fig.add_hline(y=c.optimum, line=dict(color="black", dash="dash", width=1), row=1, col=col)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{OPTIMUM_NAME} J* = {c.optimum:.6f}",
                             line=dict(color="black", dash="dash", width=1)), row=1, col=1)
    top = max([c.optimum * 1.5] + [r.final * 1.05 for r in c.runs])
    low = min([c.optimum] + [float(np.min(ser["f"])) for ser in _series(c) if len(ser["f"])])
    for col in (1, 2):
        fig.update_yaxes(range=[low - 0.05 * (top - low), top], title_text="J" if col == 1 else None, row=1, col=col)
        fig.update_xaxes(type="log", title_text="iteration / step" if col == 1 else "seconds", row=1, col=col)
    fig.update_layout(height=420, margin=dict(l=50, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.2))
    return fig


def gap_figure(c: ConvexComparison) -> go.Figure:
    """|J - J*| / J* against seconds, log-log: ADMM, FISTA's gated relaxation (its gap is to a different
    program's value) and each run; each run's final gap as a point."""
    fig = go.Figure()
    floor = 1e-12
    for ser in _series(c):
        x, y = _thin(ser["sec"], np.maximum(relative_gap(ser["f"], c.optimum), floor))
        fig.add_trace(go.Scatter(x=np.maximum(x, 1e-6), y=y, mode="lines", name=ser["name"],
                                 line=dict(color=ser["color"], dash=ser["dash"], width=1.6)))
        if ser["final"] is not None:
            fig.add_trace(go.Scatter(x=[max(ser["final"][1], 1e-6)],
                                     y=[max(float(relative_gap([ser["final"][2]], c.optimum)[0]), floor)],
                                     mode="markers", name=f"{ser['name']}: final", showlegend=False,
                                     marker=dict(color=ser["color"], size=9, symbol="circle-open", line=dict(width=2))))
    fig.update_layout(height=380, margin=dict(l=50, r=10, t=30, b=40), legend=dict(orientation="h", y=-0.25),
                      xaxis=dict(type="log", title=dict(text="seconds")),
                      yaxis=dict(type="log", title=dict(text="relative gap |J − J*| / J*"), exponentformat="power"))
    return fig


def boundary_panel(surface: Any, points: Any, signs: Any, title: str) -> go.Figure:
    """One decision surface f(x) (orange < 0 < blue on the Playground's scale) with the training points
    coloured by their ±1 target, titled."""
    fig = boundary_figure(surface, points, signs, kind="regression", n_classes=0)
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=330, margin=dict(l=30, r=10, t=40, b=30))
    return fig


def robust_figure(r: Any) -> go.Figure:
    """Accuracy against the radius eps (analysis.convex.RobustComparison): the robust program's network under
    PGD and clean (test points), its certified accuracy (training points), and the standard program's network
    under the same attack."""
    fig = go.Figure()
    lines = [("robust net under PGD (test)", r.robust_pgd, ADMM_COLOR, "solid"),
             ("robust net, clean (test)", r.robust_clean, ADMM_COLOR, "dot"),
             ("robust net, certified (train)", r.certified, "#17becf", "dash"),
             ("standard net under PGD (test)", r.standard_pgd, RUN_COLORS[0], "solid"),
             ("standard net, clean (test)", [r.standard_clean] * len(r.eps), RUN_COLORS[0], "dot")]
    for name, values, color, dash in lines:
        fig.add_trace(go.Scatter(x=r.eps, y=values, name=name, mode="lines+markers",
                                 line=dict(color=color, dash=dash)))
    low = min([1.0, *r.robust_pgd, *r.robust_clean, *r.certified, *r.standard_pgd, r.standard_clean])
    bottom = max(0.0, math.floor((low - 0.05) * 10) / 10)  # accuracies near 1 stay readable; the axis says where it starts
    fig.update_layout(title="Robust and clean accuracy against ε", xaxis_title="ε (l∞ radius, trained for and attacked at)",
                      yaxis_title="accuracy", yaxis_range=[bottom, 1.02], height=380, margin=dict(t=50, b=40, l=50, r=10),
                      legend=dict(orientation="h", y=-0.25))
    return fig
