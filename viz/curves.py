"""Training curves: loss on top, accuracy (or R^2) below; train solid, test dashed; TensorBoard's
debiased exponential smoothing; an overlay of one metric from several runs.

Series are plain data, {metric: (steps, values)} as `History.series` gives them, so this module
never sees a Run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

Series = tuple[Sequence[int], Sequence[float]]
SPLIT_COLORS = {"train": "#1f4e79", "test": "#c0392b"}  # navy, crimson: apart from the class colours
SPLIT_DASH = {"train": "solid", "test": "dash"}
FEW_POINTS = 8  # series shorter than this get markers
RUN_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
SCORE_TITLES = {"acc": "accuracy", "r2": "R²"}
ERROR_TITLES = {"rel_l2": "relative L2 error"}  # a third panel where a task reports one (elliptic-1d)
MAX_SMOOTHING = 0.99
HEADROOM = 0.02  # above 1 on score axes, so a line at 1.0 is drawn whole
R2_FLOOR = -1.0  # an R² axis reaches down at most this far (R² of a poor fit is unbounded below)


def score_range(metric: str, values: Sequence[float]) -> list[float] | None:
    """The fixed y range of a score axis: accuracy [0, 1]; R² [lo, 1] with lo = 0 while every R² >= 0, else
    the lowest value rounded down to 0.2 but not below R2_FLOOR (lower points run off the axis); plus
    HEADROOM at the top. None for other metrics (autorange)."""
    if metric == "acc":
        return [0.0, 1.0 + HEADROOM]
    if metric == "r2":
        finite = [float(v) for v in values if math.isfinite(float(v))]
        low = min(finite, default=0.0)
        return [0.0 if low >= 0 else max(R2_FLOOR, math.floor(low * 5) / 5), 1.0 + HEADROOM]
    return None


def ema_smooth(values: Sequence[float], smoothing: float) -> list[float]:
    """TensorBoard's debiased EMA: m_t = w m_{t-1} + (1 - w) v_t, shown as m_t / (1 - w^t).

    Non-finite values are passed through and do not enter the average; w is clamped to [0, 0.99].
    """
    w = min(max(float(smoothing), 0.0), MAX_SMOOTHING)
    if w == 0:
        return [float(v) for v in values]
    out: list[float] = []
    last, n = 0.0, 0
    for v in values:
        v = float(v)
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * w + (1.0 - w) * v
        n += 1
        out.append(last / (1.0 - w**n))
    return out


def _visible(steps: Sequence[int], values: Sequence[float], log_x: bool) -> tuple[list[int], list[float]]:
    """The points that can be drawn: all of them, or those with step > 0 on a log axis."""
    pairs = [(int(s), float(v)) for s, v in zip(steps, values, strict=False) if not log_x or s > 0]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _finite(steps: list[int], values: list[float]) -> tuple[list[int], list[float]]:
    """The points with a finite value: a curve stops at its last finite value (a NaN/inf is a divergence,
    marked apart, never drawn as a number)."""
    pairs = [(s, v) for s, v in zip(steps, values, strict=True) if math.isfinite(v)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def divergence_step(series: dict[str, Series]) -> int | None:
    """The first step at which a train/test loss or score is NaN/inf, or None when every value is finite."""
    bad = [int(s) for name, (steps, values) in series.items() if _split_metric(name)
           for s, v in zip(steps, values, strict=False) if not math.isfinite(float(v))]
    return min(bad, default=None)


DIVERGED_COLOR = "#c0392b"


def _divergence_marker(step: int) -> tuple[dict, dict]:
    """A dotted vertical line across every panel at the step a run diverged, and its label at the top."""
    line = dict(type="line", xref="x", yref="paper", x0=step, x1=step, y0=0, y1=1,
                line=dict(color=DIVERGED_COLOR, dash="dot", width=2))
    label = dict(text=f"diverged at step {step:,}", x=step, xref="x", y=1.0, yref="paper", xanchor="right",
                 yanchor="top", showarrow=False, font=dict(color=DIVERGED_COLOR, size=12), bgcolor="rgba(255,255,255,0.8)")
    return line, label


def _split_metric(name: str) -> tuple[str, str] | None:
    """'train_loss' -> ('train', 'loss'); None for names that are not split metrics."""
    split, _, metric = name.partition("_")
    return (split, metric) if split in SPLIT_COLORS and metric else None


def empty_figure(message: str = "no data yet", title: str = "") -> go.Figure:
    """A blank figure that says `message` in the middle (never an error)."""
    return go.Figure(layout=dict(
        annotations=[dict(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                          font=dict(size=16, color="#888888"))],
        xaxis=dict(visible=False), yaxis=dict(visible=False), title=dict(text=title) if title else None,
        height=300, margin=dict(l=40, r=10, t=40 if title else 10, b=30), plot_bgcolor="#ffffff",
    ))


def _lines(steps: list[int], values: list[float], smoothing: float, *, name: str, color: str, dash: str,
           axes: tuple[str, str] = ("x", "y")) -> list[dict]:
    """One series as trace dicts: the raw line, faint, under its smoothed line when smoothing > 0 (as TensorBoard)."""
    where = dict(xaxis=axes[0], yaxis=axes[1], legendgroup=name)
    out = []
    if smoothing > 0:
        out.append(dict(type="scatter", x=steps, y=values, mode="lines", name=f"{name} (raw)", opacity=0.25,
                        line=dict(color=color, dash=dash, width=1), showlegend=False, hoverinfo="skip", **where))
        values = ema_smooth(values, smoothing)
    # a line needs two points: with few evaluations so far, mark each one so the chart is not empty
    mode = "lines+markers" if len(steps) < FEW_POINTS else "lines"
    out.append(dict(type="scatter", x=steps, y=values, mode=mode, name=name, line=dict(color=color, dash=dash, width=2),
                    marker=dict(size=6, color=color), hovertemplate=f"{name}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>", **where))
    return out


GRID = dict(showgrid=True, gridcolor="#eeeeee", zeroline=False)


def panel_layout(fig: go.Figure, title: str, height: int, legend_y: float = -0.2) -> go.Figure:
    """The shared look of the analysis figures: a left-aligned title, white background, light grid,
    the legend in one row under the plot."""
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left", font=dict(size=15)), height=height,
                      margin=dict(l=60, r=20, t=60, b=50), plot_bgcolor="#ffffff", paper_bgcolor="#ffffff",
                      legend=dict(orientation="h", y=legend_y, x=0.0))
    fig.update_xaxes(**GRID)
    fig.update_yaxes(**GRID)
    return fig


def curves_figure(
    series: dict[str, Series], *, log_x: bool = False, smoothing: float = 0.0, title: str = "",
    diverged_at: int | None = None,
) -> go.Figure:
    """Loss curves on top and accuracy / R^2 curves below, from {"train_loss": (steps, values), ...}.

    Colours mark the split (train navy solid, test crimson dashed) in both panels; metrics other
    than "{train,test}_{loss,acc,r2}" are left out, except the relative L2 error "{train,test}_rel_l2" of an
    operator-learning task, drawn in a third panel. An empty input gives a "no data yet" figure.
    A run that diverged (`diverged_at`, else the first NaN/inf value's step) keeps its curves up to
    their last finite values and a dotted red line at the step it diverged.
    The panels are laid out by hand (make_subplots alone costs ~30 ms, and this figure is redrawn on
    every tick of a live run).
    """
    smoothing = min(max(float(smoothing), 0.0), MAX_SMOOTHING)
    panels: dict[str, list[tuple[str, str, list[int], list[float]]]] = {"loss": [], "score": [], "error": []}
    score_kind = ""
    if diverged_at is None:
        diverged_at = divergence_step(series)
    for name, (steps, values) in series.items():
        parsed = _split_metric(name)
        if parsed is None or parsed[1] not in ("loss", *SCORE_TITLES, *ERROR_TITLES):
            continue
        split, metric = parsed
        xs, ys = _finite(*_visible(steps, values, log_x))
        if not xs:
            continue
        if metric == "loss":
            panels["loss"].append((split, name, xs, ys))
        elif metric in ERROR_TITLES:
            panels["error"].append((split, name, xs, ys))
        else:
            score_kind = score_kind or metric
            panels["score"].append((split, name, xs, ys))
    used = [p for p in ("loss", "score", "error") if panels[p]]
    if not used:
        if diverged_at is not None:
            return empty_figure(f"diverged at step {diverged_at:,}, before any finite value was recorded", title=title)
        return empty_figure(title=title)
    y_titles = {"loss": "loss", "score": SCORE_TITLES.get(score_kind, "score"), "error": "relative L2 error"}
    height = (1.0 - 0.08 * (len(used) - 1)) / len(used)  # two panels: [0.54, 1] and [0, 0.46]
    domains = [[round(max(0.0, 1.0 - k * (height + 0.08) - height), 6), round(1.0 - k * (height + 0.08), 6)] for k in range(len(used))]
    traces: list[dict] = []
    layout: dict = dict(
        title=dict(text=title) if title else None, height=220 + 130 * len(used), hovermode="x unified",
        margin=dict(l=50, r=10, t=40 if title else 10, b=40), plot_bgcolor="#ffffff",
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="right", x=1.0),
    )
    for row, panel in enumerate(used, start=1):
        suffix = "" if row == 1 else str(row)
        last = row == len(used)
        for split, name, xs, ys in sorted(panels[panel], key=lambda t: t[0] != "train"):
            traces += _lines(xs, ys, smoothing, name=name.replace("_", " ").replace(" r2", " R²").replace("rel l2", "rel. L2"),
                             color=SPLIT_COLORS[split],
                             dash=SPLIT_DASH[split], axes=(f"x{suffix}", f"y{suffix}"))
        fixed = score_range(score_kind, [v for *_, ys in panels[panel] for v in ys]) if panel == "score" else None
        layout[f"yaxis{suffix}"] = dict(domain=domains[row - 1], anchor=f"x{suffix}", title=dict(text=y_titles[panel]),
                                        **({"range": fixed} if fixed else {}), **GRID)
        layout[f"xaxis{suffix}"] = dict(
            anchor=f"y{suffix}", type="log" if log_x else "linear", showticklabels=last,
            title=dict(text="step") if last else None, **GRID, **({} if row == 1 else {"matches": "x"}),
        )
    if diverged_at is not None and (diverged_at > 0 or not log_x):
        line, label = _divergence_marker(int(diverged_at))
        layout["shapes"], layout["annotations"] = [line], [label]
    return go.Figure(data=traces, layout=layout)


def overlay_figure(
    runs: dict[str, dict[str, Series]], metric: str, *, log_x: bool = False, smoothing: float = 0.0,
    title: str = "", log_y: bool = False,
) -> go.Figure:
    """One metric (e.g. "test_loss") of several runs on one axis, a colour per run; runs without it are skipped."""
    smoothing = min(max(float(smoothing), 0.0), MAX_SMOOTHING)
    traces: list[dict] = []
    for i, (run_name, series) in enumerate(runs.items()):
        if metric not in series:
            continue
        xs, ys = _visible(*series[metric], log_x)
        if not xs:
            continue
        traces += _lines(xs, ys, smoothing, name=str(run_name), color=RUN_COLORS[i % len(RUN_COLORS)], dash="solid")
    if not traces:
        return empty_figure(title=title)
    parsed = _split_metric(metric)
    y_title = metric.replace("_", " ")
    fixed = None
    if parsed and parsed[1] in SCORE_TITLES:
        y_title = f"{parsed[0]} {SCORE_TITLES[parsed[1]]}"
        fixed = None if log_y else score_range(parsed[1], [v for t in traces for v in t["y"]])
    return go.Figure(data=traces, layout=dict(
        xaxis=dict(type="log" if log_x else "linear", title=dict(text="step"), **GRID),
        yaxis=dict(type="log" if log_y else "linear", title=dict(text=y_title), **({"range": fixed} if fixed else {}), **GRID),
        title=dict(text=title) if title else None, height=380, hovermode="x unified",
        margin=dict(l=50, r=10, t=40 if title else 10, b=40), plot_bgcolor="#ffffff",
    ))

