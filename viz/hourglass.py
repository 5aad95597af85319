"""The Hourglass MLP's shape and what its blocks do: the width at every stage (input, the frozen lift,
each block's narrow waist and the wide stream after it, output) drawn as an hourglass profile, and each
block's relative update |W_up s(W_down z)| / |z| over training.

Inputs are analysis.hourglass results (any object with the same fields works)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.viz.curves import empty_figure, panel_layout

FROZEN, WIDE, WAIST, END = "#9aa5b4", "#1f77b4", "#ff7f0e", "#444444"


def stage_colours(stages: Sequence[str], lift_frozen: bool) -> list[str]:
    """One colour per stage: the lift grey when it is frozen, the waists orange, the wide stream blue."""
    out = []
    for s in stages:
        if s == "lift":
            out.append(FROZEN if lift_frozen else WIDE)
        elif s.endswith("waist"):
            out.append(WAIST)
        elif s.endswith("out") and s != "out":
            out.append(WIDE)
        else:
            out.append(END)
    return out


def hourglass_figure(profile: Any, history: Sequence[tuple[int, Sequence[float]]] = ()) -> go.Figure:
    """Left: width per stage as bars centred on zero (the hourglass silhouette). Right: |update| / |stream|
    per block against the training step (`history`: (step, one value per block)), or the current values
    as bars when there is one point only."""
    if not len(profile.stages):
        return empty_figure("no stages")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("width along the depth", "block update |W_up s(W_down z)| / |z|"))
    widths = np.asarray(profile.widths, dtype=float)
    lift = "lift (frozen)" if profile.lift_frozen else "lift (trained)"
    labels = [lift if s == "lift" else s for s in profile.stages]
    fig.add_trace(go.Bar(x=labels, y=widths.tolist(), base=(-widths / 2).tolist(), marker_color=stage_colours(profile.stages, profile.lift_frozen),
                         name="width", showlegend=False, customdata=widths.tolist(),
                         hovertemplate="%{x}: width %{customdata}<extra></extra>"), row=1, col=1)
    if len(history) > 1:
        steps = [s for s, _ in history]
        values = np.asarray([v for _, v in history], dtype=float)
        for j, b in enumerate(profile.blocks):
            fig.add_trace(go.Scatter(x=steps, y=values[:, j], mode="lines", name=b), row=1, col=2)
        fig.update_xaxes(title_text="step", row=1, col=2)
    else:
        fig.add_trace(go.Bar(x=list(profile.blocks), y=np.asarray(profile.update_rel, dtype=float), marker_color=WAIST,
                             name="now", showlegend=False), row=1, col=2)
    fig.update_yaxes(showticklabels=False, zeroline=False, row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    title = f"{profile.trainable:,} trainable parameters, {profile.frozen:,} frozen"
    return panel_layout(fig, title, 340, legend_y=-0.25)


def spectra_figure(spectra: Any) -> go.Figure:
    """Singular values, largest first: the frozen lift's and each block's learned W_up W_down."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(y=np.asarray(spectra.lift), mode="lines+markers", name="lift (frozen)", line={"color": FROZEN, "dash": "dash"}))
    for name, s in spectra.blocks.items():
        fig.add_trace(go.Scatter(y=np.asarray(s), mode="lines", name=f"{name} W_up W_down"))
    fig.update_xaxes(title_text="index")
    fig.update_yaxes(title_text="singular value", type="log")
    return panel_layout(fig, "singular values: the frozen lift vs each block's learned map", 300, legend_y=-0.3)
