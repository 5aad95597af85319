"""`netarium bench engine`: the Worker-driven Run against a bare PyTorch loop, interleaved.

Same model (built by the registry from the same seed), data, optimizer, batching and steps; the
Run keeps its history on. Rounds alternate bare / engine so that machine noise hits both; the
figure per side is the median steps/s over rounds.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch

from netarium.models import ModelSpec, build_model
from netarium.training import Config, Run, Worker
from netarium.training.optim import build_optimizer
from netarium.training.threads import torch_threads


@dataclass
class Case:
    label: str
    config: Config
    steps: int  # per round


def cases(quick: bool) -> list[Case]:
    """(a) TF Playground size, full batch; (b) digits with minibatches."""
    scale = 0.5 if quick else 1.0
    a = Config(
        task={"name": "circle", "n_samples": 1000, "train_ratio": 0.5},
        model={"name": "mlp", "hidden": [8, 8], "activation": ["tanh"]},
        optimizer={"name": "sgd", "lr": 0.03}, loss="bce", batch_size=0, seed=0, device="auto",
    )
    b = Config(
        task={"name": "digits"}, model={"name": "mlp", "hidden": [128, 128], "activation": ["relu"]},
        optimizer={"name": "sgd", "lr": 0.05}, batch_size=64, seed=0, device="auto",
    )
    return [Case("(a) 2-8-8-1 MLP, full batch of 500", a, int(800 * scale)),
            Case("(b) digits 64-128-128-10, batch 64", b, int(800 * scale))]


def bare_loop_rate(config: Config, steps: int, warmup: int = 0) -> float:
    """Steps/s of a plain PyTorch loop on the Run's own data, model and optimizer settings, over
    `steps` steps after `warmup` untimed ones (first steps allocate)."""
    run = Run(config)  # only to get identical data, model architecture, loss and device
    model = build_model(config.model.name, config.model, ModelSpec.for_task(run.task, run.loss.n_outputs))
    model = model.to(run.device)
    opt = build_optimizer(config.optimizer.name, config.optimizer, model.parameters())
    X, y, loss_fn = run.task.X_train, run.task.y_train, run.loss
    n, bs = X.shape[0], run.batch_size
    gen = torch.Generator().manual_seed(config.seed + 1)
    perm, pos = torch.randperm(n, generator=gen).to(run.device), 0
    sync = torch.cuda.synchronize if run.device.type == "cuda" else (lambda: None)
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            sync()
            t0 = time.perf_counter()
        if bs == n:
            xb, yb = X, y
        else:
            if pos + bs > n:
                perm, pos = torch.randperm(n, generator=gen).to(run.device), 0
            idx = perm[pos : pos + bs]
            pos += bs
            xb, yb = X[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    sync()
    return steps / (time.perf_counter() - t0)


def bare_loop_rate_in_thread(config: Config, steps: int) -> float:
    """The bare loop on a fresh thread, as the Worker's loop runs (threads differ from the main one
    here in allocator arena and OpenMP team: measured up to 1.5x apart on the same loop)."""
    out: list[float] = []
    thread = threading.Thread(target=lambda: out.append(bare_loop_rate(config, steps)))
    thread.start()
    thread.join()
    return out[0]


def worker_rate(config: Config, steps: int) -> tuple[float, Run]:
    """Steps/s of a Run stepped by a Worker thread (history on) from play to `steps` done."""
    run = Run(config)
    done = threading.Event()
    worker = Worker(run, until=steps)
    worker.listeners.append(lambda snap: done.set() if snap.step >= steps or snap.state in ("failed", "diverged") else None)
    worker.start()
    t0 = time.perf_counter()
    worker.play()
    if not done.wait(600) or run.state in ("failed", "diverged"):
        worker.stop()
        raise RuntimeError(f"the engine run did not finish: {run.state} {run.reason or worker.error}")
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    worker.stop()
    return run.step_count / seconds, run


def playground_epochs_per_sec(seconds: float = 3.0) -> dict[str, float]:
    """(c) TF Playground's default: circle, 50% train, batch 10, 4-2 tanh, SGD 0.03, via the Worker."""
    config = Config(task={"name": "circle", "train_ratio": 0.5}, model={"name": "mlp", "hidden": [4, 2], "activation": ["tanh"]},
                    optimizer={"name": "sgd", "lr": 0.03}, batch_size=10, seed=0)
    run = Run(config)
    worker = Worker(run).start()
    worker.play()
    time.sleep(seconds)
    worker.pause()
    snap = worker.wait_for(lambda s: s.state == "paused", timeout=10)
    worker.stop()
    return {"epochs_per_sec": snap.epoch / max(snap.seconds, 1e-9), "steps_per_sec": snap.step / max(snap.seconds, 1e-9),
            "epoch_steps": run.task.X_train.shape[0] / 10, "test_acc": snap.metrics.get("test_acc", float("nan"))}


def pin_to_one_core() -> int | None:
    """Pin this process to its last core so both sides see the same core (less noise); None if not possible."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    os.sched_setaffinity(0, {cores[-1]})
    return cores[-1]


def run_engine_bench(quick: bool = False, rounds: int = 0) -> dict[str, Any]:
    """Print and return bare vs engine steps/s and their ratio per case, and (c) epochs/s.

    Short rounds in ABBA order; the ratio is the median of the ratios of adjacent pairs, which
    cancels the slow drifts of a shared machine better than a ratio of medians.
    """
    rounds = rounds or (10 if quick else 30)
    torch.set_num_threads(torch_threads())  # the Worker's setting, so both sides run alike
    pinned = pin_to_one_core()
    out: dict[str, Any] = {"device": str(Run(cases(True)[0].config).device), "threads": torch.get_num_threads(), "cases": []}
    out["pinned_core"] = pinned
    where = f"pinned to core {pinned}" if pinned is not None else "not pinned"
    print(f"netarium bench engine: device {out['device']}, {out['threads']} torch thread(s), {where}, {rounds} interleaved round pairs")
    for case in cases(quick):
        bare_loop_rate_in_thread(case.config, max(case.steps // 10, 10))  # warm-up
        worker_rate(case.config, max(case.steps // 10, 10))
        bare, engine, ratios = [], [], []
        for i in range(rounds):
            if i % 2 == 0:
                b = bare_loop_rate_in_thread(case.config, case.steps)
                e, run = worker_rate(case.config, case.steps)
            else:
                e, run = worker_rate(case.config, case.steps)
                b = bare_loop_rate_in_thread(case.config, case.steps)
            bare.append(b)
            engine.append(e)
            ratios.append(e / b)
        b, e, r = statistics.median(bare), statistics.median(engine), statistics.median(ratios)
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        row = {"case": case.label, "steps_per_round": case.steps, "bare_steps_per_sec": b, "engine_steps_per_sec": e,
               "ratio": r, "ratio_iqr": [q1, q3], "eval_every": run.eval_every, "history_points": len(run.history)}
        out["cases"].append(row)
        print(f"{case.label:<40} bare {b:9,.0f} steps/s   engine {e:9,.0f} steps/s   ratio {r:5.3f} "
              f"(IQR {q1:.3f}-{q3:.3f}; eval every {run.eval_every} steps)")
    c = playground_epochs_per_sec(1.5 if quick else 3.0)
    out["playground"] = c
    print(f"(c) TF Playground default (circle, batch 10, 4-2 tanh): {c['epochs_per_sec']:,.0f} epochs/s "
          f"({c['steps_per_sec']:,.0f} steps/s); the browser original is capped at 60 epochs/s "
          f"-> {c['epochs_per_sec'] / 60:,.1f}x")
    if pinned is not None:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    return out
