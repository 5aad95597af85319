"""Adversarially robust convex training of two-layer ReLU networks, and the PGD attack to test it.

Bai, Gautam & Sojoudi (2022, arXiv 2201.01965, section 4): against l_inf perturbations |delta|_inf <= eps of
the inputs (not of the bias column), the cone constraints of the convex program (training/convex.py) must
hold on the whole ball, (2D_i - I)(X + Delta) u_i >= 0 for every |Delta|_inf <= eps, which is the constraint

    (2D_i - I) X1 u_i >= eps |u_i[:k]|_1     row-wise (the same for v_i),

and then every pattern is fixed on the ball, so the network is the linear map x -> sum_i D_i x1 . (u_i - v_i)
there and the loss's worst case over the ball has a closed form. With w_j = sum_i d_ij (u_i - v_i)[:k] and
the clean output yhat_j = sum_i d_ij x1_j . (u_i - v_i):

    hinge (the paper's classification loss):  (1/n) sum_j (1 - y_j yhat_j + eps |w_j|_1)_+
    squared:                                    (1/2n) sum_j (|y_j - yhat_j| + eps |w_j|_1)^2

plus lam sum_i (|u_i|_2 + |v_i|_2). Both are exact worst cases (max over the box of a linear function is its
value plus eps times the dual, l1, norm of its slope); at eps = 0 the squared program is convex.admm's.

`robust_solve` writes the program as a conic problem (second-order cones for the group norms, linear
inequalities for the rest, the l1 norms through epigraph variables) and solves it by the ADMM of OSQP
(Stellato et al. 2020) with a projection onto a product of cones (as COSMO, Garstka et al. 2021): one
Cholesky factorization of a dense matrix per penalty, sparse products with the constraint matrix per
iteration. `pgd_attack` is Madry et al.'s (2018) l_inf projected gradient attack with a random start;
`certified_margin` lower-bounds the worst-case margin of any two-layer ReLU net (`to_network` output), exact
when no neuron changes sign on the ball, as the robust program guarantees on its training points.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from threadpoolctl import threadpool_limits

from netarium.training.convex import (
    DTYPE,
    Solution,
    _t,
    network_predict,
    to_network,
    unique_patterns,
    with_ones,
)
from netarium.training.threads import using_threads

LOSSES = ("hinge", "squared")


# ---------------------------------------------------------------------------------------------------------
# The program's value, its certificate
# ---------------------------------------------------------------------------------------------------------

def _slopes(u, v, X, D) -> tuple[torch.Tensor, torch.Tensor]:
    """(yhat (n,), w (n, k)): the convex model's clean output and its input slope at each point."""
    X1, Df = with_ones(X), _t(D)
    diff = _t(u) - _t(v)
    yhat = ((X1 @ diff.T) * Df).sum(1)
    return yhat, Df @ diff[:, :-1]


def worst_case_margin(u, v, X, y, D, eps: float) -> torch.Tensor:
    """y_j yhat_j - eps |w_j|_1: the smallest margin y f(x_j + delta) over |delta|_inf <= eps, exact while the
    robust constraints hold (the patterns are then fixed on the ball); y in ±1."""
    yhat, w = _slopes(u, v, X, D)
    return _t(y).reshape(-1) * yhat - eps * w.abs().sum(1)


def robust_objective(u, v, X, y, D, lam: float, eps: float, loss: str = "hinge") -> float:
    """The robust program's objective at (u, v): the worst-case loss over the eps-ball plus lam sum of group norms
    (constraints not checked; see `robust_violation`)."""
    y = _t(y).reshape(-1)
    yhat, w = _slopes(u, v, X, D)
    spread = eps * w.abs().sum(1)
    if loss == "hinge":
        data = (1 - y * yhat + spread).clamp(min=0).mean()
    elif loss == "squared":
        data = 0.5 * ((y - yhat).abs() + spread).pow(2).mean()
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return float(data + lam * (_t(u).norm(dim=1).sum() + _t(v).norm(dim=1).sum()))


