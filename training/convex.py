"""The convex program of a two-layer ReLU network with weight decay, solved to its global optimum.

Pilanci & Ergen (2020): training f(x) = sum_j a_j relu(w_j . x + b_j) with squared loss and weight decay
(lam/2)(|w|^2 + b^2 + a^2) is the convex program, over activation patterns D_i = 1[X1 g_i >= 0] of the
data X1 = [X, 1] (the bias through a ones column),

    min (1/2n) | sum_i D_i X1 (u_i - v_i) - y |^2 + lam sum_i (|u_i|_2 + |v_i|_2)
    s.t. (2 D_i - I) X1 u_i >= 0,  (2 D_i - I) X1 v_i >= 0.

With every pattern of the data (`enumerate_patterns_2d` for 2-D inputs) its optimum is the global optimum
of the network of any width >= the number of nonzero groups; with a subset (sampled, or the patterns of
trained networks) it is an upper bound of that optimum that is never above the networks whose patterns it
holds. `admm` solves it by the splitting of Bai, Gautam & Sojoudi (2022); `fista_gated` solves the
unconstrained gated-ReLU variant (one w_i per pattern, no cone constraint) by accelerated proximal
gradient with restarts; `to_network` maps a solution back to an `mlp` (one hidden ReLU layer).

Shapes: X (n, k) inputs, y (n,) targets (±1 for classification), patterns D (n, P) bool (columns are
patterns), solutions u, v (P, k + 1) with the bias last. Everything in float64 on the CPU.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

DTYPE = torch.float64


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a, dtype=DTYPE)


def with_ones(X) -> torch.Tensor:
    """X1 = [X, 1]: the inputs with a ones column, so the last weight of a neuron is its bias."""
    X = _t(X)
    return torch.cat([X, torch.ones(X.shape[0], 1, dtype=DTYPE)], 1)


# ---------------------------------------------------------------------------------------------------------
# Activation patterns
# ---------------------------------------------------------------------------------------------------------

def unique_patterns(*pattern_sets) -> torch.Tensor:
    """The union of pattern sets (each (n, P) bool), deduplicated, the all-zero pattern dropped, in a fixed
    (lexicographic) order, as an (n, P) bool tensor."""
    cols = [np.asarray(torch.as_tensor(D).bool().numpy()).T for D in pattern_sets if D is not None and D.shape[1]]
    if not cols:
        raise ValueError("no activation patterns given")
    if len({c.shape[1] for c in cols}) != 1:
        raise ValueError(f"pattern sets disagree on the number of points: {sorted({c.shape[1] for c in cols})}")
    rows = np.unique(np.concatenate(cols).astype(np.uint8), axis=0).astype(bool)
    rows = rows[rows.any(1)]
    if not len(rows):
        raise ValueError("every activation pattern is all-zero")
    return torch.from_numpy(np.ascontiguousarray(rows.T))


def patterns(X, n_gates: int = 100, seed: int = 0, through_points: bool = True) -> torch.Tensor:
    """Patterns 1[X1 g >= 0] of `n_gates` random gates (seeded), deduplicated, all-zero dropped.

    Gate directions are N(0, I); with `through_points` each gate's bias puts its line (hyperplane) through a
    random data point, so patterns split the data rather than leaving it on one side; otherwise the bias is
    N(0, 1) like the other coordinates of g.
    """
    X1 = with_ones(X)
    n, d = X1.shape
    gen = torch.Generator().manual_seed(int(seed))
    g = torch.randn(n_gates, d, generator=gen, dtype=DTYPE)
    if through_points:
        at = torch.randint(0, n, (n_gates,), generator=gen)
        g[:, -1] = -(X1[at, :-1] * g[:, :-1]).sum(1)
    return unique_patterns(X1 @ g.T >= 0)


def patterns_of_network(W1, b1, X) -> torch.Tensor:
    """The patterns 1[X W1^T + b1 >= 0] of a trained network's hidden units (W1 (m, k), b1 (m,)), so they can
    be pooled with sampled ones: the convex program over the union is never above that network's loss."""
    W1, b1 = _t(W1).detach(), _t(b1).detach()
    return unique_patterns(_t(X) @ W1.T + b1 >= 0)


