"""`netarium bench sweep`: the batched sweep engine against the same members trained one after another.

(a) 64 MLPs 2-64-64-1 (tanh) on 512 points, full batch, SGD: the batched group vs a plain PyTorch loop
    (bench.engine's bare loop) over the 64 members in turn; (b) 16 digits MLPs 64-128-128-10 (relu),
    batch 64, Adam, the same; (c) the sweep of (b) driven by a Worker (SweepRun, its evaluations and
    histories) vs the bare batched loop. Same steps on both sides, after WARMUP untimed steps on both
    (a fresh group or model allocates on its first steps: steady state is what a sweep of thousands
    of steps runs at); the batched side also evaluates and checks for divergence as a sweep does,
    which the plain loop does not. (d)-(f) models the hand-written nets do not cover (16 KANs on spiral,
    16 quadratic nets on circle, 16 hourglass MLPs on digits, minibatch Adam): torch.func's FuncGroup
    against ordinary Runs stepped one after another, what a sweep of them ran as before. Rounds in ABBA order in one process; a ratio is the median of the
    ratios of adjacent pairs; rates are model-steps/s (members x steps / s).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from netarium.bench.engine import bare_loop_rate, pin_to_one_core
from netarium.training import Config, Worker
from netarium.training.ensemble import BatchedGroup
from netarium.training.func_ensemble import FuncGroup
from netarium.training.run import resolve_device
from netarium.training.sweep import Sweep, sweep_from_specs
from netarium.training.sweep_run import RunGroup, SweepRun
from netarium.training.threads import torch_threads

WARMUP = 2


@dataclass
class Case:
    label: str
    sweep: Sweep
    steps: int  # per round


def cases(quick: bool) -> list[Case]:
    a = Config(task={"name": "reg-gauss", "n_samples": 1024, "train_ratio": 0.5},
               model={"name": "mlp", "hidden": [64, 64], "activation": ["tanh"]},
               optimizer={"name": "sgd", "lr": 0.01}, batch_size=0, seed=0)
    b = Config(task={"name": "digits"}, model={"name": "mlp", "hidden": [128, 128], "activation": ["relu"]},
               optimizer={"name": "adam", "lr": 0.001}, batch_size=64, seed=0)
    scale = 0.5 if quick else 1.0
    return [Case("(a) 64 x 2-64-64-1, full batch 512, SGD", sweep_from_specs(a, ["optimizer.lr=log:1e-3:1e-1:16"], seeds=4), int(40 * scale)),
            Case("(b) 16 x digits 64-128-128-10, batch 64, Adam", sweep_from_specs(b, ["optimizer.lr=log:1e-4:1e-2:4"], seeds=4), int(200 * scale))]


def func_cases(quick: bool) -> list[Case]:
    adam = {"name": "adam", "lr": 0.01}
    kan = Config(task={"name": "spiral", "n_samples": 400}, model={"name": "kan", "hidden": [5]}, optimizer=adam, batch_size=32)
    quad = Config(task={"name": "circle", "n_samples": 400}, model={"name": "quadratic", "hidden": [8]}, optimizer=adam, batch_size=32)
    hour = Config(task={"name": "digits"}, model={"name": "hourglass", "wide": 128, "bottleneck": 16, "blocks": 3},
                  optimizer={"name": "adam", "lr": 0.003}, batch_size=64)
    steps = 30 if quick else 60
    lrs = ["optimizer.lr=log:1e-3:1e-1:4"]
    return [Case("(d) 16 x kan 2-5-2 on spiral, batch 32, Adam", sweep_from_specs(kan, lrs, seeds=4), steps),
            Case("(e) 16 x quadratic 2-8-2 on circle, batch 32", sweep_from_specs(quad, lrs, seeds=4), steps),
            Case("(f) 16 x hourglass 128/16/3 on digits, batch 64", sweep_from_specs(hour, lrs, seeds=4), steps)]


def group_rate(make: Callable[[list], Any], sweep: Sweep, steps: int) -> float:
    """Model-steps/s of a group of the sweep's members (built outside the timing) stepped `steps`."""
    members = sweep.members()
    group = make(members)
    group.step(WARMUP)
    t0 = time.perf_counter()
    group.step(steps)
    return len(members) * steps / (time.perf_counter() - t0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def batched_rate(sweep: Sweep, steps: int) -> float:
    """Model-steps/s of the bare batched loop: one BatchedGroup stepped `steps` (built outside the timing)."""
    members = sweep.members()
    group = BatchedGroup(members)
    group.step(WARMUP)
    _sync(group.device)
    t0 = time.perf_counter()
    group.step(steps)
    _sync(group.device)
    return len(members) * steps / (time.perf_counter() - t0)


def sequential_rate(sweep: Sweep, steps: int) -> float:
    """Model-steps/s of the members trained one after another, each by the plain PyTorch loop."""
    members = sweep.members()
    seconds = sum(steps / bare_loop_rate(m.config, steps, WARMUP) for m in members)
    return len(members) * steps / seconds


def worker_rate(sweep: Sweep, steps: int) -> float:
    """Model-steps/s of the SweepRun played by a Worker from play to `steps` done."""
    run = SweepRun(sweep.model_copy(update={"base": sweep.base.model_copy(update={"steps": steps})}))
    done = threading.Event()
    worker = Worker(run, until=steps)  # type: ignore[arg-type]  (a SweepRun duck-types the Run)
    worker.listeners.append(lambda snap: done.set() if snap.step >= steps or snap.state in ("failed", "diverged", "done") else None)
    worker.start()
    t0 = time.perf_counter()
    worker.play()
    if not done.wait(600) or run.step_count < steps:
        worker.stop()
        raise RuntimeError(f"the sweep did not finish: {run.state} {worker.error}")
    seconds = time.perf_counter() - t0
    worker.stop()
    run.close()
    return len(run.members) * steps / seconds


def in_thread(fn: Callable[[], float]) -> float:
    """fn() on a fresh thread, as the Worker trains (see bench.engine.bare_loop_rate_in_thread)."""
    out: list[float] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


def interleaved(first: Callable[[], float], second: Callable[[], float], rounds: int) -> tuple[float, float, float, list[float]]:
    """Medians of both rates and of the pair ratios second/first over ABBA rounds (one warm-up each)."""
    first()
    second()
    xs, ys, ratios = [], [], []
    for i in range(rounds):
        if i % 2 == 0:
            x, y = first(), second()
        else:
            y, x = second(), first()
        xs.append(x)
        ys.append(y)
        ratios.append(y / x)
    return statistics.median(xs), statistics.median(ys), statistics.median(ratios), ratios


def run_sweep_bench(quick: bool = False, rounds: int = 0) -> dict[str, Any]:
    """Print and return (a), (b) batched vs sequential and (c) Worker vs bare batched loop."""
    rounds = rounds or (3 if quick else 7)
    torch.set_num_threads(torch_threads())
    pinned = pin_to_one_core()
    device = str(resolve_device("auto"))
    out: dict[str, Any] = {"device": device, "threads": torch.get_num_threads(), "pinned_core": pinned, "cases": []}
    where = f"pinned to core {pinned}" if pinned is not None else "not pinned"
    print(f"netarium bench sweep: device {device}, {out['threads']} torch thread(s), {where}, {rounds} interleaved rounds")
    for case in cases(quick):
        seq, bat, ratio, ratios = interleaved(lambda c=case: in_thread(lambda: sequential_rate(c.sweep, c.steps)),
                                              lambda c=case: in_thread(lambda: batched_rate(c.sweep, c.steps)), rounds)
        out["cases"].append({"case": case.label, "members": case.sweep.size(), "steps_per_round": case.steps,
                             "sequential_model_steps_per_sec": seq, "batched_model_steps_per_sec": bat, "ratio": ratio,
                             "ratio_range": [min(ratios), max(ratios)]})
        print(f"{case.label:<48} one after another {seq:8,.0f} model-steps/s   batched {bat:8,.0f} model-steps/s   "
              f"ratio {ratio:5.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")
    case = cases(quick)[1]
    steps = case.steps * 2
    bare, driven, ratio, ratios = interleaved(lambda: in_thread(lambda: batched_rate(case.sweep, steps)),
                                              lambda: worker_rate(case.sweep, steps), rounds)
    out["worker"] = {"case": case.label, "steps_per_round": steps, "bare_model_steps_per_sec": bare,
                     "worker_model_steps_per_sec": driven, "ratio": ratio, "ratio_range": [min(ratios), max(ratios)]}
    print(f"(c) Worker-driven sweep of (b) vs the bare batched loop: bare {bare:8,.0f}   worker {driven:8,.0f} model-steps/s   "
          f"ratio {ratio:5.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")
    out["func"] = []
    for case in func_cases(quick):
        runs, bat, ratio, ratios = interleaved(lambda c=case: in_thread(lambda: group_rate(RunGroup, c.sweep, c.steps)),
                                               lambda c=case: in_thread(lambda: group_rate(FuncGroup, c.sweep, c.steps)), rounds)
        out["func"].append({"case": case.label, "members": case.sweep.size(), "steps_per_round": case.steps,
                            "runs_model_steps_per_sec": runs, "batched_model_steps_per_sec": bat, "ratio": ratio,
                            "ratio_range": [min(ratios), max(ratios)]})
        print(f"{case.label:<48} as Runs {runs:8,.0f} model-steps/s   torch.func {bat:8,.0f} model-steps/s   "
              f"ratio {ratio:5.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")
    if pinned is not None:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    return out
