"""Sweep figures: every member's curves coloured by an axis; the final metric against one axis (mean and
min-max over seeds), as a heatmap over two (mean over seeds), in parallel coordinates over more.

A diverged member is drawn as diverged (a grey dotted curve ending in a cross, a red cross above the
finite values, a grey crossed cell, a "diverged" tick), never as a NaN or a missing point. Members are
plain data (`SweepMember`); `members_of` reads them off a sweep result by attribute, so this module
never imports training. Every clickable mark carries its member's index as customdata.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from netarium.viz.curves import GRID, RUN_COLORS, empty_figure

SEED = "seed"  # the pseudo-axis of a sweep without axes: members differ only in their seed
DIVERGED_COLOR = "#7f7f7f"
CROSS_COLOR = "#c0392b"
CELL_BG = "#d9d9d9"  # a cell without a number (every seed diverged, or nothing measured yet)
COLORSCALE = "Viridis"
MAX_LEGEND = 10  # more distinct values of the colouring axis than this: a colour scale instead


@dataclass(frozen=True)
class SweepMember:
    """One member as the figures see it: index, point (axis key -> value), seed, state and why, step,
    final numbers and its curves {metric: (steps, values)}."""

    index: int
    point: dict[str, Any]
    seed: int
    state: str
    reason: str = ""
    step: int = 0
    final: dict[str, float] = field(default_factory=dict)
    series: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.state in ("diverged", "failed")

    def value(self, metric: str) -> float | None:
        """The final metric when it is a finite number of a member that did not diverge, else None."""
        v = self.final.get(metric)
        return float(v) if v is not None and not self.diverged and math.isfinite(v) else None

    def coordinate(self, key: str) -> Any:
        """The member's value on axis `key` (its seed for the seed pseudo-axis)."""
        return self.seed if key == SEED and key not in self.point else self.point.get(key)

    def label(self) -> str:
        """"#3 optimizer.lr=0.01 · seed 1"."""
        parts = [f"{k}={value_label(v)}" for k, v in self.point.items() if k != SEED]
        return " · ".join([f"#{self.index}", *parts, f"seed {self.seed}"])


def members_of(results: Iterable[Any]) -> list[SweepMember]:
    """SweepMembers from member results (anything with index, point, config.seed, state, reason, step,
    final and history.metrics()/series())."""
    out = []
    for m in results:
        series = {name: tuple(map(list, m.history.series(name))) for name in m.history.metrics()}
        out.append(SweepMember(m.index, dict(m.point), int(m.config.seed), m.state, m.reason, m.step,
                               dict(m.final), series))
    return out


