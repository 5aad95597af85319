"""Masked linear maps, mask generators (random, G2G ensembles, random graphs) and the sparse MLP."""

import numpy as np
import pytest
import torch
from torch import nn

from netarium.analysis.diagram import extract
from netarium.models import MODELS, ModelSpec, build_model, tap_names
from netarium.models.sparse import (
    MaskedLinear,
    ensemble_ids,
    g2g_mask,
    graph_mask,
    masked_layers,
    random_mask,
)
from netarium.schema import SchemaError
from netarium.training import Config, Run

SPEC = ModelSpec(2, 2)


def masked_weights_are_zero(model: nn.Module) -> bool:
    return all(bool((m.weight[m.mask == 0] == 0).all()) for _, m in masked_layers(model))


def test_masked_linear_zeroes_weights_and_forward_uses_the_mask():
    torch.manual_seed(0)
    mask = random_mask(5, 7, 0.4, seed=1)
    lin = MaskedLinear(7, 5, mask)
    assert torch.equal(lin.mask, mask) and bool((lin.weight[mask == 0] == 0).all())
    assert lin.density == pytest.approx(round(0.4 * 35) / 35)
    x = torch.randn(3, 7)
    assert torch.allclose(lin(x), x @ (lin.weight * mask).T + lin.bias)
    with torch.no_grad():
        lin.weight.fill_(1.0)  # an outside write: the forward still ignores masked entries
    assert torch.allclose(lin(x), x @ mask.T + lin.bias)
    assert isinstance(lin, nn.Linear) and "mask" in lin.state_dict()


def test_set_mask_validates_and_rezeroes():
    lin = MaskedLinear(4, 3)
    assert lin.density == 1.0
    new = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.float32)
    lin.set_mask(new)
    assert torch.equal(lin.mask, new) and int((lin.weight != 0).sum()) <= 7
    assert bool((lin.weight[new == 0] == 0).all())
    with pytest.raises(ValueError, match="shape"):
        lin.set_mask(torch.ones(4, 3))
    with pytest.raises(ValueError, match="0 or 1"):
        lin.set_mask(torch.full((3, 4), 0.5))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_masked_entries_get_zero_gradient_and_stay_zero_under_the_optimizer(opt):
    torch.manual_seed(0)
    mask = random_mask(6, 8, 0.3, seed=2)
    lin = MaskedLinear(8, 6, mask)
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), "adam": lambda p: torch.optim.Adam(p, lr=0.05)}[opt]
    optimizer = make(lin.parameters())
    x, y = torch.randn(16, 8), torch.randn(16, 6)
    before = lin.weight.detach().clone()
    for _ in range(5):
        optimizer.zero_grad()
        (lin(x) - y).square().mean().backward()
        assert bool((lin.weight.grad[mask == 0] == 0).all())
        optimizer.step()
    assert bool((lin.weight[mask == 0] == 0).all())
    assert not torch.equal(lin.weight[mask == 1], before[mask == 1])  # the kept weights did learn


@pytest.mark.parametrize("out_f,in_f,density", [(10, 12, 0.25), (7, 3, 0.5), (32, 32, 0.05), (4, 9, 1.0)])
def test_random_mask_has_the_exact_count_and_no_empty_row(out_f, in_f, density):
    m = random_mask(out_f, in_f, density, seed=3)
    assert m.shape == (out_f, in_f) and m.dtype == torch.float32
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    assert int(m.sum()) == max(round(density * out_f * in_f), out_f)
    assert bool((m.sum(1) >= 1).all())
    assert torch.equal(m, random_mask(out_f, in_f, density, seed=3))
    assert torch.equal(m, random_mask(out_f, in_f, density, seed=np.random.default_rng(3)))


def test_random_mask_below_one_per_row_is_raised_to_one_per_row():
    m = random_mask(10, 10, 0.01, seed=0)
    assert int(m.sum()) == 10 and bool((m.sum(1) == 1).all())


