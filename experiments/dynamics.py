"""Training-dynamics experiments of PAPERS.md: `xor-grokking`, `modular-grokking`, `stability`."""

from __future__ import annotations

import time

import numpy as np

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
    eta = float(config.task.get("eta", 0.1))
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
