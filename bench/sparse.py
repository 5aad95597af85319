"""`netarium bench sparse`: what masks and dynamic sparse training cost.

1. A training step of the g2g-sparse preset's network (digits, 64-256-256-10, batch 64, Adam) with
   MaskedLinear layers (all-ones masks) against the same network of plain nn.Linear: the price of
   W * M in the forward and of re-zeroing masked weights after each optimizer step.
2. The dst trainer (a rewiring every 100 steps) against the supervised trainer on the same G2G mask,
   per regrowth rule: the amortised cost of DST.
3. One DST round on a 1024 x 1024 layer at 25% density per rule (prune, score, regrow, reset).
Training steps: the variants take turns, STEPS steps each, round after round, and each gets the median
of its rounds; one torch thread (set here, restored after).
"""

from __future__ import annotations

from typing import Any

import torch

from netarium.bench.timing import median_seconds
from netarium.training.threads import using_threads

STEPS = 200


def _step_seconds(variants: dict[str, dict[str, Any]], rounds: int) -> dict[str, float]:
    """Median seconds per training step of a Run of each config, timing STEPS steps of every variant in
    turn, round after round (interleaved, so a slow spell of this shared machine hits them all alike)."""
    import statistics
    import time

    from netarium.training.config import Config
    from netarium.training.run import Run

    runs = {name: Run(Config(task={"name": "digits"}, optimizer={"name": "adam", "lr": 0.001}, batch_size=64, steps=100_000,
                             eval_every=100_000, seed=0, **kw)) for name, kw in variants.items()}
    for run in runs.values():
        run.step(STEPS)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run.step(STEPS)
            times[name].append((time.perf_counter() - t0) / STEPS)
    return {name: statistics.median(t) for name, t in times.items()}


def run_sparse_bench(quick: bool = False) -> dict[str, Any]:
    from netarium.models.sparse import MaskedLinear, random_mask
    from netarium.training.dst import dst_step

    rounds = 3 if quick else 9
    with using_threads(1):
        hidden = [256, 256]
        g2g = {"name": "sparse-mlp", "hidden": hidden, "groups": 4, "k": 1, "sparse_readout": True}
        rules = ("random", "gradient", "hebbian")
        step = _step_seconds({
            "plain": {"model": {"name": "mlp", "hidden": hidden}},
            "masked": {"model": {"name": "sparse-mlp", "hidden": hidden, "connectivity": "dense", "sparse_readout": True}},
            "static": {"model": g2g},
            **{rule: {"model": g2g, "trainer": {"name": "dst", "rule": rule, "every": 100, "total_steps": 10**6,
                                                "stop_fraction": 1.0}} for rule in rules},
        }, rounds)
        plain, masked, static = step["plain"], step["masked"], step["static"]
        dst = {rule: step[rule] for rule in rules}
        torch.manual_seed(0)
        layer = MaskedLinear(1024, 1024, random_mask(1024, 1024, 0.25, seed=0))
        x = torch.randn(256, 1024)
        post = layer(x).detach()
        grad = torch.randn(1024, 1024)
        signals = {"random": {}, "gradient": {"grad": grad}, "hebbian": {"pre": x, "post": post}}
        mask0 = layer.mask.clone()

        def one_round(rule: str) -> None:
            layer.mask.copy_(mask0)
            dst_step(layer, rule, 0.3, **signals[rule])

        round_ms = {rule: 1e3 * median_seconds(lambda rule=rule: one_round(rule), rounds) for rule in signals}
    out: dict[str, Any] = {
        "threads": 1, "rounds": rounds, "steps_per_round": STEPS,
        "plain_step_ms": 1e3 * plain, "masked_step_ms": 1e3 * masked, "masked_ratio": masked / plain,
        "g2g_static_step_ms": 1e3 * static,
        **{f"dst_{r}_step_ms": 1e3 * s for r, s in dst.items()},
        **{f"dst_{r}_ratio": s / static for r, s in dst.items()},
        **{f"round_1024_{r}_ms": v for r, v in round_ms.items()},
    }
    print(f"netarium bench sparse: digits 64-256-256-10, batch 64, Adam, 1 torch thread, median of {rounds} interleaved "
          f"rounds of {STEPS} steps\n"
          f"  plain nn.Linear step {out['plain_step_ms']:.3f} ms; MaskedLinear (all ones, readout masked too) "
          f"{out['masked_step_ms']:.3f} ms = {out['masked_ratio']:.2f} x\n"
          f"  G2G 75% static {out['g2g_static_step_ms']:.3f} ms; with DST every 100 steps: "
          + ", ".join(f"{r} {out[f'dst_{r}_step_ms']:.3f} ms ({out[f'dst_{r}_ratio']:.2f} x)" for r in dst) + "\n"
          "  one DST round on a 1024 x 1024 layer at 25% density (30% of its edges): "
          + ", ".join(f"{r} {v:.1f} ms" for r, v in round_ms.items()))
    return out
