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

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from netarium.training.threads import using_threads

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


LOSSES = ("squared", "logistic")
CURVATURE = {"squared": 1.0, "logistic": 0.25}  # the largest second derivative of the loss in f


def _check_loss(loss: str, y: torch.Tensor | None = None) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if loss == "logistic" and y is not None and not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("the logistic loss needs targets y in {-1, +1}")


def loss_value(f: torch.Tensor, y: torch.Tensor, loss: str = "squared") -> torch.Tensor:
    """The data term: (1/2n)|f - y|^2 (squared) or (1/n) sum log(1 + exp(-y_i f_i)) (logistic), a 0-d tensor."""
    if loss == "squared":
        r = f - y
        return 0.5 * (r @ r) / len(y)
    return torch.nn.functional.softplus(-y * f).mean()


def _loss_grad(f: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The derivative of each point's loss in f_i (the data term's gradient times n)."""
    return f - y if loss == "squared" else -y * torch.sigmoid(-y * f)


def _loss_curv(f: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Each point's second derivative of the loss in f_i."""
    if loss == "squared":
        return torch.ones_like(f)
    s = torch.sigmoid(y * f)
    return s * (1 - s)


def _dual_value(f: torch.Tensor, y: torch.Tensor, t: float, loss: str) -> float:
    """-L*(theta) at theta = t grad L(f), L the data term: with t making theta dual-feasible it is a lower bound of
    the program (Fenchel duality). Squared: l*(g) = g^2/2 + g y; logistic: l*(-y p) = p log p + (1-p) log(1-p)."""
    if loss == "squared":
        g = t * (f - y)
        return -float((0.5 * g * g + g * y).mean())
    p = t * torch.sigmoid(-y * f)
    return -float((torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)).mean())


def objective(u, v, X, y, D, lam: float, loss: str = "squared") -> float:
    """L(sum_i D_i X1 (u_i - v_i)) + lam sum_i (|u_i| + |v_i|), L the data term of `loss_value` (constraints not
    checked)."""
    _check_loss(loss)
    y = _t(y)
    return float(loss_value(predict(u, v, X, D), y, loss) + lam * (_t(u).norm(dim=1).sum() + _t(v).norm(dim=1).sum()))


def constraint_violation(u, v, X, D) -> float:
    """The largest violation max(0, -(2D_i - I) X1 w) over u and v, scaled by max |X1 w| (0 when feasible)."""
    X1, S = with_ones(X), 2 * _t(D) - 1
    worst, size = 0.0, 1e-300
    for w in (_t(u), _t(v)):
        Z = X1 @ w.T
        worst = max(worst, float((-(S * Z)).clamp(min=0).max()))
        size = max(size, float(Z.abs().max()))
    return worst / size


def gated_objective(w, X, y, D, lam: float, loss: str = "squared") -> float:
    """The gated-ReLU objective L(sum_i D_i X1 w_i) + lam sum_i |w_i|."""
    return objective(w, torch.zeros_like(_t(w)), X, y, D, lam, loss)


def network_objective(W1, b1, a, X, y, lam: float, loss: str = "squared") -> float:
    """A two-layer ReLU net's regularized loss L(relu(X W1^T + b1) a) + lam/2 (|W1|^2 + |b1|^2 + |a|^2), L the
    data term of `loss_value` ((1/2n)|f - y|^2 or the mean logistic loss)."""
    _check_loss(loss)
    W1, b1, a, y = _t(W1), _t(b1), _t(a), _t(y)
    f = torch.relu(_t(X) @ W1.T + b1) @ a
    return float(loss_value(f, y, loss) + 0.5 * lam * (W1.pow(2).sum() + b1.pow(2).sum() + a.pow(2).sum()))


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
    gap: float = math.nan  # a certified relative gap to the optimum (ADMM's accepted polish), else nan
    lower: float = math.nan  # the lower bound behind `gap`
    polished: int | None = None  # the iteration after which a polish was accepted (its entry is the last)

    @property
    def iterations(self) -> int:
        return len(self.objective)

    @property
    def value(self) -> float:
        return self.objective[-1] if self.objective else math.nan

    def seconds_per_iteration(self) -> float:
        return self.seconds[-1] / max(1, len(self.seconds)) if self.seconds else math.nan


def _problem(X, y, D, lam):
    X1, y, Df = with_ones(X), _t(y).reshape(-1), _t(D)
    if X1.shape[0] != len(y) or Df.shape[0] != len(y):
        raise ValueError(f"X, y and patterns disagree on n: {X1.shape[0]}, {len(y)}, {Df.shape[0]}")
    if lam <= 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    return X1, y, Df


# ---------------------------------------------------------------------------------------------------------
# Optimality certificate and polish
# ---------------------------------------------------------------------------------------------------------

def _rows(X1: torch.Tensor, Df: torch.Tensor) -> torch.Tensor:
    """R (P, n, d): row k of R_i is (2 D_ki - 1) x1_k, so the cone constraint of group i is R_i w >= 0."""
    return (2 * Df - 1).T[:, :, None] * X1[None]


