"""The noprop model: its noise schedule and chain coefficients, shapes and taps, the two inference chains, and
that no gradient crosses from one block's loss into another block."""

import math

import pytest
import torch

from netarium.models import ModelSpec, build_model, record, tap_names
from netarium.models.noprop import ALPHA_MAX, alpha_bars, chain_coefficients, snr

SPEC = ModelSpec(4, 3)


def model(**params):
    torch.manual_seed(0)
    return build_model("noprop", {"blocks": 4, "hidden": 8, **params}, SPEC)


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
@pytest.mark.parametrize("T", [1, 3, 10])
def test_schedule_runs_from_noise_to_the_label_and_the_chain_step_maps_q_t_minus_1_onto_q_t(schedule, T):
    abar = alpha_bars(schedule, T)
    assert len(abar) == T + 1 and abar[0] == 0.0 and abar[-1] == ALPHA_MAX
    assert all(b > a for a, b in zip(abar, abar[1:], strict=False))
    a, b, c = chain_coefficients(abar)
    for t in range(1, T + 1):
        # z_{t-1} ~ N(sqrt(abar_{t-1}) u, (1 - abar_{t-1}) I) and z_t = a u + b z_{t-1} + sqrt(c) eps give q(z_t | u):
        assert a[t - 1] + b[t - 1] * math.sqrt(abar[t - 1]) == pytest.approx(math.sqrt(abar[t]), rel=1e-9)
        assert b[t - 1] ** 2 * (1 - abar[t - 1]) + c[t - 1] == pytest.approx(1 - abar[t], rel=1e-9)
    assert a[0] == pytest.approx(math.sqrt(abar[1])) and b[0] == 0.0  # the first step starts from the prior alone
    assert snr(abar[-1]) == pytest.approx(999.0)


def test_cosine_schedule_matches_nichol_and_dhariwal_at_the_middle():
    abar = alpha_bars("cosine", 10)
    s = 0.008
    f = lambda k: math.cos(math.pi / 2 * (k / 10 + s) / (1 + s)) ** 2  # noqa: E731  (DDPM step k = T - t)
    assert abar[5] == pytest.approx(f(5) / f(0))
    assert alpha_bars("linear", 4)[1:4] == pytest.approx([0.25, 0.5, 0.75])


def test_shapes_taps_and_one_output_for_a_binary_task():
    m = model()
    x = torch.randn(6, 4)
    assert m(x).shape == (6, 3)
    names = tap_names(m)
    assert names[:2] == ["in", "z0"] and names[-1] == "logits"
    assert [n for n in names if n.endswith(".post")] == [f"block{t}.post" for t in range(1, 5)]
    acts = record(m, x)
    assert acts["z0"].abs().max() == 0  # the chain of means starts at the prior's mean
    assert all(acts[f"block{t}.post"].shape == (6, 3) for t in range(1, 5))
    assert acts["block1.logits"].shape == (6, 3) and acts["block1.hidden"].shape == (6, 8)
    torch.testing.assert_close(m.head(acts["block4.post"]), m(x))
    one = build_model("noprop", {"blocks": 2}, ModelSpec(2, 1))
    assert one.n_classes == 2 and one.embedding.shape == (2, 2)
    x2 = torch.randn(5, 2)
    z = record(one, x2, ["block2.post"])["block2.post"]
    scores = one.head(z)
    torch.testing.assert_close(one(x2), scores[:, 1:] - scores[:, :1])  # the logit difference, class 1 over 0


def test_token_inputs_are_refused_with_a_clear_error():
    from netarium.schema import SchemaError

    with pytest.raises(SchemaError, match="real-valued inputs"):
        build_model("noprop", {}, ModelSpec(4, 2, vocab_size=5))


def test_the_chain_of_means_is_deterministic_and_the_sampled_chain_is_not():
    m = model()
    x = torch.randn(16, 4)
    torch.testing.assert_close(m(x), m(x))
    assert m(x[:5]).sub(m(x)[:5]).abs().max() < 1e-6  # a row's answer does not depend on the batch around it
    m.set_chain("sample")
    assert (m(x) - m(x)).abs().max() > 1e-4
    z0 = record(m, x, ["z0"])["z0"]
    assert 0.7 < float(z0.std()) < 1.3  # z_0 ~ N(0, I)
    with pytest.raises(ValueError, match="mean or sample"):
        m.set_chain("greedy")


def test_head_starts_as_the_nearest_embedding_readout():
    m = model()
    E = m.embedding.detach()
    assert torch.equal(E, torch.eye(3))  # fixed one-hot embeddings when d = classes
    assert torch.equal(m.head(E).argmax(-1), torch.arange(3))
    wide = model(embed_dim=5, embedding="learned")
    assert wide.embedding.shape == (3, 5) and wide.embedding.requires_grad
    torch.testing.assert_close(wide.embedding.norm(dim=1), torch.ones(3))


@pytest.mark.parametrize("embedding", ["fixed", "learned"])
def test_no_gradient_crosses_blocks(embedding):
    """Block t's denoising loss reaches block t's parameters (and a learned embedding), never another block's
    nor the head: its input z_{t-1} is drawn from the label, not produced by block t - 1."""
    m = model(embedding=embedding)
    x, y = torch.randn(12, 4), torch.randint(0, 3, (12,))
    noise = torch.randn(12, 3)
    for t in range(1, m.T + 1):
        loss = m.denoising_loss(t, x, y, noise)
        params = dict(m.named_parameters())
        trained = {n: p for n, p in params.items() if p.requires_grad}
        grads = torch.autograd.grad(loss, list(trained.values()), allow_unused=True)
        for (name, _), g in zip(trained.items(), grads, strict=True):
            if name.startswith(f"blocks.{t - 1}."):
                assert g is not None and g.abs().sum() > 0, name
            elif name == "embedding":
                assert g is not None and g.abs().sum() > 0  # the shared label embedding learns from every block
            else:
                assert g is None or g.abs().sum() == 0, (t, name)


def test_backprop_through_the_chain_does_reach_every_block():
    """The contrast: the forward chain carries the gradient of the output loss into every block."""
    m = model()
    x, y = torch.randn(12, 4), torch.randint(0, 3, (12,))
    torch.nn.functional.cross_entropy(m(x), y).backward()
    for t in range(m.T):
        assert m.blocks[t].inp.weight.grad.abs().sum() > 0
