"""`netarium bench hessian`: the sharpness λ_max(H) of a 9.6k-parameter MLP's full-batch loss to 1e-3.

Model: 64 -> 128 -> 10 tanh MLP (9,610 parameters) on 1000 standardized digits, mean squared error to
one-hot targets, taken after 100 steps of full-batch GD (η = 0.3, seeded): the state a tracker sees.
The headline is cold: a fresh HessianProbe (private copy, one forward, the gradient graph) plus
Lanczos from a seeded random vector, median seconds over rounds after one warm-up, against the
0.1 s target, with torch at one thread (set here, restored after). Beside it: the warm start a
tracker gets from the top eigenvector of its previous call (10 GD steps earlier), the time per
Hessian-vector product with the graph built once against rebuilt per product, ARPACK (eigsh) and
power iteration on the same probe, and Hutchinson's trace with 30 samples. Errors are relative to a
Lanczos run to tol 1e-10.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from netarium.analysis.hessian import HessianProbe, hutchinson_trace, hvp_rebuilt, top_eigenvalues
from netarium.bench.timing import median_seconds
from netarium.training.threads import using_threads

TARGET_S = 0.1
TOL = 1e-3
HIDDEN, TRAIN_STEPS, LR, TRACK_EVERY = 128, 100, 0.3, 10



def trained_mlp() -> tuple[torch.nn.Module, torch.nn.Module, Any, torch.Tensor, torch.Tensor]:
    """(model now, model TRACK_EVERY GD steps earlier, loss, X, y): the seeded bench setup."""
    import copy

    from netarium.models import ModelSpec, build_model
    from netarium.tasks import make_task
    from netarium.training.optim import resolve_loss

    task = make_task("digits", {"n_samples": 1250, "standardize": True}, seed=0)  # 1000 training images
    X = torch.as_tensor(task.X_train, dtype=torch.float32)
    y = torch.as_tensor(task.y_train)
    loss = resolve_loss("mse", "classification", 10, 10)
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": [HIDDEN], "activation": "tanh"}, ModelSpec(X.shape[1], 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    earlier = model
    for step in range(TRAIN_STEPS):
        if step == TRAIN_STEPS - TRACK_EVERY:
            earlier = copy.deepcopy(model)
        opt.zero_grad()
        loss(model(X), y).backward()
        opt.step()
    for p in model.parameters():
        p.grad = None
    return model, earlier, loss, X, y


def run_hessian_bench(quick: bool = False) -> dict[str, Any]:
    rounds = 3 if quick else 11
    with using_threads(1):  # the figure is for one thread: trackers share the machine with training
        model, earlier, loss, X, y = trained_mlp()
        probe = HessianProbe(model, loss, X, y)
        exact = float(top_eigenvalues(probe, k=1, tol=1e-10, max_iter=400).values[0])
        previous = top_eigenvalues(HessianProbe(earlier, loss, X, y), k=1, tol=TOL).vectors[0]

        def cold() -> Any:  # what a tracker pays on its first call: a new probe, a random start
            fresh = HessianProbe(model, loss, X, y)
            return top_eigenvalues(fresh, k=1, tol=TOL, seed=0, return_vectors=False)

        def warm() -> Any:  # ... and on later calls, starting from its previous top eigenvector
            fresh = HessianProbe(model, loss, X, y)
            return top_eigenvalues(fresh, k=1, tol=TOL, v0=previous, return_vectors=False)

        cold_eig, warm_eig = cold(), warm()
        cold_s = median_seconds(cold, rounds)
        warm_s = median_seconds(warm, rounds)
        seeds = [top_eigenvalues(probe, k=1, tol=TOL, seed=s, return_vectors=False)
                 for s in range(5 if quick else 10)]
        v = torch.randn(probe.n_params, generator=torch.Generator().manual_seed(0))
        hvp_s = median_seconds(lambda: probe.hvp(v), 5 * rounds)
        rebuilt_s = median_seconds(lambda: hvp_rebuilt(probe, v), 5 * rounds)
        build_s = median_seconds(lambda: HessianProbe(model, loss, X, y), rounds)
        t0 = time.perf_counter()
        arpack = top_eigenvalues(probe, k=1, method="eigsh", tol=TOL, return_vectors=False)
        arpack_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        power = top_eigenvalues(probe, k=1, method="power", tol=TOL, return_vectors=False)
        power_s = time.perf_counter() - t0
        trace_s = median_seconds(lambda: hutchinson_trace(probe, 30), max(1, rounds // 3))
        trace = hutchinson_trace(probe, 30)

    def err(value: float) -> float:
        return abs(value - exact) / abs(exact)

    out = {
        "n_params": probe.n_params, "n_points": int(X.shape[0]), "threads": 1, "rounds": rounds,
        "sharpness_exact": exact, "target_s": TARGET_S, "tol": TOL,
        "cold_s": cold_s, "cold_hvps": cold_eig.hvps, "cold_rel_err": err(float(cold_eig.values[0])),
        "ratio": cold_s / TARGET_S,
        "warm_s": warm_s, "warm_hvps": warm_eig.hvps, "warm_rel_err": err(float(warm_eig.values[0])),
        "warm_ratio": warm_s / TARGET_S,
        "seeds": len(seeds), "seeds_hvps_mean": statistics.mean(e.hvps for e in seeds),
        "seeds_hvps_max": max(e.hvps for e in seeds),
        "seeds_rel_err_max": max(err(float(e.values[0])) for e in seeds),
        "hvp_ms": 1e3 * hvp_s, "hvp_rebuilt_ms": 1e3 * rebuilt_s, "probe_build_ms": 1e3 * build_s,
        "eigsh_s": arpack_s, "eigsh_hvps": arpack.hvps, "eigsh_rel_err": err(float(arpack.values[0])),
        "power_s": power_s, "power_hvps": power.hvps, "power_rel_err": err(float(power.values[0])),
        "trace30_s": trace_s, "trace30": trace.estimate, "trace30_stderr": trace.stderr,
    }
    print(f"netarium bench hessian: λ_max of a {probe.n_params}-parameter tanh MLP on {out['n_points']} digits "
          f"(MSE, full batch) to {TOL:g} relative, 1 torch thread (set for the measurement):\n"
          f"  cold (new probe + Lanczos from random): median {cold_s:.4f} s over {rounds} rounds = "
          f"{out['ratio']:.2f} x the {TARGET_S} s target; {cold_eig.hvps} HVPs, error {out['cold_rel_err']:.1e} "
          f"({len(seeds)} seeds: {out['seeds_hvps_mean']:.1f} HVPs mean, {out['seeds_hvps_max']} max, "
          f"error <= {out['seeds_rel_err_max']:.1e})\n"
          f"  warm (v0 = top eigenvector {TRACK_EVERY} GD steps earlier): median {warm_s:.4f} s = "
          f"{out['warm_ratio']:.2f} x target; {warm_eig.hvps} HVPs, error {out['warm_rel_err']:.1e}\n"
          f"  per HVP: {out['hvp_ms']:.2f} ms with the gradient graph built once, {out['hvp_rebuilt_ms']:.2f} ms "
          f"rebuilt each time; probe build {out['probe_build_ms']:.2f} ms\n"
          f"  eigsh (ARPACK): {arpack_s:.3f} s, {arpack.hvps} HVPs, error {out['eigsh_rel_err']:.1e}; "
          f"power: {power_s:.3f} s, {power.hvps} HVPs, error {out['power_rel_err']:.1e}\n"
          f"  Hutchinson trace, 30 samples: {trace_s:.4f} s, tr(H) = {trace.estimate:.2f} ± {trace.stderr:.2f}; "
          f"λ_max = {exact:.5f}")
    return out