def _group_grads(f, y, X1, Df, loss) -> torch.Tensor:
    """The data term's gradient in (u_i, v_i), (2, P, d): ±X1^T (D_i ∘ l'(f)) / n."""
    g = (Df * _loss_grad(f, y, loss)[:, None]).T @ X1 / len(y)
    return torch.stack([g, -g])


def _nnls_refine(A: torch.Tensor, R: torch.Tensor, mu: torch.Tensor, steps: int) -> torch.Tensor:
    """A few accelerated projected-gradient steps on min_{mu >= 0} |A_g - R_g^T mu_g|^2 for every group at once
    (A (2, P, d), R (P, n, d), mu (2, P, n)), from the given mu."""
    if steps <= 0:
        return mu
    step = 1.0 / float(torch.linalg.matrix_norm(R, 2).max()) ** 2
    prev, yk, t = mu, mu, 1.0
    for _ in range(steps):
        res = A - torch.einsum("pnd,gpn->gpd", R, yk)
        new = (yk + step * torch.einsum("pnd,gpd->gpn", R, res)).clamp(min=0)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        yk = new + ((t - 1) / t_new) * (new - prev)
        prev, t = new, t_new
    return prev


@dataclass
class Certificate:
    """A point's objective `primal`, a lower bound `lower` of the program's optimum (weak duality), their relative
    gap (primal - lower) / |primal|, and the point's constraint violation (as `constraint_violation`; 0 for the
    gated program)."""

    primal: float
    lower: float
    violation: float

    @property
    def gap(self) -> float:
        return (self.primal - self.lower) / max(abs(self.primal), 1e-300)


def certificate(u, v, X, y, D, lam: float, mu=None, loss: str = "squared", refine: int = 30,
                gated: bool = False) -> Certificate:
    """How far (u, v) is from the program's optimum, proven: a lower bound by Fenchel duality.

    For any multipliers mu_i >= 0 of the cone rows R_i w >= 0 (R_i = (2D_i - I) X1), theta = t grad L(f) at the
    point's output f is dual-feasible when t |grad_i L - R_i^T mu_i| <= lam for every group i (u and v), and then
    -L*(theta) <= the optimum. mu (2, n, P) (the solver's duals; zeros when not given) is improved by `refine`
    projected-gradient steps, t is the largest such scale <= 1. At the optimum with exact multipliers the bound
    equals the objective; the gap is meaningful when the point is feasible (see `violation`). `gated`: the
    gated-ReLU program (u alone, no cone rows): t |grad_i L| <= lam, exact.
    """
    _check_loss(loss)
    X1, y, Df = _problem(X, y, D, lam)
    u = _t(u)
    v = torch.zeros_like(u) if gated else _t(v)
    f = predict(u, v, X, D)
    primal = float(loss_value(f, y, loss) + lam * (u.norm(dim=1).sum() + v.norm(dim=1).sum()))
    grads = _group_grads(f, y, X1, Df, loss)
    if gated:
        h = grads[0].norm(dim=-1)
        violation = 0.0
    else:
        R = _rows(X1, Df)
        mu = torch.zeros(2, Df.shape[1], len(y), dtype=DTYPE) if mu is None else _t(mu).clamp(min=0).mT.contiguous()
        mu = _nnls_refine(grads, R, mu, refine)
        h = (grads - torch.einsum("pnd,gpn->gpd", R, mu)).norm(dim=-1)
        violation = constraint_violation(u, v, X, D)
    t = min(1.0, lam / max(float(h.max()), 1e-300))
    return Certificate(primal, _dual_value(f, y, t, loss), violation)


