import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from netarium.models.masks import edge_turnover, masked_modules
from netarium.training.dst import (
    DSTSchedule,
    dst_step,
    hebbian_scores,
    prune_fraction,
    prune_smallest,
    regrow,
)


def masked_linear(n_in=6, n_out=4, density=0.5, seed=0):
    """A stand-in for a masked linear layer: nn.Linear with a 0/1 `mask` buffer, weights zero off it."""
    torch.manual_seed(seed)
    lin = nn.Linear(n_in, n_out)
    g = torch.Generator().manual_seed(seed)
    m = (torch.rand(n_out, n_in, generator=g) < density).float()
    lin.register_buffer("mask", m)
    with torch.no_grad():
        lin.weight.mul_(m)
    return lin


def forward(lin, x):
    return F.linear(x, lin.weight * lin.mask, lin.bias)


def signals(lin, seed=0):
    """A dense gradient (w.r.t. the effective weight W*M) and pre/post activity for one batch."""
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(32, lin.in_features, generator=g)
    w_eff = (lin.weight * lin.mask).detach().requires_grad_(True)
    post = torch.relu(F.linear(x, w_eff, lin.bias))
    (grad,) = torch.autograd.grad(post.pow(2).sum(), w_eff)
    return {"grad": grad, "pre": x, "post": post.detach()}


def test_prune_fraction_endpoints_and_midpoint():
    assert prune_fraction(0, 100, 0.3) == pytest.approx(0.3)
    assert prune_fraction(100, 100, 0.3) == pytest.approx(0.0, abs=1e-12)
    assert prune_fraction(50, 100, 0.3) == pytest.approx(0.15)
    assert prune_fraction(250, 100, 0.3) == pytest.approx(0.0, abs=1e-12)  # clamped past the end
    assert prune_fraction(25, 100, 0.4) == pytest.approx(0.4 * (1 + math.cos(math.pi / 4)) / 2)


def test_prune_smallest_drops_the_smallest_active_magnitudes():
    w = torch.tensor([[0.5, -0.1, 9.0], [-0.05, 2.0, 0.01]])
    m = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])  # 0.01 is inactive: never a candidate
    new = prune_smallest(w, m, 2)
    assert new.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    assert m.sum() == 5  # input untouched
    with pytest.raises(ValueError):
        prune_smallest(w, m, 6)


