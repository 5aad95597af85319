"""`playground`: TensorFlow Playground's default, exactly (the app opens on it); `playground-spiral`:
Netarium's earlier preset, two spirals learned by a wider MLP with Adam."""

from __future__ import annotations

import math
import statistics
import time

from netarium.experiments.base import EXPERIMENTS, CheckResult, Experiment, Progress, Result, train_all
from netarium.training.config import Config
from netarium.training.run import Run

THRESHOLD = 0.95  # test accuracy on the circle
EARLY_EPOCH = 50  # the median seed reaches THRESHOLD by this epoch ...
BY_EPOCH = 100  # ... and at least MIN_SHARE of the seeds by this one
MIN_SHARE = 0.75
# The 4-2 tanh net does not get there on every seed, in TFP either: an emulation of nn.ts/playground.ts/dataset.ts
# (per-point loop, 40 seeds) reached 0.95 at a median epoch of 42, 27 of 40 by epoch 50, 35 of 40 by epoch 100, and
# 5 stalled at 0.82-0.90. Netarium's preset over seeds 0-39: median 40, 31 by epoch 50, 38 by epoch 100, 2 stalled.
# So the check judges the distribution over many seeds (one batched sweep, ~4 s) rather than every one of three.
SEEDS = 48
SHOW_STALLED = 6  # stalled seeds' accuracies named in the message
SPIRAL_THRESHOLD = 0.9


def first_epoch_reaching(run: Run, threshold: float) -> float:
    """The first evaluated epoch at which the run's test accuracy reached `threshold` (nan: never)."""
    steps, values = run.history.series("test_acc")
    per_epoch = run.steps_per_epoch
    return next((s / per_epoch for s, v in zip(steps, values, strict=True) if v >= threshold), math.nan)


def run_playground(config: Config, progress: Progress | None = None) -> Result:
    """Train the config on SEEDS seeds (config.seed, config.seed + 1, ...) as one batched sweep; the Result's final
    metrics, history and steps are the first seed's (the preset's), `extra` has every seed's numbers."""
    t0 = time.perf_counter()
    seeds = [(config.seed + i) % (2**31 - 1) for i in range(SEEDS)]
    runs = train_all([config.model_copy(update={"seed": s}) for s in seeds], progress)
    extra: dict[str, float] = {}
    for s, run in zip(seeds, runs, strict=True):
        final = run.final_metrics()
        extra[f"seed{s}_test_acc"] = final.get("test_acc", math.nan)
        extra[f"seed{s}_first_epoch"] = first_epoch_reaching(run, THRESHOLD)
        extra[f"seed{s}_epochs"] = run.epoch
    diverged = next((r for r in runs if r.state == "diverged"), None)
    first = runs[0]
    return Result(config, first.final_metrics(), first.history, first.step_count, time.perf_counter() - t0,
                  state="diverged" if diverged else "done", reason=diverged.reason if diverged else "", runs=runs,
                  extra={"seeds": seeds, **extra})