def _newton_groups(A2: torch.Tensor, y: torch.Tensor, lam: float, alpha: torch.Tensor, free: torch.Tensor, loss: str,
                   iters: int) -> torch.Tensor:
    """min L(A2 alpha) + lam sum_g |alpha_g| over alpha (m, d) (coordinates where `free` (m*d,) is False held at 0) by
    damped Newton with backtracking, from alpha; monotone. The objective is smooth where every group is nonzero,
    and its quadratic model is poor near a group's 0: after each step, the point with every group that the full
    Newton step would have carried through 0 set to 0 (and fixed there) is tried too and kept when lower, so
    groups whose optimum is 0 get there instead of crawling."""
    n = len(y)
    m, d = alpha.shape
    free = free.reshape(m, d).clone() & (alpha.norm(dim=1) > 0)[:, None]
    alpha = alpha * free

    def value(al):
        return float(loss_value(A2 @ al.reshape(-1), y, loss) + lam * al.norm(dim=1).sum())

    val = value(alpha)
    eye_d = torch.eye(d, dtype=DTYPE)
    eye = torch.eye(m * d, dtype=DTYPE)
    data_h = (A2.T @ A2) / n if loss == "squared" else None
    for _ in range(iters):
        if not bool(free.any()):
            break
        fr = free.reshape(-1)
        f = A2 @ alpha.reshape(-1)
        nrm = alpha.norm(dim=1, keepdim=True).clamp(min=1e-300)
        ah = alpha / nrm
        gdata = (A2.T @ _loss_grad(f, y, loss)).reshape(m, d) / n
        grad = ((gdata + lam * ah) * free).reshape(-1)
        H = data_h if data_h is not None else (A2.T * _loss_curv(f, y, loss)) @ A2 / n
        H = H + torch.block_diag(*(lam * (eye_d - ah[:, :, None] * ah[:, None, :]) / nrm[:, :, None]))
        H = H * fr[:, None] * fr[None, :] + torch.diag((~fr).to(DTYPE))
        H = H + 1e-12 * float(H.diagonal().abs().max()) * eye
        chol, info = torch.linalg.cholesky_ex(H)
        if int(info) == 0:
            step = torch.cholesky_solve(grad[:, None], chol)[:, 0]
        else:
            step = torch.linalg.lstsq(H, grad[:, None]).solution[:, 0]
        dec = float(grad @ step)
        if not dec > 1e-16 * max(1.0, abs(val)):
            break
        st = step.reshape(m, d)
        tt, cand, cv = 1.0, alpha, val
        while tt > 1e-12:
            cand = alpha - tt * st
            cv = value(cand)
            if cv <= val - 0.25 * tt * dec:
                break
            tt *= 0.5
        through = free.any(1) & (((alpha - st) * alpha).sum(1) <= 0)
        if bool(through.any()):
            zeroed = cand * ~through[:, None]
            zv = value(zeroed)
            if zv <= min(cv, val):
                cand, cv = zeroed, zv
                free &= ~through[:, None]
        if cv > val:
            break
        small = cv >= val - 1e-15 * max(1.0, abs(val))
        alpha, val = cand, cv
        if small or dec < 1e-14 * max(1.0, abs(val)):
            break
    return alpha


def polish_gated(X, y, D, lam: float, w, loss: str = "squared", newton_iter: int = 40, rounds: int = 6,
                 drop: float = 1e-7) -> tuple[torch.Tensor, Certificate]:
    """The gated program solved exactly near an approximate solution w (P, d): Newton on its nonzero groups (the
    objective is smooth there), groups that collapse (|w_i| <= `drop` max |w_j|) leave, groups whose gradient
    breaks optimality at 0 (|grad_i L| > lam) join, for at most `rounds` rounds (a working-set method).
    Returns (w, Certificate) with the exact duality gap."""
    _check_loss(loss)
    X1, y, Df = _problem(X, y, D, lam)
    n, d = X1.shape
    W = _t(w).clone()
    supp = W.norm(dim=1) > 0
    for _ in range(max(1, rounds)):
        idx = torch.nonzero(supp).flatten()
        if not len(idx):
            break
        A2 = (Df[:, idx, None] * X1[:, None, :]).reshape(n, -1)
        alpha = _newton_groups(A2, y, lam, W[idx], torch.ones(len(idx) * d, dtype=torch.bool), loss, newton_iter)
        W = torch.zeros_like(W)
        W[idx] = alpha
        norms = W.norm(dim=1)
        collapsed = supp & (norms <= drop * float(norms.max()))
        W[collapsed] = 0
        grads = (Df * _loss_grad(predict(W, torch.zeros_like(W), X1[:, :-1], Df), y, loss)[:, None]).T @ X1 / n
        gnorm = grads.norm(dim=1)
        joining = ~supp & (gnorm > lam * (1 + 1e-9))
        if not bool(collapsed.any()) and not bool(joining.any()):
            break
        supp = (supp & ~collapsed) | joining
        # a joining group starts at its block prox-gradient step from 0 (a sure decrease): -shrink(grad_i, lam) / L_i
        L_i = CURVATURE[loss] * torch.linalg.matrix_norm(Df.T[joining][:, :, None] * X1[None], 2) ** 2 / n
        W[joining] = -_group_shrink(grads[joining], lam) / L_i[:, None]
    return W, certificate(W, None, X1[:, :-1], y, Df, lam, loss=loss, gated=True)


