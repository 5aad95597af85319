"""The wiring of sparse MLPs as graphs (units, ensemble blocks), DST replay cells, recurrent graphs and
the one-shot magnitude pruning curve."""

import numpy as np
import pytest
import torch
from torch import nn

from netarium.analysis.sparsity import (
    ABSENT,
    GROWN,
    KEPT,
    PRUNED,
    block_graph,
    block_sums,
    ensemble_order,
    mask_groups,
    pruning_curve,
    recurrent_digraph,
    rewiring_cells,
    unit_graph,
    wiring,
)
from netarium.models import ModelSpec, build_model
from netarium.models.sparse import g2g_mask
from netarium.training.dst import DSTLog
from netarium.training.optim import resolve_loss


def sparse_mlp(hidden=(16, 24), groups=4, k=2, seed=0, **kw):
    torch.manual_seed(seed)
    return build_model("sparse-mlp", {"hidden": list(hidden), "groups": groups, "k": k, **kw}, ModelSpec(3, 2))


def test_block_sums_of_a_g2g_mask_are_its_blocks_times_the_ensemble_sizes():
    mask, in_ids, out_ids = g2g_mask(24, 16, groups=4, k=2, seed=3)
    sums = block_sums(mask, in_ids, out_ids)
    blocks = mask[::6, ::4].numpy()  # ensembles of 6 outputs and 4 inputs: one entry per block
    assert blocks.sum() == 8 and (blocks.sum(1) == 2).all()  # k = 2 input ensembles per output ensemble
    assert np.array_equal(sums["edges"], (blocks * 6 * 4).astype(int))
    w = torch.randn(24, 16)
    sums = block_sums(mask, in_ids, out_ids, w)
    assert sums["abs_w"][0, 0] == pytest.approx(float((w * mask)[:6, :4].abs().sum()))
    assert sums["w"][3, 1] == pytest.approx(float((w * mask)[18:, 4:8].sum()))


def test_block_graph_edges_are_the_block_sums_of_every_layer():
    model = sparse_mlp()
    w = wiring(model)
    assert w.widths == [3, 16, 24, 2] and w.labels == ["input", "layer1", "layer2", "output"]
    assert [k.mask is not None for k in w.links] == [False, True, False]
    G = block_graph(w)
    mask = model.layers[1].linear.mask.numpy()
    sums = block_sums(mask, model.ensembles[0], model.ensembles[1])["edges"]
    got = {(a[1], b[1]): d["edges"] for a, b, d in G.edges(data=True) if a[0] == 1}
    assert got == {(j, i): int(sums[i, j]) for i, j in zip(*np.nonzero(sums), strict=True)}
    assert all(d["density"] == 1.0 for a, _, d in G.edges(data=True) if a[0] == 1)  # g2g blocks are dense
    # the dense input layer (no ensembles: one block) reaches every ensemble of layer1 with all its weights
    assert sorted(b for a, b in G.edges() if a[0] == 0) == [(1, g) for g in range(4)]
    assert sum(d["edges"] for a, _, d in G.edges(data=True) if a[0] == 0) == 3 * 16
    assert [G.nodes[(1, g)]["units"] for g in range(4)] == [4, 4, 4, 4]


def test_unit_graph_has_a_node_per_unit_and_an_edge_per_active_mask_entry():
    model = sparse_mlp(connectivity="random", density=0.3)
    w = wiring(model)
    G = unit_graph(w, dense_fraction=0.0)
    assert G.number_of_nodes() == 3 + 16 + 24 + 2
    mask = model.layers[1].linear.mask.numpy()
    assert G.number_of_edges() == int(mask.sum())
    assert {(j, i) for (_, j), (_, i) in G.edges()} == {(j, i) for i, j in zip(*np.nonzero(mask), strict=True)}
    weight = model.layers[1].linear.weight.detach().numpy()
    assert G.edges[(1, 5), (2, int(np.nonzero(mask[:, 5])[0][0]))]["weight"] == pytest.approx(
        float(weight[np.nonzero(mask[:, 5])[0][0], 5]))
    assert G.nodes[(2, 0)]["deg_in"] == int(mask[0].sum()) and G.nodes[(1, 0)]["deg_out"] == int(mask[:, 0].sum())
    assert G.nodes[(1, 0)]["group"] is None  # random connectivity: no ensembles
    # dense layers add their top quarter by |w|
    G2 = unit_graph(w, dense_fraction=0.25)
    first = model.layers[0].linear.weight.detach().abs().numpy()
    top = {(j, i) for (layer, j), (_, i) in G2.edges() if layer == 0}
    assert len(top) == int(np.ceil(0.25 * first.size))
    assert min(first[i, j] for j, i in top) >= np.sort(first.ravel())[-len(top)]
    assert G2.number_of_edges() == int(mask.sum()) + len(top) + int(np.ceil(0.25 * 24 * 2))


def test_unit_graph_focus_keeps_one_ensemble_and_the_edges_touching_it():
    model = sparse_mlp()
    w = wiring(model)
    G = unit_graph(w, dense_fraction=0.0, focus=(2, 1))  # ensemble 1 of layer2: units 6..11
    mask = model.layers[1].linear.mask.numpy()
    assert {n for n in G.nodes if n[0] == 2} == {(2, u) for u in range(6, 12)}
    assert G.number_of_edges() == int(mask[6:12].sum())
    assert all(b[0] == 2 and 6 <= b[1] < 12 for _, b in G.edges())
    capped = unit_graph(w, dense_fraction=0.0, focus=(2, 1), max_edges=10)
    assert capped.number_of_edges() == 10 and capped.graph["dropped"] == int(mask[6:12].sum()) - 10