def check_playground(result: Result) -> CheckResult:
    """Passed when the median seed's test accuracy reaches THRESHOLD by epoch EARLY_EPOCH (as TFP's default does)
    and at least MIN_SHARE of the seeds reach it by epoch BY_EPOCH and hold it at the end."""
    seeds = list(result.extra.get("seeds", []))
    finals = [float(result.extra[f"seed{s}_test_acc"]) for s in seeds]
    firsts = [float(result.extra[f"seed{s}_first_epoch"]) for s in seeds]
    n = len(seeds)
    median = statistics.median([math.inf if math.isnan(f) else f for f in firsts]) if seeds else math.nan
    early = sum(f <= EARLY_EPOCH for f in firsts)  # nan compares False
    on_time = sum(f <= BY_EPOCH and a >= THRESHOLD for f, a in zip(firsts, finals, strict=True))
    stalled = [a for f, a in zip(firsts, finals, strict=True) if not f <= BY_EPOCH or a < THRESHOLD]
    passed = bool(seeds) and median <= EARLY_EPOCH and on_time >= MIN_SHARE * n
    numbers: dict[str, float] = {"median_first_epoch": median, "threshold": THRESHOLD, "seeds": float(n),
                                 "seeds_by_epoch_50": float(early), "seeds_by_epoch_100": float(on_time),
                                 "test_acc": finals[0] if finals else math.nan}
    for s, a, f in zip(seeds, finals, firsts, strict=True):
        numbers[f"seed{s}_test_acc"], numbers[f"seed{s}_first_epoch"] = a, f
    shown = (f"never reached test accuracy {THRESHOLD} in {BY_EPOCH} epochs" if math.isinf(median)
             else f"reached test accuracy {THRESHOLD} at epoch {median:g}")
    shown_stalled = ", ".join(f"{a:.3f}" for a in sorted(stalled)[:SHOW_STALLED])
    more = f" and {len(stalled) - SHOW_STALLED} more" if len(stalled) > SHOW_STALLED else ""
    rest = (f"; {len(stalled)} stalled below {THRESHOLD} (final accuracy {shown_stalled}{more})"
            + (", as the 4-2 tanh net sometimes does in TFP too" if passed else "") if stalled else "")
    return CheckResult(passed, numbers, f"{n} seeds (from seed {seeds[0] if seeds else '-'}): the median seed {shown} (needed: by epoch {EARLY_EPOCH}); {early} of {n} by epoch {EARLY_EPOCH}, "
                       f"{on_time} of {n} by epoch {BY_EPOCH} (needed: {math.ceil(MIN_SHARE * n)}){rest}")


def check_spiral(result: Result) -> CheckResult:
    """Passed when test accuracy reaches 0.9 on the spiral."""
    acc = result.final.get("test_acc", float("nan"))
    passed = acc >= SPIRAL_THRESHOLD
    verb = "reached" if passed else "stayed below"
    return CheckResult(passed, {"test_acc": acc, "threshold": SPIRAL_THRESHOLD, "train_acc": result.final.get("train_acc", float("nan"))},
                       f"test accuracy {acc:.3f} {verb} {SPIRAL_THRESHOLD}")


PLAYGROUND = EXPERIMENTS.register(Experiment(
    id="playground",
    title="TensorFlow Playground's default: a circle, a 4-2 tanh network",
    paper="TensorFlow Playground (Smilkov & Carter, 2016)",
    look_for="TensorFlow Playground as it opens: the circle, features x1 and x2, hidden layers of 4 and 2 tanh units, "
             "SGD at 0.03 on batches of 10 in a fixed order, its squared-error loss on a tanh output, its initialisation. "
             "The boundary closes into a ring; the test loss falls under 0.05 and the accuracy passes 95% within "
             "about 20 to 90 epochs, depending on the seed (median about 40); on a few seeds in twenty the small net "
             "stalls around 85%, in TFP as here. The check trains 48 seeds as one batched sweep.",
    config=Config(
        task={"name": "circle", "noise": 0.0, "train_ratio": 0.5, "features": ["x1", "x2"]},
        model={"name": "mlp", "hidden": [4, 2], "activation": ["tanh"], "init": "tfp"},
        optimizer={"name": "sgd", "lr": 0.03},
        loss="tfp", order="fixed", regularization="tfp", batch_size=10,
        steps=2500, eval_every=25,  # 100 epochs of 25 steps (250 training points), evaluated every epoch as TFP draws it
    ),
    check=check_playground,
    runner=run_playground,
))

PLAYGROUND_SPIRAL = EXPERIMENTS.register(Experiment(
    id="playground-spiral",
    title="Two spirals, one small MLP",
    paper="TensorFlow Playground (Smilkov & Carter, 2016)",
    look_for="The decision boundary bends from a line into two interleaved arms; test accuracy passes 90%.",
    config=Config(
        task={"name": "spiral", "noise": 0.1, "train_ratio": 0.5},
        model={"name": "mlp", "hidden": [16, 16], "activation": ["tanh"]},
        optimizer={"name": "adam", "lr": 0.02},
        steps=1500,
    ),
    check=check_spiral,
))
