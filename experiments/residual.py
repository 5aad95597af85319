"""Residual-stream experiments of PAPERS.md: `residual-depth`, `layer-drop`, `deep-vs-shallow`,
`one-layer-transformer`. Runners train the nets; checks judge the numbers the Residual stream page shows."""

from __future__ import annotations

import time

import numpy as np

from netarium.analysis.residual import contributions, drop_curve, skip_effect
from netarium.experiments.base import (
    EXPERIMENTS,
    CheckResult,
    Experiment,
    Progress,
    Result,
    multi_result,
    train_all,
)
from netarium.models import parameter_count
from netarium.training.config import Config
from netarium.training.run import Run

PROBE = 256  # test inputs the measurements use


def _probe(run: Run):
    return run.task.X_test[:PROBE], run.task.y_test[:PROBE]


# ---- residual-depth ---------------------------------------------------------------------------------


def run_residual_depth(config: Config, progress: Progress | None = None) -> Result:
    """Train the deep model, then its contribution profile and skip effects on test inputs."""
    t0 = time.perf_counter()
    (run,) = train_all([config], progress)
    x, _ = _probe(run)
    c, s = contributions(run.model, x), skip_effect(run.model, x)
    rel = c.mean_over_positions("block_rel")
    half = len(rel) // 2
    extra = {f"rel_{b}": float(v) for b, v in zip(c.blocks, rel, strict=True)}
    extra |= {f"output_change_{b}": float(v) for b, v in zip(s.blocks, s.output_change, strict=True)}
    extra |= {
        "rel_first_half": float(rel[:half].mean()), "rel_second_half": float(rel[half:].mean()),
        "rel_first_half_without_layer1": float(rel[1:half].mean()) if half > 1 else float("nan"),
        "skip_output_first_half": float(np.mean(s.output_change[:half])), "skip_output_second_half": float(np.mean(s.output_change[half:])),
        "skip_later_first_half": float(np.nanmean(s.matrix[:half])), "skip_later_second_half": float(np.nanmean(s.matrix[half:-1]))
        if len(rel) > half + 1 else float("nan"),
        "test_acc": run.final_metrics().get("test_acc", float("nan")), "layers": float(len(rel)),
    }
    return multi_result(config, [run], t0, extra)


def check_residual_depth(result: Result) -> CheckResult:
    """The task is learned (>= 0.95); the second half of the layers contributes less than the first
    half, and skipping a second-half layer changes the output less than skipping a first-half one."""
    e = result.extra
    learned = e["test_acc"] >= 0.95
    less = e["rel_second_half"] < e["rel_first_half"]
    quieter = e["skip_output_second_half"] < e["skip_output_first_half"]
    reason = (f"test accuracy {e['test_acc']:.3f} ({'learned' if learned else 'NOT learned'}); relative contribution "
              f"|Δh|/|h| first half {e['rel_first_half']:.3f} (layers 2-{int(e['layers']) // 2}: "
              f"{e['rel_first_half_without_layer1']:.3f}) vs second half {e['rel_second_half']:.3f} "
              f"({'lower' if less else 'NOT lower'}); skipping a layer moves the output by {e['skip_output_first_half']:.3f} "
              f"(first half) vs {e['skip_output_second_half']:.3f} (second half) ({'less' if quieter else 'NOT less'})")
    return CheckResult(learned and less and quieter, dict(e), reason)


# ---- layer-drop ---------------------------------------------------------------------------------------

N_RANDOM = 10
TOLERANCE = 0.01  # one accuracy point