def polish(X, y, D, lam: float, u, v, active=None, mu=None, loss: str = "squared", newton_iter: int = 30,
           rounds: int = 4, feas_tol: float = 1e-10, refine: int = 30, active_tol: float = 1e-6,
           support_tol: float = 1e-7) -> tuple[torch.Tensor, torch.Tensor, Certificate]:
    """OSQP-style polish of an approximate solution (u, v) of the constrained program: keep its nonzero groups,
    hold its active cone rows as equalities and solve that smooth reduced problem exactly.

    Each kept group w_i = B_i alpha_i lives in the null space B_i (orthonormal, from an SVD) of its active rows,
    so the reduced problem min L(sum_i ±D_i X1 B_i alpha_i) + lam sum_i |alpha_i| is unconstrained and smooth
    where no alpha_i is 0: damped Newton with backtracking. Then a primal-dual active-set round: rows the new
    point violates join the active set, rows whose multiplier (least squares on the active rows) is negative
    leave it; at most `rounds` rounds. `active` (2, n, P) bool: the rows to start from (default: rows with
    |R_i w_i| <= active_tol max |X1 w_i|); groups with |w_i| <= support_tol max |w_j| are dropped; `mu`
    (2, n, P): the solver's multipliers, used for the dropped groups' part of the certificate. Returns
    (u, v, Certificate) of the polished point: callers accept it only when it is feasible (its `violation`)
    and better, as `admm` does. It needs the right support and active rows: from ADMM iterates of the tests'
    small problems it is exact (certified gaps ~1e-12) after 2-10x fewer iterations than ADMM's own stop; on
    the bench's n = 200 spiral with 100 patterns the iterates of 1,000-20,000 iterations do not give them.
    """
    _check_loss(loss)
    X1, y, Df = _problem(X, y, D, lam)
    n, d = X1.shape
    P = Df.shape[1]
    R = _rows(X1, Df)  # (P, n, d)
    W = torch.stack([_t(u), _t(v)])  # (2, P, d)
    sign = torch.tensor([1.0, -1.0], dtype=DTYPE)
    Z = torch.einsum("pnd,gpd->gpn", R, W)  # (2, P, n) row values
    scale = float(torch.linalg.matrix_norm(X1, 2))
    act = (Z.abs() <= active_tol * (X1 @ W.mT).abs().amax(1)[:, :, None]) if active is None else _t(active).bool().mT.clone()
    norms = W.norm(dim=-1)
    keep = norms > support_tol * float(norms.max())  # (2, P): the groups kept (others set to 0)
    gi, pi = torch.nonzero(keep, as_tuple=True)
    w = W[gi, pi]  # (m, d)
    mu_out = torch.zeros(2, P, n, dtype=DTYPE) if mu is None else _t(mu).clamp(min=0).mT.clone()
    for _ in range(max(1, rounds)):
        m = len(gi)
        if m == 0:
            break
        Ra = R[pi] * act[gi, pi][:, :, None]  # (m, n, d): the active rows of each kept group
        _, sv, Vh = torch.linalg.svd(Ra, full_matrices=False)
        null = sv <= 1e-9 * scale  # (m, d): right singular directions the active rows do not constrain
        B = Vh.mT * null[:, None, :]  # (m, d, d), zero columns outside the null space
        alpha = torch.einsum("mde,md->me", B, w)
        A2 = (torch.einsum("nd,mde->nme", X1, B) * (sign[gi] * Df[:, pi])[:, :, None]).reshape(n, m * d)
        alpha = _newton_groups(A2, y, lam, alpha, null.reshape(-1), loss, newton_iter)
        w = torch.einsum("mde,me->md", B, alpha)  # (m, d)
        # active-set round: violated rows join, rows with negative multipliers leave
        rowv = torch.einsum("mnd,md->mn", R[pi], w)
        size = (X1 @ w.T).abs().amax(0).clamp(min=1e-300)  # (m,)
        violated = rowv < -feas_tol * size[:, None]
        f = A2 @ alpha.reshape(-1)
        g = (X1.T @ (Df[:, pi] * _loss_grad(f, y, loss)[:, None])).T / n * sign[gi][:, None]  # (m, d)
        rhs = g + lam * w / w.norm(dim=1, keepdim=True).clamp(min=1e-300)  # = Ra^T mu at a stationary point
        mu_act = (torch.linalg.pinv(Ra.mT) @ rhs[:, :, None])[:, :, 0]  # (m, n), zero off the active rows
        released = act[gi, pi] & (mu_act < -1e-8 * float(mu_act.abs().max().clamp(min=1e-300)))
        mu_out[gi, pi] = mu_act.clamp(min=0)
        if not bool(violated.any()) and not bool(released.any()):
            break
        act[gi, pi] = (act[gi, pi] | violated) & ~released
    Wp = torch.zeros(2, P, d, dtype=DTYPE)
    if len(gi):
        Wp[gi, pi] = w
    return Wp[0], Wp[1], certificate(Wp[0], Wp[1], X1[:, :-1], y, Df, lam, mu_out.mT, loss, refine)


# ---------------------------------------------------------------------------------------------------------

