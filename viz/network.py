"""TensorFlow Playground's network graph in plotly: columns of nodes (inputs, hidden layers, output),
each a thumbnail of what it computes over the plot box, linked by its weights.

Rendering choice: each thumbnail is a small PNG (encoded here with numpy + zlib, no imaging library)
placed with `layout.images` at the node's data coordinates. One image per node is a single <image>
element in the browser, so 8 layers x 16 neurons (128 thumbnails) stay fast, where a heatmap trace on
its own sub-axes per node would cost an axis pair each. Node outlines are layout shapes (drawn above
the images), links are a few line traces binned by |w| (plotly's line width is per trace, not per
segment), and invisible markers carry the hover text and customdata of nodes and links.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from netarium.viz.boundary import BLUE, DIVERGING, ORANGE, diverging_rgb

NODE = 0.72  # node side in units of the vertical node spacing
WIDTH_LEVELS = 10  # link widths are binned into this many levels per sign
MIN_WIDTH, MAX_WIDTH = 0.6, 6.0
NAME_PAD = 1.4  # room left of the inputs for their names, in node spacings
NODE_FILL = "#e8eaeb"  # the Playground's neutral grey, for nodes without a map
OUTLINE = "#777777"
SELECTED = "#111111"


def png_data_uri(rgb: np.ndarray) -> str:
    """A data: URI of an 8-bit RGB PNG from a (H, W, 3) uint8 array (row 0 at the top)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def map_png(map2d: np.ndarray) -> str:
    """A node thumbnail: the map on the diverging palette scaled to its own max |value| (white = 0).

    Rows of a map run along x2 upwards, so they are flipped for the image (row 0 at the top).
    """
    m = np.nan_to_num(np.asarray(map2d, dtype=np.float64))
    vmax = float(np.abs(m).max()) if m.size else 0.0
    return png_data_uri(diverging_rgb(m[::-1], vmax if vmax > 0 else 1.0))


def node_name(col: int, index: int, n_cols: int, n_nodes: int, input_names: Sequence[str]) -> str:
    """"x1" for inputs, "layer2 #3" (1-based) for hidden neurons, "output" / "output #2" for outputs."""
    if col == 0:
        return input_names[index] if index < len(input_names) else f"input #{index + 1}"
    if col == n_cols - 1:
        return "output" if n_nodes == 1 else f"output #{index + 1}"
    return f"layer{col} #{index + 1}"


def column_label(col: int, n_cols: int, n: int) -> str:
    noun = "feature" if col == 0 else ("output" if col == n_cols - 1 else "neuron")
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _format_w(w: float) -> str:
    return f"{w:.2e}" if w != 0 and abs(w) < 5e-4 else f"{w:.3f}"


def link_level(absw: np.ndarray, wmax: float) -> np.ndarray:
    """Width level 1..WIDTH_LEVELS of each |w| relative to the largest (0 for an exact zero: not drawn)."""
    if wmax <= 0:
        return np.zeros_like(absw, dtype=np.int64)
    lv = np.ceil(absw / wmax * WIDTH_LEVELS).astype(np.int64)
    return np.where(absw > 0, np.clip(lv, 1, WIDTH_LEVELS), 0)


def link_hover_fraction(j: int, n_out: int) -> float:
    """Where along link (i -> j) its hover marker sits: 0.2 to 0.8 of the way, by target j.

    Midpoints would coincide for every link with the same y_i + y_j (15 distinct points for the 64
    links of an 8 -> 8 layer); on a vertical line per target, the markers of one target are (1 - t)
    node spacings apart and those of different targets sit on different lines, so each is reachable.
    """
    return 0.5 if n_out == 1 else 0.2 + 0.6 * j / (n_out - 1)


def level_width(level: int) -> float:
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * level / WIDTH_LEVELS


def _geometry(sizes: Sequence[int], label_pad: float, height: int,
              name_pad: float = NAME_PAD) -> tuple[float, list[float], list[float], float]:
    """Column spacing dx, x and y ranges, and an estimate of pixels per data unit at ~700 px wide."""
    maxn, n_cols, s = max(sizes), len(sizes), NODE
    span_y = (maxn - 1) + s + label_pad + 0.3
    dx = max(2.2, (1.6 * span_y - s - name_pad - 0.3) / (n_cols - 1))
    x_range = [-s / 2 - name_pad, (n_cols - 1) * dx + s / 2 + 0.3]
    y_range = [-(maxn - 1) / 2 - s / 2 - 0.3, (maxn - 1) / 2 + s / 2 + label_pad]
    px_per_unit = min((height - 20) / (y_range[1] - y_range[0]), 680 / (x_range[1] - x_range[0]))
    return dx, x_range, y_range, px_per_unit


