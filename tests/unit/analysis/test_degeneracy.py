import numpy as np
import pytest
import torch
import torch.nn.functional as F

from netarium.analysis.degeneracy import (
    LayerDegeneracy,
    _gini,
    _top_mass,
    cofiring_groups,
    degeneracy_report,
    duplicate_groups,
    interaction_basis,
    interaction_sparsity,
    plant_redundancy,
    tap_jacobian,
)
from netarium.analysis.geometry import effective_rank
from netarium.models import ModelSpec, build_model
from netarium.models.taps import record


def relu_columns(n=200, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(size=(n, d)), 0.0)


def small_mlp(seed=0, hidden=(5, 4), n_in=3, n_out=2):
    torch.manual_seed(seed)
    return build_model("mlp", {"hidden": list(hidden), "activation": "relu"}, ModelSpec(n_in, n_out))


def toy_data(seed=0, n=256):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).long() + (x[:, 2] > 0.5).long()
    return x, y


@pytest.fixture(scope="module")
def trained():
    """A 4 -> 16 -> 16 -> 3 ReLU MLP fit to a 3-class toy task (300 Adam steps, seeded)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: threads only add contention on a busy machine
    try:
        torch.manual_seed(0)
        model = build_model("mlp", {"hidden": [16, 16], "activation": "relu"}, ModelSpec(4, 3))
        x, y = toy_data(0)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(300):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    for p in model.parameters():
        p.grad = None
    return model, x, y


# --- activation degeneracies ------------------------------------------------------------------


def test_duplicate_groups_find_scaled_and_negated_copies_but_not_constants():
    base = relu_columns(d=3, seed=1)
    A = np.column_stack([
        base[:, 0],             # 0
        3.0 * base[:, 0],       # 1: exact copy x3
        np.zeros(len(base)),    # 2: dead (constant)
        -2.0 * base[:, 0] + 1,  # 3: negated affine copy, |r| = 1
        base[:, 1],             # 4: independent
        np.full(len(base), 7.0),  # 5: constant, excluded
        base[:, 2],             # 6: independent
        base[:, 2] * 0.5,       # 7: copy of 6
        np.full(len(base), 7.0),  # 8: constant, excluded even though equal to 5
    ])
    assert duplicate_groups(A) == [[0, 1, 3], [6, 7]]


def test_duplicate_groups_use_the_threshold_and_chain_into_components():
    rng = np.random.default_rng(2)
    a = rng.normal(size=500)
    b = a + 0.05 * rng.normal(size=500)  # r ~ 0.9988 with a
    c = b + 0.05 * rng.normal(size=500)  # r with a a bit lower
    A = np.column_stack([a, b, c])
    r = np.corrcoef(A, rowvar=False)
    assert r[0, 1] >= 0.99 and r[1, 2] >= 0.99
    assert duplicate_groups(A, threshold=0.99) == [[0, 1, 2]]
    assert duplicate_groups(A, threshold=0.99999) == []


def test_cofiring_groups_compare_firing_sets_not_magnitudes():
    rng = np.random.default_rng(3)
    n = 100
    on = rng.random(n) < 0.5
    A = np.zeros((n, 6))
    A[on, 0] = rng.random(on.sum()) + 0.1        # 0: fires on `on`
    A[on, 1] = 5 * rng.random(on.sum()) + 0.1    # 1: same set, unrelated magnitudes
    # 2: dead
    A[~on, 3] = 1.0                              # 3: fires on the complement
    A[:, 4] = 1.0                                # 4: always on
    A[on, 5] = 1.0
    A[np.flatnonzero(~on)[:2], 5] = 1.0          # 5: `on` plus 2 more points
    jaccard_05 = on.sum() / (on.sum() + 2)
    assert jaccard_05 > 0.95
    assert cofiring_groups(A) == [[0, 1, 5]]
    assert cofiring_groups(A, threshold=0.999) == [[0, 1]]
    assert 2 not in {u for g in cofiring_groups(A, threshold=0.0) for u in g}


def test_effective_rank_of_equal_singular_values_is_the_rank():
    rng = np.random.default_rng(4)
    n, d, r = 300, 10, 4
    X = rng.normal(size=(n, r))
    U, _, _ = np.linalg.svd(X - X.mean(0), full_matrices=False)  # centered orthonormal columns
    Q, _ = np.linalg.qr(rng.normal(size=(d, r)))
    A = 2.5 * U @ Q.T + rng.normal(size=d)  # equal singular values, plus an offset to be centered away
    assert effective_rank(A) == pytest.approx(r, abs=1e-6)
    assert effective_rank(A[:, :1] * np.ones((1, d))) == pytest.approx(1.0, abs=1e-6)
    assert effective_rank(np.ones((20, 3))) == 0.0


# --- Jacobians --------------------------------------------------------------------------------


def test_tap_jacobian_matches_the_analytic_jacobian_of_the_rest_of_the_mlp():
    model = small_mlp()
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(5))
    J = tap_jacobian(model, x, "layer1.post")
    assert J.shape == (7, 2, 5)
    h1 = record(model, x, ["layer1.pre"])["layer1.pre"].relu()
    lin2, out = model.layers[1].linear, model.readout
    for i in range(7):
        mask = (lin2(h1[i]) > 0).float()
        analytic = out.weight @ (mask[:, None] * lin2.weight)  # W_out diag(relu'(pre2)) W_2
        assert torch.allclose(J[i], analytic.detach(), atol=1e-6)


def test_tap_jacobian_of_the_input_matches_autograd_per_sample_on_a_residual_model():
    torch.manual_seed(6)
    model = build_model("residual-mlp", {"width": 8, "blocks": 2, "hidden": 16, "activation": "gelu"}, ModelSpec(4, 3))
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(6))
    J = tap_jacobian(model, x, "in")
    for i in range(5):
        expected = torch.autograd.functional.jacobian(lambda v: model(v[None])[0], x[i])
        assert torch.allclose(J[i], expected, atol=1e-5)
    assert all(p.grad is None for p in model.parameters())


def test_tap_jacobian_leaves_parameters_and_mode_alone():
    model = small_mlp()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    J = tap_jacobian(model, torch.randn(4, 3), "logits")
    assert torch.equal(J, torch.eye(2).expand(4, 2, 2))  # d logits / d logits = I
    assert all(p.grad is None for p in model.parameters())
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(KeyError):
        tap_jacobian(model, torch.randn(4, 3), "nope")


# --- interaction basis ------------------------------------------------------------------------


def test_interaction_coordinates_are_white_and_drop_a_dependent_unit():
    rng = np.random.default_rng(7)
    n, d = 400, 5
    A = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 3.0
    J = rng.normal(size=(n, 2, d))
    basis, g = interaction_basis(A, J)
    assert basis.shape == (d, d) and g.shape == (d,)
    C = (A - A.mean(0)) @ basis
    assert np.allclose(C.T @ C / n, np.eye(d), atol=1e-8)
    assert np.all(np.diff(g) <= 1e-12) and np.all(g >= 0)

    A_dep = np.column_stack([A, A[:, 0] + A[:, 1]])  # a linearly dependent sixth unit
    J_dep = rng.normal(size=(n, 2, d + 1))
    basis_dep, g_dep = interaction_basis(A_dep, J_dep)
    assert basis_dep.shape == (d + 1, d) and g_dep.shape == (d,)
    C = (A_dep - A_dep.mean(0)) @ basis_dep
    assert np.allclose(C.T @ C / n, np.eye(d), atol=1e-8)


def test_interaction_basis_of_a_linear_readout_has_one_direction_equal_to_the_output():
    rng = np.random.default_rng(8)
    n, d = 300, 4
    A = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    w = rng.normal(size=d)
    J = np.broadcast_to(w, (n, 1, d))  # output = A @ w
    basis, g = interaction_basis(A, J)
    out = (A - A.mean(0)) @ w
    assert g[0] == pytest.approx(out.var(), rel=1e-9)  # w^T C w
    assert np.allclose(g[1:], 0.0, atol=1e-9 * g[0])
    c0 = (A - A.mean(0)) @ basis[:, 0]
    assert abs(np.corrcoef(c0, out)[0, 1]) == pytest.approx(1.0, abs=1e-9)


# --- sparsity helpers -------------------------------------------------------------------------


def test_gini_and_top_mass_on_hand_counted_vectors():
    assert _gini(np.ones(10)) == 0.0
    assert _gini(np.eye(1, 10).ravel()) == pytest.approx(0.9)  # (m - 1) / m
    assert _gini(np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(0.5)
    assert _gini(np.zeros(4)) == 0.0
    assert _top_mass(np.ones(20)) == pytest.approx(0.1)  # 2 of 20 equal entries
    assert _top_mass(np.array([9.0] + [1.0] * 9)) == pytest.approx(0.5)


# --- the report on a trained net ---------------------------------------------------------------


def test_redundant_units_counts_each_removable_unit_once():
    layer = LayerDegeneracy("layer1.post", 10, 5.0, dead=[9], duplicates=[[1, 2]],
                            cofiring=[[1, 2, 3], [5, 6]], interaction_eigenvalues=np.zeros(0))
    assert layer.redundant_units == 1 + 2 + 1  # dead 9; {1,2,3} keeps one; {5,6} keeps one
    chained = LayerDegeneracy("t", 6, 3.0, dead=[], duplicates=[[2, 3]], cofiring=[[1, 2]],
                              interaction_eigenvalues=np.zeros(0))
    assert chained.redundant_units == 2


def test_report_finds_planted_dead_and_duplicate_units_in_the_right_layer(trained):
    model, x, _ = trained
    base = {r.tap: r for r in degeneracy_report(model, x)}
    assert [r for r in base] == ["layer1.post", "layer2.post"]
    clean = base["layer1.post"]
    assert (clean.dead, clean.duplicates, clean.cofiring) == ([], [], [])
    assert clean.n_units == 16 and len(clean.interaction_eigenvalues) == 16

    dead = degeneracy_report(plant_redundancy(model, "dead", layer=0, unit=3), x, ["layer1.post"])[0]
    assert dead.dead == [3] and dead.duplicates == [] and dead.redundant_units == 1
    assert dead.effective_rank < clean.effective_rank

    dup = degeneracy_report(plant_redundancy(model, "duplicate", layer=0, unit=5, source=7), x, ["layer1.post"])[0]
    assert dup.dead == [] and dup.duplicates == [[5, 7]] and dup.cofiring == [[5, 7]]
    assert dup.redundant_units == 1
    assert dup.effective_rank < clean.effective_rank - 0.3
    assert len(dup.interaction_eigenvalues) == 15  # the copy is a linearly dependent direction


def test_interaction_basis_is_sparser_between_hidden_layers_of_the_trained_net(trained):
    model, x, _ = trained
    s = interaction_sparsity(model, x, "layer1.post", "layer2.post")
    assert set(s) == {"standard", "interaction", "standard_top10", "interaction_top10"}
    assert all(0.0 <= v <= 1.0 for v in s.values())
    # measured with this seed: standard 0.50 vs interaction 0.64 (Gini), top-10% mass 0.29 vs 0.39
    assert s["interaction"] > s["standard"] + 0.05
    assert s["interaction_top10"] > s["standard_top10"]
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="runs before"):
        interaction_sparsity(model, x, "layer2.post", "layer1.post")


# --- planting ---------------------------------------------------------------------------------


def test_plant_dead_never_fires_and_leaves_the_argument_alone():
    model = small_mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    planted = plant_redundancy(model, "dead", layer=1, unit=2)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    h = record(planted, torch.randn(500, 3) * 10, ["layer2.post"])["layer2.post"]
    assert torch.all(h[:, 2] == 0) and torch.any(h[:, [0, 1, 3]] != 0)


def test_plant_duplicate_changes_the_function_only_by_the_units_old_contribution():
    model = small_mlp()
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(9))
    planted = plant_redundancy(model, "duplicate", layer=0, unit=1, source=4)
    h = record(model, x, ["layer1.post"])["layer1.post"]
    hp = record(planted, x, ["layer1.post"])["layer1.post"]
    assert torch.equal(hp[:, 1], hp[:, 4]) and torch.equal(hp[:, 4], h[:, 4])
    W = model.layers[1].linear.weight.detach()
    pre2 = record(model, x, ["layer2.pre"])["layer2.pre"]
    pre2_planted = record(planted, x, ["layer2.pre"])["layer2.pre"]
    assert torch.allclose(pre2_planted, pre2 - h[:, 1:2] * W[:, 1], atol=1e-6)
    # on the last hidden layer the readout is split instead
    last = plant_redundancy(model, "duplicate", layer=1, unit=0, source=3)
    assert torch.allclose(last.readout.weight[:, 0], model.readout.weight[:, 3] / 2)


def test_plant_redundancy_rejects_bad_arguments():
    model = small_mlp()
    with pytest.raises(ValueError):
        plant_redundancy(model, "copy")
    with pytest.raises(ValueError):
        plant_redundancy(model, "duplicate", unit=2, source=2)
    with pytest.raises(IndexError):
        plant_redundancy(model, "dead", layer=2)
    with pytest.raises(IndexError):
        plant_redundancy(model, "dead", unit=5)