@pytest.mark.parametrize("out_f,in_f,groups,k", [(16, 12, 4, 1), (16, 12, 4, 2), (20, 20, 5, 3), (9, 7, 3, 3), (2, 8, 4, 2)])
def test_g2g_mask_connects_each_output_ensemble_to_k_input_ensembles_including_its_own(out_f, in_f, groups, k):
    mask, in_ids, out_ids = g2g_mask(out_f, in_f, groups, k, seed=4)
    assert mask.shape == (out_f, in_f)
    assert in_ids.tolist() == ensemble_ids(in_f, groups).tolist() and out_ids.tolist() == ensemble_ids(out_f, groups).tolist()
    for i in out_ids.unique().tolist():
        block = mask[out_ids == i]
        assert bool((block == block[0]).all())  # every unit of an ensemble reads the same inputs
        read = [j for j in range(groups) if bool(block[:, in_ids == j].any())]
        assert len(read) == k and i in read
        for j in read:
            assert bool((block[:, in_ids == j] == 1).all())  # dense between connected ensembles
    assert bool((mask.sum(1) >= 1).all())


def test_g2g_mask_density_sizes_and_seeding():
    mask, in_ids, out_ids = g2g_mask(32, 16, 4, 1, seed=0)
    assert mask.mean().item() == pytest.approx(1 / 4)
    assert torch.bincount(in_ids).tolist() == [4] * 4 and torch.bincount(out_ids).tolist() == [8] * 4
    assert g2g_mask(32, 16, 4, 3, seed=0)[0].mean().item() == pytest.approx(3 / 4)
    assert torch.bincount(ensemble_ids(10, 4)).tolist() == [3, 2, 3, 2]  # as even as possible
    assert torch.equal(g2g_mask(24, 24, 6, 2, seed=9)[0], g2g_mask(24, 24, 6, 2, seed=9)[0])
    assert torch.equal(g2g_mask(24, 24, 6, 2, seed=torch.Generator().manual_seed(1))[0],
                       g2g_mask(24, 24, 6, 2, seed=torch.Generator().manual_seed(1))[0])
    with pytest.raises(ValueError, match="k <= groups"):
        g2g_mask(8, 8, 2, 3)
    with pytest.raises(ValueError, match="input width"):
        g2g_mask(8, 3, 4, 1)


def assert_undirected(adj: torch.Tensor, n: int) -> None:
    assert adj.shape == (n, n) and torch.equal(adj, adj.T) and bool((adj.diagonal() == 0).all())
    assert set(adj.unique().tolist()) <= {0.0, 1.0}


def test_watts_strogatz_ring_has_degree_k():
    adj = graph_mask(30, "watts-strogatz", seed=0, k=4, p=0.0)
    assert_undirected(adj, 30)
    assert adj.sum(1).tolist() == [4.0] * 30
    rewired = graph_mask(30, "watts-strogatz", seed=0, k=4, p=0.3)
    assert_undirected(rewired, 30)
    assert int(rewired.sum()) == 30 * 4  # rewiring keeps the edge count
    assert not torch.equal(rewired, adj)


def test_barabasi_albert_edge_count_and_hubs():
    n, m = 50, 3
    adj = graph_mask(n, "barabasi-albert", seed=1, m=m)
    assert_undirected(adj, n)
    assert int(adj.sum()) // 2 == m * (n - m)
    assert adj.sum(1).min().item() >= 1 and adj.sum(1).max().item() > 3 * m  # preferential attachment makes hubs


def test_erdos_renyi_edge_count_is_binomial():
    n, p = 60, 0.1
    adj = graph_mask(n, "erdos-renyi", seed=2, p=p)
    assert_undirected(adj, n)
    pairs = n * (n - 1) / 2
    edges = int(adj.sum()) // 2
    assert abs(edges - p * pairs) < 4 * (pairs * p * (1 - p)) ** 0.5


def test_graph_mask_self_loops_and_unknown_kind():
    adj = graph_mask(10, "erdos-renyi", seed=0, self_loops=True, p=0.2)
    assert bool((adj.diagonal() == 1).all()) and torch.equal(adj, adj.T)
    with pytest.raises(ValueError, match="unknown graph kind"):
        graph_mask(10, "lattice", seed=0)  # type: ignore[arg-type]