def value_label(value: Any) -> str:
    """An axis value as text: 0.001, 16,16, relu, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(value_label(v) for v in value)
    return str(value)


def axis_keys(members: Sequence[SweepMember]) -> list[str]:
    """The swept keys in axis order; ["seed"] for a sweep that varies only seeds."""
    keys = list(members[0].point) if members else []
    return keys or [SEED]


def axis_values(members: Sequence[SweepMember], key: str) -> list[Any]:
    """The distinct values of axis `key`, in the order members first show them (grid order)."""
    seen: dict[str, Any] = {}
    for m in members:
        seen.setdefault(value_label(m.coordinate(key)), m.coordinate(key))
    return list(seen.values())


def is_numeric(values: Sequence[Any]) -> bool:
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def spans_decades(values: Sequence[Any]) -> bool:
    """Positive numbers spread over at least a factor of 20: drawn on a log axis."""
    return is_numeric(values) and min(values) > 0 and max(values) / min(values) >= 20


def metrics_of(members: Sequence[SweepMember]) -> list[str]:
    """Final metrics worth plotting: test_* first, then train_*."""
    names = {k for m in members for k in m.final} | {k for m in members for k in m.series}
    return sorted((n for n in names if n.startswith(("test_", "train_"))), key=lambda n: (not n.startswith("test_"), n))


def default_metric(members: Sequence[SweepMember]) -> str:
    """The test score (AUC where the task reports it, accuracy, R²) when there is one, else the test loss."""
    names = metrics_of(members)
    score = sorted((n for n in names if n.startswith("test_") and n != "test_loss"), key=lambda n: n != "test_auc")
    return score[0] if score else ("test_loss" if "test_loss" in names else (names[0] if names else "test_loss"))


def lower_is_better(metric: str) -> bool:
    return metric.endswith("loss")


def metric_title(metric: str) -> str:
    return metric.replace("_", " ").replace(" acc", " accuracy").replace(" r2", " R²")


def _hover(m: SweepMember, metric: str) -> str:
    v = m.value(metric)
    if m.diverged:
        what = f"diverged: {m.reason}" if m.reason else "diverged"
    else:
        what = f"{metric_title(metric)} {v:.4g}" if v is not None else "not measured yet"
    return f"{m.label()}<br>{_wrap(what)}"


def _wrap(text: str, width: int = 60) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + len(w) > width:
            lines.append(line)
            line = ""
        line = f"{line} {w}".strip()
    return "<br>".join([*lines, line])


def _layout(title: str, height: int) -> dict:
    return dict(title=dict(text=title, x=0.0, xanchor="left", font=dict(size=15)), height=height,
                margin=dict(l=60, r=20, t=60, b=50), plot_bgcolor="#ffffff", paper_bgcolor="#ffffff",
                clickmode="event+select", dragmode=False)


# ---- curves ---------------------------------------------------------------------------------------

def axis_colors(members: Sequence[SweepMember], key: str) -> tuple[dict[str, str], dict | None]:
    """A colour per value label of axis `key`: a palette for few values, else a continuous scale (log
    when the values span decades). The second item is the colour bar's description (None for a palette)."""
    values = axis_values(members, key)
    labels = [value_label(v) for v in values]
    if not is_numeric(values) or len(values) <= MAX_LEGEND:
        return {lab: RUN_COLORS[i % len(RUN_COLORS)] for i, lab in enumerate(labels)}, None
    log = spans_decades(values)
    pos = [math.log10(v) if log else float(v) for v in values]
    lo, hi = min(pos), max(pos)
    t = [(p - lo) / (hi - lo) if hi > lo else 0.5 for p in pos]
    colors = sample_colorscale(COLORSCALE, t)
    return dict(zip(labels, colors, strict=True)), dict(lo=lo, hi=hi, log=log)


def sweep_curves_figure(members: Sequence[SweepMember], metric: str, color_by: str, *, log_x: bool = False,
                        log_y: bool = False, selected: int | None = None) -> go.Figure:
    """Every member's `metric` over steps, one line each, coloured by its value on axis `color_by`
    (legend grouped by value). A diverged member is a grey dotted line ending in a red cross; the
    selected member is drawn thick and on top."""
    colors, scale = axis_colors(members, color_by)
    curves = []
    for m in sorted(members, key=lambda m: m.index == selected):
        steps, values = m.series.get(metric, ([], []))
        pts = [(s, v) for s, v in zip(steps, values, strict=False)
               if math.isfinite(v) and (not log_x or s > 0) and (not log_y or v > 0)]
        if pts:
            curves.append((m, [p[0] for p in pts], [p[1] for p in pts]))
    y_range = _y_range([y for m, _, ys in curves if not m.diverged for y in ys], log_y)
    traces: list[go.Scatter] = []
    shown: set[str] = set()
    for m, xs, ys in curves:
        lab = value_label(m.coordinate(color_by))
        group = "diverged" if m.diverged else lab
        color = DIVERGED_COLOR if m.diverged else colors[lab]
        width = 4 if m.index == selected else 1.5
        traces.append(go.Scatter(
            x=xs, y=ys, mode="lines+markers" if len(xs) < 8 else "lines", name=group, legendgroup=group,
            showlegend=scale is None and group not in shown, customdata=[m.index] * len(xs),
            line=dict(color=color, width=width, dash="dot" if m.diverged else "solid"), marker=dict(size=4, color=color),
            hovertemplate=f"{_hover(m, metric)}<br>step %{{x}}: %{{y:.4g}}<extra></extra>"))
        shown.add(group)
        if m.diverged:  # its cross where it left the plot (a blown-up loss runs off the top)
            traces.append(go.Scatter(x=[xs[-1]], y=[_clamp(ys[-1], y_range, log_y)], mode="markers", showlegend=False,
                                     customdata=[m.index], marker=dict(symbol="x", size=11, color=CROSS_COLOR),
                                     cliponaxis=False, hovertemplate=f"{_hover(m, metric)}<extra></extra>"))
    gone = [m for m in members if m.diverged]
    if not traces:
        return empty_figure(diverged_note(gone) or "no curves yet", title=metric_title(metric))
    if scale is not None:
        traces.append(_colorbar_trace(scale, color_by))
    fig = go.Figure(data=traces, layout=_layout(f"{metric_title(metric)} of every member, coloured by {color_by}", 420))
    if gone:
        fig.add_annotation(text=diverged_note(gone), x=0.0, y=1.0, xref="paper", yref="paper", xanchor="left",
                           yanchor="bottom", showarrow=False, font=dict(color=CROSS_COLOR, size=12))
    fig.update_layout(legend=dict(title=dict(text=color_by)), hovermode="closest")
    fig.update_xaxes(title="step", type="log" if log_x else "linear", **GRID)
    fig.update_yaxes(title=metric_title(metric), type="log" if log_y else "linear", range=y_range, **GRID)
    return fig


