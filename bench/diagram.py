"""`netarium bench diagram`: extract + DOT + server SVG render time of the largest registered models.

Each case is a registered model at the top of its depth bounds (the most ops to draw), at default
and at maximal widths; the model is built outside the timing. The figure is the median over rounds
of diagram(model) -> DOT -> SVG, against the 0.5 s budget of issue #4; the first (cold) call and the
collapsed drawing are reported beside it.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from netarium.analysis.diagram import task_diagram
from netarium.models import ModelSpec, build_model, parameter_count
from netarium.tasks import make_task
from netarium.viz.ncd import render_svg, to_dot

BUDGET_S = 0.5
CASES: list[tuple[str, dict[str, Any]]] = [
    ("mlp", {"hidden": [8] * 8}),
    ("mlp", {"hidden": [1024] * 8}),
    ("residual-mlp", {"blocks": 32}),
    ("residual-mlp", {"blocks": 32, "width": 1024, "hidden": 4096}),
]


def _short(v: Any) -> str:
    return f"{v[0]}x{len(v)}" if isinstance(v, list) else str(v)


def _draw(model: torch.nn.Module, task: Any, collapsed: bool = False) -> tuple[float, int]:
    t0 = time.perf_counter()
    d = task_diagram(model, task, 500)
    svg = render_svg(to_dot(d, collapsed=collapsed))
    took = time.perf_counter() - t0
    assert "<svg" in svg
    return took, len(d.ops)


def run_diagram_bench(quick: bool = False) -> dict[str, Any]:
    """Print and return the build+render seconds per case and their ratio to the budget."""
    rounds = 3 if quick else 7
    task = make_task("spiral", {}, seed=0)
    torch.set_num_threads(1)
    print(f"netarium bench diagram: extract + DOT + SVG, median of {rounds} rounds, budget {BUDGET_S} s")
    rows = []
    for name, params in CASES:
        torch.manual_seed(0)
        model = build_model(name, params, ModelSpec.for_task(task))
        cold, n_ops = _draw(model, task)
        times = [_draw(model, task)[0] for _ in range(rounds)]
        collapsed = statistics.median(_draw(model, task, collapsed=True)[0] for _ in range(rounds))
        med = statistics.median(times)
        label = f"{name} " + " ".join(f"{k}={_short(v)}" for k, v in params.items())
        row = {"case": label, "params": parameter_count(model), "ops": n_ops, "seconds": med, "cold_seconds": cold,
               "collapsed_seconds": collapsed, "ratio_to_budget": med / BUDGET_S}
        rows.append(row)
        print(f"{label:<52} {row['params']:>12,} params {n_ops:4d} ops   {med * 1000:6.0f} ms "
              f"(cold {cold * 1000:5.0f} ms, collapsed {collapsed * 1000:4.0f} ms)   {row['ratio_to_budget']:.2f} of budget")
        del model
    worst = max(r["seconds"] for r in rows)
    print(f"slowest: {worst * 1000:.0f} ms = {worst / BUDGET_S:.2f} of the {BUDGET_S} s budget")
    return {"budget_seconds": BUDGET_S, "rounds": rounds, "cases": rows, "worst_seconds": worst}