def robust_violation(u, v, X, D, eps: float) -> float:
    """The largest violation of (2D_i - I) X1 w_i >= eps |w_i[:k]|_1 over u and v, scaled by max |X1 w| + eps |w|_1."""
    X1, S = with_ones(X), 2 * _t(D) - 1
    worst, size = 0.0, 1e-300
    for w in (_t(u), _t(v)):
        Z, l1 = X1 @ w.T, eps * w[:, :-1].abs().sum(1)
        worst = max(worst, float((l1 - S * Z).clamp(min=0).max()))
        size = max(size, float((Z.abs() + l1).max()))
    return worst / size


def certified_margin(net: dict, X, y, eps: float) -> torch.Tensor:
    """A lower bound of min over |delta|_inf <= eps of y f(x + delta) for a two-layer ReLU net (a `to_network`
    dict), per point; y in ±1. Neurons whose pre-activation keeps its sign on the ball are linear there (their
    joint worst case is exact: -eps |sum_j a_j w_j|_1); a neuron that may change sign adds its own worst case
    min(0, y a_j hi_j) (a sound bound, summed). Exact for the robust program's net on its training points."""
    X, y = _t(X), _t(y).reshape(-1)
    W1, b1, a = net["W1"], net["b1"], net["a"]
    pre = X @ W1.T + b1  # (n, m)
    spread = eps * W1.abs().sum(1)  # (m,)
    lo, hi = pre - spread, pre + spread
    tol = 1e-5 * (pre.abs() + spread + 1)  # a constraint the program holds tight sits at lo = 0 up to rounding
    on, off = lo >= -tol, (hi <= tol) & ~(lo >= -tol)
    unstable = ~(on | off)
    lin = (pre * on) @ a  # the stable active neurons' clean output
    slope = (on.to(DTYPE) * a) @ W1  # (n, k): their joint input slope
    margin = y * lin - eps * slope.abs().sum(1)
    # treating a neuron within tol of stable as stable errs by at most |a_j| times how far it is off: subtract it
    margin = margin - (a.abs() * ((-lo).clamp(min=0) * on + hi.clamp(min=0) * off)).sum(1)
    extra = torch.clamp(y[:, None] * a[None, :] * hi.clamp(min=0), max=0) * unstable
    return margin + extra.sum(1)


def robust_patterns(X, eps: float, n_dirs: int = 200, seed: int = 0) -> torch.Tensor:
    """Patterns that the robust program can use with a nonzero group: for each of `n_dirs` random directions w
    (seeded), every gap between consecutive projections w . x_j wider than 2 eps |w|_1 (the l_inf ball's width
    along w) gives the split at its midpoint, 1[w . x >= t] and its complement. A split with points inside that
    strip has no neuron with the eps-margin the robust constraints ask for, so random gates through data points
    are mostly lost at large eps; these are not. Deduplicated, all-zero dropped, (n, P) bool."""
    X = _t(X)
    gen = torch.Generator().manual_seed(int(seed))
    W = torch.randn(n_dirs, X.shape[1], generator=gen, dtype=DTYPE)
    proj, _ = torch.sort(X @ W.T, dim=0)  # (n, dirs)
    gaps = proj[1:] - proj[:-1]
    mid = (proj[1:] + proj[:-1]) / 2
    wide = gaps > 2 * eps * W.abs().sum(1)[None, :]
    rows, cols = torch.nonzero(wide, as_tuple=True)
    if not len(rows):
        return torch.zeros(X.shape[0], 0, dtype=torch.bool)
    D = (X @ W[cols].T) >= mid[rows, cols][None, :]
    return unique_patterns(torch.cat([D, ~D], 1))


# ---------------------------------------------------------------------------------------------------------
# The conic program and its ADMM
# ---------------------------------------------------------------------------------------------------------

