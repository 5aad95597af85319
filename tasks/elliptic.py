"""Operator learning on a 1-D elliptic problem (MgNO's setting, He, Liu, Xu 2023): learn (f, a) -> u where

    -(a(x) u'(x))' = f(x) on (0, 1),  u(0) = u(1) = 0.

Each sample draws a coefficient a = exp(g) from a smooth random field g (a sine/cosine series with decaying
amplitudes, std `contrast`) and a right-hand side f from another (std 1), and solves the problem by finite
differences on N interior points x_i = i h, h = 1 / (N + 1), with the conservative three-point stencil

    (A u)_i = [a_{i-1/2} (u_i - u_{i-1}) + a_{i+1/2} (u_i - u_{i+1})] / h^2,   a_{i+-1/2} = a(x_i +- h/2),

u_0 = u_{N+1} = 0 (scipy.sparse: one block-diagonal solve for every sample). Second order: |u_h - u| = O(h^2).

Layout (the grid-task convention a grid model reads through `ModelSpec.grid_channels`): X is (n, 2N), the f
channel then the a channel, each normalised by the training set (f / std(f), (a - mean a) / std(a)); y is u
(n, N) divided by the training std of u (a regression target per grid point). The scale is in `meta` and
relative L2 errors |u_pred - u| / |u| are scale-free; runs on this task report train_rel_l2 and test_rel_l2.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from pydantic import Field

from netarium.schema import Params
from netarium.tasks.base import TASK_CAPABILITIES, TASKS, Task, split_indices

TASK_CAPABILITIES.setdefault("grid1d", "a task on a 1-D grid (elliptic-1d)")


class EllipticParams(Params):
    grid: int = Field(63, ge=7, le=255, description="Interior grid points N (h = 1/(N+1)); 63 = 2^6 - 1 halves exactly "
                      "down to 1 point, so full-weighting restriction and linear interpolation nest")
    n_samples: int = Field(1000, ge=20, le=20000, description="Number of (f, a) -> u problems (train + test)")
    train_ratio: float = Field(0.8, ge=0.1, le=0.9, description="Fraction of the problems used for training")
    contrast: float = Field(1.0, ge=0.0, le=3.0, description="Std of log a(x): 0 gives a = 1 (the Poisson problem)")
    modes: int = Field(8, ge=1, le=32, description="Fourier modes of the random fields log a and f (more: rougher)")
    decay: float = Field(1.5, ge=0.5, le=4.0, description="Mode k's amplitude falls as k^-decay (larger: smoother fields)")


def stiffness(a_half: np.ndarray, h: float) -> sp.csr_matrix:
    """The N x N matrix of -(a u')' with u = 0 beyond both ends, from the N + 1 half-point values
    a_{1/2} .. a_{N+1/2}: diagonal (a_{i-1/2} + a_{i+1/2}) / h^2, off-diagonals -a_{i+1/2} / h^2."""
    a_half = np.asarray(a_half, dtype=np.float64)
    off = -a_half[1:-1] / h**2
    return sp.diags([off, (a_half[:-1] + a_half[1:]) / h**2, off], [-1, 0, 1], format="csr")


def solve_elliptic(a_half: np.ndarray, f: np.ndarray, h: float) -> np.ndarray:
    """u at the interior points for every row: a_half (n, N + 1), f (n, N) -> u (n, N), one sparse
    block-diagonal solve (SuperLU) for all rows."""
    a_half, f = np.atleast_2d(a_half), np.atleast_2d(f)
    n, N = f.shape
    if a_half.shape != (n, N + 1):
        raise ValueError(f"a_half must be ({n}, {N + 1}) for f of shape ({n}, {N}), got {a_half.shape}")
    A = sp.block_diag([stiffness(row, h) for row in a_half], format="csc")
    return spla.spsolve(A, f.reshape(-1)).reshape(n, N)


def random_fields(rng: np.random.Generator, n: int, modes: int, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of n smooth fields g(x) = sum_k k^-decay (s_k sin(k pi x) + c_k cos(k pi x)) / Z, with
    s, c ~ N(0, 1) and Z making the field's average variance over [0, 1] one: (s, c) each (n, modes), and the ks."""
    k = np.arange(1, modes + 1, dtype=np.float64)
    amp = k**-decay
    z = np.sqrt(np.sum(amp**2))  # E mean_x g^2 = sum_k amp_k^2 (sin^2 + cos^2 average 1/2 each)
    return rng.standard_normal((n, modes)) * amp / z, rng.standard_normal((n, modes)) * amp / z, k


def eval_fields(s: np.ndarray, c: np.ndarray, k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The fields of `random_fields` at points x: (n, len(x))."""
    phase = np.pi * np.outer(k, x)
    return s @ np.sin(phase) + c @ np.cos(phase)


@TASKS.register("elliptic-1d", EllipticParams, "Operator learning: (f, a) -> u solving -(a u')' = f, u(0) = u(1) = 0, "
                "by finite differences on a 1-D grid.", tags=("paper", "operator-learning", "grid1d", "regression"))
def make_elliptic(p: EllipticParams, seed: int) -> Task:
    """Random log-coefficients and right-hand sides, solved by `solve_elliptic`; normalised (see the module doc)."""
    rng = np.random.default_rng(seed)
    N, n = p.grid, p.n_samples
    h = 1.0 / (N + 1)
    x = np.arange(1, N + 1) * h
    x_half = (np.arange(N + 1) + 0.5) * h
    s, c, k = random_fields(rng, n, p.modes, p.decay)
    a = np.exp(p.contrast * eval_fields(s, c, k, x))
    a_half = np.exp(p.contrast * eval_fields(s, c, k, x_half))
    s2, c2, k2 = random_fields(rng, n, p.modes, p.decay)
    f = eval_fields(s2, c2, k2, x)
    u = solve_elliptic(a_half, f, h)
    tr, te = split_indices(n, p.train_ratio, rng)
    f_scale = float(f[tr].std())
    a_mean, a_std = float(a[tr].mean()), float(a[tr].std()) or 1.0  # contrast 0: a = 1 everywhere
    u_scale = float(u[tr].std())
    X = np.concatenate([f / f_scale, (a - a_mean) / a_std], axis=1).astype(np.float32)
    Y = (u / u_scale).astype(np.float32)
    tr_t, te_t = torch.as_tensor(tr), torch.as_tensor(te)
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)
    return Task(
        name="elliptic-1d", kind="regression", X_train=Xt[tr_t], y_train=Yt[tr_t], X_test=Xt[te_t], y_test=Yt[te_t],
        n_classes=0, input_names=[f"f{i + 1}" for i in range(N)] + [f"a{i + 1}" for i in range(N)],
        meta={
            "grid_channels": 2, "channel_names": ["f", "a"], "x": x, "h": h,
            "f_scale": f_scale, "a_mean": a_mean, "a_std": a_std, "u_scale": u_scale,
            "score_rel_l2": True,  # Run.evaluate adds train_rel_l2 and test_rel_l2 for this task
        },
    )


def relative_l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over samples of |pred - target|_2 / |target|_2 along the grid (the operator-learning error)."""
    pred, target = pred.reshape(len(pred), -1), target.reshape(len(target), -1).to(pred.dtype)
    return (torch.linalg.vector_norm(pred - target, dim=1) / torch.linalg.vector_norm(target, dim=1).clamp_min(1e-12)).mean()
