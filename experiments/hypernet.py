"""Experiment `hypernetwork-mip`: a plain hypernetwork against the same hypernetwork with magnitude invariant
parametrization (Ortiz, Guttag & Dalca 2023), same data, batches, optimizer and learning rate, over seeds.

The setting follows the paper's: gamma ~ U(0, 1) per example (0 included), the hypernet initialised as in its
code (Kaiming normal, zero biases, LeakyReLU), Adam at one learning rate for both. The target net has three
hidden layers (the paper's primary nets are deep CNNs): with a plain hypernet its weights shrink with gamma,
and through several layers the signal and gradients of small-gamma examples shrink with them.

The claim: MIP converges faster. Measured per seed: the step at which MIP's training loss first reaches the
plain hypernet's final training loss, both read as the mean of the last SMOOTH evaluations (every EVAL_EVERY
steps), so that one noisy minibatch-trained evaluation decides nothing."""

from __future__ import annotations

import math
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
from netarium.training.config import Config
from netarium.training.history import History

SEEDS = 3  # seeds per variant: the config's seed and the next two
STEPS = 1000
EVAL_EVERY = 25
SMOOTH = 5  # evaluations averaged: the training loss at step t is the mean of the last 5 (t - 100 .. t)
ACC_LEVEL = 0.90  # the MIP hypernet's test accuracy must reach this on every seed
VARIANTS = ("mip", "plain")  # MIP first: the first network is the one `--save` streams

MIP_CONFIG = Config(
    task={"name": "rotated-2d", "base": "moons", "noise": 0.2, "n_samples": 2000, "max_angle": 180.0},
    model={"name": "hypernetwork", "hidden": [8, 8, 8], "activation": "relu", "hyper_hidden": [32, 32], "mip": True},
    optimizer={"name": "adam", "lr": 1e-3},
    batch_size=100,
    steps=STEPS,
    eval_every=EVAL_EVERY,
)


def variant_configs(config: Config, seeds: int = SEEDS) -> list[tuple[str, int, Config]]:
    """(variant, seed, config): plain and MIP on seeds seed .. seed + seeds - 1, each seed's data its own
    (data_seed = seed) and shared by both variants, everything else as in `config`."""
    model = config.model.section() if config.model.name == "hypernetwork" else {"name": "hypernetwork"}
    out = []
    for variant in VARIANTS:
        for k in range(seeds):
            seed = config.seed + k
            out.append((variant, seed, config.with_overrides(
                {"model": {**model, "mip": variant == "mip"}, "seed": seed, "data_seed": seed})))
    return out


def smoothed(history: History, metric: str = "train_loss", window: int = SMOOTH) -> tuple[list[int], list[float]]:
    """(steps, the mean of the last `window` recorded values at each step) of one metric."""
    steps, values = history.series(metric)
    return list(steps), [sum(values[max(0, k - window + 1) : k + 1]) / (k + 1 - max(0, k - window + 1)) for k in range(len(values))]


def steps_to_reach(history: History, level: float, metric: str = "train_loss") -> int | None:
    """The first recorded step at which the smoothed `metric` is <= level, None if never."""
    steps, values = smoothed(history, metric)
    return next((s for s, v in zip(steps, values, strict=True) if v <= level), None)


def run_hypernet(config: Config, progress: Progress | None = None) -> Result:
    """Train both variants on SEEDS seeds as batched programs (one per variant), then measure per seed."""
    t0 = time.perf_counter()
    planned = variant_configs(config)
    runs = train_all([c for _, _, c in planned], progress, threads=1)  # small nets: one thread is fastest, and leaves the other core free
    extra: dict[str, float] = {"seeds": float(SEEDS), "first_seed": float(config.seed), "eval_every": float(config.eval_every)}
    by_seed: dict[int, dict[str, object]] = {}
    for (variant, seed, _), run in zip(planned, runs, strict=True):
        final = run.final_metrics()
        norms = run.model.theta_norms((0.0, 1.0)).tolist()
        key = f"{variant}_s{seed}"
        _, curve = smoothed(run.history)
        extra[f"{key}_train_loss"] = float(curve[-1]) if curve else math.nan
        extra[f"{key}_test_acc"] = float(final.get("test_acc", math.nan))
        extra[f"{key}_theta_norm_0"], extra[f"{key}_theta_norm_1"] = float(norms[0]), float(norms[1])
        by_seed.setdefault(seed, {})[variant] = run
    for seed, pair in by_seed.items():
        level = extra[f"plain_s{seed}_train_loss"]
        reach = steps_to_reach(pair["mip"].history, level)  # type: ignore[union-attr]
        extra[f"mip_s{seed}_steps_to_plain_final"] = float(reach) if reach is not None else math.nan
        extra[f"plain_s{seed}_steps"] = float(pair["plain"].step_count)  # type: ignore[union-attr]
    return multi_result(config, runs, t0, extra)