def _y_range(values: Sequence[float], log: bool) -> list[float] | None:
    """The y range the members that did not diverge fill, padded 5% (in log10 on a log axis); None when
    there are none (plotly's autorange)."""
    if not values:
        return None
    vs = [math.log10(v) for v in values] if log else list(values)
    lo, hi = min(vs), max(vs)
    pad = 0.05 * (hi - lo) if hi > lo else (0.1 if log else 0.05 * abs(hi) or 0.05)
    return [lo - pad, hi + pad]


def _clamp(y: float, y_range: list[float] | None, log: bool) -> float:
    """y kept inside the axis range (given in log10 on a log axis)."""
    if y_range is None:
        return y
    lo, hi = (10 ** y_range[0], 10 ** y_range[1]) if log else y_range
    return min(max(y, lo), hi)


def diverged_note(gone: Sequence[SweepMember], limit: int = 4) -> str:
    """"✕ 2 diverged: #4 at step 13, #6 at step 4" (a member that diverged before its first evaluation has
    no curve, so this note is where it shows)."""
    if not gone:
        return ""
    items = ", ".join(f"#{m.index} at step {m.step:,}" for m in gone[:limit])
    more = f" and {len(gone) - limit} more" if len(gone) > limit else ""
    return f"✕ {len(gone)} diverged: {items}{more}"


def _colorbar_trace(scale: dict, title: str) -> go.Scatter:
    """An invisible trace that carries the colour bar of a continuous colouring."""
    ticks = list(range(math.ceil(scale["lo"]), math.floor(scale["hi"]) + 1)) if scale["log"] else None
    colorbar = dict(title=dict(text=title))
    if ticks:
        colorbar.update(tickvals=ticks, ticktext=[f"{10 ** t:g}" for t in ticks])
    return go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                      marker=dict(colorscale=COLORSCALE, cmin=scale["lo"], cmax=scale["hi"], color=[scale["lo"]],
                                  showscale=True, colorbar=colorbar))


# ---- final metric ---------------------------------------------------------------------------------

@dataclass
class Cell:
    """The members at one point of some axes: their indices, the mean / min / max of the finite final
    metric, and how many diverged."""

    members: list[int]
    values: list[float]
    diverged: int

    @property
    def mean(self) -> float | None:
        return fmean(self.values) if self.values else None

    @property
    def lo(self) -> float | None:
        return min(self.values) if self.values else None

    @property
    def hi(self) -> float | None:
        return max(self.values) if self.values else None


def cells(members: Sequence[SweepMember], keys: Sequence[str], metric: str) -> dict[tuple[str, ...], Cell]:
    """Members grouped by their value labels on `keys` (seeds pooled), in grid order."""
    out: dict[tuple[str, ...], Cell] = {}
    for m in members:
        at = tuple(value_label(m.coordinate(k)) for k in keys)
        cell = out.setdefault(at, Cell([], [], 0))
        cell.members.append(m.index)
        v = m.value(metric)
        if v is not None:
            cell.values.append(v)
        cell.diverged += m.diverged
    return out


