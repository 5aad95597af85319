"""TensorFlow Playground's network graph in plotly: columns of nodes (inputs, hidden layers, output),
each a thumbnail of what it computes over the plot box, linked by its weights.

Drawn as the Playground draws it (src/playground.ts): thumbnails on one fixed colour scale (values in
[-1, 1], orange - grey - blue, clamped: a flat neuron looks flat); links `link_width(w)` px wide,
|w| in [0, 5] -> [1, 10] px clamped (a fixed scale, so growth shows over time), coloured by w on the
same scale; each neuron's bias as a small square at its lower left; the features a network does not
use greyed out in the input column. Links whose mask is 0 (models/masks.py) are drawn dotted and faint.
Layers wider than MAX_NODES show their strongest neurons (by incoming + outgoing |w|) and a "+N more"
line, and only their strongest MAX_LINKS links, so names and nodes stay readable at any width.

Rendering choice: the thumbnails are tiles of one transparent PNG (encoded here with numpy + zlib, no
imaging library) placed with `layout.images` under the traces, in data coordinates.
Node outlines are a few line traces of rectangles, links a few line traces binned by w (plotly's line
width and colour are per trace, not per segment), bias squares one marker trace, and markers carry the
hover text and the customdata [kind, column, a, b, value] of nodes, links, biases and inputs (KIND_*).
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from netarium.viz.boundary import DIVERGING, NEUTRAL, palette_hex, palette_rgb

NODE = 0.72  # node side in units of the vertical node spacing
BIAS = NODE / 6  # the bias square's side (the Playground: 5 px on a 30 px node)
NAME_PAD = 1.4  # room left of the inputs for their names, in node spacings
NODE_FILL = NEUTRAL  # for nodes without a map
OUTLINE = "#777777"
SELECTED = "#111111"
DEAD = "#b0b0b0"
MAX_NODES = 16  # neurons drawn per layer; wider layers show their strongest
MAX_LINKS = 64  # links drawn between two columns when one of them is summarized
MAX_CURVES = 48  # links of one layer that show their function (a KAN edge) as a small curve
W_DOMAIN, WIDTH_PX = 5.0, (1.0, 10.0)  # the Playground's linkWidthScale: |w| in [0, 5] -> [1, 10] px, clamped
INACTIVE_OPACITY = 0.35
# customdata[0] of the clickable markers
KIND_NODE, KIND_LINK, KIND_BIAS, KIND_INPUT = 0, 1, 2, 3


def png_data_uri(rgb: np.ndarray) -> str:
    """A data: URI of an 8-bit PNG from a (H, W, 3) RGB or (H, W, 4) RGBA uint8 array (row 0 at the top)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, channels = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * channels)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6 if channels == 4 else 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def thumbnail_sheet(tiles: Sequence[tuple[float, float, np.ndarray, float]], side: float) -> dict[str, Any] | None:
    """One layout image holding every node's thumbnail: tiles (x, y, map, opacity) centred at (x, y), `side`
    data units wide, on a transparent RGBA sheet (Chromium draws one image of the whole graph several
    times faster than one image per node). Maps keep their own grid, repeated to the finest one."""
    if not tiles:
        return None
    res = max(max(np.shape(m)) for _, _, m, _ in tiles)
    ppu = res / side  # sheet pixels per data unit
    x0 = min(x for x, _, _, _ in tiles) - side / 2
    y1 = max(y for _, y, _, _ in tiles) + side / 2
    width = int(round((max(x for x, _, _, _ in tiles) + side / 2 - x0) * ppu))
    height = int(round((y1 - min(y for _, y, _, _ in tiles) + side / 2) * ppu))
    sheet = np.zeros((height, width, 4), dtype=np.uint8)
    for x, y, m, opacity in tiles:
        m = np.asarray(m, dtype=np.float64)[::-1]  # rows run along x2 upwards: flip for the image
        rows = (np.arange(res) * m.shape[0]) // res
        cols = (np.arange(res) * m.shape[1]) // res
        left = int(round((x - side / 2 - x0) * ppu))
        top = int(round((y1 - y - side / 2) * ppu))
        tile = sheet[top : top + res, left : left + res]
        tile[..., :3] = palette_rgb(m[np.ix_(rows, cols)])[: tile.shape[0], : tile.shape[1]]
        tile[..., 3] = int(round(255 * opacity))
    return dict(source=png_data_uri(sheet), xref="x", yref="y", x=x0, y=y1, sizex=width / ppu, sizey=height / ppu,
                sizing="stretch", layer="below", xanchor="left", yanchor="top", name="thumbnails")


