"""Representational geometry: PCA embeddings animated over training, RDMs with RSA, CKA heatmaps,
alignment with input and labels over training, unit matching between two nets, and the input grid
warped through each layer.

Inputs are the result dataclasses of analysis.representation (and analysis.geometry.UnitMatch);
any object with the same fields works, so this module never sees a model. Panels are laid out by
hand (as viz.curves does), so their axis names are known: panel i uses x{i+1}/y{i+1} (scene{i+1}).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from netarium.viz.boundary import BLUE, ORANGE, class_color
from netarium.viz.curves import GRID, RUN_COLORS, empty_figure

if TYPE_CHECKING:
    from netarium.analysis.geometry import UnitMatch
    from netarium.analysis.representation import (
        AlignmentCurves,
        CKAResult,
        EmbeddingFrames,
        RDMSet,
        WarpedGrid,
    )

__all__ = [
    "alignment_figure", "cka_figure", "embedding_figure", "empty_figure", "rdm_figure", "unit_match_figure",
    "warped_grid_figure",
]

WHITE = "#ffffff"
GREY = "#888888"
GRID_LINE = dict(color="#c4c4c4", width=1)
MATCH_STYLE = {  # key: (legend name, colour, dash)
    "hungarian": ("Hungarian (one-to-one)", BLUE, "solid"),
    "semi": ("semi-matching (best partner)", ORANGE, "dot"),
    "baseline": ("shuffled baseline", GREY, "dash"),
}
DISSIMILARITY_SCALE = "Viridis"
SIMILARITY_SCALE = "Blues"  # as the confusion matrix
PANEL_TITLE_FONT = dict(size=13)
TITLE_FONT = dict(size=15)
GAP_X = 0.08  # between panel columns, fraction of the plot width
GAP_Y_PX = 75  # between panel rows: room for tick labels, an axis title and the next panel's title
FRAME_MS = 400
MARKER_PX = 6


# ---- a hand-made grid of panels -----------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """One cell of a grid of subplots: its position, its axis names (trace refs) and domains."""

    index: int
    row: int
    col: int
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]

    @property
    def suffix(self) -> str:
        return "" if self.index == 0 else str(self.index + 1)

    @property
    def x(self) -> str:
        return f"x{self.suffix}"

    @property
    def y(self) -> str:
        return f"y{self.suffix}"

    @property
    def xaxis(self) -> str:
        return f"xaxis{self.suffix}"

    @property
    def yaxis(self) -> str:
        return f"yaxis{self.suffix}"

    @property
    def scene(self) -> str:
        return f"scene{self.suffix}"

    def title(self, text: str) -> dict:
        """The panel's title as a paper annotation centred over its domain."""
        return dict(text=text, x=sum(self.x_domain) / 2, y=self.y_domain[1], xref="paper", yref="paper",
                    xanchor="center", yanchor="bottom", showarrow=False, font=PANEL_TITLE_FONT)


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) for n panels: one row up to 3, 2 x 2 for 4, then rows of 3."""
    if n <= 3:
        return 1, max(n, 1)
    if n == 4:
        return 2, 2
    return math.ceil(n / 3), 3


def panel_grid(n: int, row_px: int, gap_x: float = GAP_X) -> tuple[list[Panel], int]:
    """n panels in row-major order, and the height (px) of the plot area that holds them."""
    rows, cols = grid_shape(n)
    plot_px = rows * row_px + (rows - 1) * GAP_Y_PX
    gap_y = GAP_Y_PX / plot_px
    w = (1.0 - (cols - 1) * gap_x) / cols
    h = (1.0 - (rows - 1) * gap_y) / rows
    panels = []
    for i in range(n):
        r, c = divmod(i, cols)
        x0, y1 = c * (w + gap_x), 1.0 - r * (h + gap_y)
        panels.append(Panel(i, r, c, (round(x0, 6), round(min(x0 + w, 1.0), 6)),
                            (round(max(y1 - h, 0.0), 6), round(y1, 6))))
    return panels, plot_px


def _title(text: str) -> dict:
    return dict(text=text, font=TITLE_FONT, x=0.0, xanchor="left", xref="paper")


def _legend_below(plot_px: int) -> dict:
    """A one-line legend under the panels (below the bottom row's axis titles)."""
    return dict(orientation="h", x=0.0, xanchor="left", y=-(55 / plot_px), yanchor="top", itemsizing="constant")


def padded_range(values: np.ndarray, pad: float = 0.06) -> list[float]:
    """[lo, hi] over the finite values, widened by `pad` of the span on each side ([-1, 1] if none)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return [-1.0, 1.0]
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return [lo - pad * span, hi + pad * span]


def colour_groups(colour: np.ndarray, names: Sequence[str]) -> list[tuple[int, str, np.ndarray]]:
    """(group id, name, indices of its points) for each group present, in id order."""
    colour = np.asarray(colour).astype(int).reshape(-1)
    out = []
    for g in np.unique(colour):
        name = str(names[g]) if 0 <= g < len(names) else f"group {g}"
        out.append((int(g), name, np.flatnonzero(colour == g)))
    return out


# ---- embeddings over training ---------------------------------------------------------------------


def _embedding_xyz(c: np.ndarray, dims: int) -> dict:
    xyz = dict(x=c[:, 0], y=c[:, 1])
    if dims == 3:
        xyz["z"] = c[:, 2]
    return xyz


def embedding_figure(frames: EmbeddingFrames, dims: int = 2) -> go.Figure:
    """Each layer's probe points in its first `dims` principal components, coloured by group, animated
    over the training snapshots (slider and Play/Pause); shows the last snapshot (the current model).

    Axis ranges are fixed per panel over all snapshots, so the animation moves points, not axes.
    """
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    coords = np.asarray(frames.coords, dtype=np.float64)
    if coords.ndim != 4:
        raise ValueError(f"coords must be (steps, layers, points, k), got shape {coords.shape}")
    n_steps, n_layers, _, k = coords.shape
    if k < dims:
        raise ValueError(f"a {dims}-D embedding needs at least {dims} components, the frames have {k}")
    if n_steps == 0 or n_layers == 0:
        return empty_figure("no snapshots to embed")
    explained = np.asarray(frames.explained, dtype=np.float64)
    groups = colour_groups(frames.colour, frames.colour_names)
    panels, plot_px = panel_grid(n_layers, row_px=300 if dims == 2 else 340)
    last = n_steps - 1
    trace_type = "scatter" if dims == 2 else "scatter3d"
    pcs = [f"PC{i + 1}" for i in range(dims)]
    hover = "<br>".join(f"{pc} %{{{ax}:.3f}}" for pc, ax in zip(pcs, "xyz", strict=False))

    data: list[dict] = []
    for p, layer in zip(panels, range(n_layers), strict=False):
        where = dict(scene=p.scene) if dims == 3 else dict(xaxis=p.x, yaxis=p.y)
        for g, name, idx in groups:
            data.append(dict(
                type=trace_type, mode="markers", name=name, legendgroup=name, showlegend=p.index == 0,
                marker=dict(color=class_color(g), size=MARKER_PX if dims == 2 else 3,
                            line=dict(color=WHITE, width=0.5) if dims == 2 else None),
                customdata=idx, hovertemplate=f"{name}<br>point %{{customdata}}<br>{hover}<extra>{frames.titles[layer]}</extra>",
                **_embedding_xyz(coords[last, layer][idx], dims), **where,
            ))
    animation = [
        dict(name=str(step), data=[dict(type=trace_type, **_embedding_xyz(coords[s, layer][idx], dims))
                                   for layer in range(n_layers) for _, _, idx in groups],
             traces=list(range(len(data))))
        for s, step in enumerate(frames.steps)
    ]

    redraw = dims == 3  # 3-D scenes only move on a full redraw
    annotations, layout = [], {}
    for p, layer in zip(panels, range(n_layers), strict=False):
        share = 100.0 * float(np.nansum(explained[last, layer, :dims]))
        annotations.append(p.title(f"{frames.titles[layer]} · PC1-{dims} explain {share:.0f}%"))
        ranges = [padded_range(coords[:, layer, :, d]) for d in range(dims)]
        if dims == 2:
            layout[p.xaxis] = dict(domain=p.x_domain, anchor=p.y, range=ranges[0], title=dict(text="PC1"), **GRID)
            layout[p.yaxis] = dict(domain=p.y_domain, anchor=p.x, range=ranges[1], title=dict(text="PC2"), **GRID)
        else:
            axes = {f"{a}axis": dict(range=r, title=dict(text=pc)) for a, r, pc in zip("xyz", ranges, pcs, strict=False)}
            layout[p.scene] = dict(domain=dict(x=p.x_domain, y=p.y_domain), aspectmode="cube", **axes)
    play = dict(label="▶ Play", method="animate", args=[None, dict(
        frame=dict(duration=FRAME_MS, redraw=redraw), fromcurrent=True, transition=dict(duration=FRAME_MS // 2))])
    pause = dict(label="❚❚ Pause", method="animate", args=[[None], dict(
        frame=dict(duration=0, redraw=False), mode="immediate", transition=dict(duration=0))])
    slider_steps = [dict(label=str(step), method="animate", args=[[str(step)], dict(
        mode="immediate", frame=dict(duration=0, redraw=redraw), transition=dict(duration=0))]) for step in frames.steps]
    bottom = 130
    layout.update(
        title=_title(f"Probe points in each layer's first {dims} principal components, over training"),
        annotations=annotations, height=plot_px + 80 + bottom, margin=dict(l=55, r=10, t=80, b=bottom),
        plot_bgcolor=WHITE, hovermode="closest", legend=dict(itemsizing="constant"),
        updatemenus=[dict(type="buttons", direction="down", showactive=False, buttons=[play, pause],
                          x=0.0, xanchor="left", y=0.0, yanchor="top", pad=dict(t=62, r=0))],
        sliders=[dict(active=last, steps=slider_steps, x=0.22, len=0.78, y=0.0, yanchor="top", pad=dict(t=55, b=0),
                      currentvalue=dict(prefix="step ", xanchor="right", font=dict(size=13)),
                      font=dict(size=10), transition=dict(duration=0))],
    )
    return go.Figure(data=data, layout=layout, frames=animation)


# ---- RDMs -----------------------------------------------------------------------------------------


def normalised_rdm(rdm: np.ndarray) -> np.ndarray:
    """The RDM divided by its largest finite entry (all zeros stays zeros), so layers share one scale."""
    d = np.asarray(rdm, dtype=np.float64)
    finite = d[np.isfinite(d)]
    top = float(finite.max()) if finite.size else 0.0
    return d / top if top > 0 else np.zeros_like(d)


def rdm_title(title: str, rsa_input: float, rsa_labels: float) -> str:
    """'layer 1 · RSA input 0.83, labels 0.41'; the labels' own RDM is just 'labels'."""
    if title == "labels":
        return title
    return f"{title} · RSA input {rsa_input:.2f}, labels {rsa_labels:.2f}"


def rdm_figure(rdms: RDMSet) -> go.Figure:
    """The RDMs side by side on one colour scale (each divided by its max), with each one's RSA
    (Spearman correlation of the upper triangles) with the input's RDM and the labels' RDM."""
    mats = [normalised_rdm(r) for r in rdms.rdms]
    if not mats:
        return empty_figure("no representations to compare")
    panels, plot_px = panel_grid(len(mats), row_px=280)
    by_condition = rdms.over == "conditions"
    ticks = [str(t) for t in rdms.tick_labels]
    data, annotations, layout = [], [], {}
    for p, m, title, ri, rl in zip(panels, mats, rdms.titles, rdms.rsa_input, rdms.rsa_labels, strict=False):
        n = m.shape[0]
        idx = list(range(n))
        trace = dict(type="heatmap", z=m, x=idx, y=idx, coloraxis="coloraxis", xaxis=p.x, yaxis=p.y, name=title)
        if by_condition and len(ticks) == n:
            trace["text"] = [[f"{ticks[i]} vs {ticks[j]}" for j in idx] for i in idx]
            trace["hovertemplate"] = "%{text}<br>%{z:.2f} of max<extra>" + title + "</extra>"
        else:
            trace["hovertemplate"] = "sample %{y} vs %{x}<br>%{z:.2f} of max<extra>" + title + "</extra>"
        data.append(trace)
        annotations.append(p.title(rdm_title(title, ri, rl)))
        axis = dict(showgrid=False, zeroline=False, ticks="", constrain="domain")
        if by_condition:
            axis.update(tickmode="array", tickvals=idx, ticktext=ticks[:n], tickfont=dict(size=10), showticklabels=True)
            x_title = None
        else:
            axis.update(showticklabels=False)
            x_title = dict(text="samples, sorted by label", font=dict(size=11))
        layout[p.xaxis] = dict(domain=p.x_domain, anchor=p.y, title=x_title, **axis)
        layout[p.yaxis] = dict(domain=p.y_domain, anchor=p.x, autorange="reversed", scaleanchor=p.x, scaleratio=1, **axis)
    layout.update(
        title=_title(f"RDMs: {rdms.metric} distance between {rdms.over}; RSA = Spearman ρ with the input / labels RDM"),
        annotations=annotations, height=plot_px + 80 + 50, margin=dict(l=50, r=10, t=80, b=50), plot_bgcolor=WHITE,
        coloraxis=dict(colorscale=DISSIMILARITY_SCALE, cmin=0.0, cmax=1.0,
                       colorbar=dict(title=dict(text="dissimilarity / max", side="right"), thickness=12, len=0.8)),
    )
    return go.Figure(data=data, layout=layout)


# ---- CKA ------------------------------------------------------------------------------------------


def cka_figure(result: CKAResult) -> go.Figure:
    """CKA of every (row layer, column layer) pair as a heatmap on [0, 1], the values written in."""
    m = np.asarray(result.matrix, dtype=np.float64)
    if m.size == 0:
        return empty_figure("no layers to compare", title=result.title)
    rows, cols = [str(r) for r in result.rows], [str(c) for c in result.cols]
    text = [[f"{v:.2f}" for v in row] for row in m]
    fig = go.Figure(go.Heatmap(
        z=m, x=cols, y=rows, text=text, texttemplate="%{text}", textfont=dict(size=12),
        colorscale=SIMILARITY_SCALE, zmin=0.0, zmax=1.0,
        colorbar=dict(title=dict(text="CKA"), thickness=12, len=0.8),
        hovertemplate="%{y} × %{x}<br>CKA %{z:.3f}<extra></extra>",
    ))
    same = rows == cols
    fig.update_xaxes(title=dict(text="layer" if same else "layer (columns)"), type="category", side="bottom",
                     showgrid=False, constrain="domain")
    fig.update_yaxes(title=dict(text="layer" if same else "layer (rows)"), type="category", autorange="reversed",
                     scaleanchor="x", scaleratio=1, showgrid=False, constrain="domain")
    side = 160 + 50 * min(max(len(rows), len(cols)), 12)
    fig.update_layout(title=_title(result.title), height=max(320, side), margin=dict(l=70, r=10, t=50, b=50),
                      plot_bgcolor=WHITE)
    return fig


# ---- alignment over training ----------------------------------------------------------------------


def log_steps(steps: Sequence[int]) -> list[int]:
    """Steps as drawn on a log axis: step 0 at 1."""
    return [max(int(s), 1) for s in steps]


def alignment_figure(curves: AlignmentCurves) -> go.Figure:
    """Linear CKA of each hidden layer with the input (left) and with the labels (right) over training,
    one colour per layer in both panels; log step axis."""
    inp, lab = np.asarray(curves.input, dtype=np.float64), np.asarray(curves.labels, dtype=np.float64)
    if len(curves.steps) == 0 or inp.ndim != 2 or inp.shape[1] == 0:
        return empty_figure("no snapshots yet", title="alignment with input and labels")
    panels, plot_px = panel_grid(2, row_px=320)
    xs, real = log_steps(curves.steps), [int(s) for s in curves.steps]
    data, annotations, layout = [], [], {}
    for p, values, what in zip(panels, (inp, lab), ("input", "labels"), strict=False):
        annotations.append(p.title(f"alignment with {what}"))
        for li, name in enumerate(curves.titles):
            color = RUN_COLORS[li % len(RUN_COLORS)]
            data.append(dict(
                type="scatter", x=xs, y=values[:, li], customdata=real, mode="lines+markers", name=name,
                legendgroup=name, showlegend=p.index == 0, line=dict(color=color, width=2), marker=dict(size=5),
                xaxis=p.x, yaxis=p.y,
                hovertemplate=f"{name}<br>step %{{customdata}}<br>CKA with {what} %{{y:.3f}}<extra></extra>",
            ))
        layout[p.xaxis] = dict(domain=p.x_domain, anchor=p.y, type="log", title=dict(text="step (log; 0 shown at 1)"), **GRID)
        layout[p.yaxis] = dict(domain=p.y_domain, anchor=p.x, range=[0.0, 1.02], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0],
                               title=dict(text="linear CKA") if p.col == 0 else None, **GRID)
    layout.update(
        title=_title("Hidden layers vs input and labels (CKA)"),
        annotations=annotations, height=plot_px + 80 + 55, margin=dict(l=55, r=10, t=80, b=55),
        plot_bgcolor=WHITE, hovermode="closest", legend=dict(title=dict(text="layer")),
    )
    return go.Figure(data=data, layout=layout)


