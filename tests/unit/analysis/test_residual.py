"""The residual stream: contributions, skip effect, importance and dropping, logit lens, attention
patterns, checked on constructed networks whose answers are known."""

import numpy as np
import pytest
import torch

from netarium.analysis.residual import (
    accuracy_with_dropped,
    attention_patterns,
    contributions,
    drop_curve,
    importance,
    logit_lens,
    skip_effect,
)
from netarium.models.base import ModelSpec, build_model
from netarium.models.taps import record

T, V, L = 6, 7, 4


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matmuls: threads only add contention on a busy machine (restored after the module)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def transformer(per_position: bool = True, **params) -> torch.nn.Module:
    torch.manual_seed(0)
    spec = ModelSpec(n_inputs=T, n_outputs=V, vocab_size=V, per_position=per_position)
    return build_model("transformer", {"layers": L, "d_model": 32, "heads": 4, **params}, spec)


def residual_mlp(**params) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("residual-mlp", {"blocks": L, "width": 16, **params}, ModelSpec(2, 3))


def zero_transformer_block(model: torch.nn.Module, index: int) -> None:
    """Attention output projection and MLP output layer of one block set to zero: it writes nothing."""
    block = model.blocks[index]
    with torch.no_grad():
        for lin in (block.attn.o, block.fc_out):
            lin.weight.zero_()
            lin.bias.zero_()


def zero_mlp_block(model: torch.nn.Module, index: int) -> None:
    with torch.no_grad():
        model.blocks[index].fc_out.weight.zero_()
        model.blocks[index].fc_out.bias.zero_()


@pytest.fixture(scope="module")
def tokens() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, V, (16, T), generator=g)
    y = torch.randint(0, V, (16, T), generator=g)
    y[:, :2] = -100  # the first positions are not scored
    return x, y


@pytest.fixture(scope="module")
def points() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    return torch.randn(24, 2, generator=g), torch.randint(0, 3, (24,), generator=g)


@pytest.fixture
def zeroed():
    model = transformer()
    zero_transformer_block(model, 1)
    return model


def doubling_mlp() -> torch.nn.Module:
    """A residual MLP whose second block is F(h) = h (no norm, linear activation, identity weights):
    the block doubles the stream."""
    torch.manual_seed(0)
    model = build_model("residual-mlp", {"blocks": 3, "width": 4, "hidden": 4, "prenorm": False, "activation": "linear"},
                        ModelSpec(2, 3))
    with torch.no_grad():
        for lin in (model.blocks[1].fc_in, model.blocks[1].fc_out):
            lin.weight.copy_(torch.eye(4))
            lin.bias.zero_()
    return model


# --- contributions ----------------------------------------------------------------------------


def test_contributions_have_a_row_per_block_and_a_column_per_position(tokens):
    c = contributions(transformer(), tokens[0])
    assert c.blocks == [f"block{i}" for i in range(1, L + 1)]
    for name in ("attn_rel", "mlp_rel", "block_rel", "attn_cos", "mlp_cos", "block_cos"):
        arr = getattr(c, name)
        assert arr.shape == (L, T) and np.isfinite(arr).all()
        np.testing.assert_allclose(c.mean_over_positions(name), arr.mean(axis=1))
    assert (c.block_rel > 0).all()
    assert ((c.block_cos >= -1 - 1e-6) & (c.block_cos <= 1 + 1e-6)).all()
    with pytest.raises(ValueError):
        c.mean_over_positions("nope")


