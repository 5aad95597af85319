import pytest
import torch
import torch.nn.functional as F

from netarium.models import MODELS, ModelSpec, build_model, parameter_count, record, tap_names
from netarium.models.mlp import TokenLinear
from netarium.schema import SchemaError


def test_mlp_taps_follow_the_convention_and_record_matches_manual_forward():
    torch.manual_seed(0)
    m = build_model("mlp", {"hidden": [5, 3], "activation": ["relu", "tanh"]}, ModelSpec(2, 4))
    assert tap_names(m) == ["in", "layer1.pre", "layer1.post", "layer2.pre", "layer2.post", "logits"]
    x = torch.randn(7, 2)
    acts = record(m, x)
    l1 = m.layers[0].linear
    pre1 = x @ l1.weight.T + l1.bias
    assert torch.allclose(acts["layer1.pre"], pre1)
    assert torch.allclose(acts["layer1.post"], pre1.relu())
    assert torch.allclose(acts["layer2.post"], torch.tanh(acts["layer2.pre"]))
    assert torch.allclose(acts["logits"], m(x))
    assert not acts["logits"].requires_grad
    assert len(m.layers[0].pre._forward_hooks) == 0  # hooks removed after recording


def test_record_subset_and_unknown_tap():
    m = build_model("mlp", {"hidden": [4]}, ModelSpec(3, 2))
    acts = record(m, torch.randn(2, 3), ["layer1.post"])
    assert list(acts) == ["layer1.post"] and acts["layer1.post"].shape == (2, 4)
    with pytest.raises(KeyError, match="layer9.post"):
        record(m, torch.randn(2, 3), ["layer9.post"])


def test_record_with_grad_keeps_graph():
    m = build_model("mlp", {"hidden": [4]}, ModelSpec(3, 2))
    acts = record(m, torch.randn(2, 3), ["layer1.post"], grad=True)
    assert acts["layer1.post"].requires_grad


@pytest.mark.parametrize("hidden,expected", [([], 2 * 1 + 1), ([8, 8], (2 * 8 + 8) + (8 * 8 + 8) + (8 * 1 + 1)), ([4, 2], 12 + 10 + 3)])
def test_mlp_parameter_count(hidden, expected):
    m = build_model("mlp", {"hidden": hidden}, ModelSpec(2, 1))
    assert parameter_count(m) == expected


def test_mlp_without_bias_and_depth_zero():
    m = build_model("mlp", {"hidden": [3], "bias": False}, ModelSpec(2, 1))
    assert parameter_count(m) == 2 * 3 + 3 * 1
    m0 = build_model("mlp", {"hidden": []}, ModelSpec(5, 3))
    assert tap_names(m0) == ["in", "logits"] and m0(torch.randn(4, 5)).shape == (4, 3)