# ---- unit matching ------------------------------------------------------------------------------


def unit_match_figure(matches: Mapping[str, UnitMatch]) -> go.Figure:
    """Per layer, the correlation of matched unit pairs by rank: one-to-one Hungarian, semi-matching
    (each unit's best partner) and the Hungarian matching against shuffled samples (chance)."""
    if not matches:
        return empty_figure("no hidden layers to match")
    series = {name: {"hungarian": np.asarray(m.hungarian.correlations, dtype=np.float64),
                     "semi": np.asarray(m.semi.correlations, dtype=np.float64),
                     "baseline": np.asarray(m.baseline, dtype=np.float64)} for name, m in matches.items()}
    everything = np.concatenate([v for s in series.values() for v in s.values()] + [np.zeros(0)])
    finite = everything[np.isfinite(everything)]
    low = min(-0.1, float(finite.min()) - 0.05) if finite.size else -0.1
    panels, plot_px = panel_grid(len(matches), row_px=260)
    data, annotations, layout = [], [], {}
    for p, (layer, m) in zip(panels, matches.items(), strict=False):
        annotations.append(p.title(f"{layer} · gain {m.mean_gain:+.2f}"))
        for key, (label, color, dash) in MATCH_STYLE.items():
            y = series[layer][key]
            data.append(dict(
                type="scatter", x=np.arange(1, len(y) + 1), y=y, mode="lines", name=label, legendgroup=key,
                showlegend=p.index == 0, line=dict(color=color, dash=dash, width=2), xaxis=p.x, yaxis=p.y,
                hovertemplate=f"{label}<br>rank %{{x}}<br>r = %{{y:.3f}}<extra>{layer}</extra>",
            ))
        layout[p.xaxis] = dict(domain=p.x_domain, anchor=p.y, title=dict(text="matched unit rank"), **GRID)
        layout[p.yaxis] = dict(domain=p.y_domain, anchor=p.x, range=[low, 1.05],
                               title=dict(text="correlation") if p.col == 0 else None, **GRID)
    bottom = 95
    layout.update(
        title=_title("Unit matching with the second net: correlation of matched units, best first"),
        annotations=annotations, height=plot_px + 80 + bottom, margin=dict(l=55, r=10, t=80, b=bottom),
        plot_bgcolor=WHITE, hovermode="closest",
        legend=_legend_below(plot_px),
    )
    return go.Figure(data=data, layout=layout)