def final_line_figure(members: Sequence[SweepMember], key: str, metric: str, *, selected: int | None = None) -> go.Figure:
    """The final metric against axis `key`: the mean over seeds joined by a line with min-max bars, each
    seed a small dot, each diverged member a red cross above the finite values (a log x axis when the
    values span decades)."""
    values = axis_values(members, key)
    numeric = is_numeric(values)
    by_label = {value_label(v): v for v in values}
    groups = cells(members, [key], metric)
    x_of = (lambda lab: by_label[lab]) if numeric else (lambda lab: lab)
    pts = [(x_of(at[0]), c) for at, c in groups.items()]
    if numeric:
        pts.sort(key=lambda p: p[0])
    finite = [v for _, c in pts for v in c.values]
    top = max(finite) if finite else 1.0
    span = (top - min(finite)) if finite else 1.0
    cross_y = top + 0.08 * (span or abs(top) or 1.0)
    by_index = {m.index: m for m in members}
    with_mean = [(x, c) for x, c in pts if c.mean is not None]
    traces = [
        go.Scatter(x=[x for x, _ in with_mean], y=[c.mean for _, c in with_mean], mode="lines+markers",
                   name="mean over seeds", customdata=[c.members[0] for _, c in with_mean],
                   line=dict(color=RUN_COLORS[0], width=2), marker=dict(size=9, color=RUN_COLORS[0]),
                   error_y=dict(type="data", symmetric=False, array=[c.hi - c.mean for _, c in with_mean],
                                arrayminus=[c.mean - c.lo for _, c in with_mean], color=RUN_COLORS[0], thickness=1.5),
                   hovertemplate=[f"{key}={value_label(x)}<br>mean {c.mean:.4g} (min {c.lo:.4g}, max {c.hi:.4g}, "
                                  f"{len(c.values)} seed{'s' if len(c.values) != 1 else ''})<extra></extra>" for x, c in with_mean]),
    ]
    seeds = [(x, by_index[i]) for x, c in pts for i in c.members if by_index[i].value(metric) is not None]
    if any(len(c.values) > 1 for _, c in pts):
        traces.append(go.Scatter(x=[x for x, _ in seeds], y=[m.value(metric) for _, m in seeds], mode="markers",
                                 name="each seed", customdata=[m.index for _, m in seeds],
                                 marker=dict(size=6, color="#555555", opacity=0.6),
                                 hovertemplate=[f"{_hover(m, metric)}<extra></extra>" for _, m in seeds]))
    gone = [(x, by_index[i]) for x, c in pts for i in c.members if by_index[i].diverged]
    if gone:
        traces.append(go.Scatter(x=[x for x, _ in gone], y=[cross_y] * len(gone), mode="markers+text",
                                 name=f"diverged ({len(gone)})", customdata=[m.index for _, m in gone],
                                 text=["diverged"] * len(gone), textposition="top center",
                                 textfont=dict(color=CROSS_COLOR, size=10),
                                 marker=dict(symbol="x", size=12, color=CROSS_COLOR),
                                 hovertemplate=[f"{_hover(m, metric)}<extra></extra>" for _, m in gone]))
    if selected is not None and selected in by_index and by_index[selected].value(metric) is not None:
        m = by_index[selected]
        x = next(x for x, c in pts if selected in c.members)
        traces.append(go.Scatter(x=[x], y=[m.value(metric)], mode="markers", name="selected", customdata=[selected],
                                 marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color="#000000", width=2)),
                                 hovertemplate=f"{_hover(m, metric)}<extra></extra>"))
    if not with_mean and not gone:
        return empty_figure("no final numbers yet", title=metric_title(metric))
    fig = go.Figure(data=traces, layout=_layout(f"Final {metric_title(metric)} by {key}", 420))
    fig.update_layout(legend=dict(orientation="h", y=-0.22, x=0.0), hovermode="closest")
    log = spans_decades(values)
    fig.update_xaxes(title=key, type="log" if log else ("linear" if numeric else "category"), **GRID)
    fig.update_yaxes(title=metric_title(metric), **GRID)
    return fig