def test_gradient_regrowth_picks_the_largest_inactive_gradients_and_skips_forbidden():
    m = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    grad = torch.tensor([[100.0, -3.0, 1.0], [2.5, 50.0, 7.0]])
    forbidden = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # (1, 1) was pruned this round
    new = regrow(m, 2, "gradient", grad=grad, forbidden=forbidden)
    # inactive & allowed: (0,1)=3, (0,2)=1, (1,0)=2.5 -> the two largest |grad| are (0,1) and (1,0)
    assert new.tolist() == [[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]


def test_gradient_ties_break_toward_the_lower_flat_index():
    m = torch.zeros(2, 2)
    new = regrow(m, 1, "gradient", grad=torch.ones(2, 2))
    assert new.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_hebbian_regrowth_grows_the_most_correlated_pair():
    g = torch.Generator().manual_seed(0)
    pre = torch.randn(256, 6, generator=g)
    post = torch.randn(256, 4, generator=g)
    post[:, 2] = pre[:, 5] + 1e-3 * torch.randn(256, generator=g)
    scores = hebbian_scores(pre, post)
    assert scores[2, 5] == pytest.approx(1.0, abs=1e-5)
    m = torch.zeros(4, 6)
    m[0, :3] = 1
    new = regrow(m, 1, "hebbian", pre=pre, post=post)
    assert (new - m).nonzero().tolist() == [[2, 5]]


def test_hebbian_scores_are_zero_for_silent_units():
    pre = torch.randn(16, 3)
    post = torch.zeros(16, 2)
    assert hebbian_scores(pre, post).abs().max() == 0


def test_random_regrowth_is_seeded():
    m = torch.zeros(5, 5)
    a = regrow(m, 7, "random", seed=3)
    assert a.sum() == 7 and torch.equal(a, regrow(m, 7, "random", seed=3))
    assert not torch.equal(a, regrow(m, 7, "random", seed=4))


def test_regrow_rejects_missing_signals_and_unknown_rules():
    m = torch.zeros(2, 2)
    with pytest.raises(ValueError):
        regrow(m, 1, "gradient")
    with pytest.raises(ValueError):
        regrow(m, 1, "hebbian", pre=torch.randn(4, 2))
    with pytest.raises(ValueError):
        regrow(m, 1, "oracle")
    with pytest.raises(ValueError):
        regrow(m, 5, "random")


@pytest.mark.parametrize("rule", ["random", "gradient", "hebbian"])
def test_dst_step_keeps_edges_prunes_smallest_and_grows_at_zero(rule):
    lin = masked_linear(8, 6, density=0.5)
    old = lin.mask.clone()
    w_old = lin.weight.detach().clone()
    edges = int(old.sum())
    n = round(0.3 * edges)
    expected_pruned = (old - prune_smallest(w_old, old, n)).bool()
    stats = dst_step(lin, rule, 0.3, **signals(lin), seed=1)
    new = lin.mask
    assert int(new.sum()) == edges
    assert stats["pruned"] == stats["grown"] == n and stats["kept"] == edges - n
    assert stats["turnover"] == pytest.approx(n / edges)
    assert torch.equal((old.bool() & ~new.bool()), expected_pruned)
    # the pruned ones were the smallest-|w| active edges
    kept_abs = w_old.abs()[old.bool() & new.bool()]
    assert w_old.abs()[expected_pruned].max() <= kept_abs.min()
    grown = new.bool() & ~old.bool()
    assert int(grown.sum()) == n
    assert torch.all(lin.weight[grown] == 0)  # grown edges start at 0
    assert torch.all(lin.weight[~new.bool()] == 0)  # masked weights stay 0
    assert torch.equal(lin.weight[old.bool() & new.bool()], w_old[old.bool() & new.bool()])
    x = torch.randn(3, 8)
    assert torch.allclose(forward(lin, x), F.linear(x, lin.weight, lin.bias))


def test_dst_step_caps_at_the_room_to_regrow_and_works_through_set_mask():
    lin = masked_linear(4, 3, density=1.0)
    lin.mask[0, 0] = 0  # 11 of 12 active: only one free slot
    lin.set_mask = lambda m: lin.mask.copy_(m)  # a MaskedLinear-like method, not required by dst_step
    stats = dst_step(lin, "random", 0.5)
    assert stats["pruned"] == stats["grown"] == 1 and int(lin.mask.sum()) == 11
    assert lin.mask[0, 0] == 1 and lin.weight[0, 0] == 0


def test_edge_turnover_on_a_hand_example():
    old = torch.tensor([[1, 1, 0], [0, 1, 0]])
    new = torch.tensor([[1, 0, 1], [1, 1, 0]])
    assert edge_turnover(old, new) == {"pruned": 1, "grown": 2, "kept": 2, "turnover": 3 / 6}
    assert edge_turnover(torch.zeros(2, 2), torch.zeros(2, 2))["turnover"] == 0.0


def test_schedule_updates_every_dT_until_stop_with_decaying_fraction():
    model = nn.Sequential(masked_linear(6, 5, seed=0), nn.ReLU(), masked_linear(5, 4, seed=1))
    assert [name for name, _ in masked_modules(model)] == ["0", "2"]
    edges = [int(m.mask.sum()) for _, m in masked_modules(model)]
    sched = DSTSchedule(rule="random", dT=10, total_steps=100, initial=0.5, stop_fraction=0.5)
    assert [s for s in range(101) if sched.is_update_step(s)] == [10, 20, 30, 40]
    assert sched.maybe_update(5, model) is None and sched.maybe_update(50, model) is None
    out = sched.maybe_update(10, model)
    assert [r["name"] for r in out] == ["0", "2"]
    assert out[0]["fraction"] == pytest.approx(prune_fraction(10, 100, 0.5))
    assert all(r["pruned"] == r["grown"] for r in out)
    assert [int(m.mask.sum()) for _, m in masked_modules(model)] == edges


def test_schedule_passes_per_module_signals_and_replays_deterministically():
    def run():
        lin = masked_linear(6, 4, density=0.5, seed=2)
        sched = DSTSchedule(rule="gradient", dT=1, total_steps=10)
        sig = signals(lin)
        sched.maybe_update(1, {"fc": lin}, grad={"fc": sig["grad"]})
        return lin.mask.clone()

    assert torch.equal(run(), run())
    with pytest.raises(ValueError):
        DSTSchedule(rule="oracle")


@pytest.mark.parametrize("largest", [True, False])
def test_selection_matches_a_stable_sort_with_ties_at_the_cut(largest):
    from netarium.training.dst import _first_n

    g = torch.Generator().manual_seed(3)
    score = torch.randint(0, 4, (30, 40), generator=g).double()  # many ties
    candidates = torch.rand(30, 40, generator=g) < 0.6
    idx = torch.nonzero(candidates.reshape(-1)).reshape(-1)
    values = score.reshape(-1)[idx]
    order = torch.sort(-values if largest else values, stable=True).indices  # ties: the lower flat index first
    for n in (0, 1, 7, 100, 300, len(idx) - 1, len(idx)):
        expected = idx[order[:n]].sort().values
        assert torch.equal(_first_n(score, candidates, n, largest=largest), expected), n
