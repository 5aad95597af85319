"""Hypernetwork figures: |theta(gamma)| over training (one line per gamma) and across gamma now, and the
loss curves of plain vs MIP hypernetworks over seeds (experiment hypernetwork-mip).

Inputs are analysis.hypernet results or plain (steps, values) series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.viz.curves import empty_figure, panel_layout

GAMMA_COLOURS = ("#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd")
VARIANT_STYLE = {"plain": ("#ff7f0e", "dash"), "mip": ("#1f77b4", "solid")}


def theta_norm_figure(history: Mapping[float, tuple[Sequence[int], Sequence[float]]], profile: Any | None = None,
                      gamma: float | None = None) -> go.Figure:
    """Left: |theta(gamma)| against the training step, one line per recorded gamma. Right (with `profile`):
    |theta(gamma)| across gamma in [0, 1] now, the chosen `gamma` marked, |theta_0| dotted for MIP."""
    if not history and profile is None:
        return empty_figure("no evaluations yet")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("|θ(γ)| over training", "|θ(γ)| across γ now"))
    for k, (g, (steps, values)) in enumerate(history.items()):
        mode = "lines" if len(steps) > 3 else "lines+markers"
        fig.add_trace(go.Scatter(x=list(steps), y=list(values), mode=mode, name=f"γ = {g:g}",
                                 line=dict(color=GAMMA_COLOURS[k % len(GAMMA_COLOURS)], width=2),
                                 hovertemplate=f"γ = {g:g}<br>step %{{x}}<br>|θ| %{{y:.3f}}<extra></extra>"), row=1, col=1)
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_yaxes(title_text="|θ(γ)|", rangemode="tozero", row=1, col=1)
    if profile is not None:
        fig.add_trace(go.Scatter(x=np.asarray(profile.gammas).tolist(), y=np.asarray(profile.norms).tolist(), mode="lines",
                                 name="now", line=dict(color="#444444", width=2), showlegend=False,
                                 hovertemplate="γ = %{x:.2f}<br>|θ| %{y:.3f}<extra></extra>"), row=1, col=2)
        if profile.base_norm is not None:
            fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[profile.base_norm] * 2, mode="lines", name="|θ0| (MIP's base)",
                                     line=dict(color="#888888", dash="dot")), row=1, col=2)
        if gamma is not None:
            now = float(np.interp(gamma, profile.gammas, profile.norms))
            fig.add_trace(go.Scatter(x=[gamma], y=[now], mode="markers", name="γ shown", showlegend=False,
                                     marker=dict(size=10, color="#d62728"),
                                     hovertemplate="γ = %{x:.2f}<br>|θ| %{y:.3f}<extra></extra>"), row=1, col=2)
        fig.update_xaxes(title_text="γ", range=[0, 1], row=1, col=2)
        fig.update_yaxes(rangemode="tozero", row=1, col=2)
    return panel_layout(fig, "hypernetwork output norm |θ(γ)|", 330, legend_y=-0.3)


def mip_curves_figure(curves: Mapping[tuple[str, int], tuple[Sequence[int], Sequence[float]]]) -> go.Figure:
    """Training loss against step for every (variant, seed): plain dashed orange, MIP solid blue, log y."""
    if not curves:
        return empty_figure("no runs")
    fig = go.Figure()
    shown: set[str] = set()
    for (variant, seed), (steps, values) in curves.items():
        colour, dash = VARIANT_STYLE.get(variant, ("#444444", "dot"))
        pairs = [(s, v) for s, v in zip(steps, values, strict=True) if np.isfinite(v) and v > 0]
        fig.add_trace(go.Scatter(x=[s for s, _ in pairs], y=[v for _, v in pairs], mode="lines",
                                 name="MIP" if variant == "mip" else variant, legendgroup=variant,
                                 showlegend=variant not in shown, line=dict(color=colour, dash=dash, width=2),
                                 hovertemplate=f"{variant}, seed {seed}<br>step %{{x}}<br>loss %{{y:.4g}}<extra></extra>"))
        shown.add(variant)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="training loss", type="log")
    return panel_layout(fig, "training loss over seeds: plain vs MIP hypernetwork", 360, legend_y=-0.25)
