"""Figures of sparse connectivity: unit and block graphs, mask heatmaps ordered by ensemble, a DST round's
pruned and grown edges, turnover, degrees, pruning curves and the recurrent graph."""

import networkx as nx
import numpy as np
import pytest
import torch

from netarium.analysis.sparsity import (
    GROWN,
    PRUNED,
    block_graph,
    recurrent_digraph,
    rewiring_cells,
    unit_graph,
    wiring,
)
from netarium.models import ModelSpec, build_model
from netarium.viz.boundary import BLUE, ORANGE
from netarium.viz.sparsity import (
    ENSEMBLE_COLORS,
    NO_ENSEMBLE,
    block_graph_figure,
    degree_figure,
    layered_positions,
    mask_heatmap_figure,
    pruning_figure,
    recurrent_figure,
    rewiring_figure,
    rewiring_graph_figure,
    turnover_figure,
    unit_graph_figure,
)


def segments(trace) -> list[tuple]:
    """The line segments of a trace drawn as x0, x1, None, ..."""
    xs, ys = list(trace.x), list(trace.y)
    return [(xs[i], ys[i], xs[i + 1], ys[i + 1]) for i in range(0, len(xs), 3)]


def small_net():
    torch.manual_seed(1)
    return build_model("sparse-mlp", {"hidden": [8, 8], "groups": 2, "k": 1}, ModelSpec(2, 2))


def test_unit_graph_figure_draws_each_unit_once_and_each_active_edge_once_by_sign():
    model = small_net()
    G = unit_graph(wiring(model), dense_fraction=0.0)
    fig = unit_graph_figure(G)
    nodes = [t for t in fig.data if t.mode == "markers"]
    assert sum(len(t.x) for t in nodes) == 2 + 8 + 8 + 2
    assert [t.name for t in nodes] == ["no ensemble", "ensemble 0", "ensemble 1"]
    assert [t.marker.color for t in nodes] == [NO_ENSEMBLE, ENSEMBLE_COLORS[0], ENSEMBLE_COLORS[1]]
    lines = [t for t in fig.data if t.mode == "lines" and t.showlegend is False]  # (legend swatches have no segment)
    assert [t.name for t in fig.data if t.mode == "lines" and t.showlegend is not False] == ["w > 0", "w < 0"]
    mask = model.layers[1].linear.mask
    assert sum(len(segments(t)) for t in lines) == int(mask.sum()) == 32  # g2g k=1: 2 blocks of 4 x 4
    w = model.layers[1].linear.weight.detach()[mask != 0]
    pos = sum(len(segments(t)) for t in lines if t.name == "w > 0")
    assert pos == int((w >= 0).sum())
    rgb = {BLUE: "rgba(8,119,189,", ORANGE: "rgba(245,147,34,"}  # the Playground's blue w > 0, orange w < 0
    assert all(t.line.color.startswith(rgb[BLUE if t.name == "w > 0" else ORANGE]) for t in lines)
    # hover: layer, unit, ensemble and degrees
    hover = nodes[1].text[0]
    assert "layer1 #0" in hover and "ensemble 0" in hover and "in-degree 2" in hover and "out-degree 4" in hover


def test_layered_positions_put_layers_in_columns_and_ensembles_together():
    G = nx.DiGraph()
    for u, g in enumerate([1, 0, 1, 0]):
        G.add_node((1, u), layer=1, group=g)
    G.add_node((0, 0), layer=0, group=None)
    pos = layered_positions(G)
    assert pos[(0, 0)][0] < pos[(1, 0)][0] and len({pos[(1, u)][0] for u in range(4)}) == 1
    top_to_bottom = sorted(range(4), key=lambda u: -pos[(1, u)][1])
    assert top_to_bottom == [1, 3, 0, 2]  # ensemble 0 (units 1, 3) above ensemble 1 (units 0, 2)


