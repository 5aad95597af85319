"""The hypernetwork (models/hypernet.py): per-example target weights, MIP's constant-norm encoding and residual,
the plain hypernet's magnitude proportionality, gradients, taps, what the run's history records, the diagram."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from netarium.analysis.diagram import extract
from netarium.models import MODELS, ModelSpec, build_model, parameter_count, record, tap_names
from netarium.models.base import capabilities
from netarium.models.hypernet import Hypernetwork, mip_encoding
from netarium.schema import SchemaError
from netarium.training.config import Config
from netarium.training.run import Run

SPEC = ModelSpec(3, 2)  # [gamma, x1, x2] -> 2 classes


def inputs(n: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.rand(n, 1, generator=g), 4 * torch.randn(n, 2, generator=g)], 1)


def test_registered_with_schema_and_capability() -> None:
    entry = MODELS.get("hypernetwork")
    assert "hypernetwork" in entry.tags
    assert all(info.description for info in entry.schema.model_fields.values())
    p = entry.schema()
    assert (p.hidden, p.activation, p.hyper_hidden, p.mip, p.gammas) == ([16], "relu", [32, 32], True, 1)
    assert capabilities(build_model("hypernetwork", {}, SPEC)) == {"hypernetwork"}


@pytest.mark.parametrize("mip", [True, False])
def test_shapes_and_parameter_count(mip: bool) -> None:
    model = build_model("hypernetwork", {"hidden": [5, 4], "hyper_hidden": [7], "mip": mip}, SPEC)
    assert isinstance(model, Hypernetwork)
    n_theta = (2 * 5 + 5) + (5 * 4 + 4) + (4 * 2 + 2)
    assert model.n_theta == n_theta == 49
    enc = 2 if mip else 1
    assert parameter_count(model) == (enc * 7 + 7) + 7 * n_theta + n_theta  # hypernet layer, head, base
    x = inputs(16)
    assert model(x).shape == (16, 2)
    assert model.weights_for(x[:, :1]).shape == (16, n_theta)


def test_the_target_net_is_an_mlp_with_each_examples_own_weights() -> None:
    model = build_model("hypernetwork", {"hidden": [5], "activation": "tanh"}, SPEC)
    x = inputs(6)
    theta = model.weights_for(x[:, :1])
    for b in range(6):
        t = theta[b]
        w1, b1 = t[:10].reshape(2, 5).T, t[10:15]  # stored (in, out): F.linear wants (out, in)
        w2, b2 = t[15:25].reshape(5, 2).T, t[25:27]
        expected = F.linear(torch.tanh(F.linear(x[b, 1:], w1, b1)), w2, b2)
        torch.testing.assert_close(model(x[b : b + 1])[0], expected)


def test_mip_encoding_has_constant_norm() -> None:
    g = torch.linspace(0, 1, 101).unsqueeze(1)
    e = mip_encoding(g)
    assert e.shape == (101, 2)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(101))
    torch.testing.assert_close(e[0], torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(e[-1], torch.tensor([math.cos(math.pi / 2), 1.0]))
    three = mip_encoding(torch.rand(50, 3))  # several gammas: each pair has norm 1
    torch.testing.assert_close(three.norm(dim=1), torch.full((50,), math.sqrt(3)))


def test_plain_output_is_proportional_to_gamma_and_mip_starts_at_theta0() -> None:
    torch.manual_seed(0)
    plain = build_model("hypernetwork", {"mip": False}, SPEC)
    norms = plain.theta_norms([0.0, 0.25, 0.5, 1.0])
    assert float(norms[0]) == 0.0  # gamma = 0: every target weight 0 (zero biases, LeakyReLU: positively homogeneous)
    torch.testing.assert_close(norms[1:] / norms[-1], torch.tensor([0.25, 0.5, 1.0]))
    torch.manual_seed(0)
    mip = build_model("hypernetwork", {"mip": True}, SPEC)
    n = mip.theta_norms([0.0, 0.5, 1.0])
    base = float(mip.hyper.base.detach().norm())
    assert base > 1.0 and float(n.max() / n.min()) < 1.5  # level across gamma, near |theta_0|
    theta0 = mip.hyper.base.detach()
    first = theta0[:32].reshape(2, 16)  # theta_0 of layer 1: Kaiming normal, fan in 2
    assert 0.5 < float(first.std()) < 2.0 and float(theta0[32:48].abs().max()) == 0.0  # its biases 0


def test_gradients_reach_every_parameter_and_the_target_net_has_none_of_its_own() -> None:
    for mip in (True, False):
        model = build_model("hypernetwork", {"mip": mip}, SPEC)
        assert [n for n, _ in model.named_parameters() if not n.startswith("hyper.")] == []
        F.cross_entropy(model(inputs(32)), torch.randint(0, 2, (32,))).backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and float(p.grad.abs().sum()) > 0, (mip, name)


def test_plain_hypernet_gets_no_gradient_from_gamma_zero_examples() -> None:
    """The paper's point: at init, examples with gamma = 0 give theta = 0 (every hidden value 0), so none of the
    hypernet's weight matrices learns from them (only biases and the base do); MIP's weight matrices do."""
    x = inputs(32)
    x[:, 0] = 0.0
    y = torch.randint(0, 2, (32,))
    for mip, expect_zero in ((False, True), (True, False)):
        model = build_model("hypernetwork", {"mip": mip}, SPEC)
        F.cross_entropy(model(x), y).backward()
        weights = float(sum(p.grad.abs().sum() for n, p in model.named_parameters() if n.endswith(".weight")))
        assert (weights == 0.0) == expect_zero
        assert float(model.hyper.base.grad.abs().sum()) > 0


def test_taps_follow_the_convention() -> None:
    model = build_model("hypernetwork", {"hidden": [4, 3]}, SPEC)
    assert tap_names(model) == ["in", "hyper.hidden", "theta", "layer1.pre", "layer1.post", "layer2.pre", "layer2.post", "logits"]
    acts = record(model, inputs(5))
    assert acts["theta"].shape == (5, model.n_theta) and acts["layer1.post"].shape == (5, 4)
    torch.testing.assert_close(acts["logits"], model(inputs(5)).detach())
    assert float(acts["layer2.post"].min()) >= 0  # relu


def test_bad_specs_say_what_is_wrong() -> None:
    with pytest.raises(SchemaError, match=r"model.gammas: .*needs at least one more.*\(allowed: 1 to 1\)"):
        build_model("hypernetwork", {"gammas": 2}, ModelSpec(2, 2))
    with pytest.raises(SchemaError, match="task.name: hypernetwork reads numeric features, not tokens"):
        build_model("hypernetwork", {}, ModelSpec(4, 2, vocab_size=5))


def test_the_run_history_records_theta_norms_at_every_evaluation() -> None:
    config = Config(task={"name": "rotated-2d", "n_samples": 200}, model={"name": "hypernetwork", "mip": False},
                    optimizer={"name": "adam", "lr": 0.01}, steps=20, eval_every=10)
    run = Run(config).train()
    steps, values = run.history.series("theta_norm_0")
    assert steps == [10, 20] and all(v > 0 for v in values)  # the base (head bias) moved off 0
    assert {"theta_norm_0.5", "theta_norm_1"} <= set(run.history.metrics())
    assert run.metrics["theta_norm_1"] == pytest.approx(float(run.model.theta_norms([1.0])[0]), rel=1e-6)


@pytest.mark.parametrize("mip", [True, False])
def test_diagram_draws_the_hypernet_making_the_target_weights(mip: bool) -> None:
    model = build_model("hypernetwork", {"hidden": [16], "mip": mip}, SPEC)
    d = extract(model, inputs(8), head="softmax")
    labels = [o.label for o in d.ops]
    assert ("cos|sin" in labels) == mip
    assert [o.label for o in d.ops_of("learned")] == ["L+", "L+", "L"]  # the hypernet's layers and head
    assert sum(o.params for o in d.ops) == parameter_count(model)
    contractions = [o for o in d.ops if o.kind == "contract"]
    assert len(contractions) == 2  # one per target layer: the example's features with its own weights
    theta = [w for w in d.wires if w.label == "θ 82"]
    assert theta  # theta = base + head(h): 2*16+16 + 16*2+2 target weights
    out = next(w for w in d.wires if w.dst == d.ops_of("output")[0].id)
    assert out.label == "c 2"
