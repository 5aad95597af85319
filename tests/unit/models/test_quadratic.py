"""Quadratic neurons (Fan et al.): ReLinear init is the linear neuron, shapes, gradients, taps, counts,
the learning-rate factor of the quadratic terms through the optimizer's groups, links, the diagram."""

import pytest
import torch
from torch import nn

from netarium.analysis.diagram import extract
from netarium.analysis.playground import network_weights
from netarium.models import ModelSpec, build_model, parameter_count, tap_names
from netarium.models.quadratic import QuadraticLinear
from netarium.schema import SchemaError
from netarium.training import Config, Run
from netarium.training.budget import estimate
from netarium.training.optim import build_optimizer, model_lr_factors

SPEC = ModelSpec(2, 2)


def test_relinear_neuron_computes_exactly_the_linear_neuron():
    torch.manual_seed(0)
    q = QuadraticLinear(5, 7, init="relinear")
    lin = nn.Linear(5, 7)
    with torch.no_grad():
        lin.weight.copy_(q.r.weight)
        lin.bias.copy_(q.r.bias)
    x = torch.randn(64, 5) * 3
    assert torch.allclose(q(x), lin(x), atol=1e-6, rtol=0)
    assert torch.equal(q.g.weight, torch.zeros(7, 5)) and torch.equal(q.g.bias, torch.ones(7))
    assert torch.equal(q.b.weight, torch.zeros(7, 5)) and torch.equal(q.b.bias, torch.zeros(7))
    # w_r, b_r start as a Linear's would: U(±1/sqrt(fan_in))
    assert float(q.r.weight.detach().abs().max()) <= 1 / 5**0.5 and float(q.r.weight.detach().std()) > 0.1


def test_the_formula_with_every_term():
    q = QuadraticLinear(2, 1, init="random")
    with torch.no_grad():
        q.r.weight.copy_(torch.tensor([[1.0, 2.0]]))
        q.r.bias.fill_(0.5)
        q.g.weight.copy_(torch.tensor([[-1.0, 0.5]]))
        q.g.bias.fill_(2.0)
        q.b.weight.copy_(torch.tensor([[3.0, -2.0]]))
        q.b.bias.fill_(-1.0)
    x = torch.tensor([[0.3, -0.7], [1.5, 2.0]])
    want = [(1 * a + 2 * b + 0.5) * (-a + 0.5 * b + 2) + 3 * a * a - 2 * b * b - 1 for a, b in x.tolist()]
    assert q(x).squeeze(-1).tolist() == pytest.approx(want, abs=1e-6)


def test_relinear_network_equals_the_mlp_with_the_same_linear_parts():
    torch.manual_seed(1)
    qnet = build_model("quadratic", {"hidden": [6, 3], "activation": "tanh"}, SPEC)
    mlp = build_model("mlp", {"hidden": [6, 3], "activation": "tanh"}, SPEC)
    with torch.no_grad():
        for ql, ml in zip(qnet.layers, mlp.layers, strict=True):
            ml.linear.weight.copy_(ql.quad.r.weight)
            ml.linear.bias.copy_(ql.quad.r.bias)
        mlp.readout.load_state_dict(qnet.readout.state_dict())
    x = torch.randn(32, 2)
    assert torch.allclose(qnet(x), mlp(x), atol=1e-6)


def test_random_init_draws_the_quadratic_terms():
    torch.manual_seed(0)
    q = QuadraticLinear(3, 4, init="random")
    assert float(q.g.weight.detach().abs().sum()) > 0 and float(q.b.weight.detach().abs().sum()) > 0
    assert not torch.equal(q.g.bias, torch.ones(4))


def test_shapes_taps_counts_and_gradients():
    model = build_model("quadratic", {"hidden": [5, 4], "init": "random"}, ModelSpec(3, 2))
    x = torch.randn(10, 3)
    assert model(x).shape == (10, 2)
    assert tap_names(model) == ["in", "layer1.pre", "layer1.post", "layer2.pre", "layer2.post", "logits"]
    # 3 maps of (in + 1) per neuron, then the readout: 3*5*(3+1) + 3*4*(5+1) + 2*(4+1)
    assert parameter_count(model) == 60 + 72 + 10 == 142
    model(x).square().sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_schema_errors_and_deterministic_build_and_meta_estimate():
    with pytest.raises(SchemaError):
        build_model("quadratic", {"hidden": [4], "activation": ["relu", "tanh"]}, SPEC)
    with pytest.raises(SchemaError):
        build_model("quadratic", {"init": "zeros"}, SPEC)
    with pytest.raises(SchemaError, match="tokens"):
        build_model("quadratic", {}, ModelSpec(4, 2, vocab_size=5))
    a, b = (Run(Config(task={"name": "circle"}, model={"name": "quadratic"}, seed=3)) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))
    cost = estimate(Config(task={"name": "spiral"}, model={"name": "quadratic", "hidden": [16]}))
    assert cost is not None