def admm(X, y, D, lam: float, rho: float = 0.1, max_iter: int = 5000, eps_abs: float = 1e-7, eps_rel: float = 1e-6,
         adapt_every: int = 10, mu: float = 3.0, tau: float = 2.0, gscale: float = 1.0,
         alpha: float = 1.0, balance: str = "boyd", accelerate: bool = True, threads: int | None = None,
         loss: str = "squared", inner: int = 2, polish: bool = True, polish_every: int = 50,
         eps_gap: float = 1e-6, check_every: int = 10) -> Solution:
    """The constrained program by ADMM in scaled form, the splitting of Bai, Gautam & Sojoudi (2022):

        min L(F x) + lam sum_g |z_g|   s.t.  x = z,  G x = s,  s >= 0

    with x = (u, v) (2, P, d), F x = sum_i D_i X1 (u_i - v_i), G x = c ((2D_i - I) X1 u_i, (2D_i - I) X1 v_i)
    (c = gscale / |X1|_2 > 0 leaves the cones as they are and balances the two splittings), L the data term
    (`loss` "squared": (1/2n)|f - y|^2; "logistic": (1/n) sum log(1 + exp(-y_i f_i)), y in ±1).
    x-update (squared): (F^T F/n + rho I + rho G^T G) x = F^T y/n + rho (z - lam_) + rho G^T (s - nu); since
    G^T G = c^2 I ⊗ X1^T X1, the matrix is rho (I ⊗ M) + F^T F/n with M = I + c^2 X1^T X1, solved by Woodbury
    through the n x n matrix n rho I + 2 K ∘ D D^T (K = X1 M^-1 X1^T), Cholesky-factored once per rho.
    Logistic: the x-update is inexact (as Bai et al.'s): `inner` majorize-minimize steps from the last x, each
    the linear solve above with the loss replaced by its quadratic upper bound at the current point
    (curvature 1/4 for the logistic loss: n rho / kappa in the Woodbury matrix, kappa = 1/4).
    z-update: group soft-thresholding at lam/rho; s-update: projection onto s >= 0; rho adapts by residual
    balancing (Boyd et al. 2011, 3.4.1) every `adapt_every` iterations: times or over `tau` when one residual
    is over `mu` times the other (mu = 3 rather than Boyd's 10: 5,822 instead of 10,751 iterations to a 1e-3
    gap on the bench's spiral, 10-50% fewer to convergence on the tests' problems). Stops when the primal and dual
    residuals fall below eps_abs sqrt(size) + eps_rel * scale (Boyd et al. 3.3.1) or at max_iter; the dual
    residual and the thresholds (three more G^T products) are computed every `check_every` iterations and at
    each adaptation, and the trace repeats the last dual residual in between.
    `alpha` > 1 over-relaxes; `balance` "osqp" adapts rho by the ratio of the relative residuals instead;
    `accelerate` extrapolates (z, s) and the duals with Nesterov momentum, restarted whenever the combined
    residual fails to fall (Goldstein et al. 2014): about half the iterations on small problems.

    Polish (OSQP's idea, `polish`; off with polish=False): at the end, and on the way (`polish_every` > 0)
    whenever the iterate's nonzero groups are the same as `polish_every` iterations before (after a failed
    polish the next waits 1.5 times longer than the one before), those groups and the clamped cone rows
    (s = 0) are taken as the support and the active set, the reduced smooth problem is solved by Newton, and
    the result's optimality is proven by `certificate` (a duality gap from ADMM's multipliers). A polished point is accepted when it is feasible (violation <= 1e-9) and its
    certified relative gap is <= `eps_gap` (then ADMM stops there, converged), or, at the end, when it is
    feasible and not worse than the iterate. The returned u, v are the z iterate (exactly group-sparse) or the
    accepted polished point; `objective` is evaluated there. An accepted polish appends one entry to the
    trace (its objective; primal: its violation; dual: 0) and sets `gap` (certified) and `polished`.
    `seconds` count from the call (setup and factorization included).
    """
    with using_threads(threads):
        return _admm(X, y, D, lam, rho, max_iter, eps_abs, eps_rel, adapt_every, mu, tau, gscale, alpha, balance,
                     accelerate, loss, inner, polish_every if polish else 0, eps_gap, polish, check_every)


POLISH_FEASIBLE = 1e-9  # a polished point counts as feasible at this relative constraint violation


