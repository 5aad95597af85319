"""Sparse connectivity in plotly: the unit graph of a masked MLP in layers (nodes coloured by ensemble,
edges by the sign of w, wider and darker with |w|), its ensemble block graph, mask heatmaps ordered by
ensemble, a DST round's pruned and grown edges, edge turnover, degree histograms, accuracy and DNR
against sparsity, and a recurrent mask's graph.

Inputs are plain data (networkx graphs and arrays from `analysis.sparsity`); nothing here trains.
Edge signs use the Playground's palette (blue w > 0, orange w < 0); ensembles get hues apart from both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from netarium.viz.boundary import BLUE, ORANGE
from netarium.viz.curves import RUN_COLORS, empty_figure, panel_layout

ENSEMBLE_COLORS = ["#7b1fa2", "#2e7d32", "#c2185b", "#6d4c41", "#00897b", "#9e9d24", "#5c6bc0", "#e53935",
                   "#8d6e63", "#26a69a", "#ab47bc", "#689f38"]  # away from the sign colours blue and orange
NO_ENSEMBLE = "#8a8f94"
ACTIVE, EMPTY = "#37474f", "#f3f4f5"
PRUNED_COLOR, GROWN_COLOR = "#d62728", "#2ca02c"
DIVIDER = dict(color="#8e24aa", width=1)  # purple: apart from the red and green of a DST round
LEVELS = 5  # edge widths and opacities are binned into this many levels per sign
MIN_WIDTH, MAX_WIDTH = 0.5, 4.0


def ensemble_color(group: int | None) -> str:
    return NO_ENSEMBLE if group is None else ENSEMBLE_COLORS[group % len(ENSEMBLE_COLORS)]


def _rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def layered_positions(G: nx.Graph, spread: bool = False) -> dict:
    """(x, y) of every node: layers left to right by the node's "layer", units top to bottom ordered by
    ensemble then index (networkx's multipartite layout, flipped so the first unit is on top). With
    `spread` every layer spans the same height (a drill-down: a few units beside a wide layer)."""
    by_layer: dict[int, list] = {}
    for node, data in G.nodes(data=True):
        by_layer.setdefault(int(data["layer"]), []).append(node)
    if not by_layer:
        return {}

    def order(node):
        g = G.nodes[node].get("group")
        return (-1 if g is None else g, node)

    subsets = {layer: sorted(nodes, key=order) for layer, nodes in sorted(by_layer.items())}
    pos = {node: (float(x), -float(y)) for node, (x, y) in nx.multipartite_layout(G, subset_key=subsets).items()}
    if spread:
        top = max(y for _, y in pos.values())
        for nodes in subsets.values():
            ys = np.linspace(top, -top, len(nodes)) if len(nodes) > 1 else [0.0]
            pos.update({node: (pos[node][0], float(y)) for node, y in zip(nodes, ys, strict=True)})
    return pos


def _edge_traces(segments: dict[tuple[int, int], tuple[list, list]], legend: bool = True) -> list[go.Scatter]:
    """Line traces per (sign, level), thin and faint first; one legend entry per sign."""
    traces = []
    for sign, lv in sorted(segments, key=lambda k: (k[1], k[0])):
        xs, ys = segments[(sign, lv)]
        color = BLUE if sign > 0 else ORANGE
        name = "w > 0" if sign > 0 else "w < 0"
        traces.append(go.Scatter(
            x=xs, y=ys, mode="lines", hoverinfo="skip", name=name, legendgroup=name, showlegend=False,
            line=dict(color=_rgba(color, 0.25 + 0.7 * lv / LEVELS), width=MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * (lv - 1) / (LEVELS - 1)),
        ))
    if legend:  # legend entries in full colour (the faint thin levels would make a pale swatch)
        for sign in sorted({k[0] for k in segments}, reverse=True):
            name = "w > 0" if sign > 0 else "w < 0"
            traces.append(go.Scatter(x=[None], y=[None], mode="lines", name=name, legendgroup=name, hoverinfo="skip",
                                     line=dict(color=BLUE if sign > 0 else ORANGE, width=3)))
    return traces


def _level(value: float, vmax: float) -> int:
    return int(min(LEVELS, max(1, math.ceil(LEVELS * value / vmax)))) if vmax > 0 else 1


def _graph_layout(fig: go.Figure, pos: dict, G: nx.Graph, title: str, height: int) -> go.Figure:
    layers: dict[int, list] = {}
    for node, data in G.nodes(data=True):
        layers.setdefault(int(data["layer"]), []).append(node)
    top = max((p[1] for p in pos.values()), default=0.0)
    for layer, nodes in layers.items():
        x = pos[nodes[0]][0]
        label = G.nodes[nodes[0]].get("label", f"layer {layer}")
        fig.add_annotation(x=x, y=top, yshift=14, text=f"{label} ({len(nodes)})" if "units" not in G.nodes[nodes[0]] else label,
                           showarrow=False, yanchor="bottom", font=dict(size=12, color="#444444"))
    panel_layout(fig, title, height, legend_y=-0.04)
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False)
    fig.update_layout(hovermode="closest", margin=dict(l=10, r=10, t=60, b=30), legend=dict(yanchor="top", itemsizing="constant"))
    return fig


def unit_graph_figure(G: nx.DiGraph, title: str = "Connectivity") -> go.Figure:
    """The unit graph (analysis.sparsity.unit_graph) in layers: a marker per unit coloured by ensemble
    (one trace per ensemble, grey without), a line per edge coloured by the sign of w, wider and more
    opaque with |w|; hover a unit for its layer, ensemble and in/out degree."""
    if G.number_of_nodes() == 0:
        return empty_figure("no units to draw")
    pos = layered_positions(G, spread=G.graph.get("focus") is not None)
    wmax = max((abs(d["weight"]) for _, _, d in G.edges(data=True)), default=0.0)
    segments: dict[tuple[int, int], tuple[list, list]] = {}
    for a, b, d in G.edges(data=True):
        key = (1 if d["weight"] >= 0 else -1, _level(abs(d["weight"]), wmax))
        xs, ys = segments.setdefault(key, ([], []))
        xs.extend([pos[a][0], pos[b][0], None])
        ys.extend([pos[a][1], pos[b][1], None])
    fig = go.Figure(_edge_traces(segments))
    tallest = max(sum(1 for _, d in G.nodes(data=True) if d["layer"] == layer)
                  for layer in {d["layer"] for _, d in G.nodes(data=True)})
    size = float(np.clip(360 / max(tallest, 1), 5, 14))
    by_group: dict[int | None, list] = {}
    for node, d in G.nodes(data=True):
        by_group.setdefault(d.get("group"), []).append(node)
    for group in sorted(by_group, key=lambda g: -1 if g is None else g):
        nodes = by_group[group]
        text = [f"{G.nodes[n]['label']} #{G.nodes[n]['unit']}"
                + (f" · ensemble {group}" if group is not None else "")
                + f"<br>in-degree {G.nodes[n]['deg_in']} · out-degree {G.nodes[n]['deg_out']}" for n in nodes]
        fig.add_trace(go.Scatter(
            x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers", text=text,
            name="no ensemble" if group is None else f"ensemble {group}", legendgroup=f"group{group}",
            customdata=[[G.nodes[n]["layer"], G.nodes[n]["unit"]] for n in nodes],
            marker=dict(size=size, color=ensemble_color(group), line=dict(color="#ffffff", width=0.5)),
            hovertemplate="%{text}<extra></extra>",
        ))
    height = int(np.clip(14 * tallest + 140, 360, 760))
    return _graph_layout(fig, pos, G, title, height)


def block_graph_figure(G: nx.DiGraph, title: str = "Ensembles") -> go.Figure:
    """The ensemble block graph (analysis.sparsity.block_graph): a node per ensemble sized by its units,
    an edge per connected pair, as wide as its density (active / possible edges) and coloured by the sign
    of the summed weight; hover a node or the middle of an edge for the numbers."""
    if G.number_of_nodes() == 0:
        return empty_figure("no ensembles to draw")
    pos = layered_positions(G)
    segments: dict[tuple[int, int], tuple[list, list]] = {}
    mid_x, mid_y, mid_text = [], [], []

    def name(node) -> str:
        d = G.nodes[node]
        return f"{d['label']} {'e' if d['ensembles'] else 'block '}{d['block']}"

    for a, b, d in G.edges(data=True):
        key = (1 if d["w"] >= 0 else -1, _level(d["density"], 1.0))
        xs, ys = segments.setdefault(key, ([], []))
        xs.extend([pos[a][0], pos[b][0], None])
        ys.extend([pos[a][1], pos[b][1], None])
        mid_x.append((pos[a][0] + pos[b][0]) / 2)
        mid_y.append((pos[a][1] + pos[b][1]) / 2)
        mid_text.append(f"{name(a)} → {name(b)}<br>{d['edges']:,} edges (density {d['density']:.2f})"
                        f"<br>Σ|w| {d['abs_w']:.3g} · Σw {d['w']:.3g}" + ("" if d["masked"] else " · dense layer"))
    fig = go.Figure(_edge_traces(segments))
    fig.add_trace(go.Scatter(x=mid_x, y=mid_y, mode="markers", marker=dict(size=7, color="rgba(0,0,0,0)"), text=mid_text,
                             hovertemplate="%{text}<extra></extra>", showlegend=False, name="block edges"))
    umax = max(d["units"] for _, d in G.nodes(data=True))
    by_group: dict[int | None, list] = {}
    for node, d in G.nodes(data=True):
        by_group.setdefault(d.get("group"), []).append(node)
    for group in sorted(by_group, key=lambda g: -1 if g is None else g):
        nodes = by_group[group]
        fig.add_trace(go.Scatter(
            x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers+text",
            text=[f"e{G.nodes[n]['block']}" if G.nodes[n]["ensembles"] else "" for n in nodes], textposition="middle center",
            textfont=dict(color="#ffffff", size=10),
            hovertext=[f"{name(n)}: {G.nodes[n]['units']} units" for n in nodes], hovertemplate="%{hovertext}<extra></extra>",
            name="no ensemble (blocks of units)" if group is None else f"ensemble {group}", legendgroup=f"group{group}",
            customdata=[[G.nodes[n]["layer"], G.nodes[n]["block"]] for n in nodes],
            marker=dict(size=[14 + 22 * math.sqrt(G.nodes[n]["units"] / umax) for n in nodes], color=ensemble_color(group),
                        line=dict(color="#ffffff", width=1)),
        ))
    tallest = max(sum(1 for _, d in G.nodes(data=True) if d["layer"] == layer) for layer in {d["layer"] for _, d in G.nodes(data=True)})
    return _graph_layout(fig, pos, G, title, int(np.clip(48 * tallest + 160, 360, 700)))


def _boundaries(ids: Sequence[int] | None) -> list[float]:
    """Positions (between cells, after ordering) where the ensemble changes."""
    if ids is None:
        return []
    s = np.sort(np.asarray(ids))
    return [i - 0.5 for i in range(1, s.size) if s[i] != s[i - 1]]


def _ensemble_ticks(ids: Sequence[int] | None) -> dict:
    if ids is None:
        return {}
    s = np.sort(np.asarray(ids))
    values, starts, counts = np.unique(s, return_index=True, return_counts=True)
    return dict(tickmode="array", tickvals=(starts + (counts - 1) / 2).tolist(), ticktext=[f"e{v}" for v in values])


def _ordered(matrix: np.ndarray, in_ids, out_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ro = np.arange(matrix.shape[0]) if out_ids is None else np.argsort(np.asarray(out_ids), kind="stable")
    co = np.arange(matrix.shape[1]) if in_ids is None else np.argsort(np.asarray(in_ids), kind="stable")
    return matrix[ro][:, co], ro, co


def _heatmap_layout(fig: go.Figure, shape: tuple[int, int], in_ids, out_ids, title: str) -> go.Figure:
    n_out, n_in = shape
    for x in _boundaries(in_ids):
        fig.add_shape(type="line", x0=x, x1=x, y0=-0.5, y1=n_out - 0.5, line=DIVIDER)
    for y in _boundaries(out_ids):
        fig.add_shape(type="line", x0=-0.5, x1=n_in - 0.5, y0=y, y1=y, line=DIVIDER)
    side = 300 if max(shape) <= 16 else 380 if max(shape) <= 64 else 560
    panel_layout(fig, title, side + 90, legend_y=-0.16)
    fig.update_xaxes(title_text="input unit" + (" (by ensemble)" if in_ids is not None else ""), showgrid=False,
                     range=[-0.5, n_in - 0.5], constrain="domain", zeroline=False, **_ensemble_ticks(in_ids))
    fig.update_yaxes(title_text="output unit" + (" (by ensemble)" if out_ids is not None else ""), showgrid=False,
                     range=[n_out - 0.5, -0.5], scaleanchor="x", scaleratio=1, constrain="domain", zeroline=False,
                     **_ensemble_ticks(out_ids))
    return fig


def mask_heatmap_figure(mask: np.ndarray, in_ids: Sequence[int] | None = None, out_ids: Sequence[int] | None = None,
                        name: str = "layer") -> go.Figure:
    """A layer's 0/1 mask (rows = outputs, columns = inputs), both ordered by ensemble, with thin lines
    between ensembles; the title gives the sparsity."""
    M = (np.asarray(mask) != 0).astype(np.int8)
    z, ro, co = _ordered(M, in_ids, out_ids)
    edges = int(M.sum())
    custom = np.dstack(np.meshgrid(co, ro)) if M.size <= 40_000 else None
    fig = go.Figure(go.Heatmap(
        z=z, colorscale=[[0, EMPTY], [1, ACTIVE]], zmin=0, zmax=1, showscale=False, customdata=custom, xgap=0, ygap=0,
        hovertemplate=("input %{customdata[0]} → output %{customdata[1]}: %{z}<extra></extra>" if custom is not None
                       else "%{z}<extra></extra>"),
    ))
    sparsity = 1 - edges / M.size if M.size else 0.0
    return _heatmap_layout(fig, M.shape, in_ids, out_ids, f"{name} · {sparsity:.1%} sparse ({edges:,} of {M.size:,} edges)")


REWIRING_SCALE = [[0.0, EMPTY], [0.25, EMPTY], [0.25, ACTIVE], [0.5, ACTIVE], [0.5, GROWN_COLOR], [0.75, GROWN_COLOR],
                  [0.75, PRUNED_COLOR], [1.0, PRUNED_COLOR]]  # z = ABSENT 0, KEPT 1, GROWN 2, PRUNED 3 on [0, 3]


def rewiring_figure(cells: np.ndarray, in_ids: Sequence[int] | None = None, out_ids: Sequence[int] | None = None,
                    name: str = "layer", step: int | None = None) -> go.Figure:
    """A layer after a DST round (analysis.sparsity.rewiring_cells): active edges dark, the edges pruned
    this round red, those grown green, ordered by ensemble as the mask heatmap; big layers get a marker
    on each changed edge so one cell is not lost."""
    C = np.asarray(cells)
    z, ro, co = _ordered(C, in_ids, out_ids)
    fig = go.Figure(go.Heatmap(z=z, colorscale=REWIRING_SCALE, zmin=0, zmax=3, showscale=False,
                               hovertemplate="row %{y}, column %{x}<extra></extra>"))
    counts = {k: int((C == v).sum()) for k, v in (("pruned", 3), ("grown", 2))}
    big = C.size > 48 * 48
    for label, value, color in (("pruned", 3, PRUNED_COLOR), ("grown", 2, GROWN_COLOR)):
        r, c = np.nonzero(z == value)
        fig.add_trace(go.Scatter(  # hover (and, on big layers, a visible dot) on each changed edge
            x=c.tolist(), y=r.tolist(), mode="markers", name=f"{label} ({counts[label]})", showlegend=False,
            marker=dict(color=color, symbol="square", size=4 if big else 1, opacity=1 if big else 0),
            text=[f"input {int(co[j])} → output {int(ro[i])}: {label}" for i, j in zip(r, c, strict=True)],
            hovertemplate="%{text}<extra></extra>",
        ))
    for label, color in ((f"kept ({int((C == 1).sum())})", ACTIVE), (f"pruned ({counts['pruned']})", PRUNED_COLOR),
                         (f"grown ({counts['grown']})", GROWN_COLOR)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label, hoverinfo="skip",
                                 marker=dict(color=color, symbol="square", size=11)))
    at = f" at step {step:,}" if step is not None else ""
    return _heatmap_layout(fig, C.shape, in_ids, out_ids,
                           f"{name}{at}: {counts['pruned']} pruned (red), {counts['grown']} grown (green)")


REWIRING_GRAPH_EDGES = 3000  # above this many drawn edges the graph of a round is unreadable: use the heatmap


def rewiring_graph_figure(cells: np.ndarray, in_ids: Sequence[int] | None = None, out_ids: Sequence[int] | None = None,
                          name: str = "layer", step: int | None = None) -> go.Figure:
    """The same round as a bipartite graph: the layer's inputs on the left, its outputs on the right (each
    column ordered by ensemble, nodes coloured by it), kept edges thin grey, edges grown this round green,
    those pruned this round dashed red. Returns an empty figure saying so when there are too many edges."""
    C = np.asarray(cells)
    if int((C != 0).sum()) > REWIRING_GRAPH_EDGES:
        return empty_figure(f"{int((C != 0).sum()):,} edges: too many to draw as a graph; see the heatmap")
    _, ro, co = _ordered(C, in_ids, out_ids)
    n_out, n_in = C.shape
    y_in = {int(j): 1 - k / max(n_in - 1, 1) for k, j in enumerate(co)}  # top to bottom in ensemble order
    y_out = {int(i): 1 - k / max(n_out - 1, 1) for k, i in enumerate(ro)}
    fig = go.Figure()
    counts = {}
    for label, value, color, width, dash in (("kept", 1, "rgba(80,80,80,0.25)", 1, "solid"),
                                             ("grown", 2, GROWN_COLOR, 2.5, "solid"),
                                             ("pruned", 3, PRUNED_COLOR, 2, "dot")):
        rows, cols = np.nonzero(C == value)
        counts[label] = len(rows)
        xs: list = []
        ys: list = []
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            xs += [0, 1, None]
            ys += [y_in[j], y_out[i], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{label} ({len(rows)})", hoverinfo="skip",
                                 line=dict(color=color, width=width, dash=dash)))
    for x, ids, ys, side in ((0, in_ids, y_in, "input"), (1, out_ids, y_out, "output")):
        units = list(ys)
        groups = [None if ids is None else int(ids[u]) for u in units]
        fig.add_trace(go.Scatter(
            x=[x] * len(units), y=[ys[u] for u in units], mode="markers", showlegend=False,
            marker=dict(size=9, color=[ensemble_color(g) for g in groups], line=dict(color="white", width=1)),
            text=[f"{side} {u}" + ("" if g is None else f" · ensemble {g}") for u, g in zip(units, groups, strict=True)],
            hovertemplate="%{text}<extra></extra>"))
    at = f" at step {step:,}" if step is not None else ""
    fig.update_xaxes(visible=False, range=[-0.15, 1.15])
    fig.update_yaxes(visible=False, range=[-0.05, 1.05])
    fig.add_annotation(text="inputs", x=0, y=1.05, showarrow=False, yanchor="bottom")
    fig.add_annotation(text="outputs", x=1, y=1.05, showarrow=False, yanchor="bottom")
    return panel_layout(fig, f"{name}{at}: {counts['pruned']} pruned (red, dotted), {counts['grown']} grown (green)",
                        max(360, min(900, 9 * max(n_in, n_out))), legend_y=-0.06)


def turnover_figure(rows: Sequence[Mapping]) -> go.Figure:
    """Edge turnover (pruned + grown) / (2 · edges) of every DST round, a line per layer, with the
    prune fraction of the schedule dotted."""
    if not rows:
        return empty_figure("no rewiring yet")
    fig = go.Figure()
    names = list(dict.fromkeys(r["name"] for r in rows))
    for i, name in enumerate(names):
        mine = [r for r in rows if r["name"] == name]
        fig.add_trace(go.Scatter(
            x=[r["step"] for r in mine], y=[r["turnover"] for r in mine], mode="lines+markers", name=name,
            line=dict(color=RUN_COLORS[i % 10]),
            text=[f"{r['pruned']} pruned, {r['grown']} grown, {r['kept']} kept" for r in mine],
            hovertemplate=f"{name}<br>step %{{x}}<br>turnover %{{y:.3f}}<br>%{{text}}<extra></extra>",
        ))
    first = [r for r in rows if r["name"] == names[0]]
    if first and "fraction" in first[0]:
        fig.add_trace(go.Scatter(x=[r["step"] for r in first], y=[r["fraction"] for r in first], mode="lines",
                                 name="prune fraction", line=dict(color="#888888", dash="dot")))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="turnover", rangemode="tozero")
    return panel_layout(fig, "Edge turnover per rewiring round", 320, legend_y=-0.28)


def degree_figure(layers: Sequence[tuple[str, Sequence[int], Sequence[int]]]) -> go.Figure:
    """Histograms of in-degree (active inputs of each output unit) and out-degree (active outputs of each
    input unit), one colour per layer: (name, in-degrees, out-degrees)."""
    if not layers:
        return empty_figure("no masked layer")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("in-degree (inputs per unit)", "out-degree (outputs per unit)"),
                        horizontal_spacing=0.1)
    for i, (name, din, dout) in enumerate(layers):
        color = RUN_COLORS[i % 10]
        for col, values in ((1, din), (2, dout)):
            fig.add_trace(go.Histogram(x=list(values), name=name, legendgroup=name, showlegend=col == 1, opacity=0.7,
                                       marker=dict(color=color), xbins=dict(size=1),
                                       hovertemplate=f"{name}<br>degree %{{x}}: %{{y}} units<extra></extra>"), 1, col)
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="degree", rangemode="tozero")
    fig.update_yaxes(title_text="units", col=1)
    return panel_layout(fig, "Degrees of the masked layers", 360, legend_y=-0.25)


def pruning_figure(curves: Mapping[str, Sequence[Mapping]], score: str = "accuracy") -> go.Figure:
    """Accuracy (or R²) and DNR against sparsity for one-shot magnitude pruning (analysis.sparsity.pruning_curve),
    a line per pruning scope ({"global": rows, "layer": rows})."""
    if not any(curves.values()):
        return empty_figure("no pruning curve")
    has_dnr = any(r.get("dnr") is not None for rows in curves.values() for r in rows)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"test {score} vs sparsity",
                                                        "dead-neuron rate (ReLU pairs at 0) vs sparsity"),
                        horizontal_spacing=0.12)
    for i, (scope, rows) in enumerate(curves.items()):
        x = [100 * r["sparsity"] for r in rows]
        color = RUN_COLORS[i % 10]
        text = [f"{r['edges']:,} of {r['total']:,} edges" for r in rows]
        fig.add_trace(go.Scatter(x=x, y=[r["accuracy"] for r in rows], mode="lines+markers", name=f"{scope} pruning",
                                 legendgroup=scope, line=dict(color=color), text=text,
                                 hovertemplate=f"{scope}<br>%{{x:.1f}}% sparse<br>{score} %{{y:.3f}}<br>%{{text}}<extra></extra>"), 1, 1)
        if has_dnr:
            fig.add_trace(go.Scatter(x=x, y=[r["dnr"] for r in rows], mode="lines+markers", name=f"{scope} pruning",
                                     legendgroup=scope, showlegend=False, line=dict(color=color), text=text,
                                     hovertemplate=f"{scope}<br>%{{x:.1f}}% sparse<br>DNR %{{y:.3f}}<br>%{{text}}<extra></extra>"), 1, 2)
    if not has_dnr:
        # paper coordinates: an empty subplot has no drawn axes for "x2 domain" to refer to
        left, right = fig.layout.xaxis2.domain
        fig.add_annotation(text="no ReLU hidden layer:<br>DNR is not defined", xref="paper", yref="paper", x=(left + right) / 2,
                           y=0.5, showarrow=False, font=dict(color="#888888", size=13))
    fig.update_xaxes(title_text="sparsity (%)", range=[-2, 100])
    scores = [r["accuracy"] for rows in curves.values() for r in rows if r["accuracy"] == r["accuracy"]]
    low = 0.0 if score == "accuracy" else min([0.0, *scores])  # a fixed scale: noise near chance must not look like a trend
    fig.update_yaxes(title_text=score, range=[low - 0.02, 1.02], col=1)
    fig.update_yaxes(title_text="DNR", range=[0, 1.02], col=2)
    return panel_layout(fig, "One-shot magnitude pruning of a copy of the model now", 380, legend_y=-0.25)


def recurrent_figure(G: nx.DiGraph, layout: str = "circular", seed: int = 0, title: str = "Recurrent graph") -> go.Figure:
    """A recurrent mask's directed graph (analysis.sparsity.recurrent_digraph) on a circle or a seeded
    spring layout: nodes coloured by degree (in + out), edges as faint lines (self-loops not drawn)."""
    if G.number_of_nodes() == 0:
        return empty_figure("no recurrent units")
    pos = nx.circular_layout(G) if layout == "circular" else nx.spring_layout(G, seed=seed)
    xs, ys = [], []
    loops = 0
    for a, b in G.edges():
        if a == b:
            loops += 1
            continue
        xs.extend([pos[a][0], pos[b][0], None])
        ys.extend([pos[a][1], pos[b][1], None])
    n = G.number_of_nodes()
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False, name="edges",
                               line=dict(color=_rgba("#555555", 0.35 if n > 32 else 0.6), width=1)))
    nodes = list(G.nodes())
    deg = [G.nodes[u]["deg_in"] + G.nodes[u]["deg_out"] for u in nodes]
    fig.add_trace(go.Scatter(
        x=[pos[u][0] for u in nodes], y=[pos[u][1] for u in nodes], mode="markers", showlegend=False, name="units",
        text=[f"unit {u}<br>in-degree {G.nodes[u]['deg_in']} (units feeding it) · out-degree {G.nodes[u]['deg_out']}"
              for u in nodes],
        hovertemplate="%{text}<extra></extra>",
        marker=dict(size=float(np.clip(300 / math.sqrt(n), 6, 18)), color=deg, colorscale="Viridis",
                    colorbar=dict(title="degree", thickness=12), line=dict(color="#ffffff", width=0.5)),
    ))
    edges = G.number_of_edges()
    note = f" · {loops} self-loops" if loops else ""
    panel_layout(fig, f"{title}: {n} units, {edges - loops:,} edges j → i{note}, density {edges / max(n * n, 1):.1%}", 480)
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False, scaleanchor="x", scaleratio=1)
    return fig
