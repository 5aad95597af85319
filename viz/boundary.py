"""The Playground's main view: the model's decision surface over the plot box with the data on top.

TensorFlow Playground's palette and scale (src/playground.ts colorScale, src/heatmap.ts): a value v in
[-1, 1] is drawn orange (#f59322) at -1, grey (#e8eaeb) at 0 and blue (#0877bd) at +1, linear in RGB
between them and clamped outside, on a fixed scale: the colours of a map never depend on its own range,
so a flat map is one colour and growth shows over time. A binary classifier's P(class 1) is drawn as
2p - 1 (p = 0.5 grey), a regression surface on [-vmax, vmax] with vmax = max(1, largest |target|), and
any node's map (`background`) as it is. k classes get a qualitative palette with confidence as lightness.
The surface comes from `analysis.playground.decision_surface` (any object with its fields).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

ORANGE = "#f59322"
BLUE = "#0877bd"
NEUTRAL = "#e8eaeb"  # the Playground's grey for 0
WHITE = "#ffffff"
# the Playground's two colours first, then Okabe-Ito-like hues that stay apart for up to 8 classes
CLASS_COLORS = [ORANGE, BLUE, "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
DIVERGING = [[0.0, ORANGE], [0.5, NEUTRAL], [1.0, BLUE]]  # over [-1, 1] (zmin=-1, zmax=1)
BACKGROUND_OPACITY = 160 / 255  # the Playground's canvas alpha: the points (on white) stand out


def hex_rgb(color: str) -> np.ndarray:
    """'#rrggbb' -> float array [r, g, b] in 0..255."""
    c = color.lstrip("#")
    return np.array([int(c[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def rgb_hex(rgb: np.ndarray) -> str:
    r, g, b = (int(round(float(v))) for v in np.clip(rgb, 0, 255))
    return f"#{r:02x}{g:02x}{b:02x}"


def mix_white(color: str, amount: float) -> str:
    """`color` moved towards white by `amount` in [0, 1] (1 = white)."""
    return rgb_hex(hex_rgb(color) * (1 - amount) + 255.0 * amount)


def class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def palette_rgb(values: Any) -> np.ndarray:
    """uint8 (..., 3) colours of the Playground's scale: -1 orange, 0 grey, +1 blue, clamped (NaN as 0)."""
    t = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), -1.0, 1.0)[..., None]
    end = np.where(t < 0, hex_rgb(ORANGE), hex_rgb(BLUE))
    mid = hex_rgb(NEUTRAL)
    return np.round(mid + (end - mid) * np.abs(t)).astype(np.uint8)


def palette_hex(value: float) -> str:
    """'#rrggbb' of one value on the Playground's scale (see palette_rgb)."""
    r, g, b = (int(v) for v in palette_rgb(float(value)))
    return f"#{r:02x}{g:02x}{b:02x}"


def regression_vmax(targets: Any) -> float:
    """The fixed half-range of a regression surface's colours: 1 (the Playground's targets lie in [-1, 1])
    or the largest |target| when that is larger, so the scale is the task's, not the model's."""
    t = _np(targets)
    big = float(np.nanmax(np.abs(t))) if t is not None and t.size and np.isfinite(t).any() else 0.0
    return max(1.0, big)


def class_colorscale(n_classes: int) -> list[list[Any]]:
    """A stepped colour scale over [0, k]: class c's colour on [c, c + 1] (colour a point by label + 0.5)."""
    scale: list[list[Any]] = []
    for c in range(n_classes):
        scale += [[c / n_classes, class_color(c)], [(c + 1) / n_classes, class_color(c)]]
    return scale


def multiclass_colorscale(n_classes: int, light: float = 0.85, dark: float = 0.1) -> list[list[Any]]:
    """A colour scale over z in [0, k]: on [c, c + 1) class c's colour from light (low confidence) to dark."""
    scale: list[list[Any]] = []
    for c in range(n_classes):
        lo, hi = c / n_classes, (c + 1) / n_classes
        scale.append([lo, mix_white(class_color(c), light)])
        scale.append([hi, mix_white(class_color(c), dark)])
    return scale


def multiclass_z(labels: np.ndarray, confidence: np.ndarray, n_classes: int) -> np.ndarray:
    """z = label + s, s in [0, 0.999] the confidence rescaled from [1/k, 1]: one heatmap, two variables."""
    chance = 1.0 / n_classes
    s = np.clip((np.asarray(confidence, dtype=np.float64) - chance) / (1.0 - chance), 0.0, 1.0) * 0.999
    return np.asarray(labels, dtype=np.float64) + s


