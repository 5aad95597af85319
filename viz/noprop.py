"""NoProp figures: the label embedding's path through the denoising chain (2-D projection), each input's
distance to its class embedding along the chain, and the per-block denoising losses (over training, and now)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from netarium.analysis.noprop import ChainTrajectory

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def sub(n: int) -> str:
    """n in subscript digits: z₁₀."""
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def class_colour(c: int) -> str:
    return PALETTE[c % len(PALETTE)]


def _name(c: int, class_names: Sequence[str] | None) -> str:
    return str(class_names[c]) if class_names is not None and c < len(class_names) else f"class {c}"


def trajectory_figure(traj: ChainTrajectory, class_names: Sequence[str] | None = None) -> go.Figure:
    """Each input's z_0 → z_T as a line (colour = true class; open circle at z_0, a cross at z_T when the head gets
    it wrong) over the class embeddings (large diamonds), on the two principal axes of all the points."""
    fig = go.Figure()
    shown = sorted(set(traj.labels.tolist()))
    for c in range(traj.class_coords.shape[0]):
        x, y = traj.class_coords[c]
        fig.add_trace(go.Scatter(
            x=[float(x)], y=[float(y)], mode="markers+text", text=[_name(c, class_names)], textposition="top center",
            marker={"symbol": "diamond", "size": 14 if c in shown else 9, "color": class_colour(c),
                    "line": {"color": "black", "width": 1}, "opacity": 1.0 if c in shown else 0.35},
            name=f"u of {_name(c, class_names)}", showlegend=False,
            hovertemplate=f"embedding u of {_name(c, class_names)}<extra></extra>"))
    T = traj.coords.shape[1] - 1
    steps = [f"z{sub(t)}" for t in range(T + 1)]
    legend_done: set[int] = set()
    for i in range(traj.coords.shape[0]):
        c, p = int(traj.labels[i]), int(traj.predicted[i])
        xs, ys = traj.coords[i, :, 0].tolist(), traj.coords[i, :, 1].tolist()
        right = c == p
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", line={"color": class_colour(c), "width": 1.6, "dash": "solid" if right else "dot"},
            marker={"size": [9] + [5] * (T - 1) + [9] if T > 0 else [9],
                    "symbol": ["circle-open"] + ["circle"] * (T - 1) + ["circle" if right else "x"] if T > 0 else ["circle-open"],
                    "color": class_colour(c)},
            text=steps, name=_name(c, class_names), legendgroup=str(c), showlegend=c not in legend_done,
            hovertemplate=(f"input row {int(traj.rows[i])}: {_name(c, class_names)}, predicted {_name(p, class_names)}"
                           "<br>%{text}<extra></extra>")))
        legend_done.add(c)
    fig.update_layout(
        title=f"Label embedding through the chain, z₀ (open circle) → z{sub(T)}: 2 principal axes keep "
              f"{traj.explained:.0%} of the variance",
        xaxis_title="PC 1", yaxis_title="PC 2", height=460, plot_bgcolor="white", legend_title_text="true class",
        margin={"l": 10, "r": 10, "t": 50, "b": 10})
    fig.update_yaxes(scaleanchor="x", scaleratio=1, zeroline=False, gridcolor="#eeeeee")
    fig.update_xaxes(zeroline=False, gridcolor="#eeeeee")
    return fig


def distance_figure(traj: ChainTrajectory, class_names: Sequence[str] | None = None) -> go.Figure:
    """||z_t - u_y|| over t = 0..T for each input (dotted where the head's answer is wrong)."""
    fig = go.Figure()
    d = traj.distances
    legend_done: set[int] = set()
    for i in range(d.shape[0]):
        c, p = int(traj.labels[i]), int(traj.predicted[i])
        fig.add_trace(go.Scatter(
            x=list(range(d.shape[1])), y=d[i].tolist(), mode="lines+markers", marker={"size": 4},
            line={"color": class_colour(c), "width": 1.4, "dash": "solid" if c == p else "dot"},
            name=_name(c, class_names), legendgroup=str(c), showlegend=c not in legend_done,
            hovertemplate=f"row {int(traj.rows[i])}: {_name(c, class_names)}, predicted {_name(p, class_names)}"
                          "<br>t %{x}: ||z_t - u_y|| %{y:.3f}<extra></extra>"))
        legend_done.add(c)
    fig.update_layout(title="Distance of z_t to the input's own class embedding", xaxis_title="t (block)",
                      yaxis_title="||z_t − u_y||", height=300, plot_bgcolor="white",
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_xaxes(dtick=1, gridcolor="#eeeeee")
    fig.update_yaxes(rangemode="tozero", gridcolor="#eeeeee")
    return fig


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """The running mean over the last `window` points (fewer at the start)."""
    v = np.asarray(values, dtype=float)
    if window <= 1 or v.size == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def block_colour(t: int, T: int) -> str:
    """Block t of T on a light-to-dark blue ramp (early, noisy blocks light; late, clean ones dark)."""
    s = (t - 1) / max(T - 1, 1)
    r, g, b = (round(198 + (8 - 198) * s), round(219 + (48 - 219) * s), round(239 + (107 - 239) * s))
    return f"rgb({r},{g},{b})"


def block_loss_figure(series: dict[str, tuple[list[int], list[float]]], T: int, window: int = 0) -> go.Figure:
    """Each block's training loss ||û_t - u_y||² per step ("block1".."blockT", a running mean over `window` steps,
    0 = about a 50th of the points) and the head's cross-entropy ("head", dashed), log scale."""
    fig = go.Figure()
    n = max((len(s) for s, _ in series.values()), default=0)
    w = window or max(1, n // 50)
    for t in range(1, T + 1):
        steps, values = series.get(f"block{t}", ([], []))
        fig.add_trace(go.Scatter(x=list(steps), y=smooth(values, w).tolist(), mode="lines", name=f"block {t}",
                                 line={"color": block_colour(t, T), "width": 1.8},
                                 hovertemplate=f"block {t}<br>step %{{x}}<br>loss %{{y:.4f}}<extra></extra>"))
    steps, values = series.get("head", ([], []))
    if steps:
        fig.add_trace(go.Scatter(x=list(steps), y=smooth(values, w).tolist(), mode="lines", name="head cross-entropy",
                                 line={"color": "black", "dash": "dash", "width": 1.5},
                                 hovertemplate="head CE<br>step %{x}<br>%{y:.4f}<extra></extra>"))
    fig.update_layout(title=f"Per-block denoising loss ||û_t − u_y||² during training (running mean of {w} steps)",
                      xaxis_title="step", yaxis_title="loss (log)", yaxis_type="log", height=340, plot_bgcolor="white",
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_xaxes(gridcolor="#eeeeee")
    fig.update_yaxes(gridcolor="#eeeeee")
    return fig


def block_loss_bars(losses: np.ndarray) -> go.Figure:
    """Each block's denoising loss on held-out inputs now, as bars (block t on x)."""
    T = len(losses)
    fig = go.Figure(go.Bar(x=[f"block {t}" for t in range(1, T + 1)], y=[float(v) for v in losses],
                           marker={"color": [block_colour(t, T) for t in range(1, T + 1)]},
                           hovertemplate="%{x}<br>||û_t − u_y||² %{y:.4f}<extra></extra>"))
    fig.update_layout(title="Each block's denoising loss on test inputs now (z_{t−1} drawn from the label)",
                      yaxis_title="||û_t − u_y||²", height=280, plot_bgcolor="white",
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_yaxes(rangemode="tozero", gridcolor="#eeeeee")
    return fig


def experiment_figure(extra: dict[str, float]) -> go.Figure:
    """Experiment noprop: test accuracy and activation memory held for backward, NoProp beside backprop."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("test accuracy", "activations held for backward, one step (KiB)"))
    names, colours = ["NoProp", "backprop"], ["#2b5faa", "#999999"]
    acc = [extra["noprop_test_acc"], extra["backprop_test_acc"]]
    mem = [extra["noprop_held_bytes"] / 1024, extra["backprop_held_bytes"] / 1024]
    fig.add_trace(go.Bar(x=names, y=acc, marker={"color": colours}, text=[f"{a:.3f}" for a in acc], textposition="outside",
                         showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=mem, marker={"color": colours}, text=[f"{m:.0f}" for m in mem], textposition="outside",
                         showlegend=False), row=1, col=2)
    fig.update_yaxes(range=[0, 1.08], row=1, col=1)
    fig.update_yaxes(range=[0, max(mem) * 1.18 or 1], row=1, col=2)
    fig.update_layout(height=320, plot_bgcolor="white", margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