def seeds_of(extra: dict[str, float]) -> list[int]:
    first = int(extra["first_seed"])
    return list(range(first, first + int(extra["seeds"])))


def check_hypernet(result: Result) -> CheckResult:
    """Passes when the MIP hypernetwork reaches test accuracy ACC_LEVEL on every seed. Reports per seed whether
    the paper's claim showed: MIP's training loss reaches the plain hypernetwork's final training loss in fewer
    steps than the plain one took (and how many); both losses are means of the last SMOOTH evaluations."""
    e = result.extra
    parts, ok, shown = [], True, 0
    seeds = seeds_of(e)
    for seed in seeds:
        acc_m, acc_p = e[f"mip_s{seed}_test_acc"], e[f"plain_s{seed}_test_acc"]
        reach, total = e[f"mip_s{seed}_steps_to_plain_final"], e[f"plain_s{seed}_steps"]
        reached = acc_m >= ACC_LEVEL
        ok = ok and reached
        claim = not math.isnan(reach) and reach < total
        shown += claim
        when = (f"MIP reached it at step {int(reach):,} ({total / max(reach, 1):.1f}x fewer steps)" if claim
                else "MIP did NOT reach it in fewer steps")
        parts.append(f"seed {seed}: plain's final training loss (mean of the last {SMOOTH} evaluations) {e[f'plain_s{seed}_train_loss']:.4f} after {int(total):,} steps, "
                     f"MIP's {e[f'mip_s{seed}_train_loss']:.4f}; {when}; test accuracy MIP {acc_m:.3f} "
                     f"({'≥' if reached else 'BELOW'} {ACC_LEVEL}) vs plain {acc_p:.3f}; |θ(0)| at the end: plain "
                     f"{e[f'plain_s{seed}_theta_norm_0']:.2f}, MIP {e[f'mip_s{seed}_theta_norm_0']:.2f}")
    claim = (f"the paper's claim (MIP converges faster) showed up on {shown} of {len(seeds)} seeds" if shown
             else "the paper's claim did NOT show up on any seed")
    numbers = {k: v for k, v in e.items() if not (isinstance(v, float) and math.isnan(v))}
    numbers["claim_seeds"] = float(shown)
    return CheckResult(ok, numbers, "; ".join(parts) + f". {claim}.")


def mip_figure(result: Result):
    """Training loss over steps per seed, plain (dashed) against MIP (solid)."""
    from netarium.viz.hypernet import mip_curves_figure

    curves = {(v, s): run.history.series("train_loss") for (v, s, _), run in
              zip(variant_configs(result.config), result.runs, strict=True)}
    return mip_curves_figure(curves)


HYPERNET_MIP = EXPERIMENTS.register(Experiment(
    id="hypernetwork-mip",
    title="Hypernetworks: plain vs magnitude invariant parametrization",
    paper="Ortiz, Guttag & Dalca, Magnitude invariant parametrizations improve hypernetwork learning (ICLR 2024)",
    look_for="A plain hypernetwork's output |θ(γ)| grows with γ (0 at γ = 0) and it trains slower; MIP's constant-norm "
             "[cos, sin] encoding and residual θ0 + Δθ keep |θ(γ)| level. Training loss over seeds, and the step where "
             "MIP reaches the plain net's final loss (Playground page: Hypernetwork).",
    config=MIP_CONFIG,
    check=check_hypernet,
    page="playground",
    runner=run_hypernet,
    figure=mip_figure,
))