def link_width(w: float) -> float:
    """A link's width in px: 1 + 9 |w| / 5, clamped to [1, 10] (the Playground's linkWidthScale)."""
    lo, hi = WIDTH_PX
    return lo + (hi - lo) * min(abs(float(w)), W_DOMAIN) / W_DOMAIN


def link_bin(w: float) -> float:
    """The value a link is drawn with: w to 1/8 inside [-1, 1] (where the colour changes), to 1/2 beyond,
    clamped to +-5 (where the width stops growing): at most 35 line traces, about 17 for |w| < 1. Each
    line trace costs Chromium ~2 ms to draw, so bins are few (the hover shows the exact w)."""
    w = max(-W_DOMAIN, min(W_DOMAIN, float(w)))
    return round(w * 8) / 8 if abs(w) <= 1 else round(w * 2) / 2


def node_name(col: int, index: int, n_cols: int, n_nodes: int, input_names: Sequence[str]) -> str:
    """"x1" for inputs, "layer2 #3" (1-based) for hidden neurons, "output" / "output #2" for outputs."""
    if col == 0:
        return input_names[index] if index < len(input_names) else f"input #{index + 1}"
    if col == n_cols - 1:
        return "output" if n_nodes == 1 else f"output #{index + 1}"
    return f"layer{col} #{index + 1}"


def column_label(col: int, n_cols: int, n: int) -> str:
    noun = "feature" if col == 0 else ("output" if col == n_cols - 1 else "neuron")
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _format_w(w: float) -> str:
    return f"{w:.2e}" if w != 0 and abs(w) < 5e-4 else f"{w:.3f}"


def link_hover_fraction(j: int, n_out: int) -> float:
    """Where along link (i -> j) its hover marker sits: 0.2 to 0.8 of the way, by target j.

    Midpoints would coincide for every link with the same y_i + y_j (15 distinct points for the 64
    links of an 8 -> 8 layer); on a vertical line per target, the markers of one target are (1 - t)
    node spacings apart and those of different targets sit on different lines, so each is reachable.
    """
    return 0.5 if n_out == 1 else 0.2 + 0.6 * j / (n_out - 1)


def shown_nodes(sizes: Sequence[int], weights: Sequence[np.ndarray], cap: int = MAX_NODES,
                keep: Mapping[int, int] | None = None) -> list[np.ndarray]:
    """Per column, the indices of the nodes drawn (ascending): all of a column of at most `cap`, else the
    `cap` with the largest incoming + outgoing sum of |w| (and `keep[col]`, a selected node, always)."""
    out = []
    for c, n in enumerate(sizes):
        if n <= cap:
            out.append(np.arange(n))
            continue
        score = np.zeros(n)
        if c > 0:
            score += np.abs(weights[c - 1]).sum(axis=1)
        if c < len(weights):
            score += np.abs(weights[c]).sum(axis=0)
        must = (keep or {}).get(c)
        order = [i for i in np.argsort(-score, kind="stable") if i != must]
        chosen = ([must] if must is not None and 0 <= must < n else []) + order
        out.append(np.sort(np.asarray(chosen[:cap], dtype=np.int64)))
    return out