# ---- warped input grid ----------------------------------------------------------------------------


def polyline_xy(lines: np.ndarray) -> tuple[list[Any], list[Any]]:
    """(n_lines, n_per_line, 2) -> x, y lists with a None after each line (one trace draws them all)."""
    xs: list[Any] = []
    ys: list[Any] = []
    for line in np.asarray(lines, dtype=np.float64):
        xs += [*line[:, 0].tolist(), None]
        ys += [*line[:, 1].tolist(), None]
    return xs, ys


def warped_grid_figure(grid: WarpedGrid) -> go.Figure:
    """The 2-D input plane's grid lines and the probe points, carried through each layer and shown in
    that layer's first two principal components (the input panel in the plane's own x1, x2)."""
    if not grid.titles:
        return empty_figure("no layers to show")
    groups = colour_groups(grid.colour, grid.colour_names)
    panels, plot_px = panel_grid(len(grid.titles), row_px=300, gap_x=0.1)
    data, annotations, layout = [], [], {}
    for p, title, lines, pts in zip(panels, grid.titles, grid.lines, grid.points, strict=False):
        annotations.append(p.title(title))
        gx, gy = polyline_xy(lines)
        data.append(dict(type="scatter", x=gx, y=gy, mode="lines", line=GRID_LINE, name="input grid",
                         legendgroup="grid", showlegend=p.index == 0, hoverinfo="skip", xaxis=p.x, yaxis=p.y))
        pts = np.asarray(pts, dtype=np.float64)
        for g, name, idx in groups:
            data.append(dict(
                type="scatter", x=pts[idx, 0], y=pts[idx, 1], mode="markers", name=name, legendgroup=name,
                showlegend=p.index == 0, marker=dict(color=class_color(g), size=MARKER_PX, line=dict(color=WHITE, width=0.5)),
                xaxis=p.x, yaxis=p.y, customdata=idx,
                hovertemplate=f"{name}<br>point %{{customdata}}<br>(%{{x:.2f}}, %{{y:.2f}})<extra>{title}</extra>",
            ))
        names = ("x1", "x2") if title == "input" else ("PC1", "PC2")
        layout[p.xaxis] = dict(domain=p.x_domain, anchor=p.y, title=dict(text=names[0]), **GRID)
        layout[p.yaxis] = dict(domain=p.y_domain, anchor=p.x, scaleanchor=p.x, scaleratio=1,
                               title=dict(text=names[1]), **GRID)
    bottom = 95
    layout.update(
        title=_title("The input plane's grid carried through each layer (first two principal components)"),
        annotations=annotations, height=plot_px + 80 + bottom, margin=dict(l=55, r=10, t=80, b=bottom),
        plot_bgcolor=WHITE, hovermode="closest", legend=_legend_below(plot_px),
    )
    return go.Figure(data=data, layout=layout)
