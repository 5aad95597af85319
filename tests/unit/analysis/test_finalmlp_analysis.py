"""analysis/finalmlp.py: gate means per field and stream agree with the taps, the fusion terms add up to the
scored logit; viz/finalmlp.py draws them; the diagram draws both streams, the gates (σ, ×2, ⊙), the field
embedding and the bilinear contraction with its learned W3, and counts every parameter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netarium.analysis.diagram import extract
from netarium.analysis.finalmlp import TERMS, gate_weights, stream_contributions
from netarium.models import ModelSpec, build_model, parameter_count, record
from netarium.viz.finalmlp import contributions_figure, gates_figure
from netarium.viz.ncd import to_dot

CTR = ModelSpec(6, 2, vocab_size=10)


def model(spec: ModelSpec = CTR, **params):
    torch.manual_seed(0)
    return build_model("finalmlp", {"embed_dim": 3, "stream1": [8], "stream2": [6], "heads": 2, **params}, spec)


def test_gate_weights_are_the_per_field_means_of_the_gate_taps() -> None:
    m = model(gate1_fields=[2, 5])
    with torch.no_grad():  # move the gates off 1 so the means differ per field
        m.gate1.fc_out.bias.copy_(torch.linspace(-2, 2, 18))
    X = torch.randint(0, 10, (50, 6))
    g = gate_weights(m, X, [f"f{i}" for i in range(6)])
    gate1 = record(m, X, ["gate1"])["gate1"].reshape(50, 6, 3)
    assert g.mean.shape == (2, 6) and g.n_samples == 50 and g.fields == [f"f{i}" for i in range(6)]
    assert np.allclose(g.mean[0], gate1.mean((0, 2)).numpy(), atol=1e-6)
    assert np.allclose(g.spread[0], gate1.mean(2).double().std(0, unbiased=False).numpy(), atol=1e-6)
    assert g.mean[0, 0] < 1 < g.mean[0, 5]  # sigmoid of the increasing biases
    assert g.reads.tolist() == [[False, True, False, False, True, False], [False, False, False, True, True, True]]
    assert gate_weights(m, X).fields == [f"field{i}" for i in range(1, 7)]
    with pytest.raises(ValueError, match="not a FinalMLP"):
        gate_weights(build_model("mlp", {}, ModelSpec(2, 2)), torch.randn(3, 2))


@pytest.mark.parametrize("n_out", [1, 2, 10])
def test_the_fusion_terms_add_up_to_the_scored_logit(n_out) -> None:
    spec = ModelSpec(4, n_out)
    m = model(spec)
    with torch.no_grad():
        m.bias.copy_(torch.arange(n_out, dtype=torch.float32) * 0.3)
    X = torch.randn(40, 4)
    c = stream_contributions(m, X)
    with torch.no_grad():
        logits = m(X)
    total = sum(c.terms[k] for k in TERMS)
    if n_out == 1:
        scored, bias = logits[:, 0], m.bias[0]
    elif n_out == 2:
        scored, bias = logits[:, 1] - logits[:, 0], m.bias[1] - m.bias[0]
    else:
        pred = logits.argmax(-1)
        scored, bias = logits.gather(1, pred[:, None])[:, 0], m.bias[pred]
    assert np.allclose(total + bias.detach().numpy(), scored.numpy(), atol=1e-5)
    assert set(c.terms) == set(TERMS) and all(v.shape == (40,) for v in c.terms.values())
    assert c.mean_abs()["fusion.bilinear"] == pytest.approx(float(np.abs(c.terms["fusion.bilinear"]).mean()))


def test_figures_draw_a_bar_per_field_and_stream_and_the_three_terms() -> None:
    m = model()
    X = torch.randint(0, 10, (30, 6))
    fig = gates_figure(gate_weights(m, X))
    assert [t.name for t in fig.data] == ["stream 1", "stream 2"]
    assert list(fig.data[0].x) == [f"field{i}" for i in range(1, 7)] and len(fig.data[1].y) == 6
    assert list(fig.data[0].marker.line.color[:3]) == ["black"] * 3  # stream 1's gate reads the first half
    fig = contributions_figure(stream_contributions(m, X))
    assert list(fig.data[0].x) == ["stream 1", "stream 2", "bilinear"]
    assert [t.type for t in fig.data[1:]] == ["histogram"] * 3 and len(fig.data[1].x) == 30


def test_the_diagram_draws_both_gated_streams_and_the_bilinear_fusion() -> None:
    m = model()
    d = extract(m, torch.randint(0, 10, (8, 6)))
    labels = [o.label for o in d.ops]
    assert labels.count("⊙") == 2 and labels.count("σ") == 2 and labels.count("×2") == 2  # two gates e ⊙ 2σ(·)
    assert d.ops_of("embed")[0].label == "E" and "6 categorical fields of 10 values" in d.ops_of("embed")[0].detail
    (contract,) = d.ops_of("contract")
    w3 = next(o for o in d.ops if o.module == "w3")
    assert w3.params == 2 * 2 * 4 * 3  # heads x outputs x (8 / 2) x (6 / 2)
    assert [w.src for w in d.wires if w.dst == contract.id].count(w3.id) == 1  # the contraction reads W3
    linear = [o.module for o in d.ops_of("learned")]
    assert {"stream1.layers.0.linear", "stream2.layers.0.linear", "gate1.fc_in", "gate2.fc_out", "w1", "w2"} <= set(linear)
    assert d.parameter_count() == parameter_count(m)
    # the logit is a sum of three terms and a bias: every wire into and out of those adds is the classes axis
    adds = {o.id for o in d.ops_of("add")}
    assert {w.label for w in d.wires if w.dst in adds or w.src in adds} == {"c 2"}
    dot = to_dot(d)
    assert dot.count('label="⊙"') == 2 and "learned tensor w3" in dot