@dataclass
class _Conic:
    """min 1/2 x'Qx + q'x  s.t.  A x in C = {z_lin >= b} x SOC_1 x ... (rows [0, n_lin) linear, then cones
    of the sizes in `socs`, each (t, z) with |z| <= t). Q is diagonal."""

    A: sp.csr_matrix
    b: np.ndarray  # (n_lin,)
    socs: list[int]
    q: np.ndarray
    Qd: np.ndarray


class _Layout:
    """Offsets of the blocks of x: U (2, P, d) the groups (u, v), sg (2, P) their norms' epigraph, eu (2, P, k)
    |U[..., :k]| bounds, h (n) the per-point loss slack, ew (n, k) |w_j| bounds (eu, ew only when eps > 0)."""

    def __init__(self, n: int, P: int, d: int, robust: bool):
        k = d - 1
        sizes = {"U": 2 * P * d, "sg": 2 * P, "eu": 2 * P * k if robust else 0, "h": n, "ew": n * k if robust else 0}
        self.off, at = {}, 0
        for name, size in sizes.items():
            self.off[name] = at
            at += size
        self.N = at
        self.n, self.P, self.d, self.k = n, P, d, k

    def U(self, s, i, c):
        return self.off["U"] + (s * self.P + i) * self.d + c


def _build(X1: np.ndarray, y: np.ndarray, D: np.ndarray, lam: float, eps: float, loss: str) -> tuple[_Conic, _Layout]:
    n, d = X1.shape
    P = D.shape[1]
    robust = eps > 0
    L = _Layout(n, P, d, robust)
    k = L.k
    rows, cols, vals, b = [], [], [], []
    r = 0

    def add(rr, cc, vv):
        rows.append(np.asarray(rr, dtype=np.int64).ravel())
        cols.append(np.asarray(cc, dtype=np.int64).ravel())
        vals.append(np.asarray(vv, dtype=float).ravel())

    S = 2.0 * D - 1.0  # (n, P)
    U0 = L.off["U"]
    gidx = np.arange(2 * P)  # group g = s * P + i
    # (b) (2D_i - I) X1 U_g - eps sum_c eu_gc >= 0, one row per (g, j)
    R = r + gidx[:, None] * n + np.arange(n)[None, :]  # (2P, n)
    Sg = np.concatenate([S.T, S.T])  # (2P, n)
    coef = Sg[:, :, None] * X1[None, :, :]  # (2P, n, d)
    add(np.repeat(R[:, :, None], d, 2), U0 + gidx[:, None, None] * d + np.arange(d)[None, None, :] + 0 * R[:, :, None], coef)
    if robust:
        add(np.repeat(R[:, :, None], k, 2), L.off["eu"] + gidx[:, None, None] * k + np.arange(k)[None, None, :] + 0 * R[:, :, None],
            -eps * np.ones((2 * P, n, k)))
    b.append(np.zeros(2 * P * n))
    r += 2 * P * n
    if robust:  # (c) eu_gc -/+ U_gc >= 0
        for sign in (1.0, -1.0):
            R = r + gidx[:, None] * k + np.arange(k)[None, :]
            add(R, L.off["eu"] + gidx[:, None] * k + np.arange(k)[None, :], np.ones((2 * P, k)))
            add(R, U0 + gidx[:, None] * d + np.arange(k)[None, :], sign * np.ones((2 * P, k)))
            b.append(np.zeros(2 * P * k))
            r += 2 * P * k
    # the output yhat_j = sum_i d_ij X1_j . (U_0i - U_1i) and the slope w_jc = sum_i d_ij (U_0ic - U_1ic), as sparse rows
    jj, ii = np.nonzero(D)
    yhat_r = np.concatenate([np.repeat(jj, d), np.repeat(jj, d)])
    yhat_c = np.concatenate([U0 + (0 * P + np.repeat(ii, d)) * d + np.tile(np.arange(d), len(ii)),
                             U0 + (1 * P + np.repeat(ii, d)) * d + np.tile(np.arange(d), len(ii))])
    xv = X1[jj].ravel()
    yhat_v = np.concatenate([xv, -xv])

    def add_yhat(r0, scale):  # rows r0 + j get scale_j * yhat_j
        add(r0 + yhat_r, yhat_c, yhat_v * np.asarray(scale)[yhat_r])

    def add_ew(r0):  # rows r0 + j get -eps sum_c ew_jc
        add(np.repeat(r0 + np.arange(n), k), L.off["ew"] + np.arange(n * k), -eps * np.ones(n * k))

    h = L.off["h"] + np.arange(n)
    if loss == "hinge":  # xi_j >= 0;  xi_j + y_j yhat_j - eps sum_c ew_jc >= 1
        add(r + np.arange(n), h, np.ones(n))
        b.append(np.zeros(n))
        r += n
        add(r + np.arange(n), h, np.ones(n))
        add_yhat(r, y)
        if robust:
            add_ew(r)
        b.append(np.ones(n))
        r += n
    else:  # zeta_j -/+ (yhat_j - y_j) ... : zeta_j + yhat_j - eps|w| >= y_j,  zeta_j - yhat_j - eps|w| >= -y_j
        for sign in (1.0, -1.0):
            add(r + np.arange(n), h, np.ones(n))
            add_yhat(r, sign * np.ones(n))
            if robust:
                add_ew(r)
            b.append(sign * y)
            r += n
    if robust:  # (e) ew_jc -/+ w_jc >= 0
        for sign in (1.0, -1.0):
            Rj = r + jj[:, None] * k + np.arange(k)[None, :]  # (nnz, k)
            for s, sgn in ((0, 1.0), (1, -1.0)):
                add(Rj, U0 + (s * P + ii[:, None]) * d + np.arange(k)[None, :], sign * sgn * np.ones((len(jj), k)))
            add(r + np.arange(n * k), L.off["ew"] + np.arange(n * k), np.ones(n * k))
            b.append(np.zeros(n * k))
            r += n * k
    n_lin = r
    # (a) second-order cones (sg_g, U_g), one per group
    for g in range(2 * P):
        add([r], [L.off["sg"] + g], [1.0])
        add(r + 1 + np.arange(d), U0 + g * d + np.arange(d), np.ones(d))
        r += d + 1
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, L.N))
    q = np.zeros(L.N)
    q[L.off["sg"]:L.off["sg"] + 2 * P] = lam
    Qd = np.zeros(L.N)
    if loss == "hinge":
        q[h] = 1.0 / n
    else:
        Qd[h] = 1.0 / n
    assert n_lin == sum(len(x) for x in b)
    return _Conic(A, np.concatenate(b), [d + 1] * (2 * P), q, Qd), L


