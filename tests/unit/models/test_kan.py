"""The kan model: ReLU-KAN's basis (1 at its interval's centre, 0 outside), AF-KAN's bases, shapes, taps,
gradients, the parameter count by hand, meta-device builds, determinism and the schema's errors."""

from __future__ import annotations

import pytest
import torch

from netarium.models import MODELS, ModelSpec, build_model, parameter_count, record, tap_names
from netarium.models.kan import COMBINATIONS, KAN, KANLayer, grid_intervals, relu_kan_basis
from netarium.schema import SchemaError

SPEC = ModelSpec(2, 3)


def test_relu_kan_basis_is_one_at_the_centre_and_zero_outside_its_interval() -> None:
    s, e = grid_intervals(5, 3)
    assert s.shape == e.shape == (8,)
    assert torch.allclose(s, (torch.arange(8) - 3) / 5) and torch.allclose(e - s, torch.full((8,), 4 / 5))
    centres = (s + e) / 2
    at_centres = relu_kan_basis(centres, s, e)  # (8 points, 8 bases)
    assert torch.allclose(at_centres.diagonal(), torch.ones(8), atol=1e-6)
    u = torch.linspace(-1.5, 2.5, 401)
    b = relu_kan_basis(u, s, e)
    outside = (u[:, None] <= s) | (u[:, None] >= e)
    assert outside.any() and b[outside].abs().max() == 0
    assert (b[~outside] > 0).all() and b.max() <= 1 + 1e-6  # a bell: positive inside, peak 1
    # the hand formula at one point: [relu(e - u) relu(u - s)]^2 16 / (e - s)^4
    x, lo, hi = 0.3, float(s[3]), float(e[3])
    want = ((hi - x) * (x - lo)) ** 2 * 16 / (hi - lo) ** 4
    assert float(relu_kan_basis(torch.tensor([x]), s, e)[0, 3]) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("activation", ["silu", "tanh", "gelu", "elu", "softplus", "relu"])
@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_af_kan_bases_peak_at_one_at_the_interval_centre(activation, combination) -> None:
    if activation == "relu" and combination == "sum":
        return  # flat inside the interval: refused by the schema (tested below)
    layer = KANLayer(1, 1, 4, 2, 1.0, activation, combination, "peak")
    centres = (layer.s + layer.e) / 2
    x = centres * 2 - 1  # back from the unit interval to the layer's range [-1, 1]
    assert torch.allclose(layer.bases(x).diagonal(), torch.ones(6), atol=1e-5)


def test_af_kan_l2mm_normalisation_maps_the_batch_onto_zero_one() -> None:
    layer = KANLayer(3, 2, 5, 3, 1.0, "silu", "quad1", "l2mm")
    b = layer.bases(torch.rand(16, 3) * 2 - 1)
    assert b.shape == (16, 3, 8)
    assert float(b.min()) == pytest.approx(0.0, abs=1e-6) and float(b.max()) == pytest.approx(1.0, abs=1e-6)


def test_output_shapes_taps_and_hand_parameter_count() -> None:
    model = build_model("kan", {"hidden": [4, 3], "grid": 5, "span": 3}, SPEC)
    n = 5 + 3  # G + k bases per edge
    assert parameter_count(model) == (2 * 4 * n + 4) + (4 * 3 * n + 3) + (3 * 3 * n + 3)
    x = torch.randn(7, 2)
    assert model(x).shape == (7, 3)
    assert tap_names(model) == ["in", "layer1.pre", "layer1.post", "layer2.pre", "layer2.post", "logits"]
    acts = record(model, x, ["layer1.pre", "layer1.post", "layer2.post", "logits"])
    assert acts["layer1.pre"].shape == (7, 4) and acts["layer2.post"].shape == (7, 3)
    assert torch.allclose(acts["layer1.post"], torch.tanh(acts["layer1.pre"]))
    no_bias = build_model("kan", {"hidden": [4], "bias": False, "grid": 3, "span": 2}, SPEC)
    assert parameter_count(no_bias) == 2 * 4 * 5 + 4 * 3 * 5


def test_a_layer_is_the_sum_of_its_edge_functions() -> None:
    torch.manual_seed(0)
    layer = KANLayer(3, 2, 5, 3, 6.0)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([0.5, -1.0]))
        x = torch.rand(5, 3) * 12 - 6
        y = layer(x)
        per_edge = torch.stack([layer.edge_functions(x[:, j])[:, :, j] for j in range(3)], -1)  # (5, out, in)
    assert torch.allclose(y, per_edge.sum(-1) + layer.bias, atol=1e-5)


def test_gradients_reach_every_parameter() -> None:
    model = build_model("kan", {"hidden": [4], "basis": "silu"}, SPEC)
    x = torch.rand(32, 2) * 8 - 4
    model(x).square().sum().backward()
    for name, p in model.named_parameters():
        assert p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0, name


def test_builds_on_meta_and_is_deterministic_from_the_seed() -> None:
    with torch.device("meta"):
        meta = build_model("kan", {"hidden": [8]}, ModelSpec(64, 10))
        assert meta(torch.empty(4, 64)).shape == (4, 10)
    torch.manual_seed(3)
    a = build_model("kan", {}, SPEC)
    torch.manual_seed(3)
    b = build_model("kan", {}, SPEC)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert isinstance(a, KAN) and "kan" in MODELS.get("kan").tags


def test_schema_errors_name_the_key() -> None:
    with pytest.raises(SchemaError, match="flat"):
        build_model("kan", {"basis": "relu", "combination": "sum"}, SPEC)
    with pytest.raises(SchemaError, match="grid"):
        build_model("kan", {"grid": 0}, SPEC)
    with pytest.raises(SchemaError, match="model.name: kan reads numeric features, this task gives tokens"):
        build_model("kan", {}, ModelSpec(4, 2, vocab_size=5))


def test_the_cli_says_in_one_line_that_kan_cannot_read_tokens(capsys):
    from netarium.cli import main

    assert main(["diagram", "kan", "--task", "reber", "--format", "dot"]) == 2
    err = capsys.readouterr().err
    assert "kan reads numeric features" in err and "Traceback" not in err
