"""`netarium bench cka`: linear CKA of every pair of 8 layers (2000 samples x 256 units) via cka_matrix.

The layers are a seeded chain (each a rotated, shrunk copy of the one before plus fresh noise), so
the CKA values fall with the distance between layers instead of all sitting near 0. The figure is
the median seconds over rounds after one warm-up call, against the 0.2 s budget, at the caller's
torch thread count; the Gram route (what cka_matrix picks when samples < units) and one thread are
timed beside it for reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from netarium.analysis.geometry import _cka_matrix, cka_matrix
from netarium.bench.timing import median_seconds
from netarium.training.threads import using_threads

BUDGET_S = 0.2
LAYERS, SAMPLES, UNITS = 8, 2000, 256


def layer_chain(seed: int = 0) -> list[torch.Tensor]:
    """float32 activations h_{k+1} = 0.8 h_k Q_k + 0.6 noise, Q_k random orthogonal (as taps hand them over)."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((SAMPLES, UNITS))
    layers = []
    for _ in range(LAYERS):
        q, _ = np.linalg.qr(rng.standard_normal((UNITS, UNITS)))
        h = 0.8 * h @ q + 0.6 * rng.standard_normal((SAMPLES, UNITS))
        layers.append(torch.as_tensor(np.maximum(h, 0.0) + 0.1 * h, dtype=torch.float32))  # leaky ReLU
    return layers



def run_cka_bench(quick: bool = False) -> dict[str, Any]:
    rounds = 5 if quick else 15
    layers = layer_chain()
    threads = torch.get_num_threads()
    M = cka_matrix(layers)
    median = median_seconds(lambda: cka_matrix(layers), rounds)
    gram = median_seconds(lambda: _cka_matrix(layers, None, False, "gram"), 2 if quick else 3)
    one_thread = median
    if threads != 1:
        with using_threads(1):
            one_thread = median_seconds(lambda: cka_matrix(layers), rounds)
    off = M[np.triu_indices(LAYERS, k=1)]
    out = {
        "layers": LAYERS, "samples": SAMPLES, "units": UNITS, "rounds": rounds, "threads": threads,
        "median_s": median, "budget_s": BUDGET_S, "ratio": median / BUDGET_S,
        "gram_route_s": gram, "one_thread_s": one_thread,
        "cka_adjacent": float(np.mean(np.diag(M, 1))), "cka_min": float(off.min()),
    }
    print(f"netarium bench cka: {LAYERS} layers x {SAMPLES} samples x {UNITS} units, all pairs: "
          f"median {median:.4f} s over {rounds} rounds = {out['ratio']:.2f} x the {BUDGET_S} s target, "
          f"{threads} torch thread(s) (1 thread: {one_thread:.4f} s; Gram route: {gram:.3f} s; "
          f"CKA adjacent {out['cka_adjacent']:.2f}, min {out['cka_min']:.2f})")
    return out
