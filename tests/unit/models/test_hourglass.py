"""The Hourglass MLP: a frozen random lift, residual bottleneck blocks z + W_up s(W_down z), a readout."""

import pytest
import torch

from netarium.analysis.residual import contributions, drop_curve, logit_lens, skip_effect
from netarium.models import MODELS, ModelSpec, build_model, parameter_count, tap_names
from netarium.models.base import capabilities
from netarium.models.hourglass import HourglassMLP
from netarium.models.taps import record
from netarium.schema import SchemaError
from netarium.training import Config, Run
from netarium.training.budget import estimate

SPEC = ModelSpec(2, 2)


def hourglass(seed: int = 0, **params) -> HourglassMLP:
    torch.manual_seed(seed)
    return build_model("hourglass", {"wide": 16, "bottleneck": 4, "blocks": 2, **params}, SPEC)


def test_registered_with_residual_and_hourglass_capabilities():
    assert "hourglass" in MODELS.names()
    m = hourglass()
    assert capabilities(m) >= {"residual", "hourglass"} and "mlp" not in capabilities(m)
    assert m.block_names == ["block1", "block2"]


def test_output_shapes_points_and_tokens():
    m = hourglass()
    assert m(torch.randn(7, 2)).shape == (7, 2)
    torch.manual_seed(0)
    t = build_model("hourglass", {"wide": 8, "bottleneck": 2, "blocks": 1}, ModelSpec(3, 5, vocab_size=4))
    assert t(torch.randint(0, 4, (6, 3))).shape == (6, 5)


def test_taps_follow_the_residual_convention():
    names = tap_names(hourglass())
    assert names == ["in", "lift", "block1.resid_pre", "block1.hidden", "block1.mlp_out", "block1.resid_post",
                     "block2.resid_pre", "block2.hidden", "block2.mlp_out", "block2.resid_post", "logits"]


def test_block_is_z_plus_w_up_act_w_down_z_and_the_lift_is_a_linear_map():
    m = hourglass()
    x = torch.randn(5, 2)
    acts = record(m, x, ["lift", "block1.resid_pre", "block1.hidden", "block1.mlp_out", "block1.resid_post", "logits"])
    assert torch.allclose(acts["lift"], x @ m.lift.weight.T)
    b = m.blocks[0]
    z = acts["block1.resid_pre"]
    hidden = torch.relu(z @ b.down.weight.T + b.down.bias)
    assert acts["block1.hidden"].shape == (5, 4)
    assert torch.allclose(acts["block1.hidden"], hidden, atol=1e-6)
    assert torch.allclose(acts["block1.resid_post"], z + hidden @ b.up.weight.T + b.up.bias, atol=1e-6)


def test_parameter_count_trainable_and_frozen_against_a_hand_count():
    # wide 16, bottleneck 4, 2 blocks, 2 inputs, 2 classes, biases on
    frozen = 2 * 16  # the lift: 2 -> 16, no bias
    block = (16 * 4 + 4) + (4 * 16 + 16)  # W_down + b_down, W_up + b_up = 148
    readout = 16 * 2 + 2
    m = hourglass()
    assert parameter_count(m) == 2 * block + readout == 330
    assert parameter_count(m, trainable_only=False) == 330 + frozen == 362
    learned_lift = hourglass(frozen_lift=False)
    assert parameter_count(learned_lift) == 362


def test_gradients_reach_every_trainable_parameter_and_none_the_frozen_lift():
    m = hourglass()
    loss = torch.nn.functional.cross_entropy(m(torch.randn(32, 2)), torch.randint(0, 2, (32,)))
    loss.backward()
    assert m.lift.weight.requires_grad is False and m.lift.weight.grad is None
    for name, p in m.named_parameters():
        if name.startswith("lift."):
            continue
        assert p.requires_grad and p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_the_lift_is_unchanged_by_training_and_the_blocks_move():
    run = Run(Config(task={"name": "spiral"}, model={"name": "hourglass", "wide": 16, "bottleneck": 4, "blocks": 2},
                     optimizer={"name": "adamw", "lr": 0.01, "weight_decay": 0.1}, steps=20, seed=3))
    lift0 = run.model.lift.weight.detach().clone()
    down0 = run.model.blocks[0].down.weight.detach().clone()
    run.train()
    assert torch.equal(run.model.lift.weight, lift0)  # not even weight decay touches it
    assert not torch.equal(run.model.blocks[0].down.weight, down0)


def test_deterministic_from_the_seed_and_the_lift_is_random():
    a, b, c = hourglass(seed=1), hourglass(seed=1), hourglass(seed=2)
    assert torch.equal(a.lift.weight, b.lift.weight) and not torch.equal(a.lift.weight, c.lift.weight)
    std = float(hourglass(seed=0, wide=512).lift.weight.std())
    assert std == pytest.approx(1 / 2**0.5, rel=0.1)  # N(0, 1/fan_in), fan_in 2


def test_builds_on_the_meta_device_for_the_budget():
    cost = estimate(Config(task={"name": "digits"}, model={"name": "hourglass", "wide": 128, "bottleneck": 16}))
    assert cost.flops > 0


def test_residual_views_work_unchanged():
    m = hourglass(blocks=3)
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    c = contributions(m, x)
    assert c.blocks == ["block1", "block2", "block3"] and c.block_rel.shape[0] == 3
    assert skip_effect(m, x).output_change.shape == (3,)
    assert len(drop_curve(m, x, y, kind="mlp", order="least").k) >= 2
    assert len(logit_lens(m, x, y).layers) == 4


def test_schema_errors_name_the_key():
    with pytest.raises(SchemaError, match="model.bottleneck"):
        Config(task={"name": "spiral"}, model={"name": "hourglass", "bottleneck": 0})