@pytest.mark.parametrize("act,fn", [("relu", torch.relu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("gelu", F.gelu),
                                    ("silu", F.silu), ("linear", lambda z: z), ("square", lambda z: z * z)])
def test_every_activation(act, fn):
    m = build_model("mlp", {"hidden": [6], "activation": act}, ModelSpec(2, 1))
    acts = record(m, torch.randn(9, 2))
    assert torch.allclose(acts["layer1.post"], fn(acts["layer1.pre"]), atol=1e-6)


def test_init_schemes():
    torch.manual_seed(0)
    small = build_model("mlp", {"hidden": [256], "init": "small"}, ModelSpec(256, 1))
    assert small.layers[0].linear.weight.std().item() == pytest.approx(1e-3, rel=0.05)
    assert small.layers[0].linear.bias.abs().max().item() == 0
    normal = build_model("mlp", {"hidden": [256], "init": "normal", "init_scale": 2.0}, ModelSpec(256, 1))
    assert normal.layers[0].linear.weight.std().item() == pytest.approx(2.0 / 16, rel=0.05)
    kaiming = build_model("mlp", {"hidden": [256], "init": "kaiming"}, ModelSpec(256, 1))
    assert kaiming.layers[0].linear.weight.std().item() == pytest.approx((2 / 256) ** 0.5, rel=0.05)


def test_token_linear_equals_one_hot_matmul_including_gradients():
    torch.manual_seed(1)
    lin = TokenLinear(vocab_size=7, n_tokens=2, out_features=5)
    x = torch.randint(0, 7, (11, 2))
    oh = torch.cat([F.one_hot(x[:, 0], 7), F.one_hot(x[:, 1], 7)], 1).float()
    y1 = lin(x)
    y2 = F.linear(oh, lin.weight, lin.bias)
    assert torch.allclose(y1, y2, atol=1e-6)
    (g1,) = torch.autograd.grad(y1.square().sum(), lin.weight)
    (g2,) = torch.autograd.grad(y2.square().sum(), lin.weight)
    assert torch.allclose(g1, g2, atol=1e-5)


def test_token_linear_hessian_vector_products_match_one_hot():
    """Differentiable twice (the Dynamics page's sharpness takes Hessian-vector products through it), with
    three token positions."""
    torch.manual_seed(2)
    lin = TokenLinear(vocab_size=5, n_tokens=3, out_features=4, bias=False)
    x = torch.randint(0, 5, (9, 3))
    oh = torch.cat([F.one_hot(x[:, t], 5) for t in range(3)], 1).float()
    v = torch.randn_like(lin.weight)
    hvps = []
    for f in (lambda w: lin(x), lambda w: F.linear(oh, w)):
        (g,) = torch.autograd.grad(f(lin.weight).pow(3).sum(), lin.weight, create_graph=True)
        (hv,) = torch.autograd.grad((g * v).sum(), lin.weight)
        hvps.append(hv)
    assert hvps[0].abs().max() > 0 and torch.allclose(hvps[0], hvps[1], atol=1e-5)


def test_mlp_on_tokens():
    m = build_model("mlp", {"hidden": [16]}, ModelSpec(2, 7, vocab_size=7))
    assert m(torch.randint(0, 7, (3, 2))).shape == (3, 7)
    assert parameter_count(m) == 14 * 16 + 16 + 16 * 7 + 7


def test_residual_mlp_blocks_taps_and_residual_identity():
    torch.manual_seed(0)
    m = build_model("residual-mlp", {"width": 6, "blocks": 3, "hidden": 10, "prenorm": False}, ModelSpec(2, 2))
    assert m.block_names == ["block1", "block2", "block3"]
    names = tap_names(m)
    for b in m.block_names:
        for t in ("resid_pre", "mlp_out", "resid_post"):
            assert f"{b}.{t}" in names
    acts = record(m, torch.randn(5, 2))
    for b in m.block_names:  # h_{l+1} = h_l + F(h_l)
        assert torch.allclose(acts[f"{b}.resid_post"], acts[f"{b}.resid_pre"] + acts[f"{b}.mlp_out"], atol=1e-6)
    assert torch.allclose(acts["block2.resid_pre"], acts["block1.resid_post"])
    # 2->6 embed, 3 blocks of (6*10+10 + 10*6+6), readout 6*2+2
    assert parameter_count(m) == 18 + 3 * 136 + 14


def test_residual_prenorm_adds_layernorms():
    a = build_model("residual-mlp", {"width": 4, "blocks": 2, "hidden": 4, "prenorm": True}, ModelSpec(2, 2))
    b = build_model("residual-mlp", {"width": 4, "blocks": 2, "hidden": 4, "prenorm": False}, ModelSpec(2, 2))
    assert parameter_count(a) - parameter_count(b) == 3 * 8  # two block norms + final norm, each 2*width


def test_schema_errors_name_the_key():
    with pytest.raises(SchemaError, match=r"model\.hidden"):
        build_model("mlp", {"hidden": [0]}, ModelSpec(2, 2))
    with pytest.raises(SchemaError, match=r"model\.hidden"):
        build_model("mlp", {"hidden": [8] * 9}, ModelSpec(2, 2))
    with pytest.raises(SchemaError, match="activation needs 1 or 2"):
        build_model("mlp", {"hidden": [8, 8], "activation": ["relu", "tanh", "relu"]}, ModelSpec(2, 2))
    with pytest.raises(SchemaError, match="one of mlp, residual-mlp"):
        build_model("nope", {}, ModelSpec(2, 2))
    assert {"mlp", "residual-mlp"} <= set(MODELS.names())
