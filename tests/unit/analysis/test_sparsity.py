import numpy as np
import pytest
import torch
from torch import nn

from netarium.analysis.sparsity import (
    degree_distribution,
    edge_turnover,
    layer_sparsity,
    mask_graph,
    modularity,
    sparsity_report,
)


def masked(n_in, n_out, mask):
    lin = nn.Linear(n_in, n_out)
    lin.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32))
    return lin


def block_diagonal(groups=4, size=8):
    return np.kron(np.eye(groups), np.ones((size, size)))


def test_layer_sparsity_and_report_cover_every_masked_module():
    m1 = torch.tensor([[1, 0, 0], [1, 1, 0]])
    model = nn.Sequential(masked(3, 2, m1), nn.ReLU(), nn.Linear(2, 2), masked(2, 1, torch.ones(1, 2)))
    assert layer_sparsity(model[0]) == pytest.approx(0.5)
    rows = sparsity_report(model)
    assert [r["name"] for r in rows] == ["0", "3"]
    assert rows[0] == {"name": "0", "shape": (2, 3), "edges": 3, "total": 6, "density": 0.5, "sparsity": 0.5}
    assert rows[1]["density"] == 1.0 and rows[1]["sparsity"] == 0.0


def test_degree_distribution_of_a_known_mask():
    m = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]])
    d = degree_distribution(m)
    assert d["in"] == [2, 1, 3]
    assert d["out"] == [3, 2, 1, 0]
    assert d["edges"] == 6
    assert d["in_stats"]["mean"] == pytest.approx(2.0) and d["in_stats"]["max"] == 3.0
    assert d["out_stats"]["zero"] == 1 and d["out_stats"]["mean"] == pytest.approx(1.5)


def test_mask_graph_keeps_isolated_units():
    G = mask_graph(np.array([[1, 0], [0, 0]]))
    assert G.number_of_nodes() == 4 and G.number_of_edges() == 1
    assert G.has_edge(("in", 0), ("out", 0))


def test_block_diagonal_mask_is_modular():
    G, size = 4, 8
    labels = np.repeat(np.arange(G), size)
    q = modularity(block_diagonal(G, size), (labels, labels))
    # G disconnected blocks of equal degree sum: Q = 1 - G * (1/G)^2 = 1 - 1/G
    assert q == pytest.approx(1 - 1 / G)
    assert q > 0.4
    assert modularity(block_diagonal(G, size)) == pytest.approx(1 - 1 / G)  # greedy finds the blocks


def test_random_mask_has_near_zero_modularity_for_a_fixed_partition():
    G, size = 4, 8
    rng = np.random.default_rng(0)
    mask = (rng.random((G * size, G * size)) < 0.5).astype(float)
    labels = np.repeat(np.arange(G), size)
    q = modularity(mask, (labels, labels))
    # E[Q] ~ 0: a fraction 1/G of the ~512 edges falls inside a community and sum_c a_c^2 ~ 1/G; the
    # within-fraction has std sqrt((1/G)(1 - 1/G)/m) ~ 0.019, so |Q| < 0.1 is a >5 sigma bound.
    assert abs(q) < 0.1
    # greedy optimisation finds some structure in any graph, but far less than in the blocks
    assert modularity(mask) < 0.5 * modularity(block_diagonal(G, size))


def test_modularity_edge_cases():
    assert modularity(np.zeros((3, 3))) == 0.0
    with pytest.raises(ValueError):
        modularity(np.ones((2, 3)), ([0, 1], [0, 1]))


def test_edge_turnover_is_reexported_with_hand_counts():
    old = np.array([[1, 1, 1, 0], [0, 0, 1, 1]])
    new = np.array([[1, 0, 1, 1], [1, 0, 0, 1]])
    got = edge_turnover(torch.as_tensor(old), torch.as_tensor(new))
    assert got == {"pruned": 2, "grown": 2, "kept": 3, "turnover": 4 / 10}