def test_mask_groups_and_ensemble_order():
    model = sparse_mlp(sparse_readout=True)
    groups = mask_groups(model)
    assert list(groups) == ["layers.1.linear", "readout"]
    assert groups["layers.1.linear"] == (model.ensembles[0], model.ensembles[1])
    assert groups["readout"] == (model.ensembles[1], None)
    assert mask_groups(nn.Sequential(nn.Linear(2, 2))) == {}
    assert ensemble_order([2, 0, 1, 0, 2], 5).tolist() == [1, 3, 2, 0, 4]  # stable within an ensemble
    assert ensemble_order(None, 3).tolist() == [0, 1, 2]


def test_rewiring_cells_mark_exactly_the_pruned_and_grown_edges_of_a_log():
    m0 = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]], dtype=torch.float32)
    log = DSTLog({"a": m0})
    log.add([{"name": "a", "step": 10, "pruned_idx": [0, 6], "grown_idx": [2, 9], "pruned": 2, "grown": 2, "kept": 4,
              "turnover": 0.5, "fraction": 0.3}])
    log.add([{"name": "a", "step": 20, "pruned_idx": [2], "grown_idx": [3], "pruned": 1, "grown": 1, "kept": 5,
              "turnover": 1 / 6, "fraction": 0.1}])
    ev = log.event("a", 10)
    cells = rewiring_cells(log.mask_at("a", 10), ev["pruned_idx"], ev["grown_idx"])
    assert np.flatnonzero(cells.ravel() == PRUNED).tolist() == [0, 6]
    assert np.flatnonzero(cells.ravel() == GROWN).tolist() == [2, 9]
    assert np.flatnonzero(cells.ravel() == KEPT).tolist() == [1, 5, 8, 11]
    assert (cells == ABSENT).sum() == 12 - 8
    ev = log.event("a", 20)
    cells = rewiring_cells(log.mask_at("a", 20), ev["pruned_idx"], ev["grown_idx"])
    assert np.flatnonzero(cells.ravel() == PRUNED).tolist() == [2] and np.flatnonzero(cells.ravel() == GROWN).tolist() == [3]
    assert np.flatnonzero(cells.ravel() == KEPT).tolist() == [1, 5, 8, 9, 11]


def test_recurrent_digraph_runs_edges_from_column_to_row():
    adj = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]])  # unit 1 feeds 0, unit 2 feeds 1, unit 0 itself
    G = recurrent_digraph(adj)
    assert set(G.edges()) == {(0, 0), (1, 0), (2, 1)}
    assert [G.nodes[u]["deg_in"] for u in range(3)] == [2, 1, 0]
    assert [G.nodes[u]["deg_out"] for u in range(3)] == [1, 1, 1]


def _data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    return X, (X[:, 0] * X[:, 1] > 0).long()


def test_pruning_curve_starts_at_the_model_as_it_is_and_reaches_each_level():
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": [16, 16], "activation": ["relu"]}, ModelSpec(3, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = _data()
    loss = resolve_loss("auto", "classification", 2, 2)
    levels = (0.0, 0.2, 0.5, 0.9)
    rows = pruning_curve(model, X, y, loss, levels)
    with torch.no_grad():
        out = model(X)
        acc = float(loss.accuracy(out, y))
    assert rows[0]["accuracy"] == pytest.approx(acc)
    total = 3 * 16 + 16 * 16 + 16 * 2
    assert [r["total"] for r in rows] == [total] * 4
    assert [r["edges"] for r in rows] == [total - round(s * total) for s in levels]
    assert [r["sparsity"] for r in rows] == pytest.approx(list(levels), abs=1 / total)
    # DNR at 0: the share of (input, unit) pairs at 0 over both ReLU layers, counted by hand
    h1 = torch.relu(model.layers[0].linear(X))
    h2 = torch.relu(model.layers[1].linear(h1))
    assert rows[0]["dnr"] == pytest.approx(float((torch.cat([h1, h2], 1) == 0).double().mean()))
    assert rows[-1]["dead_units"] >= rows[0]["dead_units"]
    # the model itself is untouched: same tensors, no masks added
    assert {k: v for k, v in model.state_dict().items()}.keys() == before.keys()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert type(model.layers[0].linear) is nn.Linear


def test_pruning_curve_of_a_sparse_model_begins_at_its_own_sparsity_and_skips_tanh_dnr():
    model = sparse_mlp(hidden=(16, 16), groups=4, k=1, activation="tanh")
    X, y = _data()
    loss = resolve_loss("auto", "classification", 2, 2)
    rows = pruning_curve(model, X, y, loss, (0.0, 0.2, 0.8), scope="layer")
    total = 3 * 16 + 16 * 16 + 16 * 2
    start = 1 - (total - 192) / total  # 3/4 of the 16x16 layer are masked off
    assert [r["level"] for r in rows] == [pytest.approx(start), 0.8]
    assert rows[0]["edges"] == total - 192
    assert all(r["dnr"] is None for r in rows)