def run_layer_drop(config: Config, progress: Progress | None = None) -> Result:
    """Train, then drop k = 0..L/2 attention sublayers: least important first (one-shot and
    iterative), most important first, and in random order (mean of N_RANDOM draws)."""
    t0 = time.perf_counter()
    (run,) = train_all([config], progress)
    x, y = _probe(run)
    k_max = len(run.model.block_names) // 2
    curves = {
        "least": drop_curve(run.model, x, y, kind="attn", order="least", k_max=k_max),
        "least_iterative": drop_curve(run.model, x, y, kind="attn", order="least", iterative=True, k_max=k_max),
        "most": drop_curve(run.model, x, y, kind="attn", order="most", k_max=k_max),
        "random": drop_curve(run.model, x, y, kind="attn", order="random", k_max=k_max, n_random=N_RANDOM, seed=config.seed),
    }
    extra: dict[str, float] = {"k_max": float(k_max)}
    for name, curve in curves.items():
        for k, acc in zip(curve.k, curve.accuracy, strict=True):
            extra[f"{name}_k{int(k)}"] = float(acc)
    extra["dropped_first"] = float(curves["least"].order[0] + 1) if curves["least"].order else float("nan")
    return multi_result(config, [run], t0, extra)


def check_layer_drop(result: Result) -> CheckResult:
    """For every k = 1..L/2, dropping the k least important attention sublayers costs no more accuracy
    than dropping k random ones (mean of N_RANDOM draws; within one point counts)."""
    e = result.extra
    ks = range(1, int(e["k_max"]) + 1)
    ok = [e[f"least_k{k}"] >= e[f"random_k{k}"] - TOLERANCE for k in ks]
    parts = ", ".join(f"k={k}: {e[f'least_k{k}']:.3f} vs {e[f'random_k{k}']:.3f}" for k in ks)
    worse = ",".join(str(k) for k, good in zip(ks, ok, strict=True) if not good)
    most = ", ".join(f"{e['most_k' + str(k)]:.3f}" for k in ks)
    reason = (f"accuracy after dropping the k least important vs k random attention sublayers: {parts} "
              f"({'never worse' if all(ok) else 'worse at k=' + worse}); most important first: {most}")
    return CheckResult(all(ok), dict(e), reason)


# ---- deep-vs-shallow ------------------------------------------------------------------------------------

SHALLOW_TOLERANCE = 0.15


def run_deep_vs_shallow(config: Config, progress: Progress | None = None) -> Result:
    """The config's residual MLP in the sequential and in the parallel layout (same parameters)."""
    t0 = time.perf_counter()
    runs = train_all([config.with_overrides([f"model.layout={layout}"]) for layout in ("sequential", "parallel")], progress)
    extra: dict[str, float] = {}
    for layout, run in zip(("sequential", "parallel"), runs, strict=True):
        final = run.final_metrics()
        extra |= {f"{layout}_test_loss": final["test_loss"], f"{layout}_train_loss": final["train_loss"],
                  f"{layout}_params": float(parameter_count(run.model))}
    a, b = extra["sequential_test_loss"], extra["parallel_test_loss"]
    extra["relative_difference"] = abs(a - b) / max(a, b)
    return multi_result(config, runs, t0, extra)


def check_deep_vs_shallow(result: Result) -> CheckResult:
    """Matched parameters, and final validation losses within 15% of each other."""
    e = result.extra
    matched = e["sequential_params"] == e["parallel_params"]
    close = e["relative_difference"] <= SHALLOW_TOLERANCE
    reason = (f"validation loss sequential {e['sequential_test_loss']:.4f} vs parallel {e['parallel_test_loss']:.4f}: "
              f"{e['relative_difference']:.1%} apart ({'within' if close else 'NOT within'} 15%); train loss "
              f"{e['sequential_train_loss']:.4f} vs {e['parallel_train_loss']:.4f}; {int(e['sequential_params']):,} parameters each")
    return CheckResult(matched and close, dict(e), reason)


# ---- one-layer-transformer -------------------------------------------------------------------------------

WIDTHS = (4, 8, 16)
WIDTH_TASKS = ("sort", "reverse")
MONOTONE_SLACK = 0.005


def run_one_layer(config: Config, progress: Progress | None = None) -> Result:
    """One attention layer + ReLU MLP at each width in WIDTHS, on sort and on reverse."""
    t0 = time.perf_counter()
    configs = [config.with_overrides({"task": {**config.task.section(), "name": task}, "model.d_model": d})
               for task in WIDTH_TASKS for d in WIDTHS]
    runs = train_all(configs, progress)
    extra: dict[str, float] = {}
    for c, run in zip(configs, runs, strict=True):
        extra[f"{c.task.name}_d{c.model.d_model}_error"] = 1.0 - run.final_metrics()["test_acc"]
    return multi_result(config, runs, t0, extra)


