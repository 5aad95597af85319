"""The elliptic-1d task: the finite-difference solver against analytic solutions (second order), the data
layout a grid model reads, normalisation, determinism and the relative L2 error."""

import numpy as np
import pytest
import torch

from netarium.models import ModelSpec
from netarium.tasks import make_task
from netarium.tasks.elliptic import relative_l2, solve_elliptic, stiffness


def grid(n: int) -> tuple[np.ndarray, np.ndarray, float]:
    h = 1.0 / (n + 1)
    return np.arange(1, n + 1) * h, (np.arange(n + 1) + 0.5) * h, h


def max_error_poisson(n: int) -> float:
    """a = 1, f = pi^2 sin(pi x): u = sin(pi x)."""
    x, xh, h = grid(n)
    u = solve_elliptic(np.ones((1, n + 1)), (np.pi**2 * np.sin(np.pi * x))[None], h)[0]
    return float(np.abs(u - np.sin(np.pi * x)).max())


def max_error_variable(n: int) -> float:
    """a = 1 + x, u = sin(pi x): f = -(a u')' = (1 + x) pi^2 sin(pi x) - pi cos(pi x)."""
    x, xh, h = grid(n)
    f = (1 + x) * np.pi**2 * np.sin(np.pi * x) - np.pi * np.cos(np.pi * x)
    u = solve_elliptic((1 + xh)[None], f[None], h)[0]
    return float(np.abs(u - np.sin(np.pi * x)).max())


@pytest.mark.parametrize("error", [max_error_poisson, max_error_variable])
def test_the_solver_matches_the_analytic_solution_to_second_order(error):
    coarse, fine = error(31), error(63)
    assert coarse < 2e-3 and fine < 5e-4
    assert 3.6 < coarse / fine < 4.4  # halving h divides the error by 4: O(h^2)


def test_the_stiffness_matrix_is_the_conservative_stencil():
    A = stiffness(np.array([1.0, 2.0, 3.0, 4.0]), h=0.5).toarray()
    expected = np.array([[3.0, -2.0, 0.0], [-2.0, 5.0, -3.0], [0.0, -3.0, 7.0]]) / 0.25
    assert np.allclose(A, expected) and np.allclose(A, A.T)
    with pytest.raises(ValueError, match="a_half must be"):
        solve_elliptic(np.ones((2, 4)), np.ones((2, 4)), 0.2)


def test_many_problems_solve_at_once_as_each_alone():
    rng = np.random.default_rng(0)
    x, xh, h = grid(15)
    a, f = np.exp(rng.normal(size=(3, 16))), rng.normal(size=(3, 15))
    together = solve_elliptic(a, f, h)
    for i in range(3):
        assert np.allclose(together[i], solve_elliptic(a[i], f[i], h)[0])
        assert np.allclose(stiffness(a[i], h) @ together[i], f[i])


def test_the_task_lays_out_f_then_a_per_grid_point_and_u_as_the_target():
    t = make_task("elliptic-1d", {"grid": 31, "n_samples": 100, "train_ratio": 0.8, "contrast": 0.7}, seed=3)
    assert t.kind == "regression" and t.X_train.shape == (80, 62) and t.y_train.shape == (80, 31) and t.X_test.shape == (20, 62)
    assert t.n_outputs == 31 and t.input_names[:2] == ["f1", "f2"] and t.input_names[31] == "a1"
    assert {"grid1d", "regression"} <= t.capabilities and "2d" not in t.capabilities
    spec = ModelSpec.for_task(t)
    assert spec.grid_channels == 2 and spec.n_inputs == 2 * spec.n_outputs
    # the normalised inputs and target undo to a solved problem: A(a) (u * u_scale) = f * f_scale
    m = t.meta
    x, xh, h = grid(31)
    f = t.X_train[0, :31].double().numpy() * m["f_scale"]
    a = t.X_train[0, 31:].double().numpy() * m["a_std"] + m["a_mean"]
    u = t.y_train[0].double().numpy() * m["u_scale"]
    assert np.all(a > 0) and np.allclose(m["x"], x)
    residual = f - stiffness(np.interp(xh, x, a, left=a[0], right=a[-1]), h) @ u
    assert np.abs(residual).max() < 0.2 * np.abs(f).max()  # a at half points interpolated: close, not exact
    assert abs(float(t.y_train.std()) - 1.0) < 0.05 and abs(float(t.X_train[:, :31].std()) - 1.0) < 0.05


def test_the_same_seed_gives_the_same_data_and_contrast_zero_is_poisson():
    a = make_task("elliptic-1d", {"n_samples": 50}, seed=1)
    b = make_task("elliptic-1d", {"n_samples": 50}, seed=1)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    p = make_task("elliptic-1d", {"n_samples": 50, "contrast": 0.0}, seed=1)
    assert torch.all(p.X_train[:, 63:] == 0)  # a = 1 everywhere: the normalised a channel is 0


def test_relative_l2_is_the_mean_of_per_sample_ratios():
    y = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    pred = torch.tensor([[3.0, 4.0], [0.0, 0.0]])  # errors 0 and 1
    assert float(relative_l2(pred, y)) == pytest.approx(0.5)
    assert float(relative_l2(2 * y, y)) == pytest.approx(1.0)