def _project(z: np.ndarray, b: np.ndarray, n_lin: int, cone: int, n_cones: int) -> np.ndarray:
    """Projection onto {z_lin >= b} x (SOC of size `cone`)^n_cones (Boyd & Vandenberghe, the second-order cone)."""
    out = np.empty_like(z)
    out[:n_lin] = np.maximum(z[:n_lin], b)
    C = z[n_lin:].reshape(n_cones, cone)
    t, w = C[:, 0], C[:, 1:]
    nw = np.linalg.norm(w, axis=1)
    P = C.copy()
    inside = nw <= t
    below = nw <= -t
    mid = ~(inside | below)
    P[below] = 0.0
    a = (t[mid] + nw[mid]) / 2
    P[mid, 0] = a
    P[mid, 1:] = w[mid] * (a / nw[mid])[:, None]
    out[n_lin:] = P.ravel()
    return out


def _ruiz(A: sp.csr_matrix, n_lin: int, cone: int, iters: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Ruiz equilibration (as OSQP's): row scales E (uniform within each cone, so cones stay cones) and column
    scales Dc such that E A Dc has rows and columns of about unit infinity norm."""
    m, N = A.shape
    E, Dc = np.ones(m), np.ones(N)
    M = A.copy().tocsc()
    for _ in range(iters):
        col = np.sqrt(np.maximum(abs(M).max(axis=0).toarray().ravel(), 1e-8))
        Mr = M.tocsr()
        row = abs(Mr).max(axis=1).toarray().ravel()
        if m > n_lin:
            cone_max = row[n_lin:].reshape(-1, cone).max(1)
            row[n_lin:] = np.repeat(cone_max, cone)
        row = np.sqrt(np.maximum(row, 1e-8))
        M = sp.diags(1 / row) @ Mr @ sp.diags(1 / col)
        E /= row
        Dc /= col
    return E, Dc


def robust_solve(X, y, D, lam: float, eps: float, loss: str = "hinge", rho: float = 0.1, sigma: float = 1e-6,
                 alpha: float = 1.6, max_iter: int = 20000, eps_abs: float = 1e-8, eps_rel: float = 1e-8,
                 adapt_every: int = 25, time_limit: float | None = None, threads: int | None = 1,
                 zero_tol: float = 1e-4, balance: str = "osqp") -> Solution:
    """The robust convex program (module docstring) for inputs X (n, k), targets y (n,) (±1 for the hinge),
    patterns D (n, P) bool, by OSQP's ADMM on its conic form, after Ruiz equilibration:

        x~ = (Q + sigma I + rho A'A)^-1 (sigma x - q + A'(rho z - y_dual));  z = Pi_C(alpha A x~ + (1 - alpha) z + y_dual / rho)

    with over-relaxation alpha, rho adapted every `adapt_every` iterations by the ratio of the relative residuals
    (`balance` "osqp", Stellato et al. 2020, 5.2: the closest objective in a capped number of iterations here,
    but on some problems the primal residual stalls near 1e-3) or by residual balancing ("boyd": doubled or
    halved when one residual is 10x the other, Boyd et al. 2011, 3.4.1: more feasible, slower). Stops when the primal and dual residuals (inf-norm, unscaled) fall below
    eps_abs + eps_rel * scale, at max_iter or after `time_limit` seconds. Returns a convex.Solution whose u, v are
    the groups (v_i the negative neurons) and whose objective trace is `robust_objective` at each iterate;
    `to_network(solution)` gives the network. eps = 0 is the standard program (with `loss`).
    Groups below `zero_tol` times the largest norm are set to zero at the end (ADMM leaves them near zero, not at
    it, and such dust need not satisfy its cone); the objective's last entry is the returned point's.
    `threads` caps torch's and the BLAS's threads for the solve (restored after): its products are small, and
    on a busy machine one thread is several times faster than two; None leaves them as they are."""
    limits = threadpool_limits(threads) if threads else contextlib.nullcontext()
    with using_threads(threads), limits:
        return _robust_solve(X, y, D, lam, eps, loss, rho, sigma, alpha, max_iter, eps_abs, eps_rel, adapt_every, time_limit,
                             zero_tol, balance)


def _robust_solve(X, y, D, lam, eps, loss, rho, sigma, alpha, max_iter, eps_abs, eps_rel, adapt_every, time_limit,
                  zero_tol, balance) -> Solution:
    if balance not in ("boyd", "osqp"):
        raise ValueError(f"balance must be 'boyd' or 'osqp', got {balance!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if lam <= 0 or eps < 0:
        raise ValueError(f"robust_solve needs lam > 0 and eps >= 0, got lam={lam}, eps={eps}")
    X1 = with_ones(X).numpy()
    yv = _t(y).reshape(-1).numpy()
    Dn = torch.as_tensor(D).bool().numpy()
    n, d = X1.shape
    if len(yv) != n or Dn.shape[0] != n:
        raise ValueError(f"X, y and patterns disagree on n: {n}, {len(yv)}, {Dn.shape[0]}")
    P = Dn.shape[1]
    prob, L = _build(X1, yv, Dn.astype(float), lam, eps, loss)
    n_lin = len(prob.b)
    E, Dc = _ruiz(prob.A, n_lin, d + 1)
    cost = max(1.0, float(np.abs(prob.q * Dc).max()), float((prob.Qd * Dc * Dc).max()))  # objective scale c
    A = (sp.diags(E) @ prob.A @ sp.diags(Dc)).tocsr()
    At = A.T.tocsr()
    b = prob.b * E[:n_lin]
    q, Qd = prob.q * Dc / cost, prob.Qd * Dc * Dc / cost
    AtA = (At @ A).tocsc()
    N, nU = L.N, 2 * P * d
    KUU0, KUa0, Kaa0 = AtA[:nU, :nU].toarray(), AtA[:nU, nU:].tocsr(), AtA[nU:, nU:].tocsc()
    diag = Qd + sigma

    def factor(rho):
        """The x-update's matrix K = Q + sigma I + rho A'A by its Schur complement on the groups U: the other
        variables (norm bounds, slacks) couple only in small blocks, so K_aa is block-diagonal and cheap to
        factor (sparse LU), and the dense Cholesky is of S = K_UU - K_Ua K_aa^-1 K_aU, (2Pd) square."""
        Kaa = (Kaa0 * rho + sp.diags(diag[nU:])).tocsc()
        lu = spla.splu(Kaa)
        KUa = KUa0 * rho
        Z = lu.solve(KUa.T.toarray())  # K_aa^-1 K_aU, (N - nU, nU)
        S = KUU0 * rho + np.diag(diag[:nU]) - KUa @ Z
        return lu, KUa, Z, torch.linalg.cholesky(torch.from_numpy(S))

    def solve(f, r):
        lu, KUa, Z, Lc = f
        xa0 = lu.solve(r[nU:])
        xU = torch.cholesky_solve(torch.from_numpy(r[:nU] - KUa @ xa0)[:, None], Lc)[:, 0].numpy()
        return np.concatenate([xU, xa0 - Z @ xU])

    x = np.zeros(N)
    z = _project(A @ x, b, n_lin, d + 1, 2 * P)
    ydual = np.zeros(A.shape[0])
    F = factor(rho)
    sol = Solution(torch.zeros(P, d, dtype=DTYPE), torch.zeros(P, d, dtype=DTYPE), method="robust-admm")
    t0 = time.perf_counter()
    Df = Dn.astype(float)

    def groups(xs):
        Ug = (xs * Dc)[:2 * P * d].reshape(2, P, d)
        return Ug[0], Ug[1]

    def value(u, v):  # robust_objective in NumPy (it runs every iteration)
        diff = u - v
        yhat = ((X1 @ diff.T) * Df).sum(1)
        spread = eps * np.abs(Df @ diff[:, :-1]).sum(1)
        data = (np.maximum(1 - yv * yhat + spread, 0).mean() if loss == "hinge"
                else 0.5 * ((np.abs(yv - yhat) + spread) ** 2).mean())
        return float(data + lam * (np.linalg.norm(u, axis=1).sum() + np.linalg.norm(v, axis=1).sum()))

    for it in range(1, max_iter + 1):
        xt = solve(F, sigma * x - q + At @ (rho * z - ydual))
        zt = A @ xt
        x = alpha * xt + (1 - alpha) * x
        zr = alpha * zt + (1 - alpha) * z
        z = _project(zr + ydual / rho, b, n_lin, d + 1, 2 * P)
        ydual = ydual + rho * (zr - z)
        Ax, Aty, Qx = A @ x, At @ ydual, Qd * x
        # residuals in the unscaled problem (OSQP 5.1): primal E^-1 (Ax - z), dual c^-1 Dc^-1 (Qx + q + A'y)
        r_p = float(np.abs((Ax - z) / E).max())
        r_d = float(np.abs((Qx + q + Aty) / Dc).max()) * cost
        s_p = max(float(np.abs(Ax / E).max()), float(np.abs(z / E).max()))
        s_d = max(float(np.abs(Qx / Dc).max()), float(np.abs(Aty / Dc).max()), float(np.abs(q / Dc).max())) * cost
        sol.objective.append(value(*groups(x)))
        sol.primal.append(r_p)
        sol.dual.append(r_d)
        sol.rho.append(rho)
        sol.seconds.append(time.perf_counter() - t0)
        if r_p <= eps_abs + eps_rel * s_p and r_d <= eps_abs + eps_rel * s_d:
            sol.converged = True
            break
        if time_limit is not None and sol.seconds[-1] > time_limit:
            break
        if adapt_every and it % adapt_every == 0:
            if balance == "osqp":  # OSQP's estimate on the scaled problem: sqrt(relative primal / relative dual)
                rel_p = float(np.abs(Ax - z).max()) / max(float(np.abs(Ax).max()), float(np.abs(z).max()), 1e-300)
                rel_d = float(np.abs(Qx + q + Aty).max()) / max(float(np.abs(Qx).max()), float(np.abs(Aty).max()),
                                                                 float(np.abs(q).max()), 1e-300)
                ratio = math.sqrt(rel_p / max(rel_d, 1e-300))
                new = rho * ratio if (ratio > 5 or ratio < 0.2) else rho
            else:  # residual balancing (Boyd et al. 2011, 3.4.1) on the unscaled residuals
                new = rho * 2 if r_p > 10 * r_d else rho / 2 if r_d > 10 * r_p else rho
            new = float(np.clip(new, 1e-6, 1e6))
            if new != rho:
                rho, F = new, factor(new)
    u, v = (g.copy() for g in groups(x))
    norms = np.concatenate([np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1)])
    dust = zero_tol * float(norms.max()) if norms.size else 0.0
    u[np.linalg.norm(u, axis=1) <= dust] = 0.0  # ADMM leaves dropped groups near zero, not at it (and infeasible)
    v[np.linalg.norm(v, axis=1) <= dust] = 0.0
    if sol.objective:
        sol.objective[-1] = value(u, v)  # the returned point's
    sol.u, sol.v = torch.from_numpy(u), torch.from_numpy(v)
    return sol


def robust_network(solution: Solution, D=None, tol: float = 0.0) -> dict:
    """`convex.to_network` of a robust solution (its zero groups dropped: no neuron)."""
    return to_network(solution, D, tol=tol)


# ---------------------------------------------------------------------------------------------------------
# PGD (Madry et al. 2018)
# ---------------------------------------------------------------------------------------------------------

def _as_fn(model) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(model, dict):  # a to_network result
        return lambda x: network_predict(model, x)
    return model


def margins(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The classification margin per point: for class logits (n, C >= 2), the true class's logit minus the best
    other one; for one output (n,) or (n, 1), y' f with y' = y for ±1 labels, 2y - 1 for 0/1 class indices.
    Positive means correctly classified."""
    if out.ndim == 2 and out.shape[1] >= 2:
        y = y.long().reshape(-1)
        true = out.gather(1, y[:, None])[:, 0]
        other = out.scatter(1, y[:, None], -torch.inf).max(1).values
        return true - other
    f = out.reshape(-1)
    y = y.reshape(-1).to(f.dtype)
    sign = y if bool((y < 0).any()) else 2 * y - 1
    return sign * f


def pgd_attack(model, X, y, eps: float, steps: int = 20, step_size: float | None = None, seed: int = 0,
               restarts: int = 1, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Madry et al. (2018): l_inf projected gradient ascent from a uniform random start in the eps-ball,
    x <- clip(x + step_size sign(grad), x0 - eps, x0 + eps), `steps` times, `restarts` times. `model` is any
    callable or torch module returning class logits or one output (see `margins`), or a `to_network` dict.

    Without `loss` it is an attack: the ascent is on the negative margin and each point keeps the input with the
    smallest margin seen over all steps and restarts (the strongest). With `loss(out, y)` (adversarial training
    passes the run's loss) the ascent is on that loss and the last iterate is returned (Madry's training).
    step_size defaults to 2.5 eps / steps (Madry et al.); the random start draws from `generator` when given,
    else from a generator seeded with `seed`. The model's parameters get no gradient (.grad untouched); it runs
    in eval mode and its mode is restored."""
    fn = _as_fn(model)
    X0 = torch.as_tensor(X).detach()
    y = torch.as_tensor(y)
    if eps <= 0:
        return X0.clone()
    alpha = step_size if step_size else 2.5 * eps / max(steps, 1)
    gen = generator if generator is not None else torch.Generator().manual_seed(int(seed))
    best, best_m = X0.clone(), torch.full((X0.shape[0],), math.inf, dtype=X0.dtype, device=X0.device)
    was_training = bool(getattr(fn, "training", False))  # parameters keep requires_grad (another thread may be
    if was_training:  # reading the live model); autograd.grad below takes the input's gradient only
        fn.eval()
    try:
        for _ in range(restarts):
            noise = torch.rand(X0.shape, generator=gen, dtype=X0.dtype).to(X0.device)
            Xa = (X0 + (2 * noise - 1) * eps).detach()
            for step in range(steps + 1):
                Xa.requires_grad_(True)
                with torch.enable_grad():
                    out = fn(Xa)
                    if loss is None:
                        m = margins(out, y).detach()
                        better = m < best_m
                        best[better], best_m[better] = Xa.detach()[better], m[better]
                    if step == steps:
                        break
                    objective = loss(out, y) if loss is not None else -margins(out, y).sum()
                    (grad,) = torch.autograd.grad(objective, Xa)
                Xa = torch.max(torch.min(Xa.detach() + alpha * grad.sign(), X0 + eps), X0 - eps)
            if loss is not None:
                best = Xa.detach()
    finally:
        if was_training:
            fn.train()
    return best


def robust_accuracy(model, X, y, eps: float, steps: int = 20, step_size: float | None = None, seed: int = 0,
                    restarts: int = 1) -> float:
    """The fraction of points still classified correctly (margin > 0) at their PGD point (`pgd_attack`)."""
    fn = _as_fn(model)
    Xa = pgd_attack(model, X, y, eps, steps=steps, step_size=step_size, seed=seed, restarts=restarts)
    with torch.no_grad():
        return float((margins(fn(Xa), torch.as_tensor(y)) > 0).double().mean())


def clean_accuracy(model, X, y) -> float:
    """The fraction of points classified correctly (margin > 0)."""
    with torch.no_grad():
        return float((margins(_as_fn(model)(torch.as_tensor(X)), torch.as_tensor(y)) > 0).double().mean())


# ---------------------------------------------------------------------------------------------------------
# Accuracy against eps, for a page
# ---------------------------------------------------------------------------------------------------------

@dataclass
class RobustCurve:
    """Per eps of `eps_grid` (the radius trained for): the robust program's clean training accuracy, its
    PGD accuracy at that radius, its certified accuracy there, and the number of neurons."""

    eps_grid: list[float]
    clean: list[float]
    pgd: list[float]
    certified: list[float]
    neurons: list[int]


def robust_curve(X, y, D, lam: float, eps_grid, loss: str = "hinge", pgd_steps: int = 20, seed: int = 0,
                 max_iter: int = 3000) -> RobustCurve:
    """Solve the robust program at each eps of `eps_grid` (same patterns) and measure its network: clean and PGD
    accuracy at that eps (±1 labels y) and certified accuracy (`certified_margin` > 0) on X. For a plot of
    robust and clean accuracy against eps."""
    out = RobustCurve([], [], [], [], [])
    X, y = _t(X), _t(y).reshape(-1)
    for e in eps_grid:
        sol = robust_solve(X, y, D, lam, float(e), loss=loss, max_iter=max_iter)
        net = robust_network(sol)
        out.eps_grid.append(float(e))
        out.clean.append(clean_accuracy(net, X, y))
        out.pgd.append(robust_accuracy(net, X, y, float(e), steps=pgd_steps, seed=seed))
        out.certified.append(float((certified_margin(net, X, y, float(e)) > 0).double().mean()))
        out.neurons.append(int(net["hidden"]))
    return out