def check_one_layer(result: Result) -> CheckResult:
    """On each task the test error falls as the width grows: never up by more than half a point from one
    width to the next, and lower at the widest than at the narrowest."""
    e = result.extra
    verdicts, parts = [], []
    for task in WIDTH_TASKS:
        errs = [e[f"{task}_d{d}_error"] for d in WIDTHS]
        falls = all(b <= a + MONOTONE_SLACK for a, b in zip(errs, errs[1:], strict=False)) and errs[-1] < errs[0]
        verdicts.append(falls)
        parts.append(f"{task}: " + " → ".join(f"d={d} {err:.3f}" for d, err in zip(WIDTHS, errs, strict=True))
                     + (" (falls)" if falls else " (does NOT fall)"))
    return CheckResult(all(verdicts), dict(e), "test error by width: " + "; ".join(parts))


DEEP = Config(
    task={"name": "sort"},
    model={"name": "transformer", "layers": 8, "d_model": 32, "heads": 4},
    optimizer={"name": "adamw", "lr": 0.003},
    batch_size=64,
    steps=600,
)

RESIDUAL_DEPTH = EXPERIMENTS.register(Experiment(
    id="residual-depth",
    title="The second half of the layers does little",
    paper="Csordás, Manning & Potts, Do language models use their depth efficiently? (2025)",
    look_for="An 8-layer transformer that sorts: the relative contribution |h_{l+1} - h_l|/|h_l| falls with depth, and "
             "skipping a late layer barely moves the output (Residual stream page: contributions and skip effect).",
    config=DEEP,
    check=check_residual_depth,
    page="residual",
    runner=run_residual_depth,
))

LAYER_DROP = EXPERIMENTS.register(Experiment(
    id="layer-drop",
    title="Not all attention is needed",
    paper="He, Sun, Shen & Li, What matters in transformers? Not all attention is needed (2024)",
    look_for="Rank attention sublayers by 1 - cos(input, output) and drop the least important: accuracy holds as half "
             "of them go, better than dropping at random (Residual stream page: importance and layer drop).",
    config=DEEP,
    check=check_layer_drop,
    page="residual",
    runner=run_layer_drop,
))

DEEP_VS_SHALLOW = EXPERIMENTS.register(Experiment(
    id="deep-vs-shallow",
    title="Deep residual stack vs its parallel shallow twin",
    paper="Bermeitinger et al., Make deep networks shallow again (2023)",
    look_for="x + Σ F_l(x) instead of Π(I + F_l) x, with the same blocks and parameters: the two layouts reach similar "
             "train and validation loss on noisy two moons.",
    config=Config(
        task={"name": "moons", "noise": 0.3, "n_samples": 2000},
        model={"name": "residual-mlp", "blocks": 8, "width": 32, "hidden": 64},
        optimizer={"name": "adam", "lr": 0.003},
        batch_size=64,
        steps=1000,
    ),
    check=check_deep_vs_shallow,
    page="residual",
    runner=run_deep_vs_shallow,
))

ONE_LAYER_TRANSFORMER = EXPERIMENTS.register(Experiment(
    id="one-layer-transformer",
    title="One attention layer sorts and reverses, better as it widens",
    paper="Universal approximation theorem for a single-layer transformer (2025)",
    look_for="One self-attention layer and a ReLU MLP on sort and reverse (10 symbols of 20): the test error falls as "
             "d_model grows from 4 to 16.",
    config=Config(
        task={"name": "sort", "L": 10, "n_symbols": 20},
        model={"name": "transformer", "layers": 1, "d_model": 16, "heads": 2},
        optimizer={"name": "adamw", "lr": 0.003},
        batch_size=64,
        steps=800,
    ),
    check=check_one_layer,
    page="residual",
    runner=run_one_layer,
))