def test_contributions_match_the_formulas_on_the_taps(tokens):
    model = transformer()
    c = contributions(model, tokens[0])
    acts = record(model, tokens[0])
    h, a, mid, m, post = (acts[f"block3.{t}"] for t in ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"))
    torch.testing.assert_close(mid, h + a)
    torch.testing.assert_close(post, mid + m)
    rel = ((post - h).norm(dim=-1) / h.norm(dim=-1)).mean(0)
    np.testing.assert_allclose(c.block_rel[2], rel.numpy(), rtol=1e-5)
    np.testing.assert_allclose(c.attn_rel[2], (a.norm(dim=-1) / h.norm(dim=-1)).mean(0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(c.mlp_rel[2], (m.norm(dim=-1) / mid.norm(dim=-1)).mean(0).numpy(), rtol=1e-5)
    cos = torch.nn.functional.cosine_similarity(m, mid, dim=-1).mean(0)
    np.testing.assert_allclose(c.mlp_cos[2], cos.numpy(), rtol=1e-5, atol=1e-6)


def test_a_zeroed_block_contributes_nothing(zeroed, tokens):
    c = contributions(zeroed, tokens[0])
    for name in ("attn_rel", "mlp_rel", "block_rel", "attn_cos", "mlp_cos", "block_cos"):
        np.testing.assert_allclose(getattr(c, name)[1], 0.0, atol=1e-7)
    others = [0, 2, 3]
    assert (c.attn_rel[others] > 1e-3).all() and (c.mlp_rel[others] > 1e-3).all() and (c.block_rel[others] > 1e-3).all()


def test_a_block_that_doubles_the_stream_has_relative_contribution_one():
    model = doubling_mlp()
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(3))
    acts = record(model, x, ["block2.resid_pre", "block2.resid_post"])
    torch.testing.assert_close(acts["block2.resid_post"], 2 * acts["block2.resid_pre"])
    c = contributions(model, x)
    assert c.block_rel.shape == (3, 1)
    assert c.block_rel[1, 0] == pytest.approx(1.0, abs=1e-6)
    assert c.block_cos[1, 0] == pytest.approx(1.0, abs=1e-6)
    assert c.mlp_rel[1, 0] == pytest.approx(1.0, abs=1e-6)  # no attention: h + a = h
    assert np.isnan(c.attn_rel).all() and np.isnan(c.attn_cos).all()
    assert importance(model, x).block[1] == pytest.approx(0.0, abs=1e-6)  # doubling keeps the direction


def test_residual_mlp_has_one_position_and_no_attention(points):
    c = contributions(residual_mlp(), points[0])
    assert c.block_rel.shape == (L, 1)
    assert np.isnan(c.attn_rel).all() and np.isnan(c.attn_cos).all()
    np.testing.assert_allclose(c.mlp_rel, c.block_rel, rtol=1e-5)  # the block is its MLP
    np.testing.assert_allclose(c.mlp_cos, c.block_cos, rtol=1e-4, atol=1e-6)


def test_parallel_layout_writes_each_branch_of_the_input_to_one_stream(points):
    model = residual_mlp(layout="parallel")
    acts = record(model, points[0])
    for b in model.block_names:
        torch.testing.assert_close(acts[f"{b}.resid_post"], acts[f"{b}.resid_pre"] + acts[f"{b}.mlp_out"])
    c = contributions(model, points[0])
    np.testing.assert_allclose(c.block_rel, c.mlp_rel, rtol=1e-5)
    s = skip_effect(model, points[0])
    # every branch reads the input x0, not the stream: skipping one leaves the later ones unchanged
    upper = s.matrix[np.triu_indices(L, 1)]
    np.testing.assert_allclose(upper, 0.0, atol=1e-5)
    assert (s.output_change > 1e-3).all()


def test_attention_only_transformer_has_no_mlp(tokens):
    model = transformer(mlp=False)
    c = contributions(model, tokens[0])
    assert np.isnan(c.mlp_rel).all() and np.isfinite(c.attn_rel).all()
    np.testing.assert_allclose(c.block_rel, c.attn_rel, rtol=1e-5)
    imp = importance(model, tokens[0])
    assert np.isnan(imp.mlp).all()
    np.testing.assert_allclose(imp.block, imp.attn, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="no mlp"):
        drop_curve(model, *tokens, kind="mlp")


# --- skip effect ------------------------------------------------------------------------------


def test_skipping_a_zeroed_block_changes_nothing(zeroed, tokens):
    s = skip_effect(zeroed, tokens[0])
    assert s.matrix.shape == (L, L) and s.output_change.shape == (L,) and s.output_kl.shape == (L,)
    assert np.isnan(s.matrix[np.tril_indices(L)]).all()
    np.testing.assert_allclose(s.matrix[1, 2:], 0.0, atol=1e-6)
    assert s.output_change[1] == pytest.approx(0.0, abs=1e-6)
    assert s.output_kl[1] == pytest.approx(0.0, abs=1e-6)
    assert (s.matrix[0, 1:][[1, 2]] > 1e-3).all()  # skipping block1 changes blocks 3 and 4
    assert s.matrix[0, 1] == pytest.approx(0.0, abs=1e-6)  # ...but not the zeroed block2
    for other in (0, 2, 3):
        assert s.output_change[other] > 1e-3 and s.output_kl[other] > 0


def test_skip_effect_output_change_matches_dropping_the_block(tokens):
    model = transformer()
    s = skip_effect(model, tokens[0])
    z = model.eval()(tokens[0]).detach()
    hooks = [model.blocks[2].attn_out.register_forward_hook(lambda m, i, o: torch.zeros_like(o)),
             model.blocks[2].mlp_out.register_forward_hook(lambda m, i, o: torch.zeros_like(o))]
    z_skip = model(tokens[0]).detach()
    for h in hooks:
        h.remove()
    change = ((z_skip - z).norm(dim=-1) / z.norm(dim=-1)).mean()
    assert s.output_change[2] == pytest.approx(float(change), rel=1e-5)
    p = z.log_softmax(-1)
    kl = (p.exp() * (p - z_skip.log_softmax(-1))).sum(-1).mean()
    assert s.output_kl[2] == pytest.approx(float(kl), rel=1e-4)


# --- importance and dropping ------------------------------------------------------------------


def test_importance_is_zero_for_identity_sublayers(zeroed, tokens):
    imp = importance(zeroed, tokens[0])
    for arr in (imp.attn, imp.mlp, imp.block):
        assert arr.shape == (L,)
        assert arr[1] == pytest.approx(0.0, abs=1e-6)
        assert (arr[[0, 2, 3]] > 1e-4).all()


def test_importance_with_drops_scores_the_dropped_as_zero(tokens):
    imp = importance(transformer(), tokens[0], {"attn": {0, 3}})
    np.testing.assert_allclose(imp.attn[[0, 3]], 0.0, atol=1e-6)
    assert (imp.attn[[1, 2]] > 0).all()


def test_dropping_nothing_gives_the_models_accuracy(tokens):
    model = transformer()
    x, y = tokens
    out = model.eval()(x).detach()
    scored = y != -100
    expected = float(((out.argmax(-1) == y) & scored).sum() / scored.sum())
    assert accuracy_with_dropped(model, x, y, {}) == pytest.approx(expected)
    own = out.argmax(-1).masked_fill(~scored, -100)  # the model's own predictions: accuracy 1
    assert accuracy_with_dropped(model, x, own, {}) == 1.0
    assert accuracy_with_dropped(model, x, own, {"attn": {0, 1}}) < 1.0


def test_dropping_a_zeroed_block_keeps_the_accuracy(zeroed, tokens):
    base = accuracy_with_dropped(zeroed, *tokens, {})
    assert accuracy_with_dropped(zeroed, *tokens, {"attn": {1}, "mlp": {1}}) == base
    assert accuracy_with_dropped(zeroed, *tokens, {"block": {1}}) == base
    with pytest.raises(ValueError):
        accuracy_with_dropped(zeroed, *tokens, {"attn": {L}})
    with pytest.raises(ValueError):
        accuracy_with_dropped(zeroed, *tokens, {"heads": {0}})


def test_dropping_every_block_reads_the_embedding(points):
    model = residual_mlp()
    x, y = points
    lens = logit_lens(model, x, y)
    assert accuracy_with_dropped(model, x, y, {"mlp": set(range(L))}) == pytest.approx(lens.accuracy[0])


def test_drop_curve_one_shot_orders_by_importance(tokens):
    model = transformer()
    x, y = tokens
    imp = importance(model, x).attn
    least = drop_curve(model, x, y, kind="attn", order="least")
    most = drop_curve(model, x, y, kind="attn", order="most")
    np.testing.assert_array_equal(least.k, np.arange(L + 1))
    assert least.accuracy.shape == (L + 1,) and least.accuracy_std is None and least.draws == []
    assert least.order == [int(i) for i in np.argsort(imp)]
    assert most.order == least.order[::-1]
    assert least.accuracy[0] == pytest.approx(accuracy_with_dropped(model, x, y, {}))
    assert least.accuracy[2] == pytest.approx(accuracy_with_dropped(model, x, y, {"attn": set(least.order[:2])}))
    short = drop_curve(model, x, y, kind="block", k_max=2)
    assert len(short.k) == 3 and len(short.accuracy) == 3 and len(short.order) == 2
    with pytest.raises(ValueError):
        drop_curve(model, x, y, k_max=L + 1)
    with pytest.raises(ValueError):
        drop_curve(model, x, y, order="best")


def test_drop_curve_drops_an_identity_block_first_at_no_cost(points):
    model = residual_mlp()
    zero_mlp_block(model, 2)
    x, y = points
    for iterative in (False, True):
        curve = drop_curve(model, x, y, kind="mlp", order="least", iterative=iterative)
        assert curve.order[0] == 2
        assert curve.accuracy[1] == curve.accuracy[0]
        assert sorted(curve.order) == list(range(L))
    with pytest.raises(ValueError, match="no attn"):
        drop_curve(model, x, y, kind="attn")


def test_iterative_drop_curve_reranks_after_each_drop(tokens):
    model = transformer()
    x, y = tokens
    one_shot = drop_curve(model, x, y, kind="mlp", order="least")
    it = drop_curve(model, x, y, kind="mlp", order="least", iterative=True)
    assert it.iterative and it.order[0] == one_shot.order[0]
    assert sorted(it.order) == list(range(L))
    after_first = importance(model, x, {"mlp": {it.order[0]}}).mlp
    rest = [i for i in range(L) if i != it.order[0]]
    assert it.order[1] == min(rest, key=lambda i: after_first[i])
    for k in range(L + 1):
        assert it.accuracy[k] == pytest.approx(accuracy_with_dropped(model, x, y, {"mlp": set(it.order[:k])}))


def test_random_drop_curve_averages_the_draws_of_its_seed(tokens):
    model = transformer()
    x, y = tokens
    curve = drop_curve(model, x, y, kind="attn", order="random", n_random=5, seed=3)
    assert curve.order == [] and len(curve.draws) == 5
    assert all(sorted(d) == list(range(L)) for d in curve.draws)
    per_draw = np.array([[accuracy_with_dropped(model, x, y, {"attn": set(d[:k])}) for k in range(L + 1)]
                         for d in curve.draws])
    np.testing.assert_allclose(curve.accuracy, per_draw.mean(0))
    np.testing.assert_allclose(curve.accuracy_std, per_draw.std(0))
    again = drop_curve(model, x, y, kind="attn", order="random", n_random=5, seed=3)
    assert again.draws == curve.draws
    np.testing.assert_array_equal(again.accuracy, curve.accuracy)
    other = drop_curve(model, x, y, kind="attn", order="random", n_random=5, seed=4)
    assert other.draws != curve.draws


# --- logit lens -------------------------------------------------------------------------------


def test_logit_lens_last_layer_is_the_models_output(tokens):
    model = transformer()
    x, y = tokens
    lens = logit_lens(model, x, y)
    assert lens.layers == ["embed", *model.block_names]
    assert lens.probs_correct.shape == (L + 1,) and lens.accuracy.shape == (L + 1,)
    assert lens.top_tokens.shape == (L + 1, 8) and lens.top_tokens.dtype == np.int64
    out = model.eval()(x).detach()
    scored = y != -100
    p = out.softmax(-1)[scored].gather(-1, y[scored].unsqueeze(-1)).mean()
    assert lens.probs_correct[-1] == pytest.approx(float(p), rel=1e-6)
    assert lens.accuracy[-1] == pytest.approx(accuracy_with_dropped(model, x, y, {}))
    np.testing.assert_array_equal(lens.top_tokens[-1], out.argmax(-1)[:8, -1].numpy())  # last position is scored
    blind = logit_lens(model, x)
    assert np.isnan(blind.probs_correct).all() and np.isnan(blind.accuracy).all()
    np.testing.assert_array_equal(blind.top_tokens, lens.top_tokens)


def test_logit_lens_reads_the_last_scored_position(tokens):
    model = transformer()
    x, y = tokens
    y = y.clone()
    y[:, 4:] = -100  # only positions 2 and 3 scored
    lens = logit_lens(model, x, y)
    out = model.eval()(x).detach()
    np.testing.assert_array_equal(lens.top_tokens[-1], out.argmax(-1)[:8, 3].numpy())


def test_logit_lens_on_classification_models(tokens, points):
    model = transformer(per_position=False)
    x = tokens[0]
    y = torch.arange(len(x)) % V
    lens = logit_lens(model, x, y)
    out = model.eval()(x).detach()
    assert lens.probs_correct[-1] == pytest.approx(float(out.softmax(-1)[torch.arange(len(x)), y].mean()), rel=1e-6)
    np.testing.assert_array_equal(lens.top_tokens[-1], out.argmax(-1)[:8].numpy())
    mlp = residual_mlp()
    xs, ys = points
    lens = logit_lens(mlp, xs, ys)
    out = mlp.eval()(xs).detach()
    assert lens.probs_correct[-1] == pytest.approx(float(out.softmax(-1)[torch.arange(len(xs)), ys].mean()), rel=1e-6)
    assert lens.accuracy[-1] == pytest.approx(float((out.argmax(-1) == ys).float().mean()))


def test_binary_single_output_is_scored_by_its_sign(points):
    torch.manual_seed(0)
    model = build_model("residual-mlp", {"blocks": 2, "width": 8}, ModelSpec(2, 1))
    x = points[0]
    y = (points[1] > 0).long()
    z = model.eval()(x).detach().squeeze(-1)
    assert accuracy_with_dropped(model, x, y) == pytest.approx(float(((z > 0).long() == y).float().mean()))
    lens = logit_lens(model, x, y)
    p = torch.where(y == 1, torch.sigmoid(z), 1 - torch.sigmoid(z)).mean()
    assert lens.probs_correct[-1] == pytest.approx(float(p), rel=1e-5)


# --- attention patterns and hygiene -----------------------------------------------------------


def test_attention_patterns_are_causal_distributions(tokens):
    pats = attention_patterns(transformer(), tokens[0], sample=3)
    assert list(pats) == [f"block{i}" for i in range(1, L + 1)]
    for p in pats.values():
        assert p.shape == (4, T, T)
        np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(np.triu(p, 1), 0.0)
    free = attention_patterns(transformer(causal=False), tokens[0])
    assert (np.triu(free["block1"], 1) > 0).any()
    assert attention_patterns(residual_mlp(), torch.randn(4, 2)) == {}


def test_modes_are_restored_and_no_gradient_is_taken(tokens):
    model = transformer()
    model.train()
    model.blocks[0].eval()  # a mixed state must survive too
    x, y = tokens
    contributions(model, x)
    skip_effect(model, x)
    drop_curve(model, x, y, kind="block", k_max=1)
    logit_lens(model, x, y)
    attention_patterns(model, x)
    assert model.training and not model.blocks[0].training and model.blocks[1].training
    assert all(p.grad is None for p in model.parameters())


def test_a_model_without_blocks_is_refused():
    model = build_model("mlp", {"hidden": [4]}, ModelSpec(2, 2))
    with pytest.raises(ValueError, match="block"):
        contributions(model, torch.randn(3, 2))