def _admm(X, y, D, lam, rho, max_iter, eps_abs, eps_rel, adapt_every, mu, tau, gscale, alpha, balance, accelerate,
          loss, inner, polish_every, eps_gap, final_polish, check_every) -> Solution:
    t0 = time.perf_counter()
    X1, y, Df = _problem(X, y, D, lam)
    _check_loss(loss, y)
    if balance not in ("boyd", "osqp"):
        raise ValueError(f"balance must be 'boyd' or 'osqp', got {balance!r}")
    if rho <= 0 or not 0 < alpha < 2:
        raise ValueError(f"ADMM needs rho > 0 and 0 < alpha < 2, got rho={rho}, alpha={alpha}")
    if check_every < 1:
        raise ValueError(f"check_every must be >= 1, got {check_every}")
    n, d = X1.shape
    P = Df.shape[1]
    kappa = CURVATURE[loss]
    c_rows = gscale / float(torch.linalg.matrix_norm(X1, 2))
    S = (2 * Df - 1) * c_rows  # cone constraints, rows scaled by 1/|X1|_2
    M = torch.eye(d, dtype=DTYPE) + X1.T @ X1 * c_rows**2
    Minv = torch.linalg.inv(M)
    K = X1 @ Minv @ X1.T
    KDD = 2 * K * (Df @ Df.T)
    eye_n = torch.eye(n, dtype=DTYPE)

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
        return torch.linalg.cholesky((n * rho / kappa) * eye_n + KDD)

    def solve(r, rho, L):  # (rho (I ⊗ M) + kappa F^T F/n)^-1 r
        z = r @ Minv
        w = torch.cholesky_solve(F(z)[:, None], L)[:, 0]
        return (z - Ft(w) @ Minv) / rho

    x = torch.zeros(2, P, d, dtype=DTYPE)
    z, lz = x.clone(), x.clone()
    s, ls = torch.zeros(2, n, P, dtype=DTYPE), torch.zeros(2, n, P, dtype=DTYPE)
    Fty = Ft(y) / n
    L = factor(rho)
    sol = Solution(z[0], z[1], method="admm")
    size_p, size_d = math.sqrt(x.numel() + s.numel()), math.sqrt(x.numel())
    zh, sh, lzh, lsh = z, s, lz, ls  # the points the next x-update starts from (Nesterov-extrapolated)
    mom, c_prev = 1.0, math.inf
    last_support, next_check, polish_wait = None, polish_every, float(polish_every)

    def try_polish(final: bool) -> bool:
        """Polish the current iterate; on acceptance record it in `sol` and return True."""
        if not bool((z.norm(dim=-1) > 0).any()):
            return False
        mult = (-(c_rows * rho) * ls).clamp(min=0)  # the multipliers of the rows (2D_i - I) X1 w >= 0
        u_p, v_p, cert = polish(X1[:, :-1], y, Df, lam, z[0], z[1], active=(s == 0), mu=mult, loss=loss)
        if not cert.violation <= POLISH_FEASIBLE:
            return False
        if not (cert.gap <= eps_gap or (final and cert.primal <= sol.objective[-1])):
            return False
        sol.u, sol.v, sol.gap, sol.lower, sol.polished = u_p, v_p, cert.gap, cert.lower, sol.iterations
        sol.objective.append(cert.primal)
        sol.primal.append(cert.violation)
        sol.dual.append(0.0)
        sol.rho.append(rho)
        sol.seconds.append(time.perf_counter() - t0)
        return True

    r_dual = eps_dual = math.inf
    relax = alpha != 1.0
    for it in range(1, max_iter + 1):
        prox = rho * (zh - lzh) + rho * Gt(sh - lsh)
        if loss == "squared":
            x = solve(Fty + prox, rho, L)
        else:  # inexact: majorize-minimize steps on the logistic loss from the last x
            for _ in range(max(1, inner)):
                fx = F(x)
                x = solve(Ft(kappa * fx - _loss_grad(fx, y, loss)) / n + prox, rho, L)
        Gx = G(x)
        z_old, s_old, lz_old, ls_old = z, s, lz, ls
        xh, Gxh = (alpha * x + (1 - alpha) * zh, alpha * Gx + (1 - alpha) * sh) if relax else (x, Gx)  # over-relaxation
        v = xh + lzh
        vn = v.norm(dim=-1, keepdim=True)
        zn = (vn - lam / rho).clamp(min=0)  # group soft-thresholding, its norms kept for the objective
        z = v * (zn / vn.clamp(min=1e-300))
        s = (Gxh + lsh).clamp(min=0)
        dlz, dls = xh - z, Gxh - s
        lz, ls = lzh + dlz, lsh + dls
        sq_dlz, sq_dls = float(dlz.pow(2).sum()), float(dls.pow(2).sum())
        # the primal residual |x - z|^2 + |Gx - s|^2 (without over-relaxation, the dual steps themselves)
        r_pri = math.sqrt(sq_dlz + sq_dls) if not relax else math.sqrt(float((x - z).pow(2).sum() + (Gx - s).pow(2).sum()))
        if accelerate:  # fast ADMM with restart (Goldstein, O'Donoghue, Setzer & Baraniuk 2014, Alg. 8)
            c = sq_dlz + sq_dls + float((z - zh).pow(2).sum() + (s - sh).pow(2).sum())
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
        check = it % check_every == 0 or (adapt_every and it % adapt_every == 0)
        if check:  # the dual residual and the stopping thresholds, every check_every iterations
            r_dual = rho * float((z - z_old + Gt(s - s_old)).norm())
            eps_pri = size_p * eps_abs + eps_rel * max(math.sqrt(float(x.pow(2).sum() + Gx.pow(2).sum())),
                                                       math.sqrt(float(z.pow(2).sum() + s.pow(2).sum())))
            eps_dual = size_d * eps_abs + eps_rel * rho * float((lz + Gt(ls)).norm())
        obj = float(loss_value(F(z), y, loss) + lam * zn.sum())
        sol.objective.append(obj)
        sol.primal.append(r_pri)
        sol.dual.append(r_dual)
        sol.rho.append(rho)
        sol.seconds.append(time.perf_counter() - t0)
        if check and r_pri <= eps_pri and r_dual <= eps_dual:
            sol.converged = True
            break
        if polish_every and it >= next_check:
            support = z.norm(dim=-1) > 0
            stable = last_support is not None and torch.equal(support, last_support)
            last_support = support
            next_check = it + polish_every
            if stable:  # only once the support held since the last check
                if try_polish(final=False):
                    sol.converged = True
                    return sol
                next_check = it + int(polish_wait)
                polish_wait *= 1.5  # a failed polish waits longer before the next: its cost stays a fraction
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
    if final_polish:
        try_polish(final=True)
    return sol


