"""The residual stream: what each layer writes into it (relative contributions and cosines), the effect
of skipping a layer on the later ones, sublayer importance with the accuracy as layers are dropped,
the logit lens, and attention patterns per head.

Inputs are the result dataclasses of analysis.residual (any object with the same fields works).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.viz.curves import empty_figure, panel_layout

ATTN, MLP, BLOCK = "#1f77b4", "#ff7f0e", "#444444"
ORDER_STYLE = {"least": ("least important first", "#2ca02c", "solid"), "most": ("most important first", "#d62728", "solid"),
               "random": ("random order (mean ± sd)", "#7f7f7f", "dash")}
WHITE = "#ffffff"


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    return panel_layout(fig, title, height, legend_y=-0.2)


def _finite(a: np.ndarray) -> bool:
    return bool(np.isfinite(np.asarray(a, dtype=float)).any())


def contributions_figure(c: Any) -> go.Figure:
    """Per layer (mean over positions): bars of |a_l|/|h_l| (attention) and |m_l|/|h_l + a_l| (MLP)
    with the whole block's |h_{l+1} - h_l|/|h_l| as a line; and the cosines of the same pairs."""
    if not len(c.blocks):
        return empty_figure("no residual blocks")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("relative contribution", "cosine with the stream"), horizontal_spacing=0.12)
    layers = list(c.blocks)
    for name, attr, colour in (("attention |a|/|h|", "attn_rel", ATTN), ("MLP |m|/|h+a|", "mlp_rel", MLP)):
        values = c.mean_over_positions(attr)
        if _finite(values):
            fig.add_trace(go.Bar(x=layers, y=values, name=name, marker_color=colour, legendgroup=attr), 1, 1)
    fig.add_trace(go.Scatter(x=layers, y=c.mean_over_positions("block_rel"), name="block |Δh|/|h|", mode="lines+markers",
                             line=dict(color=BLOCK), legendgroup="block_rel"), 1, 1)
    for name, attr, colour in (("cos(a, h)", "attn_cos", ATTN), ("cos(m, h+a)", "mlp_cos", MLP), ("cos(Δh, h)", "block_cos", BLOCK)):
        values = c.mean_over_positions(attr)
        if _finite(values):
            fig.add_trace(go.Scatter(x=layers, y=values, name=name, mode="lines+markers", line=dict(color=colour, dash="dot")), 1, 2)
    fig.update_yaxes(title_text="norm ratio", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="cosine", range=[-1.05, 1.05], row=1, col=2)
    fig.update_layout(barmode="group")
    return _layout(fig, "What each layer writes into the residual stream (Csordás et al. 2025)", 420)