def _geometry(rows: Sequence[int], label_pad: float, height: int,
              name_pad: float = NAME_PAD) -> tuple[float, list[float], list[float], float]:
    """Column spacing dx, x and y ranges, and an estimate of pixels per data unit at ~700 px wide."""
    maxn, n_cols, s = max(rows), len(rows), NODE
    span_y = (maxn - 1) + s + label_pad + 0.45
    dx = max(2.2, (1.6 * span_y - s - name_pad - 0.3) / (n_cols - 1))
    x_range = [-s / 2 - name_pad, (n_cols - 1) * dx + s / 2 + 0.3]
    y_range = [-(maxn - 1) / 2 - s / 2 - 0.45, (maxn - 1) / 2 + s / 2 + label_pad]
    px_per_unit = min((height - 20) / (y_range[1] - y_range[0]), 680 / (x_range[1] - x_range[0]))
    return dx, x_range, y_range, px_per_unit


def _curve_traces(curves: Sequence[np.ndarray], links: Sequence[list[float]], at_x: Sequence[float],
                  at_y: Sequence[float], dx: float) -> list[dict[str, Any]]:
    """Each drawn link's function as a small curve in a white box at its hover point: x over the link's
    input range, y scaled by the largest |phi| of its layer (so curves of one layer compare). Layers
    drawing more than MAX_CURVES links keep plain lines."""
    by_layer: dict[int, list[int]] = {}
    for k, (_, c, *_rest) in enumerate(links):
        by_layer.setdefault(int(c), []).append(k)
    w, h = min(0.5, 0.25 * dx), 0.32
    box_x: list[float] = []
    box_y: list[float] = []
    line_x: list[float] = []
    line_y: list[float] = []
    for c, ks in by_layer.items():
        if c >= len(curves) or len(ks) > MAX_CURVES:
            continue
        ys_all = np.nan_to_num(np.asarray(curves[c], dtype=np.float64))
        scale = float(np.abs(ys_all).max()) or 1.0
        u = np.linspace(-w / 2, w / 2, ys_all.shape[0])
        for k in ks:
            _, _, i, j, _ = links[k]
            cx, cy = at_x[k], at_y[k]
            box_x.extend([cx - w / 2 - 0.02, cx + w / 2 + 0.02, cx + w / 2 + 0.02, cx - w / 2 - 0.02, cx - w / 2 - 0.02, math.nan])
            box_y.extend([cy - h / 2, cy - h / 2, cy + h / 2, cy + h / 2, cy - h / 2, math.nan])
            line_x.extend([*(cx + u), math.nan])
            line_y.extend([*(cy + ys_all[:, int(j), int(i)] / scale * (h / 2 - 0.02)), math.nan])
    if not line_x:
        return []
    return [dict(type="scatter", x=np.array(box_x), y=np.array(box_y), mode="lines", fill="toself", fillcolor="rgba(255,255,255,0.9)",
                 line=dict(color="#bbbbbb", width=0.5), hoverinfo="skip", showlegend=False, name="link curve boxes"),
            dict(type="scatter", x=np.array(line_x), y=np.array(line_y), mode="lines", line=dict(color="#333333", width=1.2),
                 hoverinfo="skip", showlegend=False, name="link curves")]