def test_sparse_mlp_has_the_mlp_layout_and_masks():
    torch.manual_seed(0)
    m = build_model("sparse-mlp", {}, SPEC)
    assert {"mlp", "sparse"} <= MODELS.get("sparse-mlp").tags
    assert tap_names(m) == ["in", "layer1.pre", "layer1.post", "layer2.pre", "layer2.post", "logits"]
    assert isinstance(m.layers[0].linear, nn.Linear) and not isinstance(m.layers[0].linear, MaskedLinear)
    assert isinstance(m.layers[1].linear, MaskedLinear) and not isinstance(m.readout, MaskedLinear)
    assert [name for name, _ in masked_layers(m)] == ["layers.1.linear"]
    assert m.layers[1].linear.density == pytest.approx(1 / 4)
    assert masked_weights_are_zero(m)
    assert m.ensembles == [ensemble_ids(32, 4).tolist()] * 2
    assert m(torch.randn(5, 2)).shape == (5, 2)
    assert "layers.1.linear.mask" in m.state_dict()


def test_sparse_mlp_connectivity_options():
    torch.manual_seed(0)
    rnd = build_model("sparse-mlp", {"hidden": [16, 16, 16], "connectivity": "random", "density": 0.1, "sparse_readout": True}, SPEC)
    layers = masked_layers(rnd)
    assert [name for name, _ in layers] == ["layers.1.linear", "layers.2.linear", "readout"]
    assert [int(lin.mask.sum()) for _, lin in layers] == [round(0.1 * 256)] * 2 + [round(0.1 * 32)]
    assert rnd.ensembles == [None, None, None] and masked_weights_are_zero(rnd)
    dense = build_model("sparse-mlp", {"connectivity": "dense", "init": "kaiming"}, SPEC)
    assert [lin.density for _, lin in masked_layers(dense)] == [1.0]
    g2g = build_model("sparse-mlp", {"hidden": [12, 8], "groups": 4, "k": 2, "sparse_readout": True, "init": "normal"}, SPEC)
    assert g2g.layers[1].linear.density == pytest.approx(0.5) and masked_weights_are_zero(g2g)
    assert bool((g2g.readout.mask.sum(1) >= 1).all())


def test_same_seed_gives_same_masks_and_another_seed_others():
    def masks(seed: int) -> list[torch.Tensor]:
        torch.manual_seed(seed)
        m = build_model("sparse-mlp", {"hidden": [16, 16, 16], "groups": 4, "k": 2}, SPEC)
        return [lin.mask for _, lin in masked_layers(m)]

    assert all(torch.equal(a, b) for a, b in zip(masks(0), masks(0), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(masks(0), masks(1), strict=True))


@pytest.mark.parametrize("params,key", [
    ({"k": 5}, "model.k"),
    ({"groups": 40, "hidden": [32, 8]}, "model.groups"),
    ({"density": 0.0}, "model.density"),
    ({"connectivity": "ring"}, "model.connectivity"),
    ({"hidden": [0]}, "model.hidden"),
])
def test_bad_params_name_the_key(params, key):
    with pytest.raises(SchemaError) as err:
        build_model("sparse-mlp", params, SPEC)
    assert err.value.key == key


def test_groups_above_width_is_fine_without_g2g():
    m = build_model("sparse-mlp", {"hidden": [3, 3], "connectivity": "random", "groups": 8}, SPEC)
    assert len(masked_layers(m)) == 1


def test_diagram_has_one_learned_op_per_linear():
    torch.manual_seed(0)
    m = build_model("sparse-mlp", {"hidden": [8, 8, 8], "sparse_readout": True, "groups": 2}, SPEC)
    d = extract(m, torch.randn(4, 2))
    assert d.learned_count() == 4 == 1 + len(masked_layers(m))


def test_sparse_mlp_learns_circle_with_masked_weights_kept_at_zero():
    run = Run(Config(task={"name": "circle"}, model={"name": "sparse-mlp"}, steps=200, device="cpu")).train()
    assert run.final_metrics()["test_acc"] >= 0.85
    assert masked_layers(run.model) and masked_weights_are_zero(run.model)
    assert run.model.layers[1].linear.weight.count_nonzero().item() <= 32 * 32 // 4