def heatmap_figure(members: Sequence[SweepMember], row_key: str, col_key: str, metric: str, *,
                   selected: int | None = None) -> go.Figure:
    """The final metric over two axes, the mean over seeds in each cell (its number written in it).
    A cell whose every member diverged is grey with a cross and "diverged"; one where some did says how
    many; a cell not measured yet is grey with "…"; the numbers are white on dark cells, black on bright. Better is always brighter (the scale is reversed for
    losses). Every cell is clickable (its first member's index as customdata); the selected one is outlined."""
    rows = [value_label(v) for v in axis_values(members, row_key)]
    cols = [value_label(v) for v in axis_values(members, col_key)]
    groups = cells(members, [row_key, col_key], metric)
    z = [[groups[(r, c)].mean if (r, c) in groups else None for c in cols] for r in rows]
    fig = go.Figure(layout=_layout(f"Final {metric_title(metric)} (mean over seeds)", 140 + 46 * max(len(rows), 3)))
    fig.add_trace(go.Heatmap(
        x=cols, y=rows, z=z, colorscale=COLORSCALE, reversescale=lower_is_better(metric), hoverongaps=False,
        hoverinfo="skip", xgap=2, ygap=2, colorbar=dict(title=dict(text=metric_title(metric)))))
    crossed = [(r, c) for r in rows for c in cols if (cell := groups.get((r, c))) and cell.mean is None and cell.diverged]
    if crossed:
        fig.add_trace(go.Scatter(x=[c for _, c in crossed], y=[r for r, _ in crossed], mode="markers", hoverinfo="skip",
                                 showlegend=False, marker=dict(symbol="x-thin", size=34, line=dict(width=1.5, color="#9a9a9a"))))
    by_index = {m.index: m for m in members}
    spots = [(r, c, groups[(r, c)]) for r in rows for c in cols if (r, c) in groups]
    means = [cell.mean for _, _, cell in spots if cell.mean is not None]
    fig.add_trace(go.Scatter(  # transparent marks over every cell: its number, hover text and click selection
        x=[c for _, c, _ in spots], y=[r for r, _, _ in spots], mode="markers+text", showlegend=False,
        customdata=[cell.members[0] for _, _, cell in spots], text=[_cell_text(cell) for _, _, cell in spots],
        textposition="middle center",
        textfont=dict(size=12, color=[_text_color(cell.mean, means, metric) for _, _, cell in spots]),
        marker=dict(symbol="square", size=30, color="rgba(0,0,0,0)"),
        hovertemplate=[_cell_hover(row_key, r, col_key, c, cell, by_index, metric) for r, c, cell in spots]))
    if selected is not None:
        where = next(((r, c) for r, c, cell in spots if selected in cell.members), None)
        if where:
            ri, ci = rows.index(where[0]), cols.index(where[1])
            fig.add_shape(type="rect", x0=ci - 0.5, x1=ci + 0.5, y0=ri - 0.5, y1=ri + 0.5, xref="x", yref="y",
                          line=dict(color="#000000", width=3))
    fig.update_layout(plot_bgcolor=CELL_BG, hovermode="closest", hoverdistance=-1)  # anywhere in a cell picks it
    fig.update_xaxes(title=col_key, type="category", categoryorder="array", categoryarray=cols, showgrid=False)
    fig.update_yaxes(title=row_key, type="category", categoryorder="array", categoryarray=rows, showgrid=False)
    return fig


def _text_color(mean: float | None, means: Sequence[float], metric: str) -> str:
    """White on the dark end of the colour scale, black on the bright end, dark grey on a grey cell."""
    if mean is None:
        return "#444444"
    lo, hi = min(means), max(means)
    t = (mean - lo) / (hi - lo) if hi > lo else 0.5
    return "#ffffff" if (1 - t if lower_is_better(metric) else t) < 0.55 else "#000000"


def _cell_text(cell: Cell | None) -> str:
    if cell is None or (cell.mean is None and not cell.diverged):
        return "…"
    if cell.mean is None:
        return "diverged"
    note = f"<br>{cell.diverged}/{len(cell.members)} diverged" if cell.diverged else ""
    return f"{cell.mean:.3g}{note}"


def _cell_hover(row_key: str, r: str, col_key: str, c: str, cell: Cell, by_index: dict[int, SweepMember], metric: str) -> str:
    head = f"{row_key}={r}<br>{col_key}={c}<br>"
    if cell.mean is not None:
        head += f"mean {cell.mean:.4g} (min {cell.lo:.4g}, max {cell.hi:.4g}) over {len(cell.values)} seed(s)<br>"
    reasons = [by_index[i].reason for i in cell.members if by_index[i].diverged]
    if reasons:
        head += f"{len(reasons)} diverged: {_wrap(reasons[0])}<br>"
    return head + "click to pick it<extra></extra>"


