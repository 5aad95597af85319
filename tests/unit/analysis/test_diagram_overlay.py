"""Live diagram overlays: weight and gradient norms per learned op, activation stats per element-wise op."""

import math

import pytest
import torch
from torch import nn

from netarium.analysis.diagram import diagram_overlay, extract
from netarium.models.base import ModelSpec, build_model

torch.manual_seed(0)
X = torch.randn(64, 2)
Y = (X[:, 0] > 0).long()
LOSS = nn.CrossEntropyLoss()


def relu_mlp(hidden=(5,)):
    torch.manual_seed(1)
    return build_model("mlp", {"hidden": list(hidden), "activation": "relu"}, ModelSpec(2, 2))


def test_learned_ops_carry_their_weight_and_gradient_norms_and_grads_stay_untouched():
    model = relu_mlp((5, 3))
    d = extract(model, X)
    ov = diagram_overlay(model, d, X, Y, LOSS, step=7)
    assert ov.step == 7 and ov.n_probe == 64
    linears = [model.layers[0].linear, model.layers[1].linear, model.readout]
    grads = torch.autograd.grad(LOSS(model(X), Y), [m.weight for m in linears])
    for op, lin, g in zip(d.ops_of("learned"), linears, grads, strict=True):
        s = ov.stats[op.id]
        assert s.weight_norm == pytest.approx(float(lin.weight.detach().norm()), rel=1e-6)
        assert s.grad_norm == pytest.approx(float(g.norm()), rel=1e-5)
        assert s.grad_norm > 0 and s.mean_activation is None
    assert all(p.grad is None for p in model.parameters())  # autograd.grad, not .backward()


def test_dead_units_are_counted_and_mean_activation_is_the_mean_output():
    model = relu_mlp((5,))
    lin = model.layers[0].linear
    with torch.no_grad():
        lin.weight[:2] = 0.0
        lin.bias[:2] = -1.0  # units 0 and 1 output 0 on every input: dead
        lin.bias[2:] = 5.0  # the others are active everywhere (inputs are ~N(0, 1))
    d = extract(model, X)
    (act,) = d.ops_of("elementwise")
    s = diagram_overlay(model, d, X, Y, LOSS).stats[act.id]
    assert s.dead_fraction == pytest.approx(2 / 5) and s.units == 5
    assert s.mean_activation == pytest.approx(float(torch.relu(lin(X)).detach().mean()), rel=1e-6)
    with torch.no_grad():
        lin.bias[:2] = 5.0
    s = diagram_overlay(model, d, X, Y, LOSS).stats[act.id]
    assert s.dead_fraction == 0.0


def test_a_collapsed_component_aggregates_all_its_repetitions():
    torch.manual_seed(2)
    model = build_model("residual-mlp", {"blocks": 3, "width": 8, "hidden": 12}, ModelSpec(2, 2))
    d = extract(model, X)
    ov = diagram_overlay(model, d, X, Y, LOSS)
    c = d.collapse()
    (comp,) = c.components
    assert len(comp.members) == 3 * len(comp.ops)
    inner_learned = [o.id for o in d.ops if o.id in comp.members and o.kind == "learned"]
    assert len(inner_learned) == 6
    expected = math.sqrt(sum(ov.stats[i].weight_norm ** 2 for i in inner_learned))
    assert ov.value(c, comp.id, "weight_norm") == pytest.approx(expected)
    block_weights = torch.cat([p.detach().flatten() for n, p in model.named_parameters() if n.startswith("blocks") and
                               n.endswith("weight") and "fc" in n])
    assert expected == pytest.approx(float(block_weights.norm()), rel=1e-5)  # the norm of all block weights together
    acts = [ov.stats[o.id] for o in d.ops if o.id in comp.members and o.kind == "elementwise"]
    assert len(acts) == 3
    assert ov.value(c, comp.id, "mean_activation") == pytest.approx(sum(a.mean_activation for a in acts) / 3)
    lo, hi = ov.range(c, "weight_norm")
    assert hi >= expected and lo > 0


def test_a_module_called_twice_gets_stats_per_call():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 4), nn.Linear(4, 2)
            self.act = nn.ReLU()

        def forward(self, x):
            h = self.act(self.a(x))
            if h.sum() > -1e9:  # not traceable: the hook recorder names the second call act_2
                h = self.act(h - 10.0)
            return self.b(h)

    model = Twice()
    d = extract(model, X)
    ov = diagram_overlay(model, d, X, Y, LOSS)
    assert ov.stats["act"].dead_fraction < 1.0
    assert ov.stats["act_2"].dead_fraction == 1.0 and ov.stats["act_2"].mean_activation == 0.0
