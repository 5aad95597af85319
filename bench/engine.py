"""`netarium bench engine`: the Worker-driven Run against a bare PyTorch loop, interleaved.

Same model (built by the registry from the same seed), data, optimizer, batching and steps; the
Run keeps its history on. Rounds alternate bare / engine so that machine noise hits both; the
figure per side is the median steps/s over rounds.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch

from netarium.models import ModelSpec, build_model
from netarium.training import Config, Run, Worker
from netarium.training.config import section_params
from netarium.training.optim import build_optimizer


@dataclass
class Case:
    label: str
    config: Config
    steps: int  # per round


def cases(quick: bool) -> list[Case]:
    """(a) TF Playground size, full batch; (b) digits with minibatches."""
    scale = 0.3 if quick else 1.0
    a = Config(
        task={"name": "circle", "n_samples": 1000, "train_ratio": 0.5},
        model={"name": "mlp", "hidden": [8, 8], "activation": ["tanh"]},
        optimizer={"name": "sgd", "lr": 0.03}, loss="bce", batch_size=0, seed=0, device="auto",
    )
    b = Config(
        task={"name": "digits"}, model={"name": "mlp", "hidden": [128, 128], "activation": ["relu"]},
        optimizer={"name": "sgd", "lr": 0.05}, batch_size=64, seed=0, device="auto",
    )
    return [Case("(a) 2-8-8-1 MLP, full batch of 500", a, int(2000 * scale)),
            Case("(b) digits 64-128-128-10, batch 64", b, int(2000 * scale))]


def bare_loop_rate(config: Config, steps: int) -> float:
    """Steps/s of a plain PyTorch loop on the Run's own data, model and optimizer settings."""
    run = Run(config)  # only to get identical data, model architecture, loss and device
    model = build_model(config.model["name"], section_params(config, "model"), ModelSpec.for_task(run.task, run.loss.n_outputs))
    model = model.to(run.device)
    opt = build_optimizer(config.optimizer["name"], section_params(config, "optimizer"), model.parameters())
    X, y, loss_fn = run.task.X_train, run.task.y_train, run.loss
    n, bs = X.shape[0], run.batch_size
    gen = torch.Generator().manual_seed(config.seed + 1)
    perm, pos = torch.randperm(n, generator=gen).to(run.device), 0
    sync = torch.cuda.synchronize if run.device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
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


def worker_rate(config: Config, steps: int) -> tuple[float, Run]:
    """Steps/s of a Run stepped by a Worker thread (history on) from play to `steps` done."""
    run = Run(config)
    done = threading.Event()
    worker = Worker(run, until=steps)
    worker.listeners.append(lambda snap: done.set() if snap.step >= steps else None)
    worker.start()
    t0 = time.perf_counter()
    worker.play()
    done.wait(600)
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


def run_engine_bench(quick: bool = False, rounds: int = 0) -> dict[str, Any]:
    """Print and return bare vs engine steps/s and their ratio per case, and (c) epochs/s."""
    rounds = rounds or (3 if quick else 7)
    out: dict[str, Any] = {"device": str(Run(cases(True)[0].config).device), "threads": torch.get_num_threads(), "cases": []}
    print(f"netarium bench engine: device {out['device']}, {out['threads']} torch threads, {rounds} interleaved rounds")
    for case in cases(quick):
        bare_loop_rate(case.config, max(case.steps // 10, 10))  # warm-up
        worker_rate(case.config, max(case.steps // 10, 10))
        bare, engine = [], []
        for _ in range(rounds):
            bare.append(bare_loop_rate(case.config, case.steps))
            rate, run = worker_rate(case.config, case.steps)
            engine.append(rate)
        b, e = statistics.median(bare), statistics.median(engine)
        row = {"case": case.label, "steps_per_round": case.steps, "bare_steps_per_sec": b, "engine_steps_per_sec": e,
               "ratio": e / b, "eval_every": run.eval_every, "history_points": len(run.history)}
        out["cases"].append(row)
        print(f"{case.label:<40} bare {b:9,.0f} steps/s   engine {e:9,.0f} steps/s   ratio {e / b:5.3f}"
              f"   (eval every {run.eval_every} steps)")
    c = playground_epochs_per_sec(1.5 if quick else 3.0)
    out["playground"] = c
    print(f"(c) TF Playground default (circle, batch 10, 4-2 tanh): {c['epochs_per_sec']:,.0f} epochs/s "
          f"({c['steps_per_sec']:,.0f} steps/s); the browser original is capped at 60 epochs/s "
          f"-> {c['epochs_per_sec'] / 60:,.1f}x")
    return out
