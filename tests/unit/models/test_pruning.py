import pytest
import torch
from torch import nn

from netarium.analysis.dead_units import relu_dead_rate, unit_dead_rates
from netarium.models.masks import add_masks, pruning_layers
from netarium.models.pruning import ap_prune, magnitude_prune, most_dead_units


def two_layer(w0, w1, b0=None, b1=None) -> nn.Sequential:
    """A masked Linear -> ReLU -> Linear with the given weights (biases zero unless given)."""
    w0, w1 = torch.tensor(w0), torch.tensor(w1)
    model = nn.Sequential(nn.Linear(w0.shape[1], w0.shape[0]), nn.ReLU(), nn.Linear(w1.shape[1], w1.shape[0]))
    with torch.no_grad():
        model[0].weight.copy_(w0)
        model[2].weight.copy_(w1)
        model[0].bias.copy_(torch.zeros(w0.shape[0]) if b0 is None else torch.tensor(b0))
        model[2].bias.copy_(torch.zeros(w1.shape[0]) if b1 is None else torch.tensor(b1))
    add_masks(model)
    return model



# --- magnitude pruning -----------------------------------------------------------------------------

W0 = [[0.1, -0.5, 0.9], [0.3, -0.05, 0.7]]
W1 = [[0.02, -0.03], [0.04, 0.5]]


def test_global_pruning_uses_one_threshold_across_layers():
    model = two_layer(W0, W1)
    stats = magnitude_prune(model, 0.3)  # 3 of 10 edges: 0.02, 0.03, 0.04, all in the second layer
    assert model[0].mask.tolist() == [[1, 1, 1], [1, 1, 1]]
    assert model[2].mask.tolist() == [[0, 0], [0, 1]]
    assert stats["pruned"] == 3 and stats["edges"] == 7 and stats["sparsity"] == pytest.approx(0.3)
    assert stats["threshold"] == pytest.approx(0.04)
    assert [(r["name"], r["before"], r["after"]) for r in stats["layers"]] == [("0", 6, 6), ("2", 4, 1)]
    assert model[2].weight.tolist() == [[0.0, 0.0], [0.0, 0.5]]
    # the fraction is of the edges still active: 0.3 of 7 = 2 more, the smallest being 0.05 and 0.1
    stats = magnitude_prune(model, 0.3)
    assert stats["pruned"] == 2
    assert model[0].mask.tolist() == [[0, 1, 1], [1, 0, 1]]
    assert model[0].weight[0, 0] == 0 and model[0].weight[1, 1] == 0


def test_per_layer_pruning_takes_the_fraction_in_each_layer():
    model = two_layer(W0, W1)
    stats = magnitude_prune(model, 0.3, scope="layer")  # round(1.8) = 2 in layer 0, round(1.2) = 1 in layer 2
    assert model[0].mask.tolist() == [[0, 1, 1], [1, 0, 1]]
    assert model[2].mask.tolist() == [[0, 1], [1, 1]]
    assert stats["pruned"] == 3


def test_pruning_ties_go_to_the_earlier_layer_then_the_lower_index_and_readout_can_be_left_out():
    model = two_layer([[0.5, 0.5], [0.5, 1.0]], [[0.5, 0.5]])
    magnitude_prune(model, 0.5)  # 3 of 6 edges, five of them tied at 0.5
    assert model[0].mask.tolist() == [[0, 0], [0, 1]] and model[2].mask.tolist() == [[1, 1]]
    model = two_layer([[0.5, 0.5], [0.5, 1.0]], [[0.1, 0.2]])
    stats = magnitude_prune(model, 0.5, include_readout=False)  # the readout's small weights are kept
    assert [r["name"] for r in stats["layers"]] == ["0"]
    assert model[0].mask.tolist() == [[0, 0], [1, 1]] and model[2].mask.tolist() == [[1, 1]]
    assert [n for n, _ in pruning_layers(model, include_readout=False)] == ["0"]


# --- AP --------------------------------------------------------------------------------------------


def test_ap_prunes_the_stagnant_negative_weights_and_lowers_those_units_dead_rate(relu_mlp):
    torch.manual_seed(0)
    X = torch.rand(400, 2)  # nonnegative inputs, like the pixels of digits
    # unit 0 fires when x0 > 1.5 x1 (about 1/3 of the time); unit 1 when x0 > 0.2 x1; unit 2 always
    model = relu_mlp([[1.0, -1.5], [1.0, -0.2], [0.5, 0.5]], [[1.0, 1.0, 1.0]])
    reference = {name: p.detach().clone() for name, p in model.named_parameters()}
    with torch.no_grad():
        reference["layers.0.linear.weight"][1, 1] = 0.3  # w[1, 1] moved a lot in the last phase, w[0, 1] not at all
    before = unit_dead_rates(model, X)["layers.0.linear"]
    assert before[0] > 0.5 and before[1] > 0.05 and before[2] == 0
    out = ap_prune(model, 1, reference)
    assert out["pruned"] == 1 and out["layers"] == {"layers.0.linear": 1} and out["units"]["layers.0.linear"].tolist() == [0]
    first = model.layers[0].linear
    assert first.mask.tolist() == [[1, 0], [1, 1], [1, 1]] and first.weight[0, 1] == 0
    after = unit_dead_rates(model, X)["layers.0.linear"]
    assert after[0] < 0.01 < before[0]  # the reactivated unit fires on (almost) every input now
    assert torch.equal(after[1:], before[1:])
    assert relu_dead_rate(model, X)["dnr"] < float(before.mean())


def test_ap_can_be_restricted_to_the_most_dead_units(relu_mlp):
    rates = {"a": torch.tensor([0.9, 0.2, 0.6]), "b": torch.tensor([0.95, 0.4])}
    assert {k: v.tolist() for k, v in most_dead_units(rates, 0.4).items()} == {"a": [0], "b": [0]}
    assert {k: v.tolist() for k, v in most_dead_units(rates, 0.6, threshold=0.5).items()} == {"a": [0, 2], "b": [0]}
    model = relu_mlp([[1.0, -1.5], [1.0, -0.2]], [[1.0, 1.0]])
    reference = {name: p.detach().clone() for name, p in model.named_parameters()}
    out = ap_prune(model, 2, reference, units={"layers.0.linear": torch.tensor([1])})  # unit 1 only: one candidate
    assert out["pruned"] == 1 and model.layers[0].linear.mask.tolist() == [[1, 1], [1, 0]]