# ---------------------------------------------------------------------------------------------------------
# ADMM on the gated-ReLU program
# ---------------------------------------------------------------------------------------------------------

def admm_gated(X, y, D, lam: float, rho: float | None = None, max_iter: int = 5000, eps_abs: float = 1e-9,
               eps_rel: float = 1e-8, alpha: float = 1.6, adapt_every: int = 10, mu: float = 10.0, tau: float = 2.0,
               threads: int | None = None) -> Solution:
    """The gated-ReLU program min (1/2n)|A w - y|^2 + lam sum_i |w_i| (A = [D_1 X1, ..., D_P X1], squared loss) by
    ADMM on the split w = z (the group lasso's ADMM, Boyd et al. 2011, 6.4.2): the w-update solves
    (A^T A/n + rho I) w = A^T y/n + rho (z - u) with a Cholesky factor cached per rho (of that P(k+1)-square
    matrix, or by Woodbury of the n-square n rho I + A A^T when that is smaller); z is the group soft-threshold
    of the over-relaxed alpha w + (1 - alpha) z + u at lam/rho; u += alpha w + (1 - alpha) z - z. rho starts at
    10 lam (the threshold lam/rho then starts at 0.1) and is balanced every `adapt_every` iterations (Boyd et al.
    3.4.1). Stops on the primal and dual residuals (Boyd et al. 3.3.1) or at max_iter. Unlike the constrained
    program, every iteration is one cached solve: tens of iterations reach a 1e-3 gap where FISTA needs
    thousands. Returns u = z (exactly group-sparse), v = 0."""
    with using_threads(threads):
        return _admm_gated(X, y, D, lam, rho, max_iter, eps_abs, eps_rel, alpha, adapt_every, mu, tau)


def _admm_gated(X, y, D, lam, rho, max_iter, eps_abs, eps_rel, alpha, adapt_every, mu, tau) -> Solution:
    t0 = time.perf_counter()
    X1, y, Df = _problem(X, y, D, lam)
    rho = 10.0 * lam if rho is None else float(rho)
    if rho <= 0 or not 0 < alpha < 2:
        raise ValueError(f"ADMM needs rho > 0 and 0 < alpha < 2, got rho={rho}, alpha={alpha}")
    n, d = X1.shape
    P = Df.shape[1]
    m = P * d
    A = (Df[:, :, None] * X1[:, None, :]).reshape(n, m)
    Aty = A.T @ y / n
    woodbury = m > n
    gram = A @ A.T if woodbury else A.T @ A / n

    def factor(rho):
        return torch.linalg.cholesky((n * rho if woodbury else rho) * torch.eye(len(gram), dtype=DTYPE) + gram)

    def solve(r, rho, L):  # (A^T A/n + rho I)^-1 r
        if not woodbury:
            return torch.cholesky_solve(r[:, None], L)[:, 0]
        return (r - A.T @ torch.cholesky_solve((A @ r)[:, None], L)[:, 0]) / rho

    L = factor(rho)
    w, z, u = (torch.zeros(m, dtype=DTYPE) for _ in range(3))
    sol = Solution(z.reshape(P, d), torch.zeros(P, d, dtype=DTYPE), method="admm-gated")
    sq = math.sqrt(m)
    for it in range(1, max_iter + 1):
        w = solve(Aty + rho * (z - u), rho, L)
        wh = alpha * w + (1 - alpha) * z
        z_old = z
        zg = _group_shrink((wh + u).reshape(P, d), lam / rho)
        z = zg.reshape(-1)
        u = u + wh - z
        r = A @ z - y
        sol.objective.append(float(0.5 * (r @ r) / n + lam * zg.norm(dim=1).sum()))
        r_pri, r_dual = float((w - z).norm()), rho * float((z - z_old).norm())
        sol.primal.append(r_pri)
        sol.dual.append(r_dual)
        sol.rho.append(rho)
        sol.seconds.append(time.perf_counter() - t0)
        if (r_pri <= sq * eps_abs + eps_rel * max(float(w.norm()), float(z.norm()))
                and r_dual <= sq * eps_abs + eps_rel * rho * float(u.norm())):
            sol.converged = True
            break
        if adapt_every and it % adapt_every == 0:
            new = rho * tau if r_pri > mu * r_dual else rho / tau if r_dual > mu * r_pri else rho
            if new != rho:
                u, rho, L = u * (rho / new), new, factor(new)  # the scaled dual y/rho follows rho
    sol.u = z.reshape(P, d).clone()
    return sol