def parallel_figure(members: Sequence[SweepMember], keys: Sequence[str], metric: str) -> go.Figure:
    """Parallel coordinates: one line per member through its value on each axis and its final metric,
    coloured by that metric (better brighter). Diverged members run to a "diverged" tick above the
    metric's range, in grey."""
    if not members:
        return empty_figure("no members", title=metric_title(metric))
    dims = []
    for key in keys:
        values = axis_values(members, key)
        coords = [m.coordinate(key) for m in members]
        if is_numeric(values):
            log = spans_decades(values)
            dims.append(dict(label=key, values=[math.log10(v) if log else v for v in coords],
                             **(_log_ticks(values) if log else {})))
        else:
            labels = [value_label(v) for v in values]
            dims.append(dict(label=key, values=[labels.index(value_label(v)) for v in coords],
                             tickvals=list(range(len(labels))), ticktext=labels))
    finite = [v for m in members if (v := m.value(metric)) is not None]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = hi - lo or abs(hi) or 1.0
    gone_y = hi + 0.15 * span
    metric_values = [m.value(metric) if m.value(metric) is not None else (gone_y if m.diverged else lo) for m in members]
    ticks = [lo + span * i / 4 for i in range(5)] if hi > lo else [lo]
    dim = dict(label=metric_title(metric), values=metric_values, range=[lo, gone_y],
               tickvals=[*ticks, gone_y], ticktext=[*(f"{t:.3g}" for t in ticks), "diverged"])
    dims.append(dim)
    # colour: the metric scaled to [0.1, 1] (better brighter); diverged members 0, which the scale paints grey
    better_hi = not lower_is_better(metric)
    colors = []
    for m in members:
        v = m.value(metric)
        if v is None:
            colors.append(0.0)
        else:
            t = (v - lo) / (hi - lo) if hi > lo else 1.0
            colors.append(0.1 + 0.9 * (t if better_hi else 1 - t))
    scale = [[0.0, DIVERGED_COLOR], [0.09, DIVERGED_COLOR], *[[0.1 + 0.9 * s, c] for s, c in _viridis_stops()]]
    fig = go.Figure(go.Parcoords(line=dict(color=colors, colorscale=scale, cmin=0.0, cmax=1.0), dimensions=dims),
                    layout=_layout(f"Final {metric_title(metric)} over every axis (one line per member)", 440))
    fig.update_layout(margin=dict(l=60, r=60, t=100, b=30))  # room for the axis names above the axes
    return fig


def _viridis_stops(n: int = 6) -> list[tuple[float, str]]:
    return list(zip([i / (n - 1) for i in range(n)], sample_colorscale(COLORSCALE, [i / (n - 1) for i in range(n)]), strict=True))


def _log_ticks(values: Sequence[float]) -> dict:
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    ticks = list(range(lo, hi + 1))
    return dict(tickvals=ticks, ticktext=[f"{10 ** t:g}" for t in ticks])


def is_grid(members: Sequence[SweepMember], keys: Sequence[str]) -> bool:
    """Whether the members' points fill the product of their axis values (a grid, not random draws)."""
    combos = {tuple(value_label(m.coordinate(k)) for k in keys) for m in members}
    return len(combos) == math.prod(len(axis_values(members, k)) for k in keys)


def final_figure(members: Sequence[SweepMember], metric: str, *, selected: int | None = None) -> go.Figure:
    """The final metric by the sweep's axes: a line over one axis, a heatmap over a grid of two,
    parallel coordinates otherwise."""
    keys = axis_keys(members)
    if len(keys) == 1:
        return final_line_figure(members, keys[0], metric, selected=selected)
    if len(keys) == 2 and is_grid(members, keys):
        return heatmap_figure(members, keys[0], keys[1], metric, selected=selected)
    return parallel_figure(members, keys, metric)


def best_first(members: Sequence[SweepMember], metric: str) -> list[SweepMember]:
    """Members ordered best first on `metric`; unmeasured next, diverged last."""
    sign = 1.0 if lower_is_better(metric) else -1.0

    def rank(m: SweepMember) -> tuple[int, float, int]:
        v = m.value(metric)
        return (2 if m.diverged else (0 if v is not None else 1), sign * v if v is not None else 0.0, m.index)

    return sorted(members, key=rank)