def test_block_graph_figure_has_a_node_per_ensemble_and_the_counts_in_its_hover():
    torch.manual_seed(0)
    model = build_model("sparse-mlp", {"hidden": [80, 80], "groups": 4, "k": 2}, ModelSpec(2, 2))
    B = block_graph(wiring(model))
    fig = block_graph_figure(B)
    nodes = [t for t in fig.data if t.mode == "markers+text"]
    assert sum(len(t.x) for t in nodes) == B.number_of_nodes() == 1 + 4 + 4 + 1
    hover = next(t for t in fig.data if t.name == "block edges").text
    assert len(hover) == B.number_of_edges() == 4 + 8 + 4
    assert sum("400 edges (density 1.00)" in h for h in hover) == 8  # 8 g2g blocks of 20 x 20


def test_mask_heatmap_is_ordered_by_ensemble_with_lines_between_them():
    mask = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 1, 1]])
    in_ids, out_ids = [1, 0, 1, 0], [1, 0, 1]
    fig = mask_heatmap_figure(mask, in_ids, out_ids, "L")
    z = np.asarray(fig.data[0].z)
    assert np.array_equal(z, mask[[1, 0, 2]][:, [1, 3, 0, 2]])
    lines = [(s.x0, s.y0) for s in fig.layout.shapes]
    assert (1.5, -0.5) in lines and (-0.5, 0.5) in lines and len(lines) == 2  # one boundary each way
    assert "L · 41.7% sparse (7 of 12 edges)" == fig.layout.title.text
    assert list(fig.layout.xaxis.ticktext) == ["e0", "e1"]
    custom = np.asarray(fig.data[0].customdata)
    assert custom[0, 0].tolist() == [1, 1]  # the top-left cell is input 1 -> output 1


def test_rewiring_figure_colours_exactly_the_pruned_and_grown_cells():
    after = np.array([[1, 0, 1], [0, 1, 1]])
    cells = rewiring_cells(after, pruned_idx=[1], grown_idx=[5])
    fig = rewiring_figure(cells, [0, 1, 0], None, "L", 40)
    z = np.asarray(fig.data[0].z)
    order = [0, 2, 1]  # columns by ensemble
    assert np.array_equal(z, cells[:, order])
    assert np.argwhere(z == PRUNED).tolist() == [[0, 2]] and np.argwhere(z == GROWN).tolist() == [[1, 1]]
    marks = {t.name: (list(t.x), list(t.y)) for t in fig.data[1:] if t.showlegend is False}
    assert marks == {"pruned (1)": ([2], [0]), "grown (1)": ([1], [1])}
    assert [t.name for t in fig.data if t.showlegend is not False][1:] == ["kept (3)", "pruned (1)", "grown (1)"]
    assert fig.layout.title.text == "L at step 40: 1 pruned (red), 1 grown (green)"


def test_rewiring_graph_draws_each_edge_once_from_its_input_to_its_output():
    after = np.array([[1, 0, 1], [0, 1, 1]])
    cells = rewiring_cells(after, pruned_idx=[1], grown_idx=[5])  # pruned: input 1 -> output 0; grown: 2 -> 1
    fig = rewiring_graph_figure(cells, [0, 1, 0], None, "L", 40)
    lines = {t.name: t for t in fig.data if t.mode == "lines"}
    assert list(lines) == ["kept (3)", "grown (1)", "pruned (1)"] and lines["pruned (1)"].line.dash == "dot"
    inputs, outputs = [t for t in fig.data if t.mode == "markers"]
    y_in = {int(t.split()[1]): y for t, y in zip(inputs.text, inputs.y, strict=True)}  # "input 2 · ensemble 0"
    y_out = {int(t.split()[1]): y for t, y in zip(outputs.text, outputs.y, strict=True)}
    assert [u for u, _ in sorted(y_in.items(), key=lambda kv: -kv[1])] == [0, 2, 1]  # top to bottom by ensemble
    assert list(lines["pruned (1)"].x) == [0, 1, None] and list(lines["pruned (1)"].y) == [y_in[1], y_out[0], None]
    assert list(lines["grown (1)"].y) == [y_in[2], y_out[1], None]
    assert fig.layout.title.text == "L at step 40: 1 pruned (red, dotted), 1 grown (green)"
    big = rewiring_graph_figure(np.ones((80, 80), dtype=np.int8))
    assert "too many to draw as a graph" in big.layout.annotations[0].text and not big.data


