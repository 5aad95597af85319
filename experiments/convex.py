"""Experiment `convex-relu` (Pilanci & Ergen 2020; Bai, Gautam & Sojoudi 2022): the global optimum of a
two-layer ReLU network with weight decay, found by a convex program, next to what Adam finds on the same
network and the same objective.

The objective (analysis/convex.py): J = (1/2n)|f(X) - y|^2 + (lam/2)(|W1|^2 + |b1|^2 + |a|^2), y = ±1, no
output bias. The Adam runs train exactly J through the sweep engine (several seeds as one batched program):
an mlp with one ReLU layer and no readout bias (`model.readout_bias=false`), the `tfp` loss on the ±1
regression version of the task (0.5 (o - y)^2 averaged), and weight decay lam on every parameter
(torch's coupled weight decay: the gradient of (lam/2)|theta|^2).

(a) xor, n = 60 training points, every activation pattern (exact enumeration): the program's optimum, with a
dual certificate, is <= every run's J + 1e-6 relative. (b) xor, n = 200: sampled patterns pooled with the
runs' own: the same comparison, and the mapped network's J equals the convex objective within 1e-4.
"""

from __future__ import annotations

import math
import time

from netarium.analysis import convex as acx
from netarium.experiments.base import (
    EXPERIMENTS,
    CheckResult,
    Experiment,
    Progress,
    Result,
    multi_result,
    train_all,
)
from netarium.tasks import make_task
from netarium.training.config import Config
from netarium.training.threads import using_threads

LAM = 5e-2  # weight decay lam of the objective (inputs scaled by 1/SCALE to about [-1, 1])
SCALE = 5.0  # the Playground's data radius
WIDTH = 40  # hidden units of every Adam run (the width cap; the optimum must use no more)
SEEDS = 5
STEPS = 4000
PARTS = {"a": 60, "b": 200}  # training points of each part (train_ratio 0.5 of twice as many samples)
SAMPLED = 100  # sampled gates in (b), pooled with the runs' patterns
REL = 1e-6  # (a), (b): optimum <= every run's J (1 + REL)
MAPPED = 1e-4  # (b): |J(mapped net) - convex objective| <= MAPPED * objective
CERTIFIED = 1e-3  # (a): the dual gap that certifies the optimum global (ADMM does not reach 1e-6 in the time)
DEADLINE = 20.0  # seconds of working-set rounds per part (a round started goes on to its end)
MAX_ITER = 8000  # ADMM iterations per round

BASE = Config(
    task={"name": "xor", "n_samples": 2 * PARTS["a"], "noise": 0.0},
    model={"name": "mlp", "hidden": [WIDTH], "activation": ["relu"], "readout_bias": False},
    optimizer={"name": "adam", "lr": 0.01, "weight_decay": LAM},
    loss=acx.SQUARE_LOSS,
    steps=STEPS,
    eval_every=STEPS // 100,
    device="cpu",
)


def sgd_configs(config: Config, n: int, seeds: int = SEEDS) -> list[Config]:
    """The runs of one part: `seeds` seeds on the same data (data_seed = the config's seed)."""
    return [config.with_overrides({"task.n_samples": 2 * n, "seed": config.seed + s, "data_seed": config.seed})
            for s in range(seeds)]


def lam_of(config: Config) -> float:
    return float(config.optimizer.weight_decay)