def network_figure(
    layer_sizes: Sequence[int],
    weights: Sequence[np.ndarray],
    neuron_maps: Sequence[np.ndarray] | None = None,
    *,
    input_names: Sequence[str],
    selected: tuple[int, int] | None = None,
    biases: Sequence[np.ndarray | None] | None = None,
    height: int = 450,
) -> go.Figure:
    """The network graph: node (col, i) at x = col * dx, links (out, in) weights[col] from col to col + 1.

    layer_sizes: widths of every column (inputs, hidden..., outputs); weights[c]: (sizes[c+1], sizes[c]).
    neuron_maps: per column an (n_nodes, R, R) array drawn as thumbnails (`NeuronMaps.columns()`);
    without it nodes are plain grey squares. Node markers carry customdata [column, neuron] (0-based;
    column 0 = inputs) for selection events; link markers (on each link, see link_hover_fraction)
    carry [column, from, to, w]. `selected` (column, neuron) gets a dark frame. Link width grows with |w| (scaled to the largest |w| of the
    whole net), blue for positive, orange for negative.
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

    # geometry: vertical spacing 1, horizontal spacing chosen so the plot fills about 700 x 450 px;
    # column labels go on two lines ("16" / "neurons") when one line would not fit between columns
    maxn = max(sizes)
    s = NODE
    labels = [column_label(c, n_cols, n) for c, n in enumerate(sizes)]
    dx, x_range, y_range, px_per_unit = _geometry(sizes, 1.0, height)
    label_pad = 1.0
    if dx * px_per_unit < 7.0 * max(len(t) for t in labels) + 12:
        labels = [t.replace(" ", "<br>", 1) for t in labels]
        label_pad = 0.35 + 34.0 / px_per_unit
    # labels are sized in pixels: at this scale reserve room for the input names (~40 px wide)
    dx, x_range, y_range, px_per_unit = _geometry(sizes, label_pad, height, max(NAME_PAD, 40.0 / px_per_unit))
    xs = [c * dx for c in range(n_cols)]
    ys = [[(n - 1) / 2 - i for i in range(n)] for n in sizes]

    traces: list[dict[str, Any]] = []

    # links, binned by |w| into a few traces per sign
    all_w = [np.asarray(w, dtype=np.float64) for w in weights]
    wmax = max((float(np.abs(w).max()) for w in all_w if w.size), default=0.0)
    segs: dict[tuple[int, int], list[float]] = {}
    segs_y: dict[tuple[int, int], list[float]] = {}
    hover_x: list[float] = []
    hover_y: list[float] = []
    custom: list[list[float]] = []
    text: list[str] = []
    names = [[node_name(c, i, n_cols, n, input_names) for i in range(n)] for c, n in enumerate(sizes)]
    for c, w in enumerate(all_w):
        levels = link_level(np.abs(w), wmax)
        x0, x1 = xs[c] + s / 2, xs[c + 1] - s / 2
        for j in range(w.shape[0]):
            for i in range(w.shape[1]):
                y0, y1 = ys[c][i], ys[c + 1][j]
                value = float(w[j, i])
                lv = int(levels[j, i])
                if lv:
                    key = (1 if value > 0 else -1, lv)
                    segs.setdefault(key, []).extend([x0, x1, math.nan])  # NaN breaks the line
                    segs_y.setdefault(key, []).extend([y0, y1, math.nan])
                t = link_hover_fraction(j, w.shape[0])
                hover_x.append(x0 + t * (x1 - x0))
                hover_y.append(y0 + t * (y1 - y0))
                custom.append([c, i, j, value])
                text.append(f"w = {_format_w(value)} ({names[c][i]} → {names[c + 1][j]})")
    for (sign, lv) in sorted(segs, key=lambda k: k[1]):  # thin first, thick on top
        traces.append(dict(
            type="scatter", x=np.array(segs[(sign, lv)]), y=np.array(segs_y[(sign, lv)]), mode="lines", hoverinfo="skip", showlegend=False,
            line=dict(color=BLUE if sign > 0 else ORANGE, width=level_width(lv)),
            opacity=0.3 + 0.6 * lv / WIDTH_LEVELS, name=f"links {'+' if sign > 0 else '-'}{lv}",
        ))
    traces.append(dict(
        type="scatter", x=np.array(hover_x), y=np.array(hover_y), mode="markers", name="link hover",
        customdata=np.array(custom, dtype=np.float64).reshape(-1, 4), text=text,
        showlegend=False, marker=dict(size=8, color="rgba(0,0,0,0)"), hovertemplate="%{text}<extra></extra>",
    ))

    # nodes: thumbnails (images), outlines (shapes), hover/selection markers
    images, shapes = [], []
    node_x, node_y, node_custom, node_text = [], [], [], []
    for c, n in enumerate(sizes):
        for i in range(n):
            x, y = xs[c], ys[c][i]
            hover = names[c][i]
            if biases is not None and c > 0 and biases[c - 1] is not None:
                hover += f"<br>b = {_format_w(float(np.asarray(biases[c - 1])[i]))}"
            if neuron_maps is not None:
                m = np.asarray(neuron_maps[c][i])
                images.append(dict(source=map_png(m), xref="x", yref="y", x=x - s / 2, y=y + s / 2,
                                   sizex=s, sizey=s, sizing="stretch", layer="above", xanchor="left", yanchor="top"))
                if m.size:
                    hover += f"<br>range {float(m.min()):.3g} … {float(m.max()):.3g}"
            is_sel = selected is not None and tuple(selected) == (c, i)
            shapes.append(dict(
                type="rect", xref="x", yref="y", x0=x - s / 2, x1=x + s / 2, y0=y - s / 2, y1=y + s / 2,
                line=dict(color=SELECTED if is_sel else OUTLINE, width=3 if is_sel else 1),
                fillcolor=NODE_FILL if neuron_maps is None else None, layer="above",
            ))
            node_x.append(x)
            node_y.append(y)
            node_custom.append([c, i])
            node_text.append(hover)
    traces.append(dict(
        type="scatter", x=np.array(node_x), y=np.array(node_y), mode="markers", name="nodes",
        customdata=np.array(node_custom, dtype=np.int64), text=node_text,
        showlegend=False, marker=dict(symbol="square", size=max(6.0, s * px_per_unit), color="rgba(0,0,0,0)"),
        hovertemplate="%{text}<extra></extra>", selected=dict(marker=dict(opacity=1)),
        unselected=dict(marker=dict(opacity=1)),
    ))

    last = n_cols - 1  # the output label hangs left from the node's right edge so it is not cut off
    annotations = [
        dict(x=x_range[0] if c == 0 else xs[c] + (s / 2 if c == last else 0.0), y=(maxn - 1) / 2 + s / 2 + 0.25,
             xref="x", yref="y", text=labels[c], showarrow=False, yanchor="bottom",
             xanchor="left" if c == 0 else "right" if c == last else "center",
             font=dict(size=12, color="#444444"))
        for c in range(n_cols)
    ]
    annotations += [
        dict(x=-s / 2 - 0.1, y=ys[0][i], xref="x", yref="y", text=names[0][i], showarrow=False, xanchor="right",
             font=dict(size=11, color="#444444"))
        for i in range(sizes[0])
    ]
    layout = dict(
        images=images, shapes=shapes, annotations=annotations, height=height, showlegend=False,
        margin=dict(l=5, r=5, t=5, b=5), plot_bgcolor="#ffffff", hovermode="closest", dragmode=False,
        clickmode="event+select",
        xaxis=dict(range=x_range, visible=False, constrain="domain", fixedrange=True),
        yaxis=dict(range=y_range, visible=False, scaleanchor="x", scaleratio=1, constrain="domain", fixedrange=True),
    )
    # Built from plain dicts without plotly's per-property validation, which costs ~20x the rest for
    # a hundred nodes (a 2-16x8-2 net: ~150 ms validated); the unit tests validate the result instead.
    return go.Figure(data=traces, layout=layout, _validate=False)


def neuron_map_figure(map2d: Any, box: Sequence[float], title: str = "") -> go.Figure:
    """One node's map enlarged: a heatmap over the box on the diverging palette (white = 0) with a colorbar."""
    m = np.asarray(map2d, dtype=np.float64)
    R1, R2 = m.shape[1], m.shape[0]
    x1min, x1max, x2min, x2max = (float(v) for v in box)
    vmax = float(np.nanmax(np.abs(m))) if m.size and np.isfinite(m).any() else 1.0
    vmax = vmax if vmax > 0 and math.isfinite(vmax) else 1.0
    fig = go.Figure(go.Heatmap(
        x=np.linspace(x1min, x1max, R1), y=np.linspace(x2min, x2max, R2), z=m, colorscale=DIVERGING,
        zmin=-vmax, zmax=vmax, colorbar=dict(thickness=12, len=0.8), zsmooth="best",
        hovertemplate="x1 = %{x:.2f}<br>x2 = %{y:.2f}<br>value = %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(range=[x1min, x1max], title=dict(text="x1"), constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[x2min, x2max], title=dict(text="x2"), scaleanchor="x", scaleratio=1, constrain="domain",
                     showgrid=False, zeroline=False)
    fig.update_layout(title=dict(text=title) if title else None, height=360, margin=dict(l=40, r=10, t=40 if title else 10, b=40),
                      plot_bgcolor="#ffffff")
    return fig
