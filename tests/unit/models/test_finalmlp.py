"""The finalmlp model: shapes on token (ctr) and numeric inputs, taps, gates 2 sigmoid(.) that start at 1,
the logit as the sum of its stream, bilinear and bias terms, the bilinear fusion by hand, gradients to every
parameter, the parameter count by hand, meta-device builds, determinism and the schema's errors."""

from __future__ import annotations

import pytest
import torch

from netarium.models import MODELS, ModelSpec, build_model, parameter_count, record, tap_names
from netarium.models.finalmlp import FinalMLP, gate_fields
from netarium.schema import SchemaError

CTR = ModelSpec(6, 2, vocab_size=10)  # the ctr task: 6 fields of 10 values, 2 classes
PARAMS = {"embed_dim": 4, "stream1": [8, 6], "stream2": [4], "heads": 2, "gate_hidden": 5}


def hand_count(F: int, E: int, out: int, s1: list[int], s2: list[int], heads: int, gh: int, g1: int, g2: int,
               vocab: int | None) -> int:
    """Embeddings + two gates + two streams + fusion, counted from the paper's formulas."""
    n = F * vocab * E if vocab else 2 * F * E  # a vector per value, or x w + c per numeric feature
    for fields in (g1, g2):
        n += fields * E * gh + gh + gh * F * E + F * E if gh else fields * E * F * E + F * E
    for widths in (s1, s2):
        prev = F * E
        for w in widths:
            n += prev * w + w
            prev = w
    d1, d2 = s1[-1], s2[-1]
    return n + out * d1 + out * d2 + out + heads * out * (d1 // heads) * (d2 // heads)


@pytest.fixture
def one_thread():
    """Train on one torch thread (small nets: fastest, and no oversubscription), restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_shapes_taps_and_hand_parameter_count_on_tokens() -> None:
    torch.manual_seed(0)
    model = build_model("finalmlp", PARAMS, CTR)
    assert parameter_count(model) == hand_count(6, 4, 2, [8, 6], [4], 2, 5, 3, 3, 10)
    x = torch.randint(0, 10, (7, 6))
    assert model(x).shape == (7, 2)
    assert tap_names(model) == ["in", "embed", "gate1", "gate2", "stream1.layer1.pre", "stream1.layer1.post",
                                "stream1.layer2.pre", "stream1.layer2.post", "stream2.layer1.pre", "stream2.layer1.post",
                                "stream1.out", "stream2.out", "fusion.bilinear", "logits"]
    acts = record(model, x, tap_names(model))
    assert acts["embed"].shape == acts["gate1"].shape == acts["gate2"].shape == (7, 24)
    assert acts["stream1.layer2.post"].shape == (7, 6) and acts["stream2.layer1.post"].shape == (7, 4)
    for name in ("stream1.out", "stream2.out", "fusion.bilinear"):
        assert acts[name].shape == (7, 2)
    # the logit is the sum of each stream's linear term, the bilinear term and the bias
    total = acts["stream1.out"] + acts["stream2.out"] + acts["fusion.bilinear"] + model.bias
    assert torch.allclose(acts["logits"], total, atol=1e-6)
    # field f's code v is row f * C + v of the embedding table
    assert torch.equal(acts["embed"][:, 4:8], model.embedding.weight[x[:, 1] + 10].detach())


def test_numeric_inputs_get_a_linear_embedding_per_feature() -> None:
    model = build_model("finalmlp", {**PARAMS, "gate_hidden": 0}, ModelSpec(2, 1))
    assert parameter_count(model) == hand_count(2, 4, 1, [8, 6], [4], 2, 0, 1, 1, None)
    x = torch.randn(5, 2)
    assert model(x).shape == (5, 1)
    emb = model.embedding
    e = record(model, x, ["embed"])["embed"].reshape(5, 2, 4)
    assert torch.allclose(e, x[:, :, None] * emb.weight + emb.bias)


def test_gates_are_two_sigmoid_start_at_one_and_read_their_fields() -> None:
    torch.manual_seed(1)
    model = build_model("finalmlp", PARAMS, CTR)
    x = torch.randint(0, 10, (64, 6))
    acts = record(model, x, ["gate1", "gate2", "embed"])
    for g in ("gate1", "gate2"):
        assert float(acts[g].min()) > 0 and float(acts[g].max()) < 2
        assert abs(float(acts[g].mean()) - 1.0) < 0.05  # 2 sigmoid(near 0): near 1 at the start
    assert model.gate_field_ids() == ([0, 1, 2], [3, 4, 5])  # the default halves
    # gate 1 reads only fields 1-3: changing field 5 leaves it, and changes gate 2
    y = x.clone()
    y[:, 4] = (y[:, 4] + 1) % 10
    other = record(model, y, ["gate1", "gate2"])
    assert torch.equal(other["gate1"], acts["gate1"]) and not torch.equal(other["gate2"], acts["gate2"])
    # by hand: g = 2 sigmoid(fc_out(relu(fc_in(e_S))))
    g = model.gate1
    e_s = acts["embed"][:, :12]
    want = 2 * torch.sigmoid(g.fc_out(torch.relu(g.fc_in(e_s))))
    assert torch.allclose(acts["gate1"], want, atol=1e-6)
    chosen = build_model("finalmlp", {**PARAMS, "gate1_fields": [6], "gate2_fields": [1, 2]}, CTR)
    assert chosen.gate_field_ids() == ([5], [0, 1])
    assert gate_fields([], 1, 2) == [0] and gate_fields([], 5, 2) == [2, 3, 4]


def test_bilinear_fusion_by_hand() -> None:
    torch.manual_seed(2)
    model = build_model("finalmlp", {**PARAMS, "stream1": [6], "stream2": [4]}, CTR)
    x = torch.randint(0, 10, (3, 6))
    acts = record(model, x, ["stream1.layer1.post", "stream2.layer1.post", "fusion.bilinear", "stream1.out"])
    o1, o2 = acts["stream1.layer1.post"], acts["stream2.layer1.post"]
    want = torch.zeros(3, 2)
    for b in range(3):
        for c in range(2):
            for h in range(2):  # head h: o1[3h:3h+3]^T W3[h, c] o2[2h:2h+2]
                want[b, c] += o1[b, 3 * h:3 * h + 3] @ model.w3[h, c] @ o2[b, 2 * h:2 * h + 2]
    assert torch.allclose(acts["fusion.bilinear"], want.detach(), atol=1e-5)
    assert torch.allclose(acts["stream1.out"], o1 @ model.w1.weight.T, atol=1e-6)


@pytest.mark.parametrize("spec", [CTR, ModelSpec(2, 1), ModelSpec(64, 10)])
def test_gradients_reach_every_parameter(spec) -> None:
    torch.manual_seed(0)
    model = build_model("finalmlp", PARAMS, spec)
    x = torch.randint(0, 10, (256, 6)) if spec.vocab_size else torch.randn(32, spec.n_inputs)
    model(x).square().sum().backward()
    for name, p in model.named_parameters():
        assert p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0, name


def test_builds_on_meta_and_is_deterministic_from_the_seed() -> None:
    with torch.device("meta"):
        meta = build_model("finalmlp", {}, ModelSpec(64, 10))
        assert meta(torch.empty(4, 64)).shape == (4, 10)
    torch.manual_seed(3)
    a = build_model("finalmlp", {}, CTR)
    torch.manual_seed(3)
    b = build_model("finalmlp", {}, CTR)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert isinstance(a, FinalMLP) and "finalmlp" in MODELS.get("finalmlp").tags


def test_schema_errors_name_the_key() -> None:
    with pytest.raises(SchemaError, match="heads"):
        build_model("finalmlp", {"stream1": [6], "heads": 4}, CTR)
    with pytest.raises(SchemaError, match=r"model\.gate1_fields: field 7 does not exist"):
        build_model("finalmlp", {"gate1_fields": [7]}, CTR)
    with pytest.raises(SchemaError, match="gate2_fields"):
        build_model("finalmlp", {"gate2_fields": [0]}, CTR)
    with pytest.raises(SchemaError, match="sequence"):
        build_model("finalmlp", {}, ModelSpec(4, 5, vocab_size=5, per_position=True))


def test_the_budget_estimates_it_on_the_meta_device_and_it_trains_on_spiral_and_digits(one_thread) -> None:
    from netarium.training.budget import estimate
    from netarium.training.config import Config
    from netarium.training.run import Run

    cost = estimate(Config(task={"name": "ctr"}, model={"name": "finalmlp", **PARAMS}))
    assert cost.parameters == hand_count(6, 4, 2, [8, 6], [4], 2, 5, 3, 3, 10) and cost.step_flops > 0
    for task, steps, level in (({"name": "spiral", "noise": 0.1}, 600, 0.9), ({"name": "digits"}, 300, 0.9)):
        run = Run(Config(task=task, model={"name": "finalmlp"}, optimizer={"name": "adam", "lr": 0.01}, steps=steps, seed=0))
        first = run.evaluate()["train_loss"]
        final = run.train().final_metrics()
        assert run.state != "diverged" and final["train_loss"] < first / 2 and final["test_acc"] >= level, (task, final)