def network_figure(
    layer_sizes: Sequence[int],
    weights: Sequence[np.ndarray],
    neuron_maps: Sequence[np.ndarray] | None = None,
    *,
    input_names: Sequence[str],
    selected: tuple[int, int] | None = None,
    biases: Sequence[np.ndarray | None] | None = None,
    masks: Sequence[np.ndarray | None] | None = None,
    all_inputs: Sequence[str] | None = None,
    input_maps: Mapping[str, np.ndarray] | None = None,
    discretize: bool = False,
    height: int = 450,
    max_nodes: int = MAX_NODES,
    link_curves: Sequence[np.ndarray] | None = None,
) -> go.Figure:
    """The network graph: node (col, i) in column col, links weights[c] (sizes[c+1], sizes[c]) from c to c + 1.

    neuron_maps: per column an (n_nodes, R, R) array drawn as thumbnails (`NeuronMaps.columns()`);
    without it nodes are plain grey squares. biases[c]: the biases of column c + 1 (None: no bias), drawn
    as squares; masks[c]: 0/1 like weights[c] (None: dense), links at 0 drawn as dead. all_inputs: every
    feature the input column offers, in display order (input_names, the network's inputs, among them);
    the others are drawn greyed without links, with thumbnails from input_maps[name] when given.
    discretize: every thumbnail in its sign's full colour (TFP's "Discretize output" applies to the node maps too).
    link_curves[c]: (P, sizes[c+1], sizes[c]), each link's learned function (a KAN edge) over its input
    range, drawn as a small curve on the link (where a layer draws at most MAX_CURVES links).
    `selected` (column, neuron) gets a dark frame. Markers carry customdata [kind, col, a, b, value]:
    NODE [0, col, i, 0, 0], LINK [1, col, i, j, w] (node i of col -> node j of col + 1), BIAS
    [2, col, i, 0, b], INPUT [3, 0, row in all_inputs, 1 if used else 0, 0].
    """
    sizes = [int(n) for n in layer_sizes]
    n_cols = len(sizes)
    if n_cols < 2:
        raise ValueError("a network needs at least an input and an output column")
    if len(weights) != n_cols - 1:
        raise ValueError(f"{n_cols} columns need {n_cols - 1} weight matrices, got {len(weights)}")
    for c, w in enumerate(weights):
        if tuple(np.shape(w)) != (sizes[c + 1], sizes[c]):
            raise ValueError(f"weights[{c}] has shape {tuple(np.shape(w))}, expected {(sizes[c + 1], sizes[c])}")
    if neuron_maps is not None and [len(m) for m in neuron_maps] != sizes:
        raise ValueError(f"neuron maps per column {[len(m) for m in neuron_maps]} do not match layer sizes {sizes}")
    names_in = [node_name(0, i, n_cols, sizes[0], input_names) for i in range(sizes[0])]
    offered = list(all_inputs) if all_inputs is not None else names_in
    missing = [n for n in names_in if n not in offered]
    if missing:
        raise ValueError(f"all_inputs {offered} lacks the network's inputs {missing}")
    all_w = [np.nan_to_num(np.asarray(w, dtype=np.float64)) for w in weights]
    all_m = [None if masks is None or m is None else np.asarray(m) != 0 for m in (masks or [None] * len(all_w))]

    # which nodes are drawn, and on which row: the input column lists every offered feature
    keep = {selected[0]: selected[1]} if selected is not None else None
    shown = shown_nodes(sizes, all_w, max_nodes, keep)
    if all_inputs is not None or sizes[0] <= max_nodes:
        shown[0] = np.arange(sizes[0])  # offered features are all drawn: each can be clicked
    # the input column's rows: (name, the network's input index or None for a feature it does not use)
    inputs = ([(f, names_in.index(f) if f in names_in else None) for f in offered] if all_inputs is not None
              else [(names_in[int(i)], int(i)) for i in shown[0]])
    row_of = [{int(i): r for r, i in enumerate(idx)} for idx in shown]
    row_of[0] = {i: r for r, (_, i) in enumerate(inputs) if i is not None}
    more = [sizes[c] - len(shown[c]) for c in range(n_cols)]
    rows = [len(shown[c]) + (1 if more[c] else 0) for c in range(n_cols)]
    rows[0] = len(inputs) + (1 if more[0] else 0)

    # geometry: vertical spacing 1, horizontal spacing chosen so the plot fills about 700 x 450 px;
    # column labels go on two lines ("16" / "neurons") when one line would not fit between columns
    maxn, s = max(rows), NODE
    labels = [column_label(c, n_cols, n) for c, n in enumerate(sizes)]
    dx, x_range, y_range, px_per_unit = _geometry(rows, 1.0, height)
    label_pad = 1.0
    if dx * px_per_unit < 7.0 * max(len(t) for t in labels) + 12:
        labels = [t.replace(" ", "<br>", 1) for t in labels]
        label_pad = 0.35 + 34.0 / px_per_unit
    name_px = 6.5 * max(len(n) for n, _ in inputs) + 12  # room for the input names, in pixels at this scale
    dx, x_range, y_range, px_per_unit = _geometry(rows, label_pad, height, max(NAME_PAD, name_px / px_per_unit))
    xs = [c * dx for c in range(n_cols)]

    def y_at(c: int, i: int) -> float:
        return (rows[c] - 1) / 2 - row_of[c][i]

    names = [names_in] + [[node_name(c, i, n_cols, n, input_names) for i in range(n)] if n <= 4 * max_nodes else None
                          for c, n in enumerate(sizes) if c > 0]

    def name(c: int, i: int) -> str:
        """A node's name as plotly shows it: HTML-escaped (input names may be a CSV file's header)."""
        return html.escape(names[c][i] if names[c] is not None else node_name(c, i, n_cols, sizes[c], input_names),
                           quote=False)

    # links: the drawn nodes' links (the strongest MAX_LINKS where a column is summarized), binned by w
    traces: list[dict[str, Any]] = []
    segs: dict[float, tuple[list[float], list[float]]] = {}
    dead_x: list[float] = []
    dead_y: list[float] = []
    hover_x: list[float] = []
    hover_y: list[float] = []
    custom: list[list[float]] = []
    text: list[str] = []
    for c, w in enumerate(all_w):
        src, dst = shown[c], shown[c + 1]
        block = w[np.ix_(dst, src)]
        alive = np.ones_like(block, dtype=bool) if all_m[c] is None else all_m[c][np.ix_(dst, src)]
        summarized = len(src) < sizes[c] or len(dst) < sizes[c + 1]
        draw = alive.copy()
        if summarized and alive.sum() > MAX_LINKS:
            strength = np.where(alive, np.abs(block), -1.0).ravel()
            draw = np.zeros(block.size, dtype=bool)
            draw[np.argsort(-strength, kind="stable")[:MAX_LINKS]] = True
            draw = draw.reshape(block.shape)
        x0, x1 = xs[c] + s / 2, xs[c + 1] - s / 2
        for jj, j in enumerate(dst):
            y1 = y_at(c + 1, int(j))
            for ii, i in enumerate(src):
                y0 = y_at(c, int(i))
                if not alive[jj, ii]:
                    if not summarized:
                        dead_x.extend([x0, x1, math.nan])
                        dead_y.extend([y0, y1, math.nan])
                    continue
                if not draw[jj, ii]:
                    continue
                value = float(block[jj, ii])
                xs_, ys_ = segs.setdefault(link_bin(value), ([], []))
                xs_.extend([x0, x1, math.nan])  # NaN breaks the line
                ys_.extend([y0, y1, math.nan])
                t = link_hover_fraction(jj, len(dst))
                hover_x.append(x0 + t * (x1 - x0))
                hover_y.append(y0 + t * (y1 - y0))
                custom.append([KIND_LINK, c, int(i), int(j), value])
                text.append(f"w = {_format_w(value)} ({name(c, int(i))} → {name(c + 1, int(j))})<br>click to edit")
    if dead_x:
        traces.append(dict(type="scatter", x=np.array(dead_x), y=np.array(dead_y), mode="lines", hoverinfo="skip",
                           showlegend=False, name="dead links", line=dict(color=DEAD, width=1, dash="dot")))
    for q in sorted(segs, key=abs):  # thin first, thick on top
        traces.append(dict(
            type="scatter", x=np.array(segs[q][0]), y=np.array(segs[q][1]), mode="lines", hoverinfo="skip",
            showlegend=False, name=f"links {q:+.2f}", line=dict(color=palette_hex(q), width=link_width(q)),
        ))
    traces.append(dict(
        type="scatter", x=np.array(hover_x), y=np.array(hover_y), mode="markers", name="link hover",
        customdata=np.array(custom, dtype=np.float64).reshape(-1, 5), text=text,
        showlegend=False, marker=dict(size=8, color="rgba(0,0,0,0)"), hovertemplate="%{text}<extra></extra>",
    ))
    if link_curves:  # on top of the lines; the link hover markers still answer clicks (the curves skip hover)
        traces[-1:-1] = _curve_traces(link_curves, custom, hover_x, hover_y, dx)

    # nodes: thumbnails (images under the traces), outlines (one line trace per style), bias squares and
    # hover/selection markers (marker traces): plotly draws a trace of many rectangles far faster than as
    # many layout shapes (~80 ms for 75 shapes in Chromium)
    tiles: list[tuple[float, float, np.ndarray, float]] = []
    frames: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("plain", "outline", "faded", "selected")}
    node_x, node_y, node_custom, node_text = [], [], [], []
    bias_x, bias_y, bias_custom, bias_text, bias_color = [], [], [], [], []

    def add_node(x: float, y: float, m: np.ndarray | None, hover: str, data: list[float], *, style: str = "outline",
                 faded: bool = False) -> None:
        if m is not None:  # TFP's heatmap.ts: discretized, a value draws as the sign's full colour
            tiles.append((x, y, np.where(m >= 0, 1.0, -1.0) if discretize else m, INACTIVE_OPACITY if faded else 1.0))
        fx, fy = frames["faded" if faded else style]
        fx.extend([x - s / 2, x + s / 2, x + s / 2, x - s / 2, x - s / 2, math.nan])
        fy.extend([y - s / 2, y - s / 2, y + s / 2, y + s / 2, y - s / 2, math.nan])
        if m is None and not faded:
            frames["plain"][0].extend(fx[-6:])
            frames["plain"][1].extend(fy[-6:])
        node_x.append(x)
        node_y.append(y)
        node_custom.append(data)
        node_text.append(hover)

    def range_text(m: np.ndarray | None) -> str:
        return f"<br>range {float(np.min(m)):.3g} … {float(np.max(m)):.3g}" if m is not None and np.size(m) else ""

    for r, (feature, k) in enumerate(inputs):  # the input column, row by row
        used = k is not None
        m = None
        if used and neuron_maps is not None:
            m = np.asarray(neuron_maps[0][k])
        elif not used and input_maps is not None and feature in input_maps:
            m = np.asarray(input_maps[feature])
        hover = f"{html.escape(feature, quote=False)}{range_text(m)}<br>click to {'stop feeding it in' if used else 'feed it in'}"
        add_node(xs[0], (rows[0] - 1) / 2 - r, m, hover, [KIND_INPUT, 0, r, 1 if used else 0, 0], faded=not used)
    for c in range(1, n_cols):
        b = None if biases is None or biases[c - 1] is None else np.asarray(biases[c - 1], dtype=np.float64)
        for i in shown[c]:
            i = int(i)
            x, y = xs[c], y_at(c, i)
            m = np.asarray(neuron_maps[c][i]) if neuron_maps is not None else None
            hover = name(c, i) + (f"<br>b = {_format_w(float(b[i]))}" if b is not None else "") + range_text(m)
            is_sel = selected is not None and tuple(selected) == (c, i)
            add_node(x, y, m, hover + "<br>click to show its map", [KIND_NODE, c, i, 0, 0],
                     style="selected" if is_sel else "outline")
            if b is not None:  # the Playground's bias square: at the node's lower left, just outside it
                bias_x.append(x - s / 2 - 0.05 - BIAS / 2)
                bias_y.append(y - s / 2 - 0.07 + BIAS / 2)
                bias_custom.append([KIND_BIAS, c, i, 0, float(b[i])])
                bias_text.append(f"bias = {_format_w(float(b[i]))} ({name(c, i)})<br>click to edit")
                bias_color.append(palette_hex(b[i]))
    styles = {"plain": dict(line=dict(width=0), fill="toself", fillcolor=NODE_FILL),
              "outline": dict(line=dict(color=OUTLINE, width=1)),
              "faded": dict(line=dict(color="#bbbbbb", width=1, dash="dot")),
              "selected": dict(line=dict(color=SELECTED, width=3))}
    for style, (fx, fy) in frames.items():
        if fx:
            traces.append(dict(type="scatter", x=np.array(fx), y=np.array(fy), mode="lines", name=f"frames {style}",
                               hoverinfo="skip", showlegend=False, **styles[style]))
    traces.append(dict(
        type="scatter", x=np.array(node_x), y=np.array(node_y), mode="markers", name="nodes",
        customdata=np.array(node_custom, dtype=np.float64).reshape(-1, 5), text=node_text,
        showlegend=False, marker=dict(symbol="square", size=max(6.0, s * px_per_unit), color="rgba(0,0,0,0)"),
        hovertemplate="%{text}<extra></extra>", selected=dict(marker=dict(opacity=1)),
        unselected=dict(marker=dict(opacity=1)),
    ))
    if bias_x:
        traces.append(dict(
            type="scatter", x=np.array(bias_x), y=np.array(bias_y), mode="markers", name="biases",
            customdata=np.array(bias_custom, dtype=np.float64), text=bias_text, showlegend=False,
            marker=dict(symbol="square", size=max(7.0, BIAS * px_per_unit), color=bias_color,
                        line=dict(color=OUTLINE, width=0.5)),
            hovertemplate="%{text}<extra></extra>", selected=dict(marker=dict(opacity=1)),
            unselected=dict(marker=dict(opacity=1)),
        ))

    last = n_cols - 1  # the output label hangs left from the node's right edge so it is not cut off
    top = (maxn - 1) / 2 + s / 2 + 0.25
    annotations = [
        dict(x=x_range[0] if c == 0 else xs[c] + (s / 2 if c == last else 0.0), y=top,
             xref="x", yref="y", text=labels[c], showarrow=False, yanchor="bottom",
             xanchor="left" if c == 0 else "right" if c == last else "center",
             font=dict(size=12, color="#444444"))
        for c in range(n_cols)
    ]
    annotations += [
        dict(x=-s / 2 - 0.1, y=(rows[0] - 1) / 2 - r, xref="x", yref="y", text=html.escape(feature, quote=False), showarrow=False,
             xanchor="right",
             font=dict(size=11, color="#444444" if k is not None else "#aaaaaa"))
        for r, (feature, k) in enumerate(inputs)
    ]
    annotations += [
        dict(x=xs[c], y=(rows[c] - 1) / 2 - (rows[c] - 1), xref="x", yref="y", text=f"+{more[c]:,} more",
             showarrow=False, font=dict(size=11, color="#666666"),
             hovertext=f"{more[c]:,} weaker {'inputs' if c == 0 else 'neurons of this layer'} are not drawn")
        for c in range(n_cols) if more[c]
    ]
    sheet = thumbnail_sheet(tiles, s)
    layout = dict(
        images=[sheet] if sheet else [], annotations=annotations, height=height, showlegend=False,
        margin=dict(l=5, r=5, t=5, b=5), plot_bgcolor="#ffffff", hovermode="closest", dragmode=False,
        clickmode="event+select",
        xaxis=dict(range=x_range, visible=False, constrain="domain", fixedrange=True),
        yaxis=dict(range=y_range, visible=False, scaleanchor="x", scaleratio=1, constrain="domain", fixedrange=True),
    )
    # Built from plain dicts without plotly's per-property validation, which costs ~20x the rest for
    # a hundred nodes (a 2-16x8-2 net: ~150 ms validated); the unit tests validate the result instead.
    return go.Figure(data=traces, layout=layout, _validate=False)


def neuron_map_figure(map2d: Any, box: Sequence[float], title: str = "") -> go.Figure:
    """One node's map enlarged: a heatmap over the box on the Playground's fixed scale [-1, 1] with a colorbar."""
    m = np.asarray(map2d, dtype=np.float64)
    R1, R2 = m.shape[1], m.shape[0]
    x1min, x1max, x2min, x2max = (float(v) for v in box)
    fig = go.Figure(go.Heatmap(
        x=np.linspace(x1min, x1max, R1), y=np.linspace(x2min, x2max, R2), z=m, colorscale=DIVERGING,
        zmin=-1.0, zmax=1.0, colorbar=dict(thickness=12, len=0.8), zsmooth="fast",
        hovertemplate="x1 = %{x:.2f}<br>x2 = %{y:.2f}<br>value = %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(range=[x1min, x1max], title=dict(text="x1"), constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[x2min, x2max], title=dict(text="x2"), scaleanchor="x", scaleratio=1, constrain="domain",
                     showgrid=False, zeroline=False)
    fig.update_layout(title=dict(text=title) if title else None, height=360, margin=dict(l=40, r=10, t=40 if title else 10, b=40),
                      plot_bgcolor="#ffffff")
    return fig
