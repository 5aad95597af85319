"""A FinalMLP's gates and fusion terms: grouped bars of each stream's mean gate per field (the line at 1 is
an open gate), and each fusion term's contribution to the logit over a batch (mean |term| bars beside
the terms' histograms)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.analysis.finalmlp import TERM_NAMES, GateWeights, StreamContributions

STREAM_COLORS = ("#1f77b4", "#ff7f0e")
TERM_COLORS = {"stream1.out": "#1f77b4", "stream2.out": "#ff7f0e", "fusion.bilinear": "#2ca02c"}
TERM_SHORT = {"stream1.out": "stream 1", "stream2.out": "stream 2", "fusion.bilinear": "bilinear"}


def gates_figure(g: GateWeights) -> go.Figure:
    """Two bars per field (stream 1, stream 2): the mean gate value with its spread over the batch; a field
    that a gate reads is outlined in black."""
    fig = go.Figure()
    for k in range(2):
        fig.add_trace(go.Bar(
            x=g.fields, y=g.mean[k].tolist(), name=f"stream {k + 1}", marker_color=STREAM_COLORS[k],
            marker_line_color=["black" if r else "rgba(0,0,0,0)" for r in g.reads[k]], marker_line_width=2,
            error_y={"type": "data", "array": g.spread[k].tolist(), "thickness": 1, "width": 3},
            customdata=[("read by this gate" if r else "not read by this gate") for r in g.reads[k]],
            hovertemplate=f"stream {k + 1}, %{{x}}<br>mean gate %{{y:.3f}}<br>%{{customdata}}<extra></extra>",
        ))
    fig.add_hline(y=1.0, line_dash="dash", line_color="#888888", annotation_text="open (1)", annotation_position="top left")
    fig.update_layout(barmode="group", title=f"Feature gates: mean 2σ(·) per field over {g.n_samples} samples",
                      yaxis_title="mean gate", yaxis_range=[0, 2], height=320, plot_bgcolor="white",
                      margin={"l": 50, "r": 10, "t": 50, "b": 40}, legend={"orientation": "h", "y": -0.2})
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee")
    return fig


def contributions_figure(c: StreamContributions, bins: int = 40) -> go.Figure:
    """Left: mean |term| of each fusion term; right: the terms' histograms over the batch."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.35, 0.65], subplot_titles=("mean |term|", "per sample"))
    means = c.mean_abs()
    fig.add_trace(go.Bar(x=[TERM_SHORT[k] for k in c.terms], y=list(means.values()), marker_color=[TERM_COLORS[k] for k in c.terms], showlegend=False,
                         hovertemplate="%{x}<br>mean |term| %{y:.4f}<extra></extra>"), row=1, col=1)
    for k, values in c.terms.items():
        fig.add_trace(go.Histogram(x=values.tolist(), name=TERM_NAMES[k], marker_color=TERM_COLORS[k], opacity=0.55, nbinsx=bins,
                                   hovertemplate=f"{TERM_NAMES[k]}<br>%{{x}}: %{{y}} samples<extra></extra>"), row=1, col=2)
    fig.update_layout(barmode="overlay", title=f"Each stream's contribution to {c.what} (bias {c.bias:+.3f})", height=340,
                      plot_bgcolor="white", margin={"l": 50, "r": 10, "t": 60, "b": 40}, legend={"orientation": "h", "y": -0.25})
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee")
    return fig


def auc_figure(aucs: dict[str, float], bayes: float, params: dict[str, int] | None = None) -> go.Figure:
    """Test AUC per model as bars (parameter counts in the labels), the Bayes AUC as a dashed line: the
    most any model can score in expectation."""
    params = params or {}
    names = [f"{n} ({params[n]:,} params)" if n in params else n for n in aucs]
    fig = go.Figure(go.Bar(x=names, y=list(aucs.values()), marker_color="#1f77b4", text=[f"{v:.4f}" for v in aucs.values()],
                           textposition="outside", hovertemplate="%{x}<br>test AUC %{y:.4f}<extra></extra>"))
    fig.add_hline(y=bayes, line_dash="dash", line_color="#d62728", annotation_text=f"Bayes AUC {bayes:.4f}",
                  annotation_position="top left")
    low = min([*aucs.values(), bayes])
    fig.update_layout(title="Test AUC against the Bayes AUC", yaxis_title="test AUC", height=340, plot_bgcolor="white",
                      yaxis_range=[max(0.0, low - 0.05), min(1.0, bayes + 0.04)], margin={"l": 50, "r": 10, "t": 50, "b": 40})
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee")
    return fig
