"""Experiment `convex-adversarial`: the robust convex program of a two-layer ReLU net (Bai, Gautam & Sojoudi
2022) against the standard one (Pilanci & Ergen 2020) under an l_inf PGD attack, beside SGD-trained and
PGD-adversarially-trained networks of the same width, on noisy moons (classes that overlap: small margins)."""

from __future__ import annotations

import time

from netarium.experiments.base import (
    EXPERIMENTS,
    CheckResult,
    Experiment,
    Progress,
    Result,
    multi_result,
    train_all,
)
from netarium.tasks.base import make_task
from netarium.training.config import Config
from netarium.training.convex import admm, patterns, to_network, unique_patterns
from netarium.training.convex_robust import (
    certified_margin,
    clean_accuracy,
    robust_accuracy,
    robust_network,
    robust_patterns,
    robust_solve,
)
from netarium.training.threads import using_threads

EPS = 0.3  # l_inf radius of the attack and of the robust program (moons span about 10 x 6 units here)
LAM = 1e-4  # weight decay lambda of both convex programs (squared loss on ±1 targets)
GATES = 60  # random gates through data points (convex.patterns)
ROBUST_DIRS = 20  # directions for the robust program's margin patterns (convex_robust.robust_patterns)
CURVE_EPS = (0.1, 0.2)  # the robust program also solved at these radii (with EPS: the accuracy-against-eps curve)
PGD_STEPS = 20
SEEDS = 3  # SGD and PGD-trained networks: this many seeds each
ADMM_ITERS, ROBUST_ITERS = 4000, 1500

CONFIG = Config(task={"name": "moons", "n_samples": 200, "noise": 0.3},
                model={"name": "mlp", "hidden": [64], "activation": ["relu"]},
                optimizer={"name": "adam", "lr": 0.01}, steps=600, batch_size=0)


def variant_configs(config: Config, width: int) -> dict[str, Config]:
    """SGD (the config's optimizer) and PGD adversarial training, `SEEDS` seeds each, one hidden ReLU layer of
    `width` units (the robust convex net's neuron count)."""
    base = config.with_overrides({"model": {"name": "mlp", "hidden": [width], "activation": ["relu"]}})
    out = {}
    for i in range(SEEDS):
        out[f"sgd{i}"] = base.with_overrides({"seed": config.seed + i, "trainer": {"name": "supervised"}})
        out[f"pgd{i}"] = base.with_overrides({"seed": config.seed + i,
                                              "trainer": {"name": "adversarial", "eps": EPS, "steps": 3}})
    return out


def _accuracies(model, X, y, Xt, yt, eps: float, seed: int) -> dict[str, float]:
    return {"train_clean": clean_accuracy(model, X, y), "test_clean": clean_accuracy(model, Xt, yt),
            "train_pgd": robust_accuracy(model, X, y, eps, steps=PGD_STEPS, seed=seed),
            "test_pgd": robust_accuracy(model, Xt, yt, eps, steps=PGD_STEPS, seed=seed)}