def _np(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def boundary_figure(
    surface: Any,
    points_train: Any,
    y_train: Any,
    points_test: Any = None,
    y_test: Any = None,
    *,
    kind: str,
    n_classes: int,
    discretize: bool = False,
    show_test: bool = False,
    background: Any = None,
    background_name: str = "",
) -> go.Figure:
    """The surface as a heatmap over the box, train points (white outline) and, when `show_test`,
    test points (black outline) on top; equal aspect ratio; hover shows x1, x2 and the value.

    kind: "classification" or "regression". Colours on the Playground's fixed scale (module doc).
    discretize snaps a binary map to its class, a multiclass one to full confidence and a regression one
    to its sign. `background` (an object with xs, ys, values: `analysis.playground.node_map`) replaces
    the output by one node's map, as hovering a node in the Playground does; `background_name` names it.
    """
    xs, ys = np.asarray(surface.xs), np.asarray(surface.ys)
    box = tuple(float(v) for v in getattr(surface, "box", (xs[0], xs[-1], ys[0], ys[-1])))
    regression = kind == "regression"
    multiclass = not regression and n_classes > 2
    vmax = regression_vmax(y_train) if regression else 1.0
    hover_xy = "x1 = %{x:.2f}<br>x2 = %{y:.2f}<br>"
    # "fast": the browser scales the R x R image smoothly, as the Playground's canvas does; plotly's "best"
    # interpolates every pixel in JS (~100 ms more per draw for 100 x 100 in Chromium)
    smooth = False if discretize else "fast"
    common = dict(type="heatmap", opacity=BACKGROUND_OPACITY, name="surface", zsmooth=smooth)
    if background is not None:
        values = np.asarray(background.values, dtype=np.float64)
        z = np.where(values >= 0, 1.0, -1.0) if discretize else values
        label = background_name or "node"
        surface_trace = dict(
            x=np.asarray(background.xs), y=np.asarray(background.ys), z=z, colorscale=DIVERGING, zmin=-1.0, zmax=1.0,
            showscale=False,
            hovertemplate=hover_xy + f"{label} = %{{z:.3f}}<extra></extra>", **common)
    elif regression:
        values = np.asarray(surface.values, dtype=np.float64)
        z = np.sign(values) * vmax if discretize else values
        surface_trace = dict(
            x=xs, y=ys, z=z, colorscale=DIVERGING, zmin=-vmax, zmax=vmax,
            colorbar=dict(title=dict(text="prediction"), thickness=12, len=0.8),
            hovertemplate=hover_xy + "prediction = %{z:.3f}<extra></extra>", **common)
    elif multiclass:
        labels = np.asarray(surface.labels)
        conf = np.ones_like(labels, dtype=np.float64) if discretize else np.asarray(surface.confidence)
        z = multiclass_z(labels, conf, n_classes)
        custom = np.stack([labels.astype(np.float64), np.asarray(surface.confidence, dtype=np.float64)], axis=-1)
        surface_trace = dict(
            x=xs, y=ys, z=z, colorscale=multiclass_colorscale(n_classes), zmin=0, zmax=n_classes,
            showscale=False, customdata=custom,
            hovertemplate=hover_xy + "class %{customdata[0]:.0f} (p = %{customdata[1]:.3f})<extra></extra>",
            **{**common, "zsmooth": False})
    else:
        values = np.asarray(surface.values, dtype=np.float64)
        z = (values > 0.5).astype(np.float64) if discretize else values
        # P(class 1) on [0, 1] is the Playground's 2p - 1 on [-1, 1]: the same colours, p shown in the hover
        surface_trace = dict(
            x=xs, y=ys, z=z, colorscale=DIVERGING, zmin=0.0, zmax=1.0,
            colorbar=dict(title=dict(text="p(class 1)", side="right"), thickness=10, len=0.6, tickvals=[0, 0.5, 1]),
            hovertemplate=hover_xy + "p(class 1) = %{z:.3f}<extra></extra>", **common)
    surface_trace["z"] = np.asarray(surface_trace["z"], dtype=np.float32)  # half the bytes to send, plenty of digits
    traces: list[dict[str, Any]] = [surface_trace]

    def add_points(points: Any, y: Any, outline: str, name: str) -> None:
        pts, yy = _np(points), _np(y)
        if pts is None or yy is None or len(pts) == 0:
            return
        pts = pts.reshape(len(pts), -1)
        yy = yy.reshape(len(pts), -1)[:, 0].astype(np.float64)
        # numeric colours on a colour scale: plotly validates a list of colour strings point by point
        if regression:
            marker = dict(color=yy, colorscale=DIVERGING, cmin=-vmax, cmax=vmax)
            label = "target = %{customdata:.3f}"
        else:
            marker = dict(color=yy + 0.5, colorscale=class_colorscale(max(n_classes, 2)), cmin=0, cmax=max(n_classes, 2))
            label = "class %{customdata:.0f}"
        traces.append(dict(
            type="scatter", x=pts[:, 0], y=pts[:, 1], mode="markers", name=name, customdata=yy,
            marker=dict(size=7, line=dict(color=outline, width=1), showscale=False, **marker),
            hovertemplate=f"{name}<br>x1 = %{{x:.2f}}<br>x2 = %{{y:.2f}}<br>{label}<extra></extra>",
        ))

    add_points(points_train, y_train, WHITE, "train")
    if show_test:
        add_points(points_test, y_test, "#000000", "test")
    layout = dict(
        showlegend=False, margin=dict(l=40, r=10, t=10, b=40), plot_bgcolor=WHITE, height=450, hovermode="closest",
        xaxis=dict(range=[box[0], box[1]], title=dict(text="x1"), constrain="domain", showgrid=False, zeroline=False),
        yaxis=dict(range=[box[2], box[3]], title=dict(text="x2"), scaleanchor="x", scaleratio=1, constrain="domain",
                   showgrid=False, zeroline=False),
    )
    # plain dicts without plotly's per-property validation (it cost ~60 ms a draw); the tests validate
    return go.Figure(data=traces, layout=layout, _validate=False)
