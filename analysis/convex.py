"""The global optimum of a two-layer ReLU network with weight decay, next to SGD/Adam runs of the same network
on the same objective: what the Convex page, the Playground's "Solve for the global optimum" view and the
experiment convex-relu read (pure functions over `training.convex`'s public solvers).

One objective everywhere (`convex.network_objective`), y = ±1, no output bias, biases decayed like weights:

    J(W1, b1, a) = (1/2n) |f(X) - y|^2 + (lam/2) (|W1|^2 + |b1|^2 + |a|^2),   f(x) = sum_j a_j relu(w_j . x + b_j).

Its minimum over every width is the convex program's optimum over every activation pattern (Pilanci & Ergen
2020). ADMM over all patterns at once is slow (n = 60 points have 3,541; thousands of iterations to 1e-6), so
`solve_global` solves the program over a working set of patterns (the SGD runs' own, and sampled ones) and
checks the answer against every pattern with the dual: the program's dual is

    max_r  r^T y - (n/2) |r|^2   s.t.  |P_Ki(X1^T D_i r)| <= lam,  |P_Ki(-X1^T D_i r)| <= lam  for every pattern i

(P_K the projection onto the cone K_i = {u : (2D_i - I) X1 u >= 0}), so the residual r = (y - f)/n of any
network, scaled into that set, gives a lower bound on the optimum over those patterns; with every pattern
(exact enumeration) a lower bound on the global optimum. Patterns that break the dual constraint join the
working set, until the gap between the mapped network's J (an upper bound: a real network) and the bound
is below the tolerance.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.optimize import nnls

from netarium.training import convex as cx

SQUARE_LOSS = "tfp"  # on a regression task: 0.5 (o - y)^2 averaged, the program's data term (one output)


# ---------------------------------------------------------------------------------------------------------
# Data: a two-class 2-D task as ±1 regression targets
# ---------------------------------------------------------------------------------------------------------

def signed_task(task: Any, scale: float = 1.0) -> Any:
    """The same points as a regression task with targets y = +1 (class 1) / -1 (class 0), inputs divided by
    `scale` (the program's conditioning is better near unit scale; the SGD runs see the same inputs), so that
    the `tfp` loss on it is exactly the program's (1/2n)|f - y|^2 with one output. The box and raw points stay."""
    from netarium.tasks.base import Task

    if getattr(task, "kind", None) != "classification" or getattr(task, "n_classes", 0) != 2:
        raise ValueError("the convex program needs a two-class task (targets ±1)")
    if not getattr(task, "is_2d", False):
        raise ValueError("the convex page needs a 2-D task (points in the plane)")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    featurize = task.featurize

    def to_signs(y: torch.Tensor) -> torch.Tensor:
        return (y.to(torch.float32) * 2 - 1).reshape(-1, 1)

    return Task(
        name=task.name, kind="regression", X_train=task.X_train / scale, y_train=to_signs(task.y_train),
        X_test=task.X_test / scale, y_test=to_signs(task.y_test), n_classes=0, input_names=list(task.input_names),
        meta={**task.meta, "input_scale": float(scale)}, featurize=_Scaled(featurize, scale),
    )


class _Scaled:
    """featurize(points) / scale (picklable, unlike a lambda)."""

    def __init__(self, featurize: Any, scale: float):
        self.featurize, self.scale = featurize, scale

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        return self.featurize(points) / self.scale


def pattern_set(X, nets: list[dict], exact: bool, n_sampled: int = 100, seed: int = 0) -> torch.Tensor:
    """Every pattern of 2-D data (exact) or `n_sampled` sampled gates, pooled with the patterns of `nets`
    ({"W1", "b1"} each): the program over it is never above any of those nets."""
    sets = [cx.enumerate_patterns_2d(X) if exact else cx.patterns(X, n_sampled, seed=seed)]
    sets += [cx.patterns_of_network(net["W1"], net["b1"], X) for net in nets if len(net["b1"])]
    return cx.unique_patterns(*[s for s in sets if s.shape[1]])


# ---------------------------------------------------------------------------------------------------------
# Dual certificate
# ---------------------------------------------------------------------------------------------------------

def _cone_norm(A: np.ndarray, c: np.ndarray) -> float:
    """|P_K(c)| for K = {u : A u >= 0}: Moreau, c = P_K(c) + P_K°(c) with K° = {-A^T mu, mu >= 0}, so
    P_K(c) = c + A^T mu* with mu* = argmin_{mu >= 0} |A^T mu + c| (non-negative least squares)."""
    if (A @ c >= 0).all():
        return float(np.linalg.norm(c))
    mu, _ = nnls(A.T, -c)
    return float(np.linalg.norm(c + A.T @ mu))


def dual_violations(X, r, D, lam: float) -> np.ndarray:
    """max(|P_Ki(c_i)|, |P_Ki(-c_i)|) / lam with c_i = X1^T D_i r, per pattern (P,): <= 1 everywhere iff the
    residual r is dual feasible. |P_K(c)| <= |c|, so patterns with |c_i| <= lam need no projection."""
    X1 = cx.with_ones(X).numpy()
    Dn = torch.as_tensor(D).bool().numpy()
    r = np.asarray(r, dtype=np.float64)
    C = (Dn * r[:, None]).T @ X1  # (P, d)
    norms = np.linalg.norm(C, axis=1)
    out = norms / lam
    for i in np.flatnonzero(norms > lam):
        A = (2 * Dn[:, i] - 1.0)[:, None] * X1
        out[i] = max(_cone_norm(A, C[i]), _cone_norm(A, -C[i])) / lam
    return out


def dual_bound(X, y, f, D, lam: float) -> tuple[float, float]:
    """(lower bound on the program's optimum over patterns D, worst dual violation) from a prediction f:
    r = (y - f)/n scaled by t <= 1/violation into the dual set, t chosen to maximize t r^T y - (n/2) t^2 |r|^2."""
    y, f = np.asarray(y, dtype=np.float64).reshape(-1), np.asarray(f, dtype=np.float64).reshape(-1)
    n = len(y)
    r = (y - f) / n
    worst = float(dual_violations(X, r, D, lam).max())
    rr, ry = float(r @ r), float(r @ y)
    if rr == 0:
        return 0.0, worst
    t = min(1.0 / max(worst, 1e-300), max(ry / (n * rr), 0.0))
    return t * ry - 0.5 * n * t * t * rr, worst


# ---------------------------------------------------------------------------------------------------------
# The global (or pattern-set) optimum by ADMM over a working set
# ---------------------------------------------------------------------------------------------------------

@dataclass
class GlobalSolve:
    """`solve_global`'s answer: the last ADMM solution over the working set, its mapped network (to_network),
    upper = J of that network, lower = the dual bound over all of `patterns`, the rounds' joined traces
    (objective per ADMM iteration, cumulative seconds including the certificates) and the counts."""

    solution: cx.Solution
    network: dict
    upper: float
    lower: float
    patterns: int  # patterns the program ranges over (every one, or sampled + SGD)
    working: int  # patterns in the final working set
    active: int  # patterns with a nonzero u_i or v_i
    rounds: int
    iterations: int
    objective: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    converged: bool = False

    @property
    def gap(self) -> float:
        """(upper - lower) / upper: how far the network can be from the program's optimum, at most."""
        return (self.upper - self.lower) / max(abs(self.upper), 1e-300)

    @property
    def neurons(self) -> int:
        return int(self.network["hidden"])


def solve_global(X, y, lam: float, D, start=None, tol: float = 1e-7, max_rounds: int = 8, add: int = 40,
                 max_iter: int = 20000, eps_abs: float = 1e-10, eps_rel: float = 1e-9, threads: int | None = 1,
                 deadline: float | None = None) -> GlobalSolve:
    """The program over every pattern in D, by ADMM over a working set (`start`: column indices of D, default
    all) that grows by the `add` patterns whose dual constraint is broken most, until the certified gap is
    below `tol` (or `max_rounds`, or `deadline` seconds). A pattern set of a few hundred goes in whole."""
    X, y = cx._t(X), cx._t(y).reshape(-1)
    D = torch.as_tensor(D).bool()
    P = D.shape[1]
    work = np.arange(P) if start is None else np.unique(np.asarray(start, dtype=int))
    if not len(work):
        work = np.arange(min(P, add))
    objective: list[float] = []
    seconds: list[float] = []
    t0 = time.perf_counter()
    rounds = iterations = 0
    while True:
        rounds += 1
        Dw = D[:, torch.as_tensor(work)]
        sol = cx.admm(X, y, Dw, lam, max_iter=max_iter, eps_abs=eps_abs, eps_rel=eps_rel, threads=threads)
        base = seconds[-1] if seconds else 0.0
        objective += sol.objective
        seconds += [base + s for s in sol.seconds]
        iterations += sol.iterations
        net = cx.to_network(sol, Dw)
        upper = cx.network_objective(net["W1"], net["b1"], net["a"], X, y, lam)
        f = cx.network_predict(net, X).numpy()
        viol = dual_violations(X, (y.numpy() - f) / len(y), D, lam)
        lower, worst = dual_bound(X, y, f, D, lam)
        seconds[-1] = time.perf_counter() - t0  # the certificate's time counts too
        gap = (upper - lower) / max(abs(upper), 1e-300)
        outside = np.setdiff1d(np.flatnonzero(viol > 1.0), work)
        timed_out = deadline is not None and time.perf_counter() - t0 > deadline
        if gap <= tol or not len(outside) or rounds >= max_rounds or timed_out:
            break
        worst_first = outside[np.argsort(-viol[outside])][:add]
        active = work[(sol.u.norm(dim=1) + sol.v.norm(dim=1)).numpy() > 0]
        work = np.union1d(np.union1d(active, worst_first), work if len(work) <= 4 * add else active)
    active_n = int(((sol.u.norm(dim=1) + sol.v.norm(dim=1)) > 0).sum())
    return GlobalSolve(sol, net, upper, lower, P, len(work), active_n, rounds, iterations, objective, seconds,
                       converged=gap <= tol)


# ---------------------------------------------------------------------------------------------------------
# SGD / Adam runs on the same objective
# ---------------------------------------------------------------------------------------------------------

def mlp_weights(model: torch.nn.Module) -> dict:
    """{"W1", "b1", "a"} (float64) of a one-hidden-layer mlp; a 2-output readout as a = w_1 - w_0 (the logit
    difference), and "c" its output bias (0 without one: the program's network has none)."""
    state = {k: v.detach().double().cpu() for k, v in model.state_dict().items()}
    if "layers.0.linear.weight" not in state or "layers.1.linear.weight" in state:
        raise ValueError("needs an mlp with exactly one hidden layer")
    W1 = state["layers.0.linear.weight"]
    b1 = state.get("layers.0.linear.bias", torch.zeros(W1.shape[0], dtype=torch.float64))
    R = state["readout.weight"]
    c = state.get("readout.bias", torch.zeros(R.shape[0], dtype=torch.float64))
    if R.shape[0] == 1:
        return {"W1": W1, "b1": b1, "a": R[0], "c": float(c[0])}
    if R.shape[0] == 2:
        return {"W1": W1, "b1": b1, "a": R[1] - R[0], "c": float(c[1] - c[0])}
    raise ValueError(f"needs one or two outputs, the readout has {R.shape[0]}")


@dataclass
class RunTrace:
    """One SGD/Adam run on the objective: J per evaluation (train_loss + (lam/2) weight_norm^2, as the Run
    recorded them) against steps and seconds, the final J from its weights, its width and living neurons."""

    label: str
    seed: int
    optimizer: str
    steps: list[int]
    seconds: list[float]
    objective: list[float]
    final: float
    width: int
    neurons: int  # hidden units with a nonzero output weight and a non-empty pattern on the data
    net: dict = field(repr=False, default_factory=dict)


def run_trace(run: Any, X, y, lam: float, seconds: float, label: str = "") -> RunTrace:
    """A trained Run's trace; `seconds`: the wall time its steps took (for a batched program of K runs, the
    program's time / K), spread evenly over the steps."""
    net = mlp_weights(run.model)
    final = cx.network_objective(net["W1"], net["b1"], net["a"], X, y, lam)
    steps, loss = run.history.series("train_loss")
    _, norm = run.history.series("weight_norm")
    total = max(run.step_count, 1)
    obj = [float(lv + 0.5 * lam * w * w) for lv, w in zip(loss, norm, strict=False)]
    H = torch.relu(cx._t(X) @ net["W1"].T + net["b1"])
    alive = int(((net["a"].abs() > 0) & (H.abs().sum(0) > 0)).sum())
    name = run.config.optimizer.name
    return RunTrace(label or f"{name} seed {run.config.seed}", run.config.seed, name, list(steps),
                    [seconds * s / total for s in steps], obj, final, int(net["W1"].shape[0]), alive, net)


# ---------------------------------------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------------------------------------

@dataclass
class ConvexComparison:
    """The program's optimum beside the runs: the working-set ADMM solve (with its certificate), the gated
    relaxation by FISTA (a lower bound of the constrained program over the same patterns, not a ReLU net),
    every run's trace and final J, and whether the patterns were every pattern (exact)."""

    lam: float
    n: int
    exact: bool
    solve: GlobalSolve
    runs: list[RunTrace]
    fista: cx.Solution | None = None
    scale: float = 1.0
    task: Any = field(default=None, repr=False)  # the ±1 task the runs trained on (for the boundaries)
    trained: list = field(default_factory=list, repr=False)  # the Runs themselves, when the caller keeps them

    @property
    def optimum(self) -> float:
        """J of the mapped network: a value a real network attains, within `gap` of the program's optimum."""
        return self.solve.upper

    @property
    def mapped_objective(self) -> float:
        """The convex objective at the solution (the program's value; equals J of the mapped net when feasible)."""
        s = self.solve.solution
        return s.value

    def gaps(self) -> list[float]:
        """(J_run - optimum) / optimum per run."""
        return [(r.final - self.optimum) / self.optimum for r in self.runs]

    def below_every_run(self, rel: float = 1e-6) -> bool:
        return all(self.optimum <= r.final * (1 + rel) for r in self.runs)


def compare(X, y, lam: float, D, runs: list[RunTrace], *, exact: bool, fista: bool = True, fista_iter: int = 3000,
            scale: float = 1.0, **solve_kw) -> ConvexComparison:
    """Solve the program over patterns D (working set seeded with the runs' own patterns and the first
    sampled ones) and set the runs beside it; FISTA's gated relaxation over the same D when `fista`."""
    X, y = cx._t(X), cx._t(y).reshape(-1)
    D = torch.as_tensor(D).bool()
    start = _start_columns(D, X, runs) if runs else None  # ADMM over every pattern at once is far slower
    solve = solve_global(X, y, lam, D, start=start, **solve_kw)
    gated = cx.fista_gated(X, y, D, lam, max_iter=fista_iter, tol=1e-12, threads=solve_kw.get("threads", 1)) if fista else None
    return ConvexComparison(lam, len(y), exact, solve, runs, gated, scale)


def _start_columns(D: torch.Tensor, X, runs: list[RunTrace]) -> np.ndarray:
    """Columns of D that are the runs' own patterns (the working set starts where SGD ended up)."""
    want = [cx.patterns_of_network(r.net["W1"], r.net["b1"], X) for r in runs if len(r.net.get("b1", []))]
    if not want:
        return np.arange(min(D.shape[1], 60))
    keys = {tuple(col) for W in want for col in W.T.numpy().astype(np.uint8)}
    cols = D.T.numpy().astype(np.uint8)
    return np.asarray([i for i, c in enumerate(cols) if tuple(c) in keys], dtype=int)


def relative_gap(values, optimum: float) -> np.ndarray:
    """|f_k - f*| / |f*| (the page's log axis; zeros stay zeros)."""
    return np.abs(np.asarray(values, dtype=float) - optimum) / max(abs(optimum), 1e-300)


def finite(x: float) -> float:
    return float(x) if math.isfinite(x) else float("nan")


def net_surface(net: dict, task: Any, resolution: int = 60) -> Any:
    """f(x) = sum_j a_j relu(w_j . x + b_j) (+ c) of a net ({"W1", "b1", "a"}) over the task's plot box, as an
    `analysis.playground.Surface` of kind regression (boundary_figure draws it; f = 0 is the boundary)."""
    from netarium.analysis.playground import Surface, _require_2d, grid_points

    box = _require_2d(task)
    xs, ys, points = grid_points(box, resolution)
    feats = task.featurize(points).double()
    f = cx.network_predict(net, feats) + float(net.get("c", 0.0))
    return Surface(xs, ys, f.reshape(resolution, resolution).numpy(), "regression", box)


def live_objective(net: dict, X, y, lam: float) -> float:
    """J of a net that may have an output bias c (a live Playground net): (1/2n)|f + c - y|^2 + (lam/2)(|W1|^2 +
    |b1|^2 + |a|^2); c is not decayed (the program's network has none, so with c != 0 it is not the same class)."""
    f = cx.network_predict(net, X) + float(net.get("c", 0.0))
    r = f - cx._t(y).reshape(-1)
    reg = net["W1"].pow(2).sum() + net["b1"].pow(2).sum() + net["a"].pow(2).sum()
    return float(0.5 * (r @ r) / len(r) + 0.5 * lam * reg)


def run_lam(config: Any, default: float) -> tuple[float, str]:
    """The lam of J that a run's regularization stands for, and where it came from: the optimizer's weight
    decay lam (the gradient of (lam/2)|theta|^2), else its L2 rate (penalty l2 |W|^2: lam = 2 l2; tfp's update
    lr l2 w: lam = l2; both on weight matrices only, not biases), else `default`."""
    wd = float(getattr(config.optimizer, "weight_decay", 0.0) or 0.0)
    if wd > 0 and config.optimizer.name != "adamw":
        return wd, f"the optimizer's weight decay {wd:g}"
    if config.l2 > 0:
        lam = 2 * config.l2 if config.regularization == "penalty" else config.l2
        return lam, f"the run's L2 rate {config.l2:g} ({config.regularization}: λ = {lam:g}; it decays weight matrices only, not biases)"
    return default, f"a default λ = {default:g} (the run has no L2 or weight decay)"


@dataclass
class LiveSolve:
    """The program solved on a live run's training data beside the live net: J of both (the same J), the
    solve, how many points and patterns were used and whether they were every pattern."""

    live: dict
    live_objective: float
    solve: GlobalSolve
    lam: float
    n: int
    n_total: int
    exact: bool
    step: int = 0

    @property
    def optimum(self) -> float:
        return self.solve.upper

    def live_neurons(self, X) -> int:
        """Hidden units of the live net with a nonzero output weight that fire on some training point."""
        H = torch.relu(cx._t(X) @ self.live["W1"].T + self.live["b1"])
        return int(((self.live["a"].abs() > 0) & (H.sum(0) > 0)).sum())


def solve_for_model(model: torch.nn.Module, X, labels, lam: float, n_cap: int = 200, exact_max: int = 60,
                    sampled: int = 60, max_iter: int = 3000, deadline: float = 4.0, step: int = 0) -> LiveSolve:
    """The program on the first `n_cap` training points (X, class labels 0/1 as y = ±1) of a live one-hidden-layer
    ReLU mlp, over every pattern when the inputs are 2-D and n <= exact_max, else `sampled` gates pooled with the
    live net's own patterns; ADMM bounded by `max_iter` per round and `deadline` seconds, on one torch thread
    (the app trains on one too; two threads that wait on each other made it 40x slower on this machine)."""
    live = mlp_weights(model)
    X = cx._t(X)[:n_cap]
    y = (cx._t(labels).reshape(-1)[:n_cap] * 2 - 1)
    n_total = int(cx._t(labels).reshape(-1).shape[0])
    exact = X.shape[1] == 2 and len(y) <= exact_max
    D = pattern_set(X, [live], exact=exact, n_sampled=sampled)
    start = _start_columns(D, X, [RunTrace("live", 0, "", [], [], [], 0.0, 0, 0, live)])
    solve = solve_global(X, y, lam, D, start=start, max_iter=max_iter, eps_abs=1e-9, eps_rel=1e-8, threads=1,
                         deadline=deadline, max_rounds=3)
    return LiveSolve(live, live_objective(live, X, y, lam), solve, lam, len(y), n_total, exact, step)


# ---------------------------------------------------------------------------------------------------------
# Robust training against eps (the Convex page's robust section; training/convex_robust.py)
# ---------------------------------------------------------------------------------------------------------

@dataclass
class RobustComparison:
    """Per radius eps (trained for and attacked at): the robust program's network's clean and PGD accuracy on the
    test points, its certified accuracy on the training points (`certified_margin` > 0) and its neurons; the
    standard program's network (same patterns, eps = 0) under the same attack. `converged`: whether each robust
    solve reached its tolerance within its time limit."""

    eps: list[float]
    robust_clean: list[float]
    robust_pgd: list[float]
    certified: list[float]
    neurons: list[int]
    converged: list[bool]
    standard_clean: float
    standard_pgd: list[float]
    patterns: int
    seconds: float


def robust_against_eps(task: Any, lam: float, eps_grid, seed: int = 0, gates: int = 30, dirs: int = 10,
                       pgd_steps: int = 20, time_limit: float = 3.0) -> RobustComparison:
    """The robust convex program (squared loss, Bai, Gautam & Sojoudi 2022) at each eps of `eps_grid`, and the
    standard one, on one pattern set of the ±1 task's training points (`gates` sampled gates pooled with the
    robust program's margin patterns of every eps), each net attacked by PGD at that eps on the test points.
    Each robust solve stops after `time_limit` seconds (the page's bound; `converged` says whether it got there)."""
    from netarium.training import convex_robust as rb

    t0 = time.perf_counter()
    eps_grid = sorted(float(e) for e in eps_grid)
    if not eps_grid or eps_grid[0] < 0:
        raise ValueError("eps_grid needs at least one radius >= 0")
    X, y = task.X_train.double(), task.y_train.double().reshape(-1)
    Xt, yt = task.X_test.double(), task.y_test.double().reshape(-1)
    D = cx.unique_patterns(cx.patterns(X, gates, seed=seed),
                           *[rb.robust_patterns(X, e, dirs, seed=seed) for e in eps_grid if e > 0])
    standard = cx.to_network(cx.admm(X, y, D, lam, max_iter=3000, threads=1), tol=1e-6)
    out = RobustComparison([], [], [], [], [], [], rb.clean_accuracy(standard, Xt, yt), [], int(D.shape[1]), 0.0)
    for e in eps_grid:
        sol = rb.robust_solve(X, y, D, lam, e, loss="squared", max_iter=3000, eps_abs=1e-5, eps_rel=1e-5,
                              time_limit=time_limit)
        net = rb.robust_network(sol)
        out.eps.append(e)
        out.robust_clean.append(rb.clean_accuracy(net, Xt, yt))
        out.robust_pgd.append(rb.robust_accuracy(net, Xt, yt, e, steps=pgd_steps, seed=seed))
        out.certified.append(float((rb.certified_margin(net, X, y, e) > 0).double().mean()))
        out.neurons.append(int(net["hidden"]))
        out.converged.append(bool(sol.converged))
        out.standard_pgd.append(rb.robust_accuracy(standard, Xt, yt, e, steps=pgd_steps, seed=seed))
    out.seconds = time.perf_counter() - t0
    return out