# ---------------------------------------------------------------------------------------------------------
# FISTA on the gated-ReLU program
# ---------------------------------------------------------------------------------------------------------

def fista_gated(X, y, D, lam: float, max_iter: int = 20000, tol: float = 1e-10, threads: int | None = None,
                loss: str = "squared", polish_every: int = 0, eps_gap: float = 1e-6) -> Solution:
    """The gated-ReLU program min L(sum_i D_i X1 w_i) + lam sum_i |w_i| by FISTA (Beck & Teboulle 2009) with
    function-value restarts (O'Donoghue & Candès 2015), L the data term (`loss` "squared": (1/2n)|f - y|^2;
    "logistic": (1/n) sum log(1 + exp(-y_i f_i)), y in ±1). Step 1/L with L = kappa lambda_max(F F^T) / n
    (F F^T = X1 X1^T ∘ D D^T, its exact top eigenvalue; kappa = 1 squared, 1/4 logistic). Stops when the
    relative objective change and the relative gradient-mapping norm |w - prox(y)| / max(1, |w|) both fall
    below `tol`, or at max_iter. `polish_every` > 0: whenever the iterate's support is the same as that many
    iterations before, `polish_gated` solves the problem on it by Newton with working-set corrections; when
    its certified duality gap is <= `eps_gap` the polished point is returned (one extra trace entry; `gap`
    and `polished` set), else the next try waits 1.5 times longer than the last.
    `seconds` count from the call. Returns u = w, v = 0 (no cone constraint: a gated net, not a ReLU net)."""
    with using_threads(threads):
        return _fista_gated(X, y, D, lam, max_iter, tol, loss, polish_every, eps_gap)


def _fista_gated(X, y, D, lam, max_iter, tol, loss, polish_every, eps_gap) -> Solution:
    t0 = time.perf_counter()
    X1, y, Df = _problem(X, y, D, lam)
    _check_loss(loss, y)
    n, d = X1.shape
    P = Df.shape[1]
    Lip = CURVATURE[loss] * float(torch.linalg.eigvalsh((X1 @ X1.T) * (Df @ Df.T))[-1]) / n
    step = 1.0 / Lip

    def F(w):
        return ((X1 @ w.T) * Df).sum(1)

    def value(w, f):
        return float(loss_value(f, y, loss) + lam * w.norm(dim=1).sum())

    w = torch.zeros(P, d, dtype=DTYPE)
    yk, t = w.clone(), 1.0
    fw = F(w)
    fy = fw  # F(yk), kept by linearity: one product with F per iteration
    prev = value(w, fw)
    sol = Solution(w, torch.zeros_like(w), method="fista-gated")
    it = 0
    last_support, next_check, polish_wait = None, polish_every, float(polish_every)
    for _ in range(max_iter):
        grad = (Df * _loss_grad(fy, y, loss)[:, None]).T @ X1 / n
        w_new = _group_shrink(yk - step * grad, lam * step)
        f_new = F(w_new)
        obj = value(w_new, f_new)
        gmap = float((w_new - yk).norm()) / max(1.0, float(w_new.norm()))
        if obj > prev and t > 1.0:  # restart: drop the momentum and step from the last iterate
            t, yk, fy = 1.0, w.clone(), fw
            continue
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        beta = (t - 1) / t_new
        yk = w_new + beta * (w_new - w)
        fy = f_new + beta * (f_new - fw)
        change = abs(prev - obj) / max(abs(obj), 1e-300)
        w, fw, t, prev = w_new, f_new, t_new, obj
        sol.objective.append(obj)
        sol.primal.append(gmap)
        sol.dual.append(0.0)
        sol.rho.append(step)
        sol.seconds.append(time.perf_counter() - t0)
        it += 1
        if change < tol and gmap < tol:
            sol.converged = True
            break
        if polish_every and it >= next_check:
            support = w.norm(dim=1) > 0
            stable = last_support is not None and torch.equal(support, last_support) and bool(support.any())
            last_support, next_check = support, it + polish_every
            if not stable:  # polish once the support held since the last check
                continue
            wp, cert = polish_gated(X1[:, :-1], y, Df, lam, w, loss=loss)
            next_check = it + int(polish_wait)
            polish_wait *= 1.5  # a failed polish waits longer before the next
            if cert.gap <= eps_gap and cert.primal <= obj:
                sol.u, sol.v = wp, torch.zeros_like(wp)
                sol.gap, sol.lower, sol.polished, sol.converged = cert.gap, cert.lower, it, True
                sol.objective.append(cert.primal)
                sol.primal.append(0.0)
                sol.dual.append(0.0)
                sol.rho.append(step)
                sol.seconds.append(time.perf_counter() - t0)
                return sol
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
