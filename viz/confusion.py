"""Confusion matrix: rows the true class, columns the predicted one; colour is the row-normalised
rate (recall per class), the text the raw count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows that sum to zero stay zero)."""
    m = np.asarray(matrix, dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)


def confusion_figure(matrix: np.ndarray, class_names: Sequence[str] | None = None) -> go.Figure:
    """A k x k heatmap of row-normalised rates annotated with the counts; true class 0 at the top."""
    counts = np.asarray(matrix)
    k = counts.shape[0]
    if counts.ndim != 2 or counts.shape[1] != k:
        raise ValueError(f"a confusion matrix must be square, got shape {counts.shape}")
    names = [str(n) for n in class_names] if class_names is not None else [f"class {i}" for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for {k} classes")
    rates = row_normalised(counts)
    text = [[str(int(v)) for v in row] for row in counts]
    fig = go.Figure(go.Heatmap(
        z=rates, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Blues", zmin=0.0, zmax=1.0,
        colorbar=dict(title=dict(text="row rate"), thickness=12, len=0.8),
        hovertemplate="true %{y}, predicted %{x}<br>%{text} (%{z:.1%} of the row)<extra></extra>",
        textfont=dict(size=14),
    ))
    fig.update_xaxes(title=dict(text="predicted"), side="bottom", type="category")
    fig.update_yaxes(title=dict(text="true"), autorange="reversed", type="category", scaleanchor="x", constrain="domain")
    side = 140 + 45 * min(k, 12)
    fig.update_layout(height=max(300, side), margin=dict(l=60, r=10, t=10, b=50), plot_bgcolor="#ffffff")
    return fig