def test_turnover_degree_and_pruning_figures():
    rows = [{"name": n, "step": s, "turnover": t, "pruned": 1, "grown": 1, "kept": 3, "fraction": 0.3}
            for s, t in ((10, 0.2), (20, 0.1)) for n in ("a", "b")]
    fig = turnover_figure(rows)
    assert [t.name for t in fig.data] == ["a", "b", "prune fraction"] and list(fig.data[0].x) == [10, 20]
    assert turnover_figure([]).layout.annotations[0].text == "no rewiring yet"

    deg = degree_figure([("a", [1, 2, 2], [3, 1, 1]), ("b", [4], [4])])
    assert [(t.name, list(t.x)) for t in deg.data] == [("a", [1, 2, 2]), ("a", [3, 1, 1]), ("b", [4]), ("b", [4])]

    curve = [{"sparsity": s, "accuracy": a, "dnr": None, "edges": 1, "total": 2} for s, a in ((0.0, 0.9), (0.5, 0.7))]
    fig = pruning_figure({"global": curve}, "accuracy")
    assert list(fig.data[0].x) == [0.0, 50.0] and list(fig.data[0].y) == [0.9, 0.7] and len(fig.data) == 1
    (note,) = [a for a in fig.layout.annotations if "DNR is not defined" in a.text]
    assert note.xref == "paper" and note.x == sum(fig.layout.xaxis2.domain) / 2  # centred over the empty right panel
    with_dnr = [dict(r, dnr=0.1 * i) for i, r in enumerate(curve)]
    assert list(pruning_figure({"global": with_dnr}).data[1].y) == [0.0, 0.1]


def test_recurrent_figure_draws_each_edge_but_self_loops_and_colours_nodes_by_degree():
    adj = np.eye(5) + np.roll(np.eye(5), 1, axis=1)  # a ring j -> j - 1 with self-loops
    G = recurrent_digraph(adj)
    fig = recurrent_figure(G, "circular")
    assert len(segments(fig.data[0])) == 5
    assert list(fig.data[1].marker.color) == [4] * 5  # in 2 + out 2, self-loop counted both ways
    assert "5 self-loops" in fig.layout.title.text and "5 edges j → i" in fig.layout.title.text
    spring = recurrent_figure(G, "spring", seed=3)
    assert list(spring.data[1].x) == pytest.approx(list(recurrent_figure(G, "spring", seed=3).data[1].x))


def test_a_drill_down_spreads_each_layer_over_the_same_height():
    torch.manual_seed(0)
    model = build_model("sparse-mlp", {"hidden": [80, 80], "groups": 4, "k": 2}, ModelSpec(2, 2))
    G = unit_graph(wiring(model), dense_fraction=0.0, focus=(1, 0))  # ensemble 0 of layer1: units 0..19
    pos = layered_positions(G, spread=True)
    for layer in (1, 2):
        ys = [pos[n][1] for n in G.nodes if n[0] == layer]
        assert max(ys) == pytest.approx(max(p[1] for p in pos.values())) and min(ys) == pytest.approx(-max(ys))
    readers = np.flatnonzero(model.layers[1].linear.mask[:, :20].sum(1).numpy())  # layer2 units it feeds
    assert {n for n in G.nodes if n[0] == 1} == {(1, u) for u in range(20)}
    assert {n for n in G.nodes if n[0] == 2} == {(2, int(u)) for u in readers}
