"""Figures of the sparsity experiments' results (g2g-sparse, pruning-dnr, rnn-sparsity, n2n-compression),
from plain numbers: what the Experiments page shows under a check's verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.viz.curves import RUN_COLORS, panel_layout


def accuracy_by_variant_figure(accuracy: Mapping[str, Sequence[float]], title: str) -> go.Figure:
    """Each variant's seeds as dots and their mean as a wide tick with its value: no bars, whose cut
    axis would blow small differences up."""
    fig = go.Figure()
    names = list(accuracy)
    means = [sum(v) / len(v) for v in accuracy.values()]
    fig.add_trace(go.Scatter(x=names, y=means, mode="markers+text", name="mean over seeds", text=[f"{m:.2%}" for m in means],
                             textposition="top center", marker=dict(symbol="line-ew-open", size=44, line=dict(width=3),
                                                                      color=[RUN_COLORS[i % 10] for i in range(len(names))]),
                             hovertemplate="%{x}<br>mean %{y:.2%}<extra></extra>"))
    xs = [n for n, v in accuracy.items() for _ in v]
    ys = [a for v in accuracy.values() for a in v]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="one seed", marker=dict(color="#333333", size=7, opacity=0.7),
                             hovertemplate="%{x}<br>%{y:.2%}<extra>one seed</extra>"))
    fig.update_yaxes(title_text="test accuracy", tickformat=".1%")
    return panel_layout(fig, title, 360)


def pruning_rounds_figure(series: Mapping[str, Mapping[str, Sequence[float]]], title: str) -> go.Figure:
    """Two panels against sparsity: dynamic DNR and test accuracy, one line per series (e.g. "seed 0",
    "seed 0 + AP"); each series holds "sparsity", "dnr" and "test_acc" per round. Series whose name has
    "AP" are dashed."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("dead-neuron rate vs sparsity", "test accuracy vs sparsity"),
                        horizontal_spacing=0.12)
    seeds = sorted({name.split(" + ")[0] for name in series})
    for name, s in series.items():
        color = RUN_COLORS[seeds.index(name.split(" + ")[0]) % 10]
        dash = "dash" if "AP" in name else "solid"
        x = [100 * v for v in s["sparsity"]]
        for col, key in ((1, "dnr"), (2, "test_acc")):
            fig.add_trace(go.Scatter(x=x, y=list(s[key]), mode="lines+markers", name=name, legendgroup=name,
                                     showlegend=col == 1, line=dict(color=color, dash=dash),
                                     hovertemplate=f"{name}<br>%{{x:.0f}}% sparse<br>{key} %{{y:.3f}}<extra></extra>"), 1, col)
    fig.update_xaxes(title_text="sparsity (%)")
    fig.update_yaxes(title_text="DNR", col=1)
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", col=2)
    return panel_layout(fig, title, 380, legend_y=-0.28)


def recovery_figure(stages: Mapping[str, Mapping[str, float]], title: str) -> go.Figure:
    """Grouped bars: for each net (x) the accuracy at each stage (one bar colour per stage, e.g. dense,
    right after pruning 60%, retrained)."""
    fig = go.Figure()
    nets = list(stages)
    labels = list(dict.fromkeys(k for v in stages.values() for k in v))
    for i, label in enumerate(labels):
        fig.add_trace(go.Bar(x=nets, y=[stages[n].get(label, float("nan")) for n in nets], name=label,
                             marker_color=RUN_COLORS[i % 10], hovertemplate=f"%{{x}}<br>{label}<br>%{{y:.1%}}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", range=[0, 1.02])
    return panel_layout(fig, title, 380, legend_y=-0.2)


def n2n_figure(rollouts: Sequence[Mapping], teacher_params: int, teacher_acc: float, ratio_bar: float, acc_bar: float,
               title: str) -> go.Figure:
    """Left: the reward of each rollout in order, coloured by stage (1 remove layers, 2 shrink widths).
    Right: every student's parameters against its accuracy, the teacher as a star, and the region a
    student must reach (at least `ratio_bar` times fewer parameters, `acc_bar` of the teacher's accuracy)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("reward per rollout", "students: size vs accuracy"),
                        horizontal_spacing=0.12)
    for stage, color in ((1, RUN_COLORS[0]), (2, RUN_COLORS[1])):
        rows = [r for r in rollouts if r["stage"] == stage]
        if not rows:
            continue
        name = "stage 1: remove layers" if stage == 1 else "stage 2: shrink widths"
        text = [f"widths {list(r['widths'])}" for r in rows]
        fig.add_trace(go.Scatter(x=[r["index"] for r in rows], y=[r["reward"] for r in rows], mode="markers", name=name,
                                 legendgroup=name, marker=dict(color=color, size=7), text=text,
                                 hovertemplate="rollout %{x}<br>reward %{y:.3f}<br>%{text}<extra></extra>"), 1, 1)
        fig.add_trace(go.Scatter(x=[r["params"] for r in rows], y=[r["acc"] for r in rows], mode="markers", name=name,
                                 legendgroup=name, showlegend=False, marker=dict(color=color, size=7), text=text,
                                 hovertemplate="%{x:,} parameters<br>accuracy %{y:.1%}<br>%{text}<extra></extra>"), 1, 2)
    fig.add_trace(go.Scatter(x=[teacher_params], y=[teacher_acc], mode="markers", name="teacher",
                             marker=dict(symbol="star", size=14, color="#333333"),
                             hovertemplate="teacher<br>%{x:,} parameters<br>%{y:.1%}<extra></extra>"), 1, 2)
    smallest = min([teacher_params, *(r["params"] for r in rollouts)])
    x0 = max(smallest / 1.5, 1.0)  # a log axis: the region starts a little left of the smallest student
    fig.add_shape(type="rect", x0=x0, x1=teacher_params / ratio_bar, y0=acc_bar * teacher_acc, y1=1.0, xref="x2", yref="y2",
                  fillcolor="rgba(46,125,50,0.10)", line=dict(color="rgba(46,125,50,0.6)", dash="dot"))
    fig.add_annotation(text=f"≥ {ratio_bar:g}× smaller, ≥ {acc_bar:.0%} of the teacher", x=math.log10(x0), y=1.0, xref="x2", yref="y2",
                       xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=11, color="#2e7d32"))
    fig.update_xaxes(title_text="rollout", col=1)
    fig.update_xaxes(title_text="parameters", type="log", col=2)
    fig.update_yaxes(title_text="reward C(2 − C)·acc_s/acc_t", col=1)
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", col=2)
    return panel_layout(fig, title, 400, legend_y=-0.28)