def position_heatmap(c: Any, metric: str = "block_cos", token_labels: Sequence[str] | None = None) -> go.Figure:
    """One metric (a relative contribution or a cosine) per layer and token position."""
    z = np.asarray(getattr(c, metric), dtype=float)
    if z.size == 0 or not _finite(z):
        return empty_figure(f"no {metric} for this model")
    cos = metric.endswith("_cos")
    x = list(token_labels) if token_labels is not None and len(token_labels) == z.shape[1] else [f"pos {i}" for i in range(z.shape[1])]
    fig = go.Figure(go.Heatmap(z=z, x=x, y=list(c.blocks), colorscale="RdBu" if cos else "Viridis", zmid=0 if cos else None,
                               zmin=-1 if cos else 0, zmax=1 if cos else None, colorbar=dict(title=metric),
                               hovertemplate="%{y}, %{x}: %{z:.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text="layer")
    fig.update_xaxes(title_text="token position", type="category")
    return _layout(fig, f"{metric} per layer and position", 120 + 36 * len(c.blocks))


def skip_effect_figure(s: Any) -> go.Figure:
    """Rows: the layer skipped (replaced by the identity); columns: each later layer; colour: relative
    change of that layer's contribution. Beside it, how much the output moves per skipped layer."""
    m = np.asarray(s.matrix, dtype=float)
    if m.size == 0:
        return empty_figure("no residual blocks")
    layers = list(s.blocks)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.05, shared_yaxes=True,
                        subplot_titles=("change of later layers' contributions", "change of the output"))
    fig.add_trace(go.Heatmap(z=m, x=layers, y=layers, colorscale="Magma", zmin=0, colorbar=dict(title="rel. change", x=1.02),
                             hovertemplate="skip %{y} → %{x}: %{z:.3f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(y=layers, x=s.output_change, orientation="h", marker_color=BLOCK, name="‖Δ logits‖ / ‖logits‖"), 1, 2)
    fig.update_yaxes(autorange="reversed", title_text="layer skipped", type="category", row=1, col=1)
    fig.update_xaxes(title_text="later layer", type="category", row=1, col=1)
    fig.update_yaxes(autorange="reversed", type="category", showticklabels=False, row=1, col=2)
    fig.update_xaxes(title_text="relative change of the logits", rangemode="tozero", row=1, col=2)
    return _layout(fig, "Skipping one layer: effect on the later layers and the output", 160 + 40 * len(layers))


def importance_figure(imp: Any, curves: Mapping[str, Any] | None = None, kind: str = "attn") -> go.Figure:
    """Importance 1 - cos(input, output) per sublayer and block (He et al. 2024); beside it, the
    accuracy as `kind` sublayers are dropped in each order."""
    layers = [f"block{i + 1}" for i in range(len(imp.block))]
    if not layers:
        return empty_figure("no residual blocks")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("importance: 1 - cos(input, output)", f"accuracy with {kind} sublayers dropped"))
    for name, attr, colour in (("attention", "attn", ATTN), ("MLP", "mlp", MLP), ("block", "block", BLOCK)):
        values = np.asarray(getattr(imp, attr), dtype=float)
        if _finite(values):
            fig.add_trace(go.Bar(x=layers, y=values, name=name, marker_color=colour), 1, 1)
    for order, curve in (curves or {}).items():
        label, colour, dash = ORDER_STYLE.get(order, (order, "#000000", "solid"))
        acc = np.asarray(curve.accuracy, dtype=float)
        std = getattr(curve, "accuracy_std", None)
        if std is not None and order == "random":
            std = np.asarray(std, dtype=float)
            fig.add_trace(go.Scatter(x=np.r_[curve.k, curve.k[::-1]], y=np.r_[acc + std, (acc - std)[::-1]], fill="toself",
                                     fillcolor="rgba(127,127,127,0.18)", line=dict(width=0), hoverinfo="skip", showlegend=False), 1, 2)
        fig.add_trace(go.Scatter(x=curve.k, y=acc, name=label, mode="lines+markers", line=dict(color=colour, dash=dash)), 1, 2)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=1, col=2)
    fig.update_xaxes(title_text="sublayers dropped", dtick=1, row=1, col=2)
    fig.update_layout(barmode="group")
    return _layout(fig, "Which layers matter, and what dropping them costs", 420)


def logit_lens_figure(lens: Any) -> go.Figure:
    """Probability of the correct class, and accuracy, read off the stream after each layer."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(lens.layers), y=lens.probs_correct, name="p(correct)", mode="lines+markers", line=dict(color=ATTN)))
    fig.add_trace(go.Scatter(x=list(lens.layers), y=lens.accuracy, name="accuracy", mode="lines+markers", line=dict(color=MLP, dash="dot")))
    fig.update_yaxes(range=[0, 1.02], title_text="read off the stream")
    fig.update_xaxes(title_text="after", type="category")
    return _layout(fig, "Logit lens: the output read off the residual stream after each layer", 360)


def patterns_figure(patterns: Mapping[str, np.ndarray], token_labels: Sequence[str] | None = None, max_heads: int = 8) -> go.Figure:
    """Attention weights of one sample: a row per block, a column per head (query down, key across)."""
    if not patterns:
        return empty_figure("no attention in this model")
    blocks = list(patterns)
    heads = min(max(p.shape[0] for p in patterns.values()), max_heads)
    titles = [f"{b} · head {h + 1}" for b in blocks for h in range(heads)]
    fig = make_subplots(rows=len(blocks), cols=heads, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.08)
    n = next(iter(patterns.values())).shape[-1]
    labels = list(token_labels) if token_labels is not None and len(token_labels) == n else [str(i) for i in range(n)]
    for r, b in enumerate(blocks):
        for h in range(min(patterns[b].shape[0], heads)):
            fig.add_trace(go.Heatmap(z=patterns[b][h], x=labels, y=labels, zmin=0, zmax=1, colorscale="Blues", showscale=r == 0 and h == 0,
                                     colorbar=dict(title="weight"),
                                     hovertemplate="query %{y} → key %{x}: %{z:.2f}<extra></extra>"), r + 1, h + 1)
    fig.update_yaxes(autorange="reversed", type="category", showticklabels=False)
    fig.update_xaxes(type="category", showticklabels=False)
    for r in range(len(blocks)):
        fig.update_yaxes(showticklabels=True, row=r + 1, col=1)
    fig.update_annotations(font=dict(size=11))
    return _layout(fig, "Attention of one sample (query ↓, key →)", 120 + 170 * len(blocks))
