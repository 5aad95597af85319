"""analysis/kan.py: sampled edge functions agree with the layers, their L1 norms are the network graph's
links; viz/kan.py draws one subplot per edge with line width by L1; the diagram draws the KAN glyph."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from netarium.analysis.diagram import extract
from netarium.analysis.kan import edge_curves, network_links
from netarium.analysis.playground import network_weights
from netarium.models import ModelSpec, build_model
from netarium.viz import kan as kviz
from netarium.viz.ncd import KAN_GLYPH, to_dot


def model(**params):
    torch.manual_seed(0)
    return build_model("kan", {"hidden": [3], **params}, ModelSpec(2, 2))


def test_edge_curves_sample_each_layer_over_its_range() -> None:
    m = model()
    first, readout = edge_curves(m, points=33)
    assert first.xs[0] == -6 and first.xs[-1] == 6 and len(first.xs) == 33 and first.input_range == 6
    assert readout.xs[0] == -1 and readout.xs[-1] == 1  # hidden nodes are squashed into [-1, 1]
    assert first.ys.shape == (33, 3, 2) and readout.ys.shape == (33, 2, 3)
    # a layer's output at inputs (x, x) is the sum of its edge functions at x plus the bias
    x = torch.as_tensor(first.xs)
    with torch.no_grad():
        y = m.layers[0].kan(torch.stack([x, x], 1)).numpy()
    assert np.allclose(y, first.ys.sum(2) + first.bias, atol=1e-5)
    assert np.allclose(first.l1, np.abs(first.ys).mean(0))


def test_network_links_are_the_l1_norms_and_the_graph_uses_them() -> None:
    m = model()
    links = network_links(m)
    assert links.layer_sizes == [2, 3, 2] and links.masks == []
    assert all((w >= 0).all() for w in links.weights)
    curves = edge_curves(m)
    assert np.allclose(links.weights[1], curves[1].l1)
    with torch.no_grad():  # an edge whose weights are all zero has no strength
        m.readout.weight[0, 1].zero_()
    assert network_weights(m).weights[1][0, 1] == 0


def test_the_network_graph_draws_each_edge_function_on_its_link() -> None:
    from netarium.viz.network import MAX_CURVES, network_figure

    m = model()
    links = network_weights(m)
    assert [c.shape for c in links.curves] == [(64, 3, 2), (64, 2, 3)]
    assert np.allclose(links.curves[0], edge_curves(m)[0].ys, atol=1e-6)
    fig = network_figure(links.layer_sizes, links.weights, input_names=["x1", "x2"], biases=links.biases,
                         link_curves=links.curves)
    names = [t.name for t in fig.data]
    assert names.index("link curves") > max(i for i, n in enumerate(names) if n.startswith("links "))  # on top
    curve = next(t for t in fig.data if t.name == "link curves")
    ys = np.array(curve.y, dtype=float).reshape(-1, 65)[:, :64]  # 64 points and a NaN per link
    assert ys.shape[0] == 2 * 3 + 3 * 2
    hover = next(t for t in fig.data if t.name == "link hover")
    for k, (_, c, i, j, _) in enumerate(np.asarray(hover.customdata)):
        phi = links.curves[int(c)][:, int(j), int(i)]  # the link's own curve, centred on its hover point
        drawn = ys[k] - hover.y[k]
        assert np.allclose(drawn * np.abs(links.curves[int(c)]).max() / np.abs(drawn).max(),
                           phi * np.abs(links.curves[int(c)]).max() / np.abs(phi).max(), atol=1e-6)
    assert MAX_CURVES < 7 * 7  # the middle layer of a 2-7-7-2 KAN has too many links for curves: plain lines
    many = network_weights(build_model("kan", {"hidden": [7, 7]}, ModelSpec(2, 2)))
    fig = network_figure(many.layer_sizes, many.weights, input_names=["x1", "x2"], link_curves=many.curves)
    curve = next(t for t in fig.data if t.name == "link curves")
    assert np.isnan(np.array(curve.y, dtype=float)).sum() == 2 * 7 + 7 * 2


def test_layer_grid_has_one_subplot_per_edge_with_width_by_strength() -> None:
    m = model()
    with torch.no_grad():
        m.layers[0].kan.weight[0, 0] *= 10  # the strongest edge by far
    curves = edge_curves(m)[0]
    fig = kviz.layer_grid_figure(curves)
    lines = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert len(lines) == 3 * 2
    widths = np.array([t.line.width for t in lines]).reshape(3, 2)
    assert widths[0, 0] == kviz.MAX_WIDTH and widths.argmax() == 0
    assert np.allclose(lines[0].y, curves.ys[:, 0, 0])
    big = kviz.edge_figure(curves, 2, 1)
    assert np.allclose(big.data[0].y, curves.ys[:, 2, 1]) and "in 2 → out 3" in big.layout.title.text
    with pytest.raises(ValueError, match="outside"):
        kviz.edge_figure(curves, 3, 0)


def test_a_wide_layer_shows_at_most_max_cells_plots() -> None:
    m = build_model("kan", {"hidden": [20]}, ModelSpec(30, 2))
    curves = edge_curves(m)[0]
    assert kviz.shown_grid(curves, 144) == (12, 12)
    assert "first 12 × 12 of 20 × 30" in kviz.layer_grid_figure(curves).layout.title.text


def test_diagram_draws_kan_layers_as_the_kan_glyph() -> None:
    m = model(hidden=[4, 3])
    d = extract(m, torch.randn(8, 2))
    learned = d.ops_of("learned")
    assert [o.label for o in learned] == ["KAN+", "KAN+", "KAN+"]
    assert [w.label for w in d.wires] == ["m 2", "h 4", "h 4", "h 3", "h 3", "c 2"]
    assert "learned 1-D function on each of the 8 edges" in learned[0].detail
    assert sum(o.params for o in d.ops) == sum(p.numel() for p in m.parameters())
    dot = to_dot(d)
    assert dot.count("style=rounded, penwidth") == 3 and "<B>φ</B>" in dot and "∿" in dot
    assert "<B>L</B>" not in dot  # no linear box
    assert KAN_GLYPH == "φ∿"  # the letter the live overlay's painted box uses