def run_convex_adversarial(config: Config, progress: Progress | None = None) -> Result:
    """Solve the standard (convex.admm) and the robust (robust_solve, squared loss) programs on the same
    patterns of the task's training points, train the SGD and PGD nets (one sweep), attack all of them."""
    t0 = time.perf_counter()
    with using_threads(1):  # small products: one thread is faster on a shared machine
        task = make_task(config.task.name, config.task, seed=config.task_seed)
        X, Xt = task.X_train.double(), task.X_test.double()
        y, yt = 2.0 * task.y_train.double() - 1, 2.0 * task.y_test.double() - 1  # ±1 targets
        D = unique_patterns(patterns(X, GATES, seed=config.seed), robust_patterns(X, EPS, ROBUST_DIRS, seed=config.seed))
        std = admm(X, y, D, LAM, max_iter=ADMM_ITERS)
        rob = robust_solve(X, y, D, LAM, EPS, loss="squared", max_iter=ROBUST_ITERS, eps_abs=1e-5, eps_rel=1e-5)
        nets = {"std": to_network(std, tol=1e-6), "robust": robust_network(rob)}
        extra: dict[str, float] = {"eps": EPS, "lam": LAM, "patterns": float(D.shape[1]), "n_train": float(len(y)),
                                   "std_objective": std.value, "robust_objective": rob.value,
                                   "std_converged": float(std.converged), "robust_converged": float(rob.converged)}
        for name, net in nets.items():
            extra[f"{name}_neurons"] = float(net["hidden"])
            for key, value in _accuracies(net, X, y, Xt, yt, EPS, config.seed).items():
                extra[f"{name}_{key}"] = value
            extra[f"{name}_train_certified"] = float((certified_margin(net, X, y, EPS) > 0).double().mean())
        for e in CURVE_EPS:  # robust and clean accuracy against eps: the robust program at e, and the standard net
            net = robust_network(robust_solve(X, y, D, LAM, e, loss="squared", max_iter=ROBUST_ITERS, eps_abs=1e-5, eps_rel=1e-5))
            extra[f"curve_robust_{e}_test_clean"] = clean_accuracy(net, Xt, yt)
            extra[f"curve_robust_{e}_test_pgd"] = robust_accuracy(net, Xt, yt, e, steps=PGD_STEPS, seed=config.seed)
            extra[f"curve_std_{e}_test_pgd"] = robust_accuracy(nets["std"], Xt, yt, e, steps=PGD_STEPS, seed=config.seed)
        configs = variant_configs(config, int(nets["robust"]["hidden"]))
        runs = train_all(list(configs.values()), progress, task=task)
        for name, run in zip(configs, runs, strict=True):
            run.model.eval()
            acc = _accuracies(run.model, task.X_train, task.y_train, task.X_test, task.y_test, EPS, config.seed)
            for key, value in acc.items():
                extra[f"{name}_{key}"] = value
        for kind in ("sgd", "pgd"):
            for key in ("train_clean", "test_clean", "train_pgd", "test_pgd"):
                extra[f"{kind}_mean_{key}"] = sum(extra[f"{kind}{i}_{key}"] for i in range(SEEDS)) / SEEDS
    return multi_result(config, runs, t0, extra)


def check_convex_adversarial(result: Result) -> CheckResult:
    """The robust convex net's PGD accuracy at eps on the test points exceeds the standard convex net's; the SGD
    and PGD-trained nets are reported beside them (not judged)."""
    e = result.extra
    wins = e["robust_test_pgd"] > e["std_test_pgd"]
    pgd_vs = ("above" if e["pgd_mean_test_pgd"] > e["robust_test_pgd"] else "below")
    reason = (f"PGD at eps={e['eps']} ({int(e['patterns'])} patterns, lambda={e['lam']}): the robust convex net keeps "
              f"{e['robust_test_pgd']:.2f} of the test points (clean {e['robust_test_clean']:.2f}; train {e['robust_train_pgd']:.2f}, "
              f"certified {e['robust_train_certified']:.2f}), the standard convex net {e['std_test_pgd']:.2f} (clean "
              f"{e['std_test_clean']:.2f}; train {e['std_train_pgd']:.2f}){'' if wins else ' — NOT fewer'}. "
              f"{int(e['robust_neurons'])}-unit nets over {SEEDS} seeds: SGD {e['sgd_mean_test_pgd']:.2f} under attack "
              f"(clean {e['sgd_mean_test_clean']:.2f}), PGD-trained {e['pgd_mean_test_pgd']:.2f} (clean {e['pgd_mean_test_clean']:.2f}), "
              f"{pgd_vs} the robust convex net. The standard program ran {'to' if e['std_converged'] else 'without reaching'} "
              f"its tolerance; the robust one {'to' if e['robust_converged'] else 'without reaching'} its own.")
    return CheckResult(bool(wins), dict(e), reason)


CONVEX_ADVERSARIAL = EXPERIMENTS.register(Experiment(
    id="convex-adversarial",
    title="Robust convex training against PGD",
    paper="Bai, Gautam & Sojoudi, Efficient global optimization of two-layer ReLU networks (2022); Madry et al. (2018)",
    look_for="Under an l_inf PGD attack of radius 0.3 on noisy moons, the robust convex program's network keeps more "
             "test points than the standard convex program's, at some clean accuracy; PGD-trained SGD nets beside them.",
    config=CONFIG,
    check=check_convex_adversarial,
    page="playground",
    runner=run_convex_adversarial,
))
