import numpy as np
import pytest
import torch
from torch import nn

from netarium.analysis.hessian import (
    Eigen,
    HessianProbe,
    Trace,
    exact_hessian,
    hutchinson_trace,
    hvp_rebuilt,
    sharpness_and_trace,
    spectrum,
    top_eigenvalues,
)
from netarium.models import ModelSpec, build_model
from netarium.training.optim import resolve_loss


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: threads only add contention on a busy machine
    yield
    torch.set_num_threads(threads)


def toy_data(seed=0, n=64, d=4, classes=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def tanh_mlp(seed=0):
    """4 -> 8 -> 3 tanh MLP: 4*8 + 8 + 8*3 + 3 = 67 parameters."""
    torch.manual_seed(seed)
    return build_model("mlp", {"hidden": [8], "activation": "tanh"}, ModelSpec(4, 3))


MSE3 = resolve_loss("mse", "classification", 3, 3)  # mean squared error to one-hot targets


@pytest.fixture(scope="module")
def setup():
    model = tanh_mlp()
    x, y = toy_data()
    probe = HessianProbe(model, MSE3, x, y)
    H = exact_hessian(probe)
    return model, x, y, probe, H


def test_probe_counts_trainable_parameters_and_reports_loss_and_gradient(setup):
    model, x, y, probe, _ = setup
    assert probe.n_params == 67
    assert probe.loss == pytest.approx(float(MSE3(model(x), y).detach()), rel=1e-6)
    grads = torch.autograd.grad(MSE3(model(x), y), list(model.parameters()))
    assert torch.allclose(probe.gradient, torch.cat([g.reshape(-1) for g in grads]), atol=1e-7)
    assert torch.equal(probe.flat_params(), torch.cat([p.detach().reshape(-1) for p in model.parameters()]))


def test_exact_hessian_is_symmetric_float64_and_matches_finite_differences_of_the_gradient(setup):
    _, _, _, probe, H = setup
    assert H.shape == (67, 67) and H.dtype == np.float64
    assert np.array_equal(H, H.T)
    # central differences of the analytic gradient along one coordinate (float64 copy of the model)
    model = tanh_mlp().double()
    x, y = toy_data()
    x = x.double()
    params = list(model.parameters())
    eps, j = 1e-5, 5  # a first-layer weight

    def grad_at(shift):
        with torch.no_grad():
            params[0].view(-1)[j] += shift
        g = torch.autograd.grad(MSE3(model(x), y), params)
        with torch.no_grad():
            params[0].view(-1)[j] -= shift
        return torch.cat([t.reshape(-1) for t in g]).numpy()

    column = (grad_at(eps) - grad_at(-eps)) / (2 * eps)
    assert np.allclose(H[:, j], column, atol=1e-7)


def test_hvp_equals_exact_hessian_times_v_and_the_rebuilt_product(setup):
    _, _, _, probe, H = setup
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        v = torch.randn(probe.n_params, generator=g)
        hv = probe.hvp(v)
        assert hv.dtype == torch.float32 and hv.shape == (67,)
        assert np.allclose(hv.numpy(), H @ v.double().numpy(), rtol=1e-4, atol=1e-5)
        assert torch.allclose(hv, hvp_rebuilt(probe, v), atol=1e-6)
    v64 = torch.randn(probe.n_params, generator=g, dtype=torch.float64)
    assert probe.hvp(v64).dtype == torch.float64  # returned in the caller's dtype


@pytest.mark.parametrize("method", ["lanczos", "power", "eigsh"])
@pytest.mark.parametrize("k", [1, 3])
def test_top_k_eigenvalues_agree_with_eigvalsh_of_the_exact_hessian(setup, method, k):
    _, _, _, probe, H = setup
    exact = torch.linalg.eigvalsh(torch.as_tensor(H)).numpy()[::-1][:k]
    eig = top_eigenvalues(probe, k=k, method=method, tol=1e-3, seed=0)
    assert isinstance(eig, Eigen) and eig.method == method
    assert eig.converged and eig.hvps > 0 and eig.iterations > 0
    assert eig.values.shape == (k,) and np.all(np.diff(eig.values) <= 0)  # descending
    assert np.allclose(eig.values, exact, rtol=1e-2)
    assert eig.vectors.shape == (k, 67)
    assert np.allclose(np.linalg.norm(eig.vectors, axis=1), 1.0, atol=1e-6)
    top = eig.vectors[0]
    assert abs(top @ H @ top - exact[0]) <= 1e-2 * exact[0]  # a Rayleigh quotient near λ_max


def test_lanczos_reaches_tight_tolerance_and_warm_start_converges_in_a_few_products(setup):
    _, _, _, probe, H = setup
    exact = spectrum(H)[::-1]
    tight = top_eigenvalues(probe, k=2, tol=1e-8)
    assert np.allclose(tight.values, exact[:2], rtol=1e-5)
    residual = H @ tight.vectors[0] - tight.values[0] * tight.vectors[0]
    assert np.linalg.norm(residual) < 1e-3 * exact[0]
    cold = top_eigenvalues(probe, k=1, tol=1e-3, return_vectors=False)
    warm = top_eigenvalues(probe, k=1, tol=1e-3, v0=tight.vectors[0])
    assert cold.vectors is None
    assert warm.hvps <= 3 < cold.hvps
    assert warm.values[0] == pytest.approx(exact[0], rel=1e-4)
    with pytest.raises(ValueError, match="v0 has 5 entries"):
        top_eigenvalues(probe, v0=np.ones(5))
    with pytest.raises(ValueError, match="unknown method"):
        top_eigenvalues(probe, method="qr")
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_eigenvalues(probe, k=0)


def test_top_eigenvalues_are_seeded(setup):
    _, _, _, probe, _ = setup
    a = top_eigenvalues(probe, k=2, seed=3)
    b = top_eigenvalues(probe, k=2, seed=3)
    assert np.array_equal(a.values, b.values) and a.hvps == b.hvps


def test_hutchinson_is_within_three_standard_errors_of_the_exact_trace(setup):
    _, _, _, probe, H = setup
    tr = hutchinson_trace(probe, n_samples=400, seed=0)
    assert isinstance(tr, Trace) and tr.n_samples == 400
    assert 0 < tr.stderr < 0.1 * abs(np.trace(H))
    assert abs(tr.estimate - np.trace(H)) <= 3 * tr.stderr
    assert hutchinson_trace(probe, n_samples=400, seed=0) == tr  # seeded
    few = hutchinson_trace(probe, n_samples=25, seed=0)
    assert few.stderr > tr.stderr  # ~ 1/sqrt(n)
    with pytest.raises(ValueError, match="n_samples"):
        hutchinson_trace(probe, n_samples=0)


def test_exact_hessian_refuses_models_above_max_params(setup):
    _, _, _, probe, _ = setup
    with pytest.raises(ValueError, match="max_params=50"):
        exact_hessian(probe, max_params=50)
    assert exact_hessian(probe, max_params=67).shape == (67, 67)


def test_nothing_touches_the_callers_model():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 3))
    torch.manual_seed(0)
    for m in model:
        if isinstance(m, nn.Linear):
            m.reset_parameters()
    model.train()
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    before = [p.detach().clone() for p in model.parameters()]
    x, y = toy_data()
    probe = HessianProbe(model, MSE3, x, y)
    v = torch.ones(probe.n_params)
    first = probe.hvp(v)
    assert torch.equal(first, HessianProbe(model, MSE3, x, y).hvp(v))  # eval mode: dropout off, deterministic
    top_eigenvalues(probe, k=2)
    top_eigenvalues(probe, k=1, method="power")
    top_eigenvalues(probe, k=1, method="eigsh")
    hutchinson_trace(probe, n_samples=5)
    exact_hessian(probe)
    sharpness_and_trace(model, MSE3, x, y, trace_samples=5)
    assert model.training and all(m.training for m in model)
    for p, b in zip(model.parameters(), before, strict=True):
        assert torch.equal(p.detach(), b)
        assert torch.equal(p.grad, torch.full_like(p, 7.0))
        assert p.grad_fn is None and p.is_leaf