def enumerate_patterns_2d(X, tol: float = 1e-10) -> torch.Tensor:
    """Every pattern 1[X1 g >= 0], g in R^3, of 2-D points X (n, 2): the cells of the arrangement of lines.

    In g-space each point is a plane through 0 with normal x1_k = (x_k, 1); every cell of this central
    arrangement is a pointed cone whose extreme rays lie on two planes, so it touches a ray ±(x1_i × x1_j)
    (the line through points i and j). Around such a ray the points off the line keep their sign, and those
    on it (i, j and any collinear ones) take every sign pattern of an affine function along the line: a
    threshold in either direction. Enumerating these for every pair (and the all-one pattern) gives every
    pattern exactly; ties (>= 0) belong to a neighbouring cell's pattern. O(n^3) time; fine for n <= ~60.
    """
    X = _t(X).numpy()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"enumerate_patterns_2d needs 2-D inputs (n, 2), got shape {tuple(X.shape)}")
    n = X.shape[0]
    X1 = np.concatenate([X, np.ones((n, 1))], 1)
    scale = max(1.0, float(np.abs(X).max()))
    out = [np.ones((1, n), bool)]
    ii, jj = np.triu_indices(n, 1)
    R = np.cross(X1[ii], X1[jj])  # (pairs, 3): the lines through pairs of points
    V = X1 @ R.T  # (n, pairs)
    for p in range(len(ii)):
        r_norm = np.linalg.norm(R[p])
        if r_norm <= tol * scale * scale:
            continue  # two copies of one point: no line
        v = V[:, p] / r_norm
        on = np.abs(v) <= tol * scale
        idx = np.flatnonzero(on)
        t = X[idx] @ (X[jj[p]] - X[ii[p]])  # position along the line (copies of a point share it)
        cuts = np.unique(t)
        for sgn in (1.0, -1.0):
            base = (sgn * v > 0) & ~on
            out.append(base[None])  # every point of the line negative
            for c in cuts:  # a threshold along the line, either way
                for part in (idx[t >= c], idx[t <= c]):
                    D = base.copy()
                    D[part] = True
                    out.append(D[None])
    return unique_patterns(torch.from_numpy(np.concatenate(out).T))


# ---------------------------------------------------------------------------------------------------------
# Objectives and operators (vectorized over patterns)
# ---------------------------------------------------------------------------------------------------------

def predict(u, v, X, D) -> torch.Tensor:
    """The convex model's output sum_i D_i X1 (u_i - v_i), (n,)."""
    X1, Df = with_ones(X), _t(D)
    return ((X1 @ (_t(u) - _t(v)).T) * Df).sum(1)


def objective(u, v, X, y, D, lam: float) -> float:
    """(1/2n)|sum_i D_i X1 (u_i - v_i) - y|^2 + lam sum_i (|u_i| + |v_i|) (constraints not checked)."""
    y = _t(y)
    r = predict(u, v, X, D) - y
    return float(0.5 * (r @ r) / len(y) + lam * (_t(u).norm(dim=1).sum() + _t(v).norm(dim=1).sum()))


def constraint_violation(u, v, X, D) -> float:
    """The largest violation max(0, -(2D_i - I) X1 w) over u and v, scaled by max |X1 w| (0 when feasible)."""
    X1, S = with_ones(X), 2 * _t(D) - 1
    worst, size = 0.0, 1e-300
    for w in (_t(u), _t(v)):
        Z = X1 @ w.T
        worst = max(worst, float((-(S * Z)).clamp(min=0).max()))
        size = max(size, float(Z.abs().max()))
    return worst / size


def gated_objective(w, X, y, D, lam: float) -> float:
    """The gated-ReLU objective (1/2n)|sum_i D_i X1 w_i - y|^2 + lam sum_i |w_i|."""
    return objective(w, torch.zeros_like(_t(w)), X, y, D, lam)


def network_objective(W1, b1, a, X, y, lam: float) -> float:
    """A two-layer ReLU net's regularized loss (1/2n)|relu(X W1^T + b1) a - y|^2 + lam/2 (|W1|^2 + |b1|^2 + |a|^2)."""
    W1, b1, a, y = _t(W1), _t(b1), _t(a), _t(y)
    r = torch.relu(_t(X) @ W1.T + b1) @ a - y
    return float(0.5 * (r @ r) / len(y) + 0.5 * lam * (W1.pow(2).sum() + b1.pow(2).sum() + a.pow(2).sum()))


