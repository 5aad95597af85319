"""The convex program of two-layer ReLU nets (training/convex.py): patterns, ADMM, FISTA, the mapped network."""

import numpy as np
import pytest
import torch

from netarium.models.base import ModelSpec, build_model
from netarium.training.convex import (
    admm,
    admm_gated,
    certificate,
    constraint_violation,
    enumerate_patterns_2d,
    fista_gated,
    gated_objective,
    loss_value,
    network_objective,
    network_predict,
    objective,
    patterns,
    patterns_of_network,
    polish,
    polish_gated,
    predict,
    time_to_gap,
    to_network,
    unique_patterns,
    with_ones,
)


@pytest.fixture(autouse=True)
def one_thread():
    """The solvers' iterations are many small ops: on CI's 2 shared cores one torch thread is the fast setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def as_set(D: torch.Tensor) -> set:
    return {tuple(c) for c in D.T.numpy().tolist()}


def brute_force_2d(X: np.ndarray, n_angles: int = 40_000) -> torch.Tensor:
    """Patterns of many lines (40k directions x every threshold between the sorted projections, 240k+ gates
    for n >= 6): each direction splits the points at every offset, so only cells narrower than 2 pi / 40k in
    direction could be missed."""
    theta = (np.arange(n_angles) + 0.5) * (2 * np.pi / n_angles)
    dirs = np.stack([np.cos(theta), np.sin(theta)], 1)
    proj = np.sort(X @ dirs.T, axis=0)  # (n, angles)
    mids = np.concatenate([proj[:1] - 1, (proj[1:] + proj[:-1]) / 2, proj[-1:] + 1])  # (n + 1, angles)
    g = np.concatenate([np.repeat(dirs, len(mids), 0), -mids.T.reshape(-1, 1)], 1)
    return unique_patterns(with_ones(X) @ torch.from_numpy(g).T >= 0)


def xor_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    return X, np.sign(X[:, 0] * X[:, 1])


# ----------------------------------------------------------------------------------------- patterns

@pytest.mark.parametrize("seed,n", [(0, 6), (1, 7), (2, 8)])
def test_enumeration_equals_brute_force(seed, n):
    X = np.random.default_rng(seed).uniform(-1, 1, (n, 2))
    E = enumerate_patterns_2d(X)
    B = brute_force_2d(X)
    assert as_set(E) == as_set(B)
    assert E.shape[1] == len(as_set(E))  # no duplicates
    assert E.any(0).all()  # no all-zero pattern
    # n points in general position: n^2 - n + 2 cells, minus the all-zero one
    assert E.shape[1] == n * n - n + 1


def test_enumeration_with_collinear_and_repeated_points():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.5, -1.0], [-1.0, 0.7], [1.0, 1.0]])
    assert as_set(enumerate_patterns_2d(X)) == as_set(brute_force_2d(X))


def test_enumeration_needs_2d():
    with pytest.raises(ValueError, match="2-D inputs"):
        enumerate_patterns_2d(np.zeros((5, 3)))


def test_sampled_patterns_are_deterministic_unique_and_a_subset_of_all():
    X = np.random.default_rng(3).uniform(-1, 1, (20, 2))
    A, B = patterns(X, 200, seed=7), patterns(X, 200, seed=7)
    assert torch.equal(A, B)
    assert not torch.equal(A, patterns(X, 200, seed=8))
    assert A.shape[0] == 20 and A.shape[1] == len(as_set(A)) and A.any(0).all()
    assert as_set(A) <= as_set(enumerate_patterns_2d(X))


def test_patterns_of_network_are_its_units_patterns():
    X = np.random.default_rng(0).normal(size=(30, 2))
    W1 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    b1 = torch.tensor([0.0, 0.0, 0.5, -1.0], dtype=torch.float64)  # a duplicate unit and a dead one
    D = patterns_of_network(W1, b1, X)
    assert D.shape == (30, 2)
    assert as_set(D) == {tuple((X[:, 0] >= 0).tolist()), tuple((X[:, 1] + 0.5 >= 0).tolist())}
    pooled = unique_patterns(D, patterns(X, 50, seed=0))
    assert as_set(D) <= as_set(pooled)


# ----------------------------------------------------------------------------------------- solvers vs cvxpy

def cvxpy_reference(X, y, D, lam, gated=False, loss="squared"):
    """(value, U, V) of cvxpy (CLARABEL; SCS where CLARABEL stalls, the constrained logistic program) on the program."""
    pytest.importorskip("cvxpy")
    from netarium.bench.convex import reference_solve

    ref = reference_solve(X, y, D, lam, gated=gated, loss=loss)
    return ref["value"], ref["u"], ref["v"]


@pytest.mark.parametrize("seed,n,gates,lam", [(0, 25, 30, 1e-2), (1, 20, 20, 3e-2)])
def test_admm_agrees_with_cvxpy(seed, n, gates, lam):
    X, y = xor_data(n, seed)
    D = patterns(X, gates, seed=seed)
    assert 10 <= D.shape[1] <= 30
    ref, _, _ = cvxpy_reference(X, y, D, lam)
    sol = admm(X, y, D, lam)
    assert sol.converged
    assert abs(sol.value - ref) <= 1e-4 * ref
    assert constraint_violation(sol.u, sol.v, X, D) < 1e-5
    assert sol.value == pytest.approx(objective(sol.u, sol.v, X, y, D, lam), rel=1e-12)
    assert len(sol.primal) == len(sol.dual) == len(sol.seconds) == sol.iterations
    assert np.all(np.diff(sol.seconds) >= 0)
    k, secs = time_to_gap(sol, ref, 1e-4)
    assert 1 <= k <= sol.iterations and secs == sol.seconds[k - 1]
    assert all(abs(f - ref) <= 1e-4 * ref for f in sol.objective[k - 1:])
    assert abs(sol.objective[k - 2] - ref) > 1e-4 * ref
    assert time_to_gap(sol, 2 * ref, 1e-4) is None


@pytest.mark.parametrize("seed,n,gates,lam", [(0, 25, 30, 1e-2), (1, 30, 20, 3e-3)])
def test_fista_gated_agrees_with_cvxpy(seed, n, gates, lam):
    X, y = xor_data(n, seed)
    D = patterns(X, gates, seed=seed)
    ref, _, _ = cvxpy_reference(X, y, D, lam, gated=True)
    sol = fista_gated(X, y, D, lam)
    assert sol.converged
    assert abs(sol.value - ref) <= 1e-4 * ref
    assert sol.value == pytest.approx(gated_objective(sol.u, X, y, D, lam), rel=1e-12)
    assert torch.count_nonzero(sol.v) == 0
    # monotone objective (restarts drop every increasing step)
    assert np.all(np.diff(sol.objective) <= 1e-15)


@pytest.mark.parametrize("seed,n,gates,lam", [(0, 25, 30, 1e-2), (1, 30, 20, 3e-3)])
def test_admm_gated_agrees_with_cvxpy_and_fista(seed, n, gates, lam):
    """ADMM on the gated program: the cvxpy optimum within 1e-4, exactly group-sparse, the same optimum by the
    direct factor (P(k+1) <= n) and by Woodbury (more pattern coordinates than points: every pattern of 2-D data)."""
    X, y = xor_data(n, seed)
    D = patterns(X, gates, seed=seed)
    ref, _, _ = cvxpy_reference(X, y, D, lam, gated=True)
    sol = admm_gated(X, y, D, lam)
    assert sol.converged and sol.method == "admm-gated"
    assert abs(sol.value - ref) <= 1e-4 * ref
    assert sol.value == pytest.approx(gated_objective(sol.u, X, y, D, lam), rel=1e-12)
    assert torch.count_nonzero(sol.v) == 0 and 0 < int((sol.u.norm(dim=1) > 0).sum()) < D.shape[1]
    few = D[:, : len(y) // 3]  # P (k+1) <= n: the direct factor (the full D above goes by Woodbury)
    direct = admm_gated(X, y, few, lam)
    assert direct.converged and abs(direct.value - fista_gated(X, y, few, lam).value) <= 1e-4 * direct.value
    every = enumerate_patterns_2d(X[:12])
    wood = admm_gated(X[:12], y[:12], every, lam)
    assert every.shape[1] * 3 > 12 and wood.converged
    assert abs(wood.value - fista_gated(X[:12], y[:12], every, lam).value) <= 1e-4 * wood.value
    with pytest.raises(ValueError, match="rho > 0"):
        admm_gated(X, y, D, lam, rho=-1.0)


def test_admm_polish_is_certified_feasible_and_agrees_with_cvxpy():
    """ADMM stopped early (300 iterations) then polished: feasible to rounding, better than the iterate, within 1e-6
    of cvxpy, and its certificate's lower bound is below cvxpy's optimum; with the polish on the way ADMM stops
    by itself once the certified gap is <= 1e-6."""
    X, y = xor_data(40, 5)
    lam = 1e-2
    D = patterns(X, 40, seed=5)
    ref, U, V = cvxpy_reference(X, y, D, lam)
    rough = admm(X, y, D, lam, max_iter=300, polish=False)
    assert not rough.converged and rough.polished is None and constraint_violation(rough.u, rough.v, X, D) > 1e-8
    sol = admm(X, y, D, lam, max_iter=300, polish_every=0)  # the same iterations, then one polish
    assert sol.objective[:-1] == rough.objective and sol.polished == 300 and sol.iterations == 301
    assert constraint_violation(sol.u, sol.v, X, D) <= 1e-9
    assert sol.value == pytest.approx(objective(sol.u, sol.v, X, y, D, lam), rel=1e-12)
    assert sol.value < rough.value and abs(sol.value - ref) <= 1e-6 * ref
    assert sol.lower <= ref * (1 + 1e-9)  # a valid bound (tight only with good multipliers: see `auto`)
    # with the polish on the way (every 50 iterations, once the support holds) it stops by itself
    auto = admm(X, y, D, lam)
    assert auto.converged and auto.polished is not None and auto.polished < 1000
    assert auto.gap <= 1e-6 and auto.lower <= ref * (1 + 1e-9) and abs(auto.value - ref) <= 1e-6 * ref
    # polish on its own (active rows found geometrically) refines cvxpy's answer, feasible and not worse; with
    # cvxpy's multipliers its certificate proves the gap
    from netarium.bench.convex import reference_solve

    mu = reference_solve(X, y, D, lam)["mu"]
    u, v, cert = polish(X, y, D, lam, U, V, mu=mu)
    assert cert.violation <= 1e-9 and cert.primal <= ref * (1 + 1e-9) and cert.gap <= 1e-6
    assert cert.primal == pytest.approx(objective(u, v, X, y, D, lam), rel=1e-12)
    assert cert.primal == pytest.approx(sol.value, rel=1e-9)


def test_certificate_bounds_hold_away_from_the_optimum():
    """The dual bound is a lower bound of the optimum for any point (a rough iterate, zero); the gated bound is exact."""
    X, y = xor_data(25, 0)
    lam = 1e-2
    D = patterns(X, 30, seed=0)
    ref, U, V = cvxpy_reference(X, y, D, lam)
    for u, v in ((np.zeros_like(U), np.zeros_like(V)), (U, V), (0.5 * U, 0.5 * V)):
        c = certificate(u, v, X, y, D, lam)
        assert c.lower <= ref * (1 + 1e-9) and c.primal >= ref * (1 - 1e-6)
    gref, Ug, _ = cvxpy_reference(X, y, D, lam, gated=True)
    cg = certificate(Ug, None, X, y, D, lam, gated=True)
    assert cg.lower <= gref * (1 + 1e-9) and cg.gap < 1e-6 and cg.violation == 0


def test_polish_gated_from_a_rough_fista_iterate():
    X, y = xor_data(30, 1)
    lam = 3e-3
    D = patterns(X, 20, seed=1)
    ref, _, _ = cvxpy_reference(X, y, D, lam, gated=True)
    rough = fista_gated(X, y, D, lam, max_iter=300)
    w, cert = polish_gated(X, y, D, lam, rough.u)
    assert cert.primal == pytest.approx(gated_objective(w, X, y, D, lam), rel=1e-12)
    assert cert.primal <= rough.value and abs(cert.primal - ref) <= 1e-6 * ref and cert.gap < 1e-6
    sol = fista_gated(X, y, D, lam, polish_every=100)
    assert sol.converged and sol.polished is not None and sol.gap <= 1e-6
    assert abs(sol.value - ref) <= 1e-6 * ref


# ----------------------------------------------------------------------------------------- the logistic loss

def test_logistic_loss_value_and_bad_input():
    f = torch.tensor([0.0, 2.0, -1.0], dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
    expected = np.mean(np.log1p(np.exp(-y.numpy() * f.numpy())))
    assert float(loss_value(f, y, "logistic")) == pytest.approx(expected, rel=1e-14)
    assert float(loss_value(f, y, "squared")) == pytest.approx(0.5 * np.mean((f - y).numpy() ** 2), rel=1e-14)
    X, y01 = xor_data(10, 0)
    D = patterns(X, 10, seed=0)
    with pytest.raises(ValueError, match="loss must be"):
        admm(X, y01, D, 1e-2, loss="hinge")
    with pytest.raises(ValueError, match="targets y in"):
        fista_gated(X, (y01 + 1) / 2, D, 1e-2, loss="logistic")


@pytest.mark.parametrize("seed,n,gates,lam", [(0, 25, 30, 1e-2), (1, 20, 20, 3e-2)])
def test_logistic_admm_and_fista_agree_with_cvxpy(seed, n, gates, lam):
    X, y = xor_data(n, seed)
    D = patterns(X, gates, seed=seed)
    ref, _, _ = cvxpy_reference(X, y, D, lam, loss="logistic")
    sol = admm(X, y, D, lam, loss="logistic")
    assert sol.converged
    assert abs(sol.value - ref) <= 1e-4 * ref
    assert constraint_violation(sol.u, sol.v, X, D) < 1e-5
    assert sol.value == pytest.approx(objective(sol.u, sol.v, X, y, D, lam, loss="logistic"), rel=1e-12)
    gref, _, _ = cvxpy_reference(X, y, D, lam, gated=True, loss="logistic")
    gated = fista_gated(X, y, D, lam, loss="logistic")
    assert gated.converged
    assert abs(gated.value - gref) <= 1e-4 * gref
    assert gated.value == pytest.approx(gated_objective(gated.u, X, y, D, lam, loss="logistic"), rel=1e-12)
    assert np.all(np.diff(gated.objective) <= 1e-15)
    # the logistic and the squared programs differ (the loss is not ignored)
    assert abs(fista_gated(X, y, D, lam).value - gated.value) > 1e-3


def test_mapped_network_logistic_objective_equals_the_convex_one():
    X, y = xor_data(25, 0)
    lam = 1e-2
    D = patterns(X, 30, seed=0)
    sol = admm(X, y, D, lam, loss="logistic")
    assert sol.polished is not None and constraint_violation(sol.u, sol.v, X, D) <= 1e-9
    net = to_network(sol, D)
    conv = predict(sol.u, sol.v, X, D)
    assert torch.allclose(network_predict(net, X), conv, rtol=0, atol=1e-9 * float(conv.abs().max()))
    assert network_objective(net["W1"], net["b1"], net["a"], X, y, lam, loss="logistic") == pytest.approx(
        sol.value, rel=1e-9)


def test_solvers_are_deterministic():
    X, y = xor_data(20, 4)
    D = patterns(X, 20, seed=4)
    a, b = admm(X, y, D, 1e-2, max_iter=200), admm(X, y, D, 1e-2, max_iter=200)
    assert a.objective == b.objective and torch.equal(a.u, b.u)
    f, g = fista_gated(X, y, D, 1e-2, max_iter=200), fista_gated(X, y, D, 1e-2, max_iter=200)
    assert f.objective == g.objective and torch.equal(f.u, g.u)


def test_bad_input_is_named():
    X, y = xor_data(10, 0)
    D = patterns(X, 10, seed=0)
    with pytest.raises(ValueError, match="lam"):
        admm(X, y, D, 0.0)
    with pytest.raises(ValueError, match="disagree on n"):
        fista_gated(X, y[:5], D, 1e-2)
    with pytest.raises(ValueError, match="balance must be"):
        admm(X, y, D, 1e-2, balance="nope")
    with pytest.raises(ValueError, match="alpha"):
        admm(X, y, D, 1e-2, alpha=2.5)


# ----------------------------------------------------------------------------------------- the network

def test_mapped_network_reproduces_the_convex_model():
    X, y = xor_data(25, 0)
    D = patterns(X, 30, seed=0)
    lam = 1e-2
    sol = admm(X, y, D, lam, eps_abs=1e-10, eps_rel=1e-9, max_iter=20000)
    net = to_network(sol, D, tol=1e-6)  # neurons under 1e-6 of the largest group dropped
    m = net["hidden"]
    assert 1 <= m <= 2 * D.shape[1]
    # every neuron's pattern on X is its D_i (where its pre-activation is not ~0 within the solver's tolerance)
    pre = with_ones(X) @ torch.cat([net["W1"], net["b1"][:, None]], 1).T
    agree = (pre >= 0) == net["patterns"]
    assert bool(agree[pre.abs() > 1e-4 * pre.abs().amax(0)].all())
    assert float(agree.double().mean()) > 0.95
    # predictions and loss
    conv = predict(sol.u, sol.v, X, D)
    assert torch.allclose(network_predict(net, X), conv, rtol=0, atol=1e-6 * float(conv.abs().max()))
    net_loss = network_objective(net["W1"], net["b1"], net["a"], X, y, lam)
    assert net_loss == pytest.approx(sol.value, rel=1e-6)
    # ... and the mlp of the model registry, loaded with the state, computes the same function
    model = build_model("mlp", {"hidden": [m], "activation": "relu"}, ModelSpec(2, 1)).double()
    model.load_state_dict(net["state"])
    with torch.no_grad():
        out = model(torch.from_numpy(X))[:, 0]
    assert torch.allclose(out, network_predict(net, X), rtol=0, atol=1e-12)
    w2 = sum(float(p.detach().pow(2).sum()) for p in model.parameters())
    mlp_loss = 0.5 * float((out - torch.from_numpy(y)).pow(2).mean()) + 0.5 * lam * w2
    assert mlp_loss == pytest.approx(sol.value, rel=1e-6)


def test_to_network_balanced_scaling_on_an_exact_solution():
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0]])
    D = torch.tensor([[True, False], [False, True], [True, True]])
    u = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[0.0, 0.0, 0.0], [-4.0, 0.0, 3.0]], dtype=torch.float64)  # X1 v_1 = (-1, 7, 3)
    net = to_network((u, v), D)
    assert net["hidden"] == 2
    assert torch.allclose(net["a"], torch.tensor([2.0**0.5, -(5.0**0.5)], dtype=torch.float64))
    assert torch.allclose(net["W1"][1], torch.tensor([-4.0, 0.0], dtype=torch.float64) / 5**0.5)
    assert torch.allclose(net["b1"][1], torch.tensor(3.0 / 5**0.5, dtype=torch.float64))
    assert constraint_violation(u, v, X, D) == 0
    y = np.array([0.5, -1.0, 2.0])
    assert network_objective(net["W1"], net["b1"], net["a"], X, y, 0.1) == pytest.approx(
        objective(u, v, X, y, D, 0.1), rel=1e-12)


def sgd_net(X, y, lam, width, seed, steps=3000):
    """A plain two-layer ReLU net without readout bias (as in the convex program), trained by full-batch Adam
    (one torch thread: small ops on a shared machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(X, y, lam, width, seed, steps)
    finally:
        torch.set_num_threads(threads)


def _train(X, y, lam, width, seed, steps):
    torch.manual_seed(seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    W1 = torch.nn.Parameter(torch.randn(width, 2, dtype=torch.float64))
    b1 = torch.nn.Parameter(torch.randn(width, dtype=torch.float64) * 0.5)
    a = torch.nn.Parameter(torch.randn(width, dtype=torch.float64) / width**0.5)
    opt = torch.optim.Adam([W1, b1, a], lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        r = torch.relu(Xt @ W1.T + b1) @ a - yt
        loss = 0.5 * r.pow(2).mean() + 0.5 * lam * (W1.pow(2).sum() + b1.pow(2).sum() + a.pow(2).sum())
        loss.backward()
        opt.step()
    return W1.detach(), b1.detach(), a.detach()


def sgd_regularized_loss(X, y, lam, width, seed, steps=3000):
    return network_objective(*sgd_net(X, y, lam, width, seed, steps), X, y, lam)


def test_global_optimum_is_below_sgd():
    X, y = xor_data(12, 5)
    lam = 1e-2
    D = enumerate_patterns_2d(X)
    assert D.shape[1] == 12 * 12 - 12 + 1
    sol = admm(X, y, D, lam, rho=0.1)
    assert constraint_violation(sol.u, sol.v, X, D) < 1e-5
    sgd = [sgd_regularized_loss(X, y, lam, width=12, seed=s, steps=2000) for s in range(3)]
    assert all(sol.value <= f * (1 + 1e-6) for f in sgd), (sol.value, sgd)
    # the mapped network attains the optimum (within the solver's tolerance)
    net = to_network(sol, D)
    assert network_objective(net["W1"], net["b1"], net["a"], X, y, lam) == pytest.approx(sol.value, rel=1e-4)


def test_sampled_plus_sgd_patterns_are_never_above_sgd():
    """Beyond enumeration: the program over sampled patterns pooled with an SGD net's own is <= that net's loss
    (the net is a feasible point of it), and the gated relaxation is <= the constrained program."""
    X, y = xor_data(40, 6)
    lam = 1e-2
    W1, b1, a = sgd_net(X, y, lam, width=8, seed=0, steps=1500)
    sgd = network_objective(W1, b1, a, X, y, lam)
    D = unique_patterns(patterns(X, 40, seed=0), patterns_of_network(W1, b1, X))
    sol = admm(X, y, D, lam, max_iter=3000)
    assert constraint_violation(sol.u, sol.v, X, D) < 1e-4
    assert sol.value <= sgd, (sol.value, sgd)
    gated = fista_gated(X, y, D, lam, max_iter=2000)
    assert gated.value <= sol.value * (1 + 1e-4)


# ----------------------------------------------------------------------------------------- the bench's figures

def test_bench_figures_on_a_tiny_problem():
    pytest.importorskip("cvxpy")
    from netarium.bench.convex import convex_figures, report

    out = convex_figures(n_train=20, n_patterns=10, lam=1e-2, repeats=1)
    text = report(out)
    assert "CLARABEL" in text and "ratio ADMM / CLARABEL" in text and "n = 20," in text
    for key in ("n", "patterns", "optimum_constrained", "optimum_gated", "clarabel_s", "clarabel_solver_s",
                "clarabel_gated_s", "admm_s", "admm_iterations", "fista_s", "fista_iterations", "admm_ratio",
                "fista_ratio", "admm_gated_s", "admm_gated_ratio", "target_met", "target_met_by", "threads"):
        assert key in out, key
    assert out["n"] == 20 and out["threads"] == 1 and out["cvxpy"]
    assert abs(out["admm_value"] - out["optimum_constrained"]) <= 1e-3 * out["optimum_constrained"]
    assert abs(out["fista_value"] - out["optimum_gated"]) <= 1e-3 * out["optimum_gated"]
    assert abs(out["admm_gated_value"] - out["optimum_gated"]) <= 1e-3 * out["optimum_gated"]
    assert out["optimum_gated"] <= out["optimum_constrained"] * (1 + 1e-6)  # the gated program is a relaxation
    assert out["target_met"] == bool(out["target_met_by"]) and "target (a ratio <= 0.5)" in text
    assert torch.get_num_threads() == 1  # restored to this module's setting


def test_bench_without_cvxpy_says_so_and_uses_long_runs(monkeypatch):
    import netarium.bench.convex as bench

    monkeypatch.setattr(bench, "reference_solve", lambda *a, **k: None)
    out = bench.convex_figures(n_train=20, n_patterns=10, lam=1e-2, repeats=1, warmup=False)
    assert not out["cvxpy"] and "clarabel_s" not in out and "admm_ratio" not in out
    assert abs(out["admm_value"] - out["optimum_constrained"]) <= 1e-3 * out["optimum_constrained"]
    assert out["admm_iterations"] is not None and out["fista_iterations"] is not None
    text = bench.report(out)
    assert "cvxpy is not installed" in text and "CLARABEL 0" not in text
