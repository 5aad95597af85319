"""Figures of a sequence model's insides: state trajectories on two principal components (one line per
sequence, coloured by class or target, a dot where it ends) and an LSTM / GRU layer's gates over time."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale
from plotly.subplots import make_subplots

from netarium.analysis.sequences import GateTrace, Trajectories

PALETTE = qualitative.Plotly
SCALE = "Viridis"


def trajectory_figure(tr: Trajectories, title: str = "") -> go.Figure:
    """PC1 against PC2 of every step's state: a line per sequence from its first step (small dot) to its last
    (large dot), coloured by class (a legend entry per class) or by the regression target (a colour bar)."""
    fig = go.Figure()
    lo, hi = (float(tr.values.min()), float(tr.values.max())) if tr.values is not None else (0.0, 1.0)
    shown: set[int] = set()
    for i in range(tr.n):
        xs, ys = tr.coords[i, :, 0], tr.coords[i, :, 1]
        if tr.labels is not None:
            k = int(tr.labels[i])
            color = PALETTE[k % len(PALETTE)]
            name = tr.class_names[k] if k < len(tr.class_names) else str(k)
            legend = k not in shown
            shown.add(k)
            group = f"class {k}"
        elif tr.values is not None:
            color = sample_colorscale(SCALE, [(float(tr.values[i]) - lo) / (hi - lo) if hi > lo else 0.5])[0]
            name, legend, group = f"target {tr.values[i]:.2f}", False, None
        else:
            color, name, legend, group = PALETTE[0], "sequence", i == 0, "all"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": 1}, opacity=0.6, name=name,
                                 legendgroup=group, showlegend=legend, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[xs[0], xs[-1]], y=[ys[0], ys[-1]], mode="markers", marker={"color": color, "size": [4, 9]},
                                 legendgroup=group, showlegend=False, name=name,
                                 hovertemplate=f"{name}<br>sequence {i}<br>PC1 %{{x:.2f}}, PC2 %{{y:.2f}}<extra></extra>"))
    if tr.values is not None:  # an invisible trace carries the colour bar of the target
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker={"color": [lo, hi], "colorscale": SCALE, "showscale": True, "cmin": lo, "cmax": hi,
                                         "colorbar": {"title": "target", "thickness": 12}}))
    ev = tr.explained
    fig.update_layout(title=title or f"States over time ({tr.n} test sequences; large dot: the last step)",
                      xaxis_title=f"PC1 ({ev[0]:.0%} of the variance)", yaxis_title=f"PC2 ({ev[1]:.0%})",
                      height=420, margin={"l": 50, "r": 20, "t": 50, "b": 45}, legend={"title": "class"})
    return fig


def gates_figure(trace: GateTrace, sample: int = 0, max_units: int = 64) -> go.Figure:
    """One heatmap per gate (rows: units, columns: time steps) for sequence `sample`, and below them each
    gate's mean over units and over the whole batch at every step."""
    names = list(trace.gates)
    n_units = min(trace.shape[2], max_units)
    fig = make_subplots(rows=len(names) + 1, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        subplot_titles=[*(f"{g} gate" if g not in ("cell", "new") else f"{g} candidate (tanh)" for g in names),
                                        "mean over units and sequences"])
    steps = np.arange(trace.shape[1])
    scaled: set[bool] = set()  # a colour bar beside the first sigmoid gate (0..1) and the first tanh one (-1..1)
    for r, g in enumerate(names, start=1):
        z = trace.gates[g][sample, :, :n_units].T
        tanh = g in ("cell", "new")
        fig.add_trace(go.Heatmap(z=z, x=steps, y=np.arange(n_units), zmin=-1 if tanh else 0, zmax=1,
                                 colorscale="RdBu" if tanh else "Viridis", reversescale=tanh, showscale=tanh not in scaled,
                                 hovertemplate=f"{g}<br>step %{{x}}, unit %{{y}}: %{{z:.2f}}<extra></extra>"), row=r, col=1)
        if tanh not in scaled:
            lo, hi = fig.get_subplot(r, 1).yaxis.domain
            fig.data[-1].colorbar = {"thickness": 10, "len": hi - lo, "y": (lo + hi) / 2, "yanchor": "middle"}
        scaled.add(tanh)
        fig.update_yaxes(title_text="unit", row=r, col=1)
    for k, g in enumerate(names):
        fig.add_trace(go.Scatter(x=steps, y=trace.gates[g].mean(axis=(0, 2)), mode="lines", name=g,
                                 line={"color": PALETTE[k % len(PALETTE)]}), row=len(names) + 1, col=1)
    fig.update_xaxes(title_text="time step" + (" (backward layer, in position order)" if trace.reversed else ""),
                     row=len(names) + 1, col=1)
    fig.update_layout(title=f"{trace.cell.upper()} gates of {trace.name}, sequence {sample}", height=170 * (len(names) + 1),
                      margin={"l": 50, "r": 20, "t": 60, "b": 45}, legend={"orientation": "h", "y": -0.08})
    return fig


def sequences_figure(scores: dict[str, dict[str, tuple[float, int]]], levels: dict[str, dict[str, float]]) -> go.Figure:
    """One bar panel per task: {task: {model: (score, parameters)}} (test MSE for adding on a log axis, accuracy
    for the others), the parameter count on each bar, and the check's levels as dashed lines."""
    tasks = list(scores)
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[
        f"{t}: test {'MSE (log)' if t == 'adding' else 'accuracy'}" for t in tasks], horizontal_spacing=0.08)
    for c, task in enumerate(tasks, start=1):
        models = list(scores[task])
        values = [scores[task][m][0] for m in models]
        fig.add_trace(go.Bar(x=models, y=values, marker={"color": [PALETTE[i % len(PALETTE)] for i in range(len(models))]},
                             text=[f"{scores[task][m][1]:,} p" for m in models], textposition="outside", showlegend=False,
                             hovertemplate="%{x}: %{y:.4f}<extra></extra>"), row=1, col=c)
        for name, level in levels.get(task, {}).items():
            fig.add_hline(y=level, line={"dash": "dash", "color": "#888"}, row=1, col=c)
            axis = "" if c == 1 else str(c)  # a log axis places annotations at log10(y)
            fig.add_annotation(xref=f"x{axis} domain", yref=f"y{axis}", x=1.0, y=float(np.log10(level)) if task == "adding" else level,
                               text=name, showarrow=False, xanchor="right", yanchor="bottom", font={"size": 10, "color": "#555"})
        if task == "adding":
            fig.update_yaxes(type="log", row=1, col=c)
        else:
            fig.update_yaxes(range=[0, 1.12], row=1, col=c)
    fig.update_layout(height=380, margin={"l": 50, "r": 20, "t": 50, "b": 60})
    return fig