def _group_shrink(z: torch.Tensor, kappa: float) -> torch.Tensor:
    """Group soft-thresholding along the last axis: z max(0, 1 - kappa/|z|)."""
    norms = z.norm(dim=-1, keepdim=True)
    return z * (1 - kappa / norms.clamp(min=1e-300)).clamp(min=0)


@dataclass
class Solution:
    """A solver's answer and trace: u, v (P, k+1) (v zero for the gated problem), per iteration the
    objective, primal and dual residuals (ADMM; for FISTA the primal entry is the gradient-mapping norm),
    cumulative seconds, and rho (ADMM's penalty; FISTA's step 1/L)."""

    u: torch.Tensor
    v: torch.Tensor
    objective: list[float] = field(default_factory=list)
    primal: list[float] = field(default_factory=list)
    dual: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    rho: list[float] = field(default_factory=list)
    converged: bool = False
    method: str = ""

    @property
    def iterations(self) -> int:
        return len(self.objective)

    @property
    def value(self) -> float:
        return self.objective[-1] if self.objective else math.nan

    def seconds_per_iteration(self) -> float:
        return self.seconds[-1] / max(1, len(self.seconds)) if self.seconds else math.nan


@contextlib.contextmanager
def _threads(n: int | None):
    """torch's intra-op threads set to n for the block, then restored (the iterations are many small ops: on a
    busy machine one thread is several times faster than two that wait on each other). Off by default:
    the setting is process-wide, so a caller that owns the process (a CLI run, a benchmark) opts in."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _problem(X, y, D, lam):
    X1, y, Df = with_ones(X), _t(y).reshape(-1), _t(D)
    if X1.shape[0] != len(y) or Df.shape[0] != len(y):
        raise ValueError(f"X, y and patterns disagree on n: {X1.shape[0]}, {len(y)}, {Df.shape[0]}")
    if lam <= 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    return X1, y, Df


# ---------------------------------------------------------------------------------------------------------
# ADMM (Bai, Gautam & Sojoudi 2022)
# ---------------------------------------------------------------------------------------------------------

def admm(X, y, D, lam: float, rho: float = 0.1, max_iter: int = 5000, eps_abs: float = 1e-7, eps_rel: float = 1e-6,
         adapt_every: int = 10, mu: float = 10.0, tau: float = 2.0, gscale: float = 1.0,
         alpha: float = 1.0, balance: str = "boyd", accelerate: bool = True, threads: int | None = None) -> Solution:
    """The constrained program by ADMM in scaled form, the splitting of Bai, Gautam & Sojoudi (2022):

        min (1/2n)|F x - y|^2 + lam sum_g |z_g|   s.t.  x = z,  G x = s,  s >= 0

    with x = (u, v) (2, P, d), F x = sum_i D_i X1 (u_i - v_i), G x = c ((2D_i - I) X1 u_i, (2D_i - I) X1 v_i)
    (c = gscale / |X1|_2 > 0 leaves the cones as they are and balances the two splittings).
    x-update: (F^T F/n + rho I + rho G^T G) x = F^T y/n + rho (z - lam_) + rho G^T (s - nu); since
    G^T G = c^2 I ⊗ X1^T X1, the matrix is rho (I ⊗ M) + F^T F/n with M = I + c^2 X1^T X1, solved by Woodbury
    through the n x n matrix n rho I + 2 K ∘ D D^T (K = X1 M^-1 X1^T), Cholesky-factored once per rho.
    z-update: group soft-thresholding at lam/rho; s-update: projection onto s >= 0; rho adapts by residual
    balancing (Boyd et al. 2011, 3.4.1) every `adapt_every` iterations. Stops when the primal and dual
    residuals fall below eps_abs sqrt(size) + eps_rel * scale (Boyd et al. 3.3.1) or at max_iter.
    The returned u, v are the z iterate (exactly group-sparse); `objective` is evaluated there.
    `alpha` > 1 over-relaxes; `balance` "osqp" adapts rho by the ratio of the relative residuals instead;
    `accelerate` extrapolates (z, s) and the duals with Nesterov momentum, restarted whenever the combined
    residual fails to fall (Goldstein et al. 2014): about half the iterations on small problems.
    """
    with _threads(threads):
        return _admm(X, y, D, lam, rho, max_iter, eps_abs, eps_rel, adapt_every, mu, tau, gscale, alpha, balance, accelerate)


def _admm(X, y, D, lam, rho, max_iter, eps_abs, eps_rel, adapt_every, mu, tau, gscale, alpha, balance, accelerate) -> Solution:
    X1, y, Df = _problem(X, y, D, lam)
    if balance not in ("boyd", "osqp"):
        raise ValueError(f"balance must be 'boyd' or 'osqp', got {balance!r}")
    if rho <= 0 or not 0 < alpha < 2:
        raise ValueError(f"ADMM needs rho > 0 and 0 < alpha < 2, got rho={rho}, alpha={alpha}")
    n, d = X1.shape
    P = Df.shape[1]
    S = (2 * Df - 1) * (gscale / float(torch.linalg.matrix_norm(X1, 2)))  # cone constraints, rows scaled by 1/|X1|_2
    M = torch.eye(d, dtype=DTYPE) + X1.T @ X1 * float(S.abs().max()) ** 2
    Minv = torch.linalg.inv(M)
    K = X1 @ Minv @ X1.T
    KDD = 2 * K * (Df @ Df.T)

    def F(x):  # (2, P, d) -> (n,)
        return ((X1 @ (x[0] - x[1]).T) * Df).sum(1)

    def Ft(r):  # (n,) -> (2, P, d)
        g = (Df * r[:, None]).T @ X1
        return torch.stack([g, -g])

    def G(x):  # (2, P, d) -> (2, n, P)
        return S * (X1 @ x.mT)

    def Gt(z):  # (2, n, P) -> (2, P, d)
        return (S * z).mT @ X1

    def factor(rho):
        return torch.linalg.cholesky(n * rho * torch.eye(n, dtype=DTYPE) + KDD)

    def solve(r, rho, L):  # (rho (I ⊗ M) + F^T F/n)^-1 r
        z = r @ Minv
        w = torch.cholesky_solve(F(z)[:, None], L)[:, 0]
        return (z - Ft(w) @ Minv) / rho

    x = torch.zeros(2, P, d, dtype=DTYPE)
    z, lz = x.clone(), x.clone()
    s, ls = torch.zeros(2, n, P, dtype=DTYPE), torch.zeros(2, n, P, dtype=DTYPE)
    Fty = Ft(y) / n
    L = factor(rho)
    sol = Solution(z[0], z[1], method="admm")
    t0 = time.perf_counter()
    size_p, size_d = math.sqrt(x.numel() + s.numel()), math.sqrt(x.numel())
    zh, sh, lzh, lsh = z, s, lz, ls  # the points the next x-update starts from (Nesterov-extrapolated)
    mom, c_prev = 1.0, math.inf
    for it in range(1, max_iter + 1):
        x = solve(Fty + rho * (zh - lzh) + rho * Gt(sh - lsh), rho, L)
        Gx = G(x)
        z_old, s_old, lz_old, ls_old = z, s, lz, ls
        xh, Gxh = alpha * x + (1 - alpha) * zh, alpha * Gx + (1 - alpha) * sh  # over-relaxation
        z = _group_shrink(xh + lzh, lam / rho)
        s = (Gxh + lsh).clamp(min=0)
        lz = lzh + xh - z
        ls = lsh + Gxh - s
        if accelerate:  # fast ADMM with restart (Goldstein, O'Donoghue, Setzer & Baraniuk 2014, Alg. 8)
            c = float((lz - lzh).pow(2).sum() + (ls - lsh).pow(2).sum() + (z - zh).pow(2).sum() + (s - sh).pow(2).sum())
            if c < 0.999 * c_prev:
                mom_new = (1 + math.sqrt(1 + 4 * mom * mom)) / 2
                beta = (mom - 1) / mom_new
                zh, sh = z + beta * (z - z_old), s + beta * (s - s_old)
                lzh, lsh = lz + beta * (lz - lz_old), ls + beta * (ls - ls_old)
                mom, c_prev = mom_new, c
            else:
                mom, c_prev = 1.0, c_prev / 0.999
                zh, sh, lzh, lsh = z, s, lz, ls
        else:
            zh, sh, lzh, lsh = z, s, lz, ls
        r_pri = math.sqrt(float((x - z).pow(2).sum() + (Gx - s).pow(2).sum()))
        r_dual = rho * float((z - z_old + Gt(s - s_old)).norm())
        r = F(z) - y
        obj = float(0.5 * (r @ r) / n + lam * z.norm(dim=-1).sum())
        sol.objective.append(obj)
        sol.primal.append(r_pri)
        sol.dual.append(r_dual)
        sol.rho.append(rho)
        sol.seconds.append(time.perf_counter() - t0)
        eps_pri = size_p * eps_abs + eps_rel * max(math.sqrt(float(x.pow(2).sum() + Gx.pow(2).sum())),
                                                   math.sqrt(float(z.pow(2).sum() + s.pow(2).sum())))
        eps_dual = size_d * eps_abs + eps_rel * rho * float((lz + Gt(ls)).norm())
        if r_pri <= eps_pri and r_dual <= eps_dual:
            sol.converged = True
            break
        if adapt_every and it % adapt_every == 0:
            if balance == "boyd":
                new = rho * tau if r_pri > mu * r_dual else rho / tau if r_dual > mu * r_pri else rho
            else:  # OSQP: rho sqrt(relative primal / relative dual residual), changed when off by > mu
                ratio = math.sqrt((r_pri / max(eps_pri, 1e-300)) / max(r_dual / max(eps_dual, 1e-300), 1e-300))
                new = rho * ratio if (ratio > mu or ratio < 1 / mu) else rho
            if new != rho:
                lz, ls = lz * (rho / new), ls * (rho / new)  # scaled duals y/rho
                rho, L = new, factor(new)
                zh, sh, lzh, lsh, mom, c_prev = z, s, lz, ls, 1.0, math.inf
    sol.u, sol.v = z[0].clone(), z[1].clone()
    return sol


# ---------------------------------------------------------------------------------------------------------
# FISTA on the gated-ReLU program
# ---------------------------------------------------------------------------------------------------------

def fista_gated(X, y, D, lam: float, max_iter: int = 20000, tol: float = 1e-10, threads: int | None = None) -> Solution:
    """The gated-ReLU program min (1/2n)|sum_i D_i X1 w_i - y|^2 + lam sum_i |w_i| by FISTA (Beck & Teboulle
    2009) with function-value restarts (O'Donoghue & Candès 2015). Step 1/L with L the exact largest
    eigenvalue of F F^T / n = (X1 X1^T ∘ D D^T) / n. Stops when the relative objective change and the
    relative gradient-mapping norm |w - prox(y)| / max(1, |w|) both fall below `tol`, or at max_iter.
    Returns u = w, v = 0 (no cone constraint: a gated net, not a ReLU net)."""
    with _threads(threads):
        return _fista_gated(X, y, D, lam, max_iter, tol)


def _fista_gated(X, y, D, lam, max_iter, tol) -> Solution:
    X1, y, Df = _problem(X, y, D, lam)
    n, d = X1.shape
    P = Df.shape[1]
    Lip = float(torch.linalg.eigvalsh((X1 @ X1.T) * (Df @ Df.T))[-1]) / n
    step = 1.0 / Lip

    def F(w):
        return ((X1 @ w.T) * Df).sum(1)

    def value(w, r):
        return float(0.5 * (r @ r) / n + lam * w.norm(dim=1).sum())

    w = torch.zeros(P, d, dtype=DTYPE)
    yk, t = w.clone(), 1.0
    prev = value(w, F(w) - y)
    sol = Solution(w, torch.zeros_like(w), method="fista-gated")
    t0 = time.perf_counter()
    for _ in range(max_iter):
        grad = (Df * (F(yk) - y)[:, None]).T @ X1 / n
        w_new = _group_shrink(yk - step * grad, lam * step)
        obj = value(w_new, F(w_new) - y)
        gmap = float((w_new - yk).norm()) / max(1.0, float(w_new.norm()))
        if obj > prev and t > 1.0:  # restart: drop the momentum and step from the last iterate
            t, yk = 1.0, w.clone()
            continue
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        yk = w_new + ((t - 1) / t_new) * (w_new - w)
        change = abs(prev - obj) / max(abs(obj), 1e-300)
        w, t, prev = w_new, t_new, obj
        sol.objective.append(obj)
        sol.primal.append(gmap)
        sol.dual.append(0.0)
        sol.rho.append(step)
        sol.seconds.append(time.perf_counter() - t0)
        if change < tol and gmap < tol:
            sol.converged = True
            break
    sol.u, sol.v = w.clone(), torch.zeros_like(w)
    return sol


# ---------------------------------------------------------------------------------------------------------
# Back to a network
# ---------------------------------------------------------------------------------------------------------

def to_network(solution, D=None, tol: float = 0.0) -> dict:
    """The two-layer ReLU network of a solution of the constrained program (a `Solution` or a pair (u, v)).

    Each group u_i with |u_i| > tol * max_j |u_j| becomes a neuron with first-layer weights (and bias, the last
    coordinate) u_i / sqrt|u_i| and output weight +sqrt|u_i|; each v_i one with -sqrt|v_i|. On data whose
    patterns satisfy the constraints the neuron's output is exactly D_i X1 u_i, and its weight decay
    lam/2 (|w|^2 + a^2) = lam |u_i|, so the net's regularized loss equals the convex objective.

    Returns W1 (m, k), b1 (m,), a (m,), the `patterns` column of each neuron (when D is given), and `state`:
    the state dict of `build_model("mlp", {"hidden": [m], "activation": "relu"}, spec)` (readout bias 0).
    """
    u, v = (solution.u, solution.v) if isinstance(solution, Solution) else solution
    u, v = _t(u), _t(v)
    nu, nv = u.norm(dim=1), v.norm(dim=1)
    top = float(torch.cat([nu, nv]).max()) if u.numel() else 0.0
    keep_u = torch.nonzero(nu > tol * top).flatten() if top > 0 else torch.zeros(0, dtype=torch.long)
    keep_v = torch.nonzero(nv > tol * top).flatten() if top > 0 else torch.zeros(0, dtype=torch.long)
    groups = torch.cat([u[keep_u], v[keep_v]])
    norms = torch.cat([nu[keep_u], nv[keep_v]])
    signs = torch.cat([torch.ones(len(keep_u), dtype=DTYPE), -torch.ones(len(keep_v), dtype=DTYPE)])
    root = norms.sqrt()
    Wb = groups / root[:, None] if len(groups) else groups
    a = signs * root
    W1, b1 = Wb[:, :-1].contiguous(), Wb[:, -1].contiguous()
    m = len(a)
    state = {
        "layers.0.linear.weight": W1.clone(),
        "layers.0.linear.bias": b1.clone(),
        "readout.weight": a.reshape(1, m).clone(),
        "readout.bias": torch.zeros(1, dtype=DTYPE),
    }
    out = {"W1": W1, "b1": b1, "a": a, "state": state, "hidden": m,
           "groups": torch.cat([keep_u, keep_v]), "sign": signs}
    if D is not None:
        out["patterns"] = torch.as_tensor(D).bool()[:, out["groups"]]
    return out


def network_predict(net: dict, X) -> torch.Tensor:
    """f(x) = sum_j a_j relu(w_j . x + b_j) of a `to_network` result."""
    return torch.relu(_t(X) @ net["W1"].T + net["b1"]) @ net["a"]


def time_to_gap(solution: Solution, optimum: float, gap: float) -> tuple[int, float] | None:
    """(iterations, seconds) at which a solver's relative objective gap |f_k - f*| / |f*| falls to `gap` and
    stays there for the rest of its trace; None when the trace ends outside it."""
    f = np.asarray(solution.objective, dtype=float)
    if not len(f):
        return None
    outside = np.flatnonzero(np.abs(f - optimum) > gap * abs(optimum))
    k = 0 if not len(outside) else int(outside[-1]) + 1
    return (k + 1, float(solution.seconds[k])) if k < len(f) else None