def test_lr_factor_puts_the_quadratic_terms_in_their_own_group_and_set_lr_keeps_it():
    run = Run(Config(task={"name": "circle"}, model={"name": "quadratic", "hidden": [4], "quadratic_lr": 0.25},
                     optimizer={"name": "adam", "lr": 0.02}))
    groups = run.optimizer.param_groups
    assert [g["lr"] for g in groups] == pytest.approx([0.02, 0.005])
    quad = {id(p) for layer in run.model.layers for p in layer.quad.quadratic_parameters()}
    assert {id(p) for p in groups[1]["params"]} == quad and groups[1]["lr_factor"] == 0.25
    assert not quad & {id(p) for p in groups[0]["params"]}
    run.set_lr(0.1)
    assert [g["lr"] for g in groups] == pytest.approx([0.1, 0.025]) and run.lr == pytest.approx(0.1)


def test_lr_factor_scales_the_step_of_the_quadratic_terms_under_sgd():
    """Plain SGD: a step moves each quadratic term by factor × lr × grad, the linear part by lr × grad."""
    torch.manual_seed(0)
    model = build_model("quadratic", {"hidden": [3], "init": "random", "quadratic_lr": 0.1}, SPEC)
    opt = build_optimizer("sgd", {"lr": 0.5}, model.parameters(), model_lr_factors(model))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model(torch.randn(16, 2)).square().mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    opt.step()
    for n, p in model.named_parameters():
        factor = 0.1 if ".quad.g." in n or ".quad.b." in n else 1.0
        assert torch.allclose(before[n] - p.detach(), 0.5 * factor * grads[n], atol=1e-7), n


def test_factor_one_and_muon_build():
    model = build_model("quadratic", {"hidden": [3], "quadratic_lr": 1.0}, SPEC)
    assert len(build_optimizer("adam", {}, model.parameters(), model_lr_factors(model)).param_groups) == 1
    model = build_model("quadratic", {"hidden": [3, 3], "quadratic_lr": 0.5}, SPEC)
    opt = build_optimizer("muon", {}, model.parameters(), model_lr_factors(model))
    assert sorted({g.get("lr_factor", 1.0) for g in opt.param_groups}) == [0.5, 1.0]
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))


def test_network_links_are_the_linear_parts():
    model = build_model("quadratic", {"hidden": [4, 3]}, SPEC)
    nw = network_weights(model)
    assert nw.layer_sizes == [2, 4, 3, 2] and nw.masks == []
    assert (nw.weights[1] == model.layers[1].quad.r.weight.detach().numpy()).all()
    assert (nw.biases[0] == model.layers[0].quad.r.bias.detach().numpy()).all()


def test_diagram_draws_the_product_of_two_learned_maps_and_the_square():
    model = build_model("quadratic", {"hidden": [4]}, SPEC)
    d = extract(model, torch.randn(8, 2))
    assert d.learned_count() == 4  # w_r, w_g, w_b and the readout
    prod = next(o for o in d.ops if o.label == "⊙")
    feeding = [d.op(i) for i in d.inputs_of(prod.id)]
    assert [o.kind for o in feeding] == ["learned", "learned"]
    sq = next(o for o in d.ops if o.label == "x⊙x")
    assert [d.op(o).kind for o in d.outputs_of(sq.id)] == ["learned"]
    assert sum(o.params for o in d.ops) == parameter_count(model)
    assert {w.label for w in d.wires} >= {"m 2", "h 4", "c 2"}


def test_diagram_renders_to_dot_with_the_quadratic_glyphs():
    from netarium.viz.ncd import to_dot

    model = build_model("quadratic", {"hidden": [4, 3]}, SPEC)
    dot = to_dot(extract(model, torch.randn(8, 2)))
    assert dot.count('label="⊙"') == 2 and dot.count('label="x⊙x"') == 2  # one product and one square per layer
    assert dot.count("<B>L</B>") == 7  # w_r, w_g, w_b per layer and the readout