def page_config(task: str, lam: float, width: int, optimizer: str, lr: float, steps: int, seed: int = 0) -> Config:
    """The runs' Config for a task, lam, width and optimizer (sgd or adam): the objective as in BASE."""
    return BASE.with_overrides({"task": {"name": task, "noise": 0.0}, "model.hidden": [width],
                                "optimizer": {"name": optimizer, "lr": lr, "weight_decay": lam},
                                "steps": steps, "eval_every": max(1, steps // 100), "seed": seed})


def compare_part(config: Config, n: int, exact: bool, progress: Progress | None = None, seeds: int = SEEDS,
                 sampled: int = SAMPLED, fista: bool = False, optimizers: dict[str, float] | None = None,
                 **solve_kw) -> acx.ConvexComparison:
    """Train `seeds` runs of `config` on n points (one batched program per optimizer) and solve the program on
    their data: every pattern when `exact` (2-D, n <= 60 or so), else `sampled` gates pooled with the runs'
    patterns. `optimizers` {name: lr}: `seeds` runs of each instead of the config's optimizer alone."""
    variants = [config] if not optimizers else [
        config.with_overrides({"optimizer": {"name": name, "lr": lr, "weight_decay": lam_of(config)}})
        for name, lr in optimizers.items()]
    configs = [c for v in variants for c in sgd_configs(v, n, seeds)]
    task = acx.signed_task(make_task(config.task.name, configs[0].task, seed=configs[0].task_seed), SCALE)
    t0 = time.perf_counter()
    runs = train_all(configs, progress, task=task)
    per_run = (time.perf_counter() - t0) / len(runs)
    X, y = task.X_train.double(), task.y_train.double().reshape(-1)
    lam = lam_of(config)
    traces = [acx.run_trace(r, X, y, lam, per_run) for r in runs]
    D = acx.pattern_set(X, [t.net for t in traces], exact=exact, n_sampled=sampled, seed=config.seed)
    out = acx.compare(X, y, lam, D, traces, exact=exact, fista=fista, scale=SCALE, **solve_kw)
    out.task, out.trained = task, runs
    return out


def run_convex(config: Config, progress: Progress | None = None) -> Result:
    """Parts (a) and (b), one torch thread (many small ops); every objective into Result.extra."""
    t0 = time.perf_counter()
    extra: dict[str, float] = {"lam": lam_of(config), "width": float(config.model.hidden[0])}
    runs = []
    with using_threads(1):
        for part, n in PARTS.items():
            t1 = time.perf_counter()
            c = compare_part(config, n, exact=part == "a", deadline=DEADLINE, max_iter=MAX_ITER)
            runs += c.trained
            s = c.solve
            extra |= {f"{part}_n": float(n), f"{part}_optimum": s.upper, f"{part}_lower": s.lower, f"{part}_gap": s.gap,
                      f"{part}_convex_objective": c.mapped_objective, f"{part}_patterns": float(s.patterns),
                      f"{part}_working": float(s.working), f"{part}_active": float(s.active),
                      f"{part}_neurons": float(s.neurons), f"{part}_rounds": float(s.rounds),
                      f"{part}_iterations": float(s.iterations), f"{part}_seconds": time.perf_counter() - t1}
            for k, r in enumerate(c.runs):
                extra[f"{part}_run{k}"] = r.final
                extra[f"{part}_run{k}_neurons"] = float(r.neurons)
            extra[f"{part}_best_run"] = min(r.final for r in c.runs)
    return multi_result(config, runs, t0, extra)


def check_convex(result: Result) -> CheckResult:
    """Passes when, in both parts, the optimum is <= every run's J (1 + 1e-6); in (a) the optimum is
    certified global (dual gap <= CERTIFIED = 1e-3 over every pattern; whether its width fits the runs' is reported);
    in (b) the mapped network's J equals the convex objective within 1e-4. The optimum is the J of a real network (the
    mapped one), so "<= every run" holds of the global optimum too; the dual gap says how close to it it is."""
    e = result.extra
    ok, parts = True, []
    seeds = sum(1 for k in e if k.startswith("a_run") and not k.endswith("_neurons"))
    for part in PARTS:
        opt = e[f"{part}_optimum"]
        runs = [e[f"{part}_run{k}"] for k in range(seeds)]
        below = all(opt <= r * (1 + REL) for r in runs)
        ok &= below
        words = (f"({part}) n={int(e[f'{part}_n'])}, {'every pattern' if part == 'a' else 'sampled + Adam patterns'} "
                 f"({int(e[f'{part}_patterns'])}; working set {int(e[f'{part}_working'])}, "
                 f"{int(e[f'{part}_rounds'])} rounds, {int(e[f'{part}_iterations'])} ADMM iterations): optimum "
                 f"{opt:.8f} with {int(e[f'{part}_neurons'])} neurons, dual bound {e[f'{part}_lower']:.8f} (gap "
                 f"{e[f'{part}_gap']:.1e}); Adam J = " + ", ".join(f"{r:.6f}" for r in runs)
                 + (" — optimum <= every run" if below else " — the optimum is NOT <= every run"))
        if part == "a":
            cert = e["a_gap"] <= CERTIFIED  # 1e-3: a certified global optimum (ADMM rarely gets 1e-6 in the time)
            fits = e["a_neurons"] <= e["width"]
            ok &= cert
            words += ("; certified global" if cert else "; NOT certified global") + (
                f"; the optimum's {int(e['a_neurons'])} neurons fit the width {int(e['width'])}" if fits else
                f"; the optimum uses {int(e['a_neurons'])} neurons, more than the runs' width {int(e['width'])} "
                "(it is still the optimum of every width)")
        else:
            diff = abs(e["b_optimum"] - e["b_convex_objective"]) / e["b_convex_objective"]
            mapped = diff <= MAPPED
            ok &= mapped
            words += f"; mapped net's J vs convex objective {e['b_convex_objective']:.8f}: relative difference {diff:.1e}"
        parts.append(words)
    reason = f"lam = {e['lam']:g}, Adam width {int(e['width'])}, {seeds} seeds. " + " | ".join(parts) + (
        ". Passed." if ok else ". FAILED.")
    numbers = {k: (v if math.isfinite(v) else float("nan")) for k, v in e.items()}
    return CheckResult(bool(ok), numbers, reason)


CONVEX_RELU = EXPERIMENTS.register(Experiment(
    id="convex-relu",
    title="The global optimum of a two-layer ReLU net, beside Adam",
    paper="Pilanci & Ergen, Neural networks are convex regularizers (2020); Bai, Gautam & Sojoudi, Efficient global "
          "optimization of two-layer ReLU networks (2022)",
    look_for="On xor with 60 points every activation pattern is enumerated: the convex program's optimum (certified by "
             "its dual) is at or below every Adam run of the same network on the same objective; with 200 points, "
             "sampled patterns pooled with the runs' own keep it at or below them.",
    config=BASE,
    check=check_convex,
    page="convex",
    runner=run_convex,
))
