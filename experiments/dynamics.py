"""Training-dynamics experiments of PAPERS.md: `xor-grokking`, `modular-grokking`, `stability`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from netarium.analysis.xor import first_layer_weights, xor_state
from netarium.experiments.base import EXPERIMENTS, CheckResult, Experiment, Progress, Result, multi_result
from netarium.training.config import Config
from netarium.training.run import Run

# ---- xor-grokking -----------------------------------------------------------------------------------


def run_xor_grokking(config: Config, progress: Progress | None = None) -> Result:
    """Full-batch GD one step at a time, measuring after every step: accuracy on the noisy training
    labels, on the flipped subset, on fresh clean test data; neuron cosines at the end."""
    t0 = time.perf_counter()
    run = Run(config)
    w0 = first_layer_weights(run.model)
    curve = {"train": [], "flipped": [], "test": []}
    direction = None
    for step in range(1, int(config.steps) + 1):
        run.step(1)
        if step == 1:
            direction = first_layer_weights(run.model) - w0
        s = xor_state(run.model, run.task)
        curve["train"].append(s.train_acc)
        curve["flipped"].append(s.flipped_acc)
        curve["test"].append(s.test_acc)
        if progress:
            progress(step, int(config.steps))
        if run.state == "diverged":
            break
    final = xor_state(run.model, run.task, step_direction=direction)
    eta = config.task.eta
    target = 1 - eta - 0.05
    crossed = next((i + 1 for i, v in enumerate(curve["test"]) if v >= target), None)
    extra = {
        "eta": eta, "target_test_acc": target,
        "step1_train_acc": curve["train"][0], "step1_flipped_acc": curve["flipped"][0], "step1_test_acc": curve["test"][0],
        "final_train_acc": curve["train"][-1], "final_flipped_acc": curve["flipped"][-1], "final_test_acc": curve["test"][-1],
        "test_crosses_target_at": float(crossed) if crossed else float("nan"),
        "mean_abs_cos_mu1": float(np.abs(final.cos_mu1).mean()), "mean_abs_cos_mu2": float(np.abs(final.cos_mu2).mean()),
        "mean_cos_first_step": float(np.nanmean(final.cos_step)) if final.cos_step is not None else float("nan"),
    }
    result = multi_result(config, [run], t0, extra)
    result.extra["curves"] = curve  # type: ignore[assignment]  (the per-step accuracies, for plots)
    return result


def check_xor_grokking(result: Result) -> CheckResult:
    """After the first GD step the noisy labels are fitted (>= 0.99) while the test accuracy is near chance
    (<= 0.65); later the test accuracy reaches 1 - eta - 0.05 with the flipped labels still fitted."""
    e = result.extra
    overfit = e["step1_train_acc"] >= 0.99 and e["step1_test_acc"] <= 0.65
    grokked = e["final_test_acc"] >= e["target_test_acc"] and e["final_flipped_acc"] >= 0.99
    numbers = {k: float(v) for k, v in e.items() if not isinstance(v, dict)}
    reason = (f"step 1: train {e['step1_train_acc']:.3f} (flipped {e['step1_flipped_acc']:.3f}), test {e['step1_test_acc']:.3f} "
              f"({'benign overfitting' if overfit else 'NOT the step-1 signature'}); final: test {e['final_test_acc']:.3f} vs "
              f"target {e['target_test_acc']:.2f}, crossed at step {e['test_crosses_target_at']:.0f}, flipped still fitted "
              f"{e['final_flipped_acc']:.3f} ({'grokked' if grokked else 'NOT grokked'})")
    return CheckResult(overfit and grokked, numbers, reason)


XOR_GROKKING = EXPERIMENTS.register(Experiment(
    id="xor-grokking",
    title="Benign overfitting, then grokking, on XOR clusters",
    paper="Xu, Wang, Frei, Vardi & Hu, Benign overfitting and grokking in ReLU networks for XOR cluster data (ICLR 2024)",
    look_for="d = 3000 dimensions, 200 points, 10% of the labels flipped. After one GD step every training label is fitted, "
             "flipped ones included, and the test accuracy is near chance; a few steps later the test accuracy passes 0.85 "
             "while the flipped labels stay fitted (curves with log x).",
    config=Config(
        task={"name": "xor-clusters", "d": 3000, "n_train": 200, "eta": 0.1, "mu_norm": 10.0},
        model={"name": "mlp", "hidden": [100], "activation": ["relu"], "bias": False, "init": "small", "readout": "fixed-signs"},
        optimizer={"name": "sgd", "lr": 0.1},
        loss="bce",
        batch_size=0,
        eval_every=1,
        steps=60,
    ),
    check=check_xor_grokking,
    page="dynamics",
    runner=run_xor_grokking,
))


# ---- modular-grokking -------------------------------------------------------------------------------

MUON_FIRST_LAYER = {"name": "muon", "lr": 0.05, "weight_decay": 0.1, "muon_for": "first", "adam_lr": 1e-3, "adam_beta2": 0.98,
                    "adam_weight_decay": 1.0}
LOW_FRACTIONS = (0.2,)
GROK_ACC = 0.95
# Nanda et al.'s one-layer transformer, shrunk for a CPU: M = 59, 60% of the pairs (at 50% it groks at
# steps 1800-2400, at 60% at 900-1400 with t2 >= 6 t1 still: the check stays within 90 s), d_model 64, AdamW wd 1.0
TRANSFORMER = ["task.M=59", "task.train_fraction=0.6", "model.name=transformer", "model.layers=1", "model.d_model=64",
               "model.heads=4", "model.causal=false"]


def grokking_run(config: Config, every: int = 25) -> Run:
    """A Run of `config` that evaluates every `every` steps (what train_until_grokked reads)."""
    return Run(config.with_overrides([f"eval_every={every}"]))


def train_until_grokked(config: Config, progress: Progress | None = None, done_before: int = 0, total: int = 0,
                        every: int = 25, run: Run | None = None, report: Callable[[int], None] | None = None,
                        ) -> tuple[Run, int | None, int | None]:
    """Train up to config.steps, evaluating every `every` steps; stop once the test accuracy reaches
    GROK_ACC. Returns (run, t1 = first step with train accuracy 1, t2 = first step with test >= GROK_ACC).
    `run`: a grokking_run built beforehand (else one is built here); `report(step)`: told the run's step
    after every evaluation (instead of `progress`)."""
    run = run or grokking_run(config, every)
    t1 = t2 = None
    while run.step_count < config.steps and run.state != "diverged":
        run.step(min(every, config.steps - run.step_count))
        if t1 is None and run.metrics.get("train_acc", 0.0) >= 1.0:
            t1 = run.step_count
        if report:
            report(run.step_count)
        elif progress:
            progress(done_before + run.step_count, total or config.steps)
        if run.metrics.get("test_acc", 0.0) >= GROK_ACC:
            t2 = run.step_count
            break
    return run, t1, t2


class ProgressSum:
    """Steps of several runs (on several threads) reported to one Progress as their sum."""

    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total = progress, total
        self.steps: dict[str, int] = {}
        self._lock = threading.Lock()

    def reporter(self, name: str) -> Callable[[int], None]:
        def report(step: int) -> None:
            with self._lock:
                self.steps[name] = step
                done = sum(self.steps.values())
            if self.progress:
                self.progress(done, self.total)
        return report


def run_modular_grokking(config: Config, progress: Progress | None = None) -> Result:
    """The preset with AdamW and with Muon on the first layer, each until it groks (or config.steps);
    then the AdamW preset at training fractions below the critical one, for twice as many steps as
    AdamW needed to grok (at least 1000); and (for the MLP preset) the one-layer transformer.

    With two or more torch threads allowed (the CLI: every core), the transformer trains on a thread of
    its own beside the MLP runs, each on one torch thread: the runs are independent, and two runs on one
    core each scale better than one run on two (these small matrices leave a second thread idle for much
    of each step, and a busy machine makes it wait for its share). Every Run is built before any trains
    (building one seeds the global generators; training full batch draws nothing from them), so the
    numbers are those of the sequential order."""
    t0 = time.perf_counter()
    total = config.steps * (3 + len(LOW_FRACTIONS))
    tally = ProgressSum(progress, total)
    extra: dict[str, float] = {"train_fraction": config.task.train_fraction}
    muon = config.with_overrides([f"optimizer.{k}={v}" for k, v in MUON_FIRST_LAYER.items()])
    mains = [("adamw", config, grokking_run(config)), ("muon", muon, grokking_run(muon))]
    lows = [(frac, config.with_overrides([f"task.train_fraction={frac}"])) for frac in LOW_FRACTIONS]
    lows = [(frac, low, grokking_run(low)) for frac, low in lows]
    side_config = config.with_overrides(TRANSFORMER) if config.model.name == "mlp" else None
    side = grokking_run(side_config, every=50) if side_config is not None else None
    threads = torch.get_num_threads()
    parallel = side is not None and threads >= 2

    def train_side() -> tuple[Run, int | None, int | None]:
        return train_until_grokked(side_config, every=50, run=side, report=tally.reporter("transformer"))

    runs = []
    if parallel:
        torch.set_num_threads(1)  # one torch thread per run (a thread started after this reads it too)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="netarium-grokking") as pool:
            pending = pool.submit(train_side) if parallel else None
            for name, cfg, run in mains:
                run, t1, t2 = train_until_grokked(cfg, run=run, report=tally.reporter(name))
                runs.append(run)
                extra[f"{name}_t1"] = float(t1) if t1 else float("nan")
                extra[f"{name}_t2"] = float(t2) if t2 else float("nan")
                extra[f"{name}_final_test_acc"] = run.metrics.get("test_acc", float("nan"))
            budget = int(max(2 * extra["adamw_t2"] if np.isfinite(extra["adamw_t2"]) else config.steps, 1000))
            for frac, low, run in lows:
                run, t1, t2 = train_until_grokked(low.with_overrides([f"steps={budget}"]), run=run,
                                                  report=tally.reporter(f"fraction {frac}"))
                runs.append(run)
                extra[f"fraction_{frac}_test_acc"] = run.metrics.get("test_acc", float("nan"))
                extra[f"fraction_{frac}_steps"] = float(run.step_count)
            if side is not None:  # the one-layer transformer on the same kind of task, with AdamW
                run, t1, t2 = pending.result() if pending is not None else train_side()
                runs.append(run)
                extra["transformer_t1"] = float(t1) if t1 else float("nan")
                extra["transformer_t2"] = float(t2) if t2 else float("nan")
    finally:
        torch.set_num_threads(threads)
    return multi_result(config, runs, t0, extra)


def check_modular_grokking(result: Result) -> CheckResult:
    """For AdamW and for Muon each (and the one-layer transformer with AdamW): train accuracy 1 at t1,
    test >= 0.95 at t2 >= 2 t1; below the critical training fraction the test accuracy stays under 0.95
    for twice as long."""
    e = result.extra
    verdicts, parts = [], []
    for name in ("adamw", "muon", "transformer"):
        if f"{name}_t1" not in e:
            continue
        t1, t2 = e[f"{name}_t1"], e[f"{name}_t2"]
        ok = bool(np.isfinite(t1) and np.isfinite(t2) and t2 >= 2 * t1)
        verdicts.append(ok)
        parts.append(f"{name}: train 100% at step {t1:.0f}, test >= 0.95 at step {t2:.0f} ({'grokked, t2 >= 2 t1' if ok else 'NOT grokking'})")
    low = [(float(k.split("_")[1]), e[k]) for k in e if k.startswith("fraction_") and k.endswith("_test_acc")]
    low_ok = all(acc < GROK_ACC for _, acc in low)
    muon_faster = e["muon_t2"] < e["adamw_t2"]
    reason = ("; ".join(parts) + f"; Muon {'generalized sooner' if muon_faster else 'did NOT generalize sooner'} than AdamW "
              f"(memorized at {e['muon_t1']:.0f} vs {e['adamw_t1']:.0f}); below the critical fraction: "
              + ", ".join(f"{f:g} -> test {acc:.3f} after {e[f'fraction_{f}_steps']:.0f} steps" for f, acc in low)
              + f" ({'stays low' if low_ok else 'does NOT stay low'})")
    return CheckResult(all(verdicts) and low_ok, dict(e), reason)


MODULAR_GROKKING = EXPERIMENTS.register(Experiment(
    id="modular-grokking",
    title="Grokking modular addition (AdamW and Muon)",
    paper="Tian, Provable scaling laws of feature emergence from learning dynamics of grokking (2025); Power et al. (2022); "
          "Nanda et al. (2023)",
    look_for="(a + b) mod 97 from 40% of the pairs, x² hidden layer of 256: the training accuracy reaches 100% long before "
             "the test accuracy jumps past 0.95, with AdamW and with Muon on the first layer; at 20% of the pairs the net "
             "only memorizes; a one-layer transformer (mod 59, 60% of the pairs) groks too. A few Fourier frequencies take over "
             "the first layer as it groks (Dynamics page).",
    config=Config(
        task={"name": "modular", "M": 97, "train_fraction": 0.4},
        model={"name": "mlp", "hidden": [256], "activation": ["square"], "bias": False, "init": "normal"},
        optimizer={"name": "adamw", "lr": 1e-3, "beta2": 0.98, "weight_decay": 1.0},
        batch_size=0,
        steps=3000,
    ),
    check=check_modular_grokking,
    page="dynamics",
    runner=run_modular_grokking,
))


# ---- stability (edge of stability, SGD's implicit regularization) -------------------------------------

SGD_BATCHES = (50, 10)
# the fairest test of trace(H) <= 2/η: a scalar-output regression that SGD fits (Wu & Su's setting)
SCALAR = Config(task={"name": "reg-gauss", "n_samples": 1000}, model={"name": "mlp", "hidden": [32], "activation": ["tanh"]},
                optimizer={"name": "sgd", "lr": 0.03}, batch_size=10, steps=2000, seed=0)
SHARPNESS_EVERY = 5
TRACE_SAMPLES = 60


def track_sharpness(config: Config, progress: Progress | None, done_before: int, total: int) -> tuple[Run, list[int], list[float]]:
    """Train, measuring the sharpness (top Hessian eigenvalue of the full-batch training loss) every
    SHARPNESS_EVERY steps, Lanczos warm-started from the previous top eigenvector."""
    from netarium.analysis.hessian import sharpness_and_trace

    run = Run(config)
    X, y = run.task.X_train, run.task.y_train
    steps, values, v = [], [], None
    while run.step_count < config.steps and run.state != "diverged":
        run.step(min(SHARPNESS_EVERY, config.steps - run.step_count))
        r = sharpness_and_trace(run.model, run.loss, X, y, trace_samples=0, v0=v, with_vector=True)
        v = r.get("vector")
        steps.append(run.step_count)
        values.append(r["sharpness"])
        if progress:
            progress(done_before + run.step_count, total)
    return run, steps, values


def run_stability(config: Config, progress: Progress | None = None) -> Result:
    """Full-batch GD (the preset, evaluated every step) and SGD with each batch size in SGD_BATCHES at
    the same learning rate and step count; sharpness over training, trace(H) at the end."""
    from netarium.analysis.hessian import sharpness_and_trace

    t0 = time.perf_counter()
    lr = float(config.optimizer.lr)
    settings = [("gd", config.with_overrides(["batch_size=0", "eval_every=1"]))]
    settings += [(f"sgd{b}", config.with_overrides([f"batch_size={b}"])) for b in SGD_BATCHES]
    total = config.steps * len(settings)
    extra: dict[str, float] = {"lr": lr, "two_over_lr": 2 / lr}
    runs = []
    for k, (name, cfg) in enumerate(settings):
        run, steps, sharp = track_sharpness(cfg, progress, k * config.steps, total)
        runs.append(run)
        final = sharpness_and_trace(run.model, run.loss, run.task.X_train, run.task.y_train, trace_samples=TRACE_SAMPLES)
        extra |= {f"{name}_final_sharpness": final["sharpness"], f"{name}_trace": final["trace"],
                  f"{name}_trace_stderr": final["trace_stderr"], f"{name}_trace_times_lr_over_2": final["trace"] * lr / 2,
                  f"{name}_final_loss": run.final_metrics().get("train_loss", float("nan"))}
        if name == "gd":
            s = np.array(sharp)
            reached = np.flatnonzero(s >= 0.85 * 2 / lr)
            extra["gd_max_sharpness"] = float(s.max())
            extra["gd_reached_at_step"] = float(steps[reached[0]]) if len(reached) else float("nan")
            extra["gd_mean_sharpness_after"] = float(s[reached[0]:].mean()) if len(reached) else float("nan")
            _, losses = run.history.series("train_loss")
            extra["gd_loss_rise_fraction"] = float(np.mean(np.diff(losses) > 0)) if len(losses) > 2 else float("nan")
    scalar = Run(SCALAR).train()
    if scalar.state != "diverged":
        r = sharpness_and_trace(scalar.model, scalar.loss, scalar.task.X_train, scalar.task.y_train, trace_samples=TRACE_SAMPLES)
        extra["scalar_sgd_trace_times_lr_over_2"] = r["trace"] * float(SCALAR.optimizer.lr) / 2
        extra["scalar_sgd_train_loss"] = scalar.final_metrics().get("train_loss", float("nan"))
    return multi_result(config, runs, t0, extra)


def check_stability(result: Result) -> CheckResult:
    """GD reaches 0.85·2/η, then averages within [0.8, 1.2]·2/η with the loss rising on some steps;
    SGD ends flatter than GD (sharpness and trace) and flatter with the smaller batch."""
    e = result.extra
    edge = 2 / e["lr"]
    reached = bool(np.isfinite(e["gd_reached_at_step"]))
    hovers = reached and 0.8 * edge <= e["gd_mean_sharpness_after"] <= 1.2 * edge
    rises = e["gd_loss_rise_fraction"] > 0.02
    big, small = (f"sgd{b}" for b in SGD_BATCHES)
    flatter = e[f"{big}_final_sharpness"] < e["gd_final_sharpness"] and e[f"{big}_trace"] < e["gd_trace"]
    smaller_flatter = e[f"{small}_final_sharpness"] < e[f"{big}_final_sharpness"] and e[f"{small}_trace"] < e[f"{big}_trace"]
    bound = ", ".join(f"{n} {e[f'{n}_trace_times_lr_over_2']:.1f}" for n in ("gd", big, small))
    reason = (f"GD: sharpness reached {e['gd_max_sharpness']:.3f} vs 2/η = {edge:.3f} "
              f"({'at step ' + format(e['gd_reached_at_step'], '.0f') if reached else 'NEVER reached 0.85·2/η'}), "
              f"then averaged {e['gd_mean_sharpness_after']:.3f} ({'within' if hovers else 'NOT within'} ±20%), loss rose on "
              f"{e['gd_loss_rise_fraction']:.0%} of steps ({'the edge of stability' if rises else 'a plateau, NOT the edge'}); "
              f"final sharpness GD {e['gd_final_sharpness']:.3f}, SGD batch {SGD_BATCHES[0]} {e[f'{big}_final_sharpness']:.3f}, "
              f"batch {SGD_BATCHES[1]} {e[f'{small}_final_sharpness']:.3f}; trace {e['gd_trace']:.1f} / {e[f'{big}_trace']:.1f} / "
              f"{e[f'{small}_trace']:.1f} ({'SGD flatter, and flatter with smaller batches' if flatter and smaller_flatter else 'NOT flatter as expected'}); "
              f"trace·η/2 (Wu & Su bound 1 for SGD minima): {bound} (exceeded in this multi-output net)"
              + (f"; scalar regression (reg-gauss, SGD batch 10, η 0.03): {e['scalar_sgd_trace_times_lr_over_2']:.2f} "
                 f"({'within' if e['scalar_sgd_trace_times_lr_over_2'] <= 1 else 'ABOVE'} the bound)"
                 if "scalar_sgd_trace_times_lr_over_2" in e else ""))
    return CheckResult(reached and hovers and rises and flatter and smaller_flatter, dict(e), reason)


STABILITY = EXPERIMENTS.register(Experiment(
    id="stability",
    title="Edge of stability: sharpness meets 2/η",
    paper="Cohen et al., Gradient descent on neural networks typically occurs at the edge of stability (2021); "
          "Wu & Su, The implicit regularization of dynamical stability in SGD (ICML 2023)",
    look_for="A tanh MLP on 800 digits with squared error, full-batch GD at η = 2: the sharpness λ_max(H) climbs to 2/η = 1 "
             "and hovers there while the loss keeps falling non-monotonically; SGD at the same η ends flatter, and flatter "
             "with smaller batches. trace(H)·η/2 is reported against Wu & Su's bound of 1 (this multi-output net exceeds it).",
    config=Config(
        task={"name": "digits", "n_samples": 1000, "standardize": True},
        model={"name": "mlp", "hidden": [32], "activation": ["tanh"]},
        optimizer={"name": "sgd", "lr": 2.0},
        loss="mse",
        batch_size=0,
        steps=400,
    ),
    check=check_stability,
    page="dynamics",
    runner=run_stability,
))