def linear_data(n=64, d=4, c=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, c, generator=g)


def linear_hessian(X: np.ndarray, c: int) -> np.ndarray:
    """L = 1/(n c) Σ_i |W x_i + b − y_i|², θ = (W row-major, b):
    H = 2/(n c) [[I_c ⊗ XᵀX, I_c ⊗ Xᵀ1], [I_c ⊗ 1ᵀX, n I_c]] (outputs decouple)."""
    n = X.shape[0]
    ones = np.ones((n, 1))
    eye = np.eye(c)
    top = np.hstack([np.kron(eye, X.T @ X), np.kron(eye, X.T @ ones)])
    bottom = np.hstack([np.kron(eye, ones.T @ X), n * eye])
    return 2.0 / (n * c) * np.vstack([top, bottom])


def test_a_linear_model_with_mse_has_the_analytic_hessian():
    X, Y = linear_data()
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": []}, ModelSpec(4, 2))  # just the readout: out = W x + b
    loss = resolve_loss("mse", "regression", 0, 2)
    probe = HessianProbe(model, loss, X, Y)
    expected = linear_hessian(X.double().numpy(), 2)
    H = exact_hessian(probe)
    assert probe.n_params == 10
    assert np.allclose(H, expected, rtol=1e-12, atol=1e-14)
    v = torch.randn(10, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert np.allclose(probe.hvp(v).numpy(), expected @ v.numpy(), rtol=1e-5, atol=1e-6)
    # the spectrum is that of 2/(n c) X̃ᵀX̃ (X̃ = [X, 1]) with every eigenvalue twice (one per output)
    Xt = np.hstack([X.double().numpy(), np.ones((64, 1))])
    per_output = np.linalg.eigvalsh(2.0 / (64 * 2) * Xt.T @ Xt)
    assert np.allclose(spectrum(H), np.repeat(per_output, 2), rtol=1e-10)
    assert top_eigenvalues(probe, k=1).values[0] == pytest.approx(per_output[-1], rel=1e-3)
    # power iteration with deflation finds a repeated eigenvalue twice (single-vector Lanczos need not)
    power = top_eigenvalues(probe, k=3, method="power", tol=1e-6)
    assert np.allclose(power.values, [per_output[-1], per_output[-1], per_output[-2]], rtol=1e-3)
    tr = hutchinson_trace(probe, n_samples=200)
    assert abs(tr.estimate - np.trace(expected)) <= 3 * tr.stderr


class Quadratic(nn.Module):
    """out = θ (the input is ignored), so loss(out, A) = ½ θᵀAθ has Hessian exactly A."""

    def __init__(self, n):
        super().__init__()
        self.theta = nn.Parameter(torch.linspace(-1, 1, n, dtype=torch.float64))

    def forward(self, x):
        return self.theta


def half_quadratic_form(out, A):
    return 0.5 * out @ A @ out


def indefinite(eigs, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    return torch.as_tensor(q @ np.diag(eigs) @ q.T)


def test_the_largest_algebraic_eigenvalue_wins_over_a_larger_negative_one():
    eigs = np.array([3.0, 2.0, 1.0, 0.5, 0.0, -1.0, -4.0, -8.0])  # |−8| dominates: plain power iteration finds −8
    A = indefinite(eigs)
    probe = HessianProbe(Quadratic(8), half_quadratic_form, torch.zeros(1), A)
    assert np.allclose(exact_hessian(probe), A.numpy(), atol=1e-12)
    assert np.allclose(spectrum(exact_hessian(probe)), np.sort(eigs), atol=1e-10)
    for method in ("power", "lanczos", "eigsh"):
        eig = top_eigenvalues(probe, k=3, method=method, tol=1e-6)
        assert eig.converged
        assert np.allclose(eig.values, [3.0, 2.0, 1.0], rtol=1e-3), method
    tr = hutchinson_trace(probe, n_samples=300, seed=1)
    assert abs(tr.estimate - eigs.sum()) <= 3 * tr.stderr


def test_a_frozen_parameter_is_left_out_of_theta():
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": [6], "activation": "tanh", "readout": "fixed-signs"}, ModelSpec(4, 3))
    x, y = toy_data()
    probe = HessianProbe(model, MSE3, x, y)
    assert probe.n_params == 4 * 6 + 6  # the readout is frozen
    H = exact_hessian(probe)
    v = torch.randn(probe.n_params, generator=torch.Generator().manual_seed(0))
    assert np.allclose(probe.hvp(v).numpy(), H @ v.double().numpy(), rtol=1e-4, atol=1e-5)


def test_sharpness_and_trace_matches_the_exact_hessian(setup):
    model, x, y, _, H = setup
    out = sharpness_and_trace(model, MSE3, x, y, k=2, trace_samples=200, seed=0, with_vector=True)
    exact = spectrum(H)[::-1]
    assert out["sharpness"] == pytest.approx(exact[0], rel=1e-2)
    assert np.allclose(out["eigenvalues"], exact[:2], rtol=1e-2)
    assert abs(out["trace"] - np.trace(H)) <= 3 * out["trace_stderr"]
    assert out["converged"] and out["hvps"] > 200
    assert out["vector"].shape == (67,)
    warm = sharpness_and_trace(model, MSE3, x, y, trace_samples=0, v0=out["vector"])
    assert warm["hvps"] <= 3 and np.isnan(warm["trace"])
    assert set(warm) >= {"sharpness", "trace", "trace_stderr"} and "vector" not in warm


def test_lanczos_continues_past_a_closed_krylov_space_to_reach_k_values():
    eigs = np.array([3.0, 3.0, 1.0, 1.0, -2.0, -2.0])  # any start vector's Krylov space has dimension 3
    probe = HessianProbe(Quadratic(6), half_quadratic_form, torch.zeros(1), indefinite(eigs, seed=1))
    one = top_eigenvalues(probe, k=1)
    assert one.converged and one.iterations == 3 and one.values[0] == pytest.approx(3.0, rel=1e-9)
    four = top_eigenvalues(probe, k=4)
    assert four.converged and four.iterations == 6
    assert np.allclose(four.values, [3.0, 3.0, 1.0, 1.0], rtol=1e-9)
    assert np.allclose(four.vectors @ four.vectors.T, np.eye(4), atol=1e-9)


def test_a_diverged_model_raises_instead_of_returning_nan():
    model = tanh_mlp()
    with torch.no_grad():
        model.readout.weight[0, 0] = float("nan")
    x, y = toy_data()
    with pytest.raises(ValueError, match="not finite"):
        top_eigenvalues(HessianProbe(model, MSE3, x, y))


def test_lanczos_keeps_its_basis_under_the_memory_cap_and_hands_large_models_to_power_iteration(setup, monkeypatch):
    import netarium.analysis.hessian as hessian

    _, _, _, probe, H = setup
    exact = torch.linalg.eigvalsh(torch.as_tensor(H)).numpy()[::-1][0]
    monkeypatch.setattr(hessian, "LANCZOS_BASIS_BYTES", 8 * probe.n_params * 39)  # room for 39 vectors, not 40
    eig = top_eigenvalues(probe, k=1, method="lanczos", tol=1e-3, seed=0)
    assert eig.method == "power" and eig.converged and abs(eig.values[0] - exact) <= 1e-2 * exact
    monkeypatch.setattr(hessian, "LANCZOS_BASIS_BYTES", 8 * probe.n_params * 45)
    made = []
    real_empty = torch.empty
    monkeypatch.setattr(torch, "empty", lambda *a, **kw: made.append(a) or real_empty(*a, **kw))
    eig = top_eigenvalues(probe, k=1, method="lanczos", tol=1e-3, seed=0)
    assert eig.method == "lanczos" and abs(eig.values[0] - exact) <= 1e-2 * exact
    assert max(a[0] for a in made if len(a) == 2 and a[1] == probe.n_params) <= 45  # the basis: at most 45 rows
