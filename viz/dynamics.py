"""Training dynamics: sharpness and trace(H) against 2/η, the Hessian's top eigenvalues over training,
the Fourier spectrum of a modular net's first layer over training with Nanda's progress measures,
XOR-cluster neuron directions over training, and GD vs SGD at the same learning rate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.viz.curves import RUN_COLORS, empty_figure, panel_layout

EDGE = dict(color="#d62728", dash="dash", width=1.5)
WHITE = "#ffffff"


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    return panel_layout(fig, title, height, legend_y=-0.22)


def _x(steps: Sequence[int]) -> list[int]:
    return [max(int(s), 1) for s in steps]  # log axes: step 0 drawn at 1


def _fit_edge(fig: go.Figure, values: Sequence[float], edge: Sequence[float], row: int, col: int) -> None:
    """Keep the axis on the data when 2/η is far above it, and say where the line is instead."""
    data = [v for v in values if np.isfinite(v)]
    if not data or not edge:
        return
    top = max(data)
    if top > 0 and min(edge) > 3 * top:
        fig.update_yaxes(range=[min(0.0, min(data)), 1.15 * top], row=row, col=col)
        fig.add_annotation(text=f"2/η = {edge[-1]:.3g} ↑ (far above)", xref=f"x{'' if col == 1 else col} domain",
                           yref=f"y{'' if col == 1 else col} domain", x=0.98, y=0.98, xanchor="right", yanchor="top",
                           showarrow=False, font=dict(color=EDGE["color"], size=11))


def norms_figure(series: Mapping[str, tuple[Sequence[int], Sequence[float]]], log_x: bool = True) -> go.Figure:
    """Weight norm ‖θ‖ (and gradient norm) over training."""
    if not any(len(s) for s, _ in series.values()):
        return empty_figure("no evaluations yet")
    fig = go.Figure()
    for i, (name, (steps, values)) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=_x(steps) if log_x else list(steps), y=list(values), name=name.replace("_", " "), mode="lines",
                                 line=dict(color=RUN_COLORS[i % 10])))
    fig.update_xaxes(type="log" if log_x else "linear", title_text="step")
    fig.update_yaxes(type="log", title_text="norm")
    return _layout(fig, "Weight and gradient norm", 340)


def sharpness_figure(steps: Sequence[int], sharpness: Sequence[float], trace: Sequence[float], lrs: Sequence[float],
                     log_x: bool = False) -> go.Figure:
    """λ_max(H) and trace(H) of the full-batch loss over training, each with the 2/η line."""
    if not len(steps):
        return empty_figure("measuring the Hessian… (first values appear after a few steps)")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("sharpness λ_max(H)", "trace(H) (Hutchinson)"), horizontal_spacing=0.12)
    x = _x(steps) if log_x else list(steps)
    edge = [2 / lr for lr in lrs]
    fig.add_trace(go.Scatter(x=x, y=sharpness, name="λ_max", mode="lines+markers", line=dict(color=RUN_COLORS[0])), 1, 1)
    fig.add_trace(go.Scatter(x=x, y=edge, name="2/η", mode="lines", line=EDGE, legendgroup="edge"), 1, 1)
    fig.add_trace(go.Scatter(x=x, y=trace, name="trace(H)", mode="lines+markers", line=dict(color=RUN_COLORS[1])), 1, 2)
    fig.add_trace(go.Scatter(x=x, y=edge, name="2/η", mode="lines", line=EDGE, legendgroup="edge", showlegend=False), 1, 2)
    if log_x:
        fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="step")
    _fit_edge(fig, sharpness, edge, 1, 1)
    _fit_edge(fig, trace, edge, 1, 2)
    return _layout(fig, "Curvature of the full-batch loss against the stability threshold 2/η", 380)


def eigen_figure(steps: Sequence[int], eigenvalues: Sequence[Sequence[float]], lrs: Sequence[float],
                 spectrum: np.ndarray | None = None) -> go.Figure:
    """The top Hessian eigenvalues over training (with 2/η); beside them, for a small model, the whole
    spectrum now as a histogram."""
    if not len(steps):
        return empty_figure("measuring the Hessian…")
    ev = np.array([list(e) + [np.nan] * (max(map(len, eigenvalues)) - len(e)) for e in eigenvalues], dtype=float)
    cols = 2 if spectrum is not None else 1
    fig = make_subplots(rows=1, cols=cols, subplot_titles=("top eigenvalues over training", "whole spectrum now")[:cols],
                        horizontal_spacing=0.12)
    for i in range(ev.shape[1]):
        fig.add_trace(go.Scatter(x=list(steps), y=ev[:, i], name=f"λ{i + 1}", mode="lines", line=dict(color=RUN_COLORS[i % 10])), 1, 1)
    fig.add_trace(go.Scatter(x=list(steps), y=[2 / lr for lr in lrs], name="2/η", mode="lines", line=EDGE), 1, 1)
    fig.update_xaxes(title_text="step", row=1, col=1)
    _fit_edge(fig, list(ev[:, 0]), [2 / lr for lr in lrs], 1, 1)
    if spectrum is not None:
        fig.add_trace(go.Histogram(x=spectrum, nbinsx=60, name="eigenvalues", marker_color="#7f7f7f"), 1, 2)
        fig.update_yaxes(type="log", title_text="count", row=1, col=2)
        fig.update_xaxes(title_text="eigenvalue", row=1, col=2)
    return _layout(fig, "Hessian eigenvalues", 380)


def fourier_figure(steps: Sequence[int], power: np.ndarray, restricted: Sequence[float] | None = None,
                   excluded: Sequence[float] | None = None, full: Sequence[float] | None = None) -> go.Figure:
    """Power per frequency of the first layer along the token axis, one column per snapshot; beside it,
    the progress measures (restricted / excluded / full loss) over the same snapshots."""
    if not len(steps):
        return empty_figure("no snapshots yet")
    cols = 2 if restricted is not None else 1
    fig = make_subplots(rows=1, cols=cols, column_widths=[0.6, 0.4][:cols], horizontal_spacing=0.12,
                        subplot_titles=("first-layer power per frequency k", "progress measures (Nanda et al.)")[:cols])
    labels = [str(s) for s in steps]
    fig.add_trace(go.Heatmap(z=np.asarray(power).T, x=labels, y=list(range(np.asarray(power).shape[1])), colorscale="Viridis",
                             colorbar=dict(title="share", x=1.02, thickness=12),
                             hovertemplate="step %{x}, k = %{y}: %{z:.3f}<extra></extra>"), 1, 1)
    fig.update_xaxes(title_text="snapshot step", type="category", row=1, col=1)
    fig.update_yaxes(title_text="frequency k", row=1, col=1)
    if restricted is not None:
        for name, values, colour in (("restricted loss", restricted, RUN_COLORS[2]), ("excluded loss", excluded, RUN_COLORS[3]),
                                     ("full loss", full, RUN_COLORS[7])):
            fig.add_trace(go.Scatter(x=_x(steps), y=values, name=name, mode="lines+markers", line=dict(color=colour)), 1, 2)
        fig.update_xaxes(type="log", title_text="step (log)", row=1, col=2)
        fig.update_yaxes(type="log", title_text="cross-entropy", row=1, col=2)
    return _layout(fig, "Fourier features of the first layer over training", 420)


def neuron_scatter_figure(steps: Sequence[int], cos_mu1: np.ndarray, cos_mu2: np.ndarray, sign: np.ndarray | None = None) -> go.Figure:
    """Each hidden neuron at (cos(w_j, mu1), cos(w_j, mu2)), one frame per snapshot, with Play."""
    if not len(steps):
        return empty_figure("no snapshots yet")
    c1, c2 = np.asarray(cos_mu1), np.asarray(cos_mu2)
    colours = [RUN_COLORS[0] if (sign is None or s > 0) else RUN_COLORS[1] for s in (sign if sign is not None else np.ones(c1.shape[1]))]

    def scatter(i: int) -> go.Scatter:
        return go.Scatter(x=c1[i], y=c2[i], mode="markers", marker=dict(color=colours, size=7, line=dict(width=0.5, color="white")),
                          hovertemplate="neuron %{pointNumber}: cos μ1 %{x:.2f}, cos μ2 %{y:.2f}<extra></extra>", showlegend=False)

    last = len(steps) - 1
    fig = go.Figure(scatter(last), frames=[go.Frame(data=[scatter(i)], name=str(s)) for i, s in enumerate(steps)])
    fig.update_xaxes(range=[-1.05, 1.05], title_text="cos(w_j, μ1)", zeroline=True, constrain="domain")  # square, not widened
    fig.update_yaxes(range=[-1.05, 1.05], title_text="cos(w_j, μ2)", zeroline=True, scaleanchor="x")
    fig.update_layout(
        updatemenus=[dict(type="buttons", x=0.0, y=-0.18, xanchor="left", direction="right", buttons=[
            dict(label="▶ Play", method="animate", args=[None, dict(frame=dict(duration=400, redraw=False), fromcurrent=True)]),
            dict(label="❚❚ Pause", method="animate", args=[[None], dict(mode="immediate", frame=dict(duration=0))])])],
        sliders=[dict(active=last, x=0.2, len=0.8, y=-0.1, currentvalue=dict(prefix="step "),
                      steps=[dict(label=str(s), method="animate", args=[[str(s)], dict(mode="immediate", frame=dict(duration=0))])
                             for s in steps])])
    return _layout(fig, "Hidden neurons' directions (colour: sign of the fixed output weight)", 520)


def gd_sgd_figure(runs: Mapping[str, tuple[Sequence[int], Sequence[float], Sequence[int], Sequence[float]]], lr: float) -> go.Figure:
    """Side by side: the training loss and the sharpness (with 2/η) of GD and SGD at the same η.
    runs: name -> (sharpness steps, sharpness values, loss steps, loss values)."""
    if not runs:
        return empty_figure("press the button to train")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "sharpness λ_max(H)"), horizontal_spacing=0.12)
    for i, (name, (s_steps, sharp, l_steps, loss)) in enumerate(runs.items()):
        colour = RUN_COLORS[i % 10]
        fig.add_trace(go.Scatter(x=list(l_steps), y=list(loss), name=name, mode="lines", line=dict(color=colour), legendgroup=name), 1, 1)
        fig.add_trace(go.Scatter(x=list(s_steps), y=list(sharp), name=name, mode="lines", line=dict(color=colour), legendgroup=name,
                                 showlegend=False), 1, 2)
    all_steps = [s for r in runs.values() for s in r[0]]
    fig.add_trace(go.Scatter(x=[min(all_steps, default=0), max(all_steps, default=1)], y=[2 / lr] * 2, name="2/η", mode="lines", line=EDGE), 1, 2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="step")
    return _layout(fig, f"GD vs SGD at the same learning rate η = {lr:g}", 380)
