"""The small pre-LN transformer: shapes, causality, residual-stream taps, positions; and the
parallel ("shallow") layout of the residual MLP."""

import pytest
import torch

from netarium.models.base import ModelSpec, build_model
from netarium.models.taps import record, tap_names
from netarium.schema import SchemaError
from netarium.training import Config, Run

SEQ = ModelSpec(6, 11, vocab_size=11, per_position=True)
TOKENS = torch.randint(0, 11, (5, 6), generator=torch.Generator().manual_seed(0))


def model(**params):
    torch.manual_seed(0)
    return build_model("transformer", {"layers": 2, "d_model": 16, "heads": 4, **params}, SEQ).eval()


def test_outputs_per_position_or_at_the_last_position():
    assert model()(TOKENS).shape == (5, 6, 11)
    last = build_model("transformer", {"d_model": 16}, ModelSpec(2, 7, vocab_size=7))
    assert last(torch.randint(0, 7, (3, 2))).shape == (3, 7)


def test_causal_attention_never_looks_ahead():
    m = model()
    changed = TOKENS.clone()
    changed[:, 4] = (changed[:, 4] + 1) % 11
    a, b = m(TOKENS), m(changed)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)  # positions before 4 cannot see it
    assert not torch.allclose(a[:, 4:], b[:, 4:], atol=1e-4)
    full = model(causal=False)
    assert not torch.allclose(full(TOKENS)[:, :4], full(changed)[:, :4], atol=1e-4)


def test_residual_taps_add_up_and_patterns_are_causal_distributions():
    m = model()
    assert [t for t in tap_names(m) if t.startswith("block1")] == [
        "block1.resid_pre", "block1.attn.pattern", "block1.attn_out", "block1.resid_mid", "block1.hidden", "block1.mlp_out",
        "block1.resid_post"]
    acts = record(m, TOKENS)
    for b in ("block1", "block2"):
        assert torch.allclose(acts[f"{b}.resid_mid"], acts[f"{b}.resid_pre"] + acts[f"{b}.attn_out"], atol=1e-6)
        assert torch.allclose(acts[f"{b}.resid_post"], acts[f"{b}.resid_mid"] + acts[f"{b}.mlp_out"], atol=1e-6)
        p = acts[f"{b}.attn.pattern"]
        assert p.shape == (5, 4, 6, 6)
        assert torch.allclose(p.sum(-1), torch.ones(5, 4, 6), atol=1e-6)
        assert (p.triu(1) == 0).all()
    assert torch.equal(acts["block2.resid_pre"], acts["block1.resid_post"])
    assert torch.allclose(m.readout_stream(acts["block2.resid_post"]), acts["logits"], atol=1e-6)


def test_positions_learned_or_fixed_and_attention_only_blocks():
    learned, fixed = model(), model(positions="sinusoidal")
    n = sum(p.numel() for p in learned.parameters())
    assert n - sum(p.numel() for p in fixed.parameters()) == 6 * 16  # the learned table is the difference
    assert not any("pos" in name for name, _ in fixed.named_parameters())
    pe = fixed.pos
    assert torch.allclose(pe[0, 0::2], torch.zeros(8)) and torch.allclose(pe[0, 1::2], torch.ones(8))
    bare = model(mlp=False)
    acts = record(bare, TOKENS)
    assert torch.equal(acts["block1.resid_post"], acts["block1.resid_mid"]) and "block1.mlp_out" not in acts
    assert bare.branch_names == ["attention · block1", "attention · block2"]


def test_bad_shapes_say_which_key():
    with pytest.raises(SchemaError, match="divisible by heads"):
        build_model("transformer", {"d_model": 30, "heads": 4}, SEQ)
    with pytest.raises(SchemaError, match="reads tokens"):
        build_model("transformer", {}, ModelSpec(2, 2))
    with pytest.raises(SchemaError, match="one per position"):
        build_model("mlp", {}, SEQ)


def test_learns_modular_addition_on_the_training_pairs():
    run = Run(Config(task={"name": "modular", "M": 11, "train_fraction": 0.6},
                     model={"name": "transformer", "layers": 1, "d_model": 32, "heads": 4},
                     optimizer={"name": "adamw", "lr": 0.003}, steps=250, seed=0)).train()
    assert run.final_metrics()["train_acc"] == 1.0


def test_parallel_residual_layout_sums_every_branch_of_the_input():
    torch.manual_seed(0)
    m = build_model("residual-mlp", {"blocks": 3, "width": 8, "layout": "parallel"}, ModelSpec(2, 3)).eval()
    x = torch.randn(4, 2)
    acts = record(m, x)
    x0 = m.embed(x)
    expected = x0 + sum(block.branch(x0) for block in m.blocks)
    assert torch.allclose(acts["block3.resid_post"], expected, atol=1e-6)
    for i in (1, 2, 3):
        assert torch.allclose(acts[f"block{i}.resid_post"], acts[f"block{i}.resid_pre"] + acts[f"block{i}.mlp_out"], atol=1e-6)
    seq = build_model("residual-mlp", {"blocks": 3, "width": 8}, ModelSpec(2, 3))
    seq.load_state_dict(m.state_dict())
    assert not torch.allclose(seq.eval()(x), m(x))  # the same weights, another function
