"""The Playground's main view: the model's decision surface over the plot box with the data on top.

Palette of TensorFlow Playground: orange (#f59322) for class 0 / negative, blue (#0877bd) for
class 1 / positive, white in between; k classes get a qualitative palette with confidence as
lightness. The surface comes from `analysis.playground.decision_surface` (any object with its fields).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

ORANGE = "#f59322"
BLUE = "#0877bd"
WHITE = "#ffffff"
# the Playground's two colours first, then Okabe-Ito-like hues that stay apart for up to 8 classes
CLASS_COLORS = [ORANGE, BLUE, "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
DIVERGING = [[0.0, ORANGE], [0.5, WHITE], [1.0, BLUE]]
BACKGROUND_OPACITY = 0.6  # the surface lighter than the points (on white) so that they stand out, as in the Playground


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


def diverging_rgb(values: np.ndarray, vmax: float) -> np.ndarray:
    """uint8 (..., 3) colours of the diverging palette: -vmax orange, 0 white, +vmax blue (clipped)."""
    t = np.clip(np.asarray(values, dtype=np.float64) / max(float(vmax), 1e-12), -1.0, 1.0)[..., None]
    end = np.where(t < 0, hex_rgb(ORANGE), hex_rgb(BLUE))
    rgb = 255.0 + (end - 255.0) * np.abs(t)
    return np.round(rgb).astype(np.uint8)


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
) -> go.Figure:
    """The surface as a heatmap over the box, train points (white outline) and, when `show_test`,
    test points (black outline) on top; equal aspect ratio; hover shows x1, x2 and the value.

    kind: "classification" or "regression". discretize snaps a binary map to 0/1, a multiclass one to
    full confidence and a regression one to its sign.
    """
    xs, ys = np.asarray(surface.xs), np.asarray(surface.ys)
    box = tuple(float(v) for v in getattr(surface, "box", (xs[0], xs[-1], ys[0], ys[-1])))
    fig = go.Figure()
    regression = kind == "regression"
    multiclass = not regression and n_classes > 2
    hover_xy = "x1 = %{x:.2f}<br>x2 = %{y:.2f}<br>"
    if regression:
        values = np.asarray(surface.values, dtype=np.float64)
        z = np.sign(values) if discretize else values
        vmax = float(np.nanmax(np.abs(z))) if z.size and np.isfinite(z).any() else 1.0
        vmax = max(vmax, 1e-6)
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=z, colorscale=DIVERGING, zmin=-vmax, zmax=vmax, opacity=BACKGROUND_OPACITY,
            zsmooth=False if discretize else "best",
            colorbar=dict(title=dict(text="prediction"), thickness=12, len=0.8),
            hovertemplate=hover_xy + "prediction = %{z:.3f}<extra></extra>", name="surface",
        ))
    elif multiclass:
        labels = np.asarray(surface.labels)
        conf = np.ones_like(labels, dtype=np.float64) if discretize else np.asarray(surface.confidence)
        z = multiclass_z(labels, conf, n_classes)
        custom = np.stack([labels.astype(np.float64), np.asarray(surface.confidence, dtype=np.float64)], axis=-1)
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=z, colorscale=multiclass_colorscale(n_classes), zmin=0, zmax=n_classes,
            showscale=False, customdata=custom, opacity=BACKGROUND_OPACITY, name="surface",
            hovertemplate=hover_xy + "class %{customdata[0]:.0f} (p = %{customdata[1]:.3f})<extra></extra>",
        ))
    else:
        values = np.asarray(surface.values, dtype=np.float64)
        z = (values > 0.5).astype(np.float64) if discretize else values
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=z, colorscale=DIVERGING, zmin=0.0, zmax=1.0, showscale=False,
            zsmooth=False if discretize else "best",
            opacity=BACKGROUND_OPACITY, name="surface",
            hovertemplate=hover_xy + "p(class 1) = %{z:.3f}<extra></extra>",
        ))

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
        fig.add_trace(go.Scatter(
            x=pts[:, 0], y=pts[:, 1], mode="markers", name=name, customdata=yy,
            marker=dict(size=7, line=dict(color=outline, width=1), showscale=False, **marker),
            hovertemplate=f"{name}<br>x1 = %{{x:.2f}}<br>x2 = %{{y:.2f}}<br>{label}<extra></extra>",
        ))

    add_points(points_train, y_train, WHITE, "train")
    if show_test:
        add_points(points_test, y_test, "#000000", "test")
    fig.update_xaxes(range=[box[0], box[1]], title=dict(text="x1"), constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[box[2], box[3]], title=dict(text="x2"), scaleanchor="x", scaleratio=1,
                     constrain="domain", showgrid=False, zeroline=False)
    fig.update_layout(
        showlegend=False, margin=dict(l=40, r=10, t=10, b=40), plot_bgcolor=WHITE,
        height=450, hovermode="closest",
    )
    return fig
