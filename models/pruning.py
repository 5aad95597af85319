"""Pruning the masked layers of a model: magnitude pruning (one global threshold or per layer) and
AP ("Activate-while-Pruning", Liu et al. 2022, "AP: Selective Activation for De-sparsifying Pruned
Neural Networks", arXiv:2212.06145), which spends part of a round's pruning budget on negative
weights that barely moved, to lower the dynamic dead-neuron rate (DNR) of the ReLU units.

Both write masks in place through models/masks.py (`switch_off`); the rounds of iterative magnitude
pruning (lottery tickets, rewinding) are run by experiments/iterative_pruning.py, and the dead-neuron
rates that AP aims at are measured by analysis/dead_units.py.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

from netarium.models.masks import pruning_layers, switch_off
from netarium.models.taps import relu_layers

Scope = Literal["global", "layer"]

# AP's default share of each round's pruning: the official code prunes 2 of every 20 percent with AP
# (ap_pruning_rate = 2, bench_pruning_rate = prune_percent - 2)
AP_RATE = 0.02


def _smallest(scores: list[torch.Tensor], candidates: list[torch.Tensor], n: int) -> list[torch.Tensor]:
    """Per layer, the flat indices of the n candidates with the smallest score over all the layers
    together; ties go to the earlier layer, then the lower flat index (a stable sort)."""
    idx = [torch.nonzero(c.reshape(-1), as_tuple=False).reshape(-1) for c in candidates]
    values = torch.cat([s.detach().reshape(-1)[i].to(torch.float64).cpu() for s, i in zip(scores, idx, strict=True)])
    if n > values.numel():
        raise ValueError(f"cannot choose {n} of {values.numel()} candidates")
    chosen = torch.sort(values, stable=True).indices[:n]
    out, start = [], 0
    for i in idx:
        stop = start + i.numel()
        pick = chosen[(chosen >= start) & (chosen < stop)] - start
        out.append(i[pick.to(i.device)])
        start = stop
    return out


def _layer_stats(layers: list[tuple[str, nn.Module]], before: list[int]) -> dict[str, Any]:
    """Per-layer edges before/after a pruning step and the totals over the layers."""
    rows = [{"name": name, "before": b, "after": int((m.mask != 0).sum()), "total": m.mask.numel()}
            for (name, m), b in zip(layers, before, strict=True)]
    active, total = sum(r["after"] for r in rows), sum(r["total"] for r in rows)
    return {
        "layers": rows,
        "pruned": sum(before) - active,
        "edges": active,
        "total": total,
        "sparsity": 1.0 - active / total if total else 0.0,
    }


@torch.no_grad()
def magnitude_prune(
    model: nn.Module,
    fraction: float,
    scope: Scope = "global",
    include_readout: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    count: int | None = None,
) -> dict[str, Any]:
    """Switch off `fraction` of the currently active edges of the masked layers, those of smallest |w|,
    in place (mask and weight to 0; their optimizer state zeroed when `optimizer` is given).

    scope "global": n = round(fraction * active edges of all the layers), one threshold across layers;
    "layer": round(fraction * active edges) in each layer. `count` (scope "global" only) asks for
    exactly that many edges instead of a fraction. Ties go to the earlier layer, then the lower
    flat (row-major (out, in)) index. Returns {"layers": [{name, before, after, total}], "pruned",
    "edges" (active after), "total", "sparsity" (over these layers), "threshold" (largest |w| pruned,
    0.0 when none)}.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    if scope not in ("global", "layer"):
        raise ValueError(f'scope must be "global" or "layer", got {scope!r}')
    if count is not None and scope != "global":
        raise ValueError('count needs scope "global"')
    layers = pruning_layers(model, include_readout)
    before = [int((m.mask != 0).sum()) for _, m in layers]
    if scope == "global":
        n = int(round(fraction * sum(before))) if count is None else count
        picks = _smallest([m.weight.abs() for _, m in layers], [m.mask != 0 for _, m in layers], n)
    else:
        picks = [_smallest([m.weight.abs()], [m.mask != 0], int(round(fraction * b)))[0]
                 for (_, m), b in zip(layers, before, strict=True)]
    threshold = max((float(m.weight.reshape(-1)[p].abs().max()) for (_, m), p in zip(layers, picks, strict=True)
                     if p.numel()), default=0.0)
    for (_, m), p in zip(layers, picks, strict=True):
        switch_off(m, p, optimizer)
    return {**_layer_stats(layers, before), "threshold": threshold}


# --- AP: Activate-while-Pruning ---------------------------------------------------------------------


def most_dead_units(rates: dict[str, torch.Tensor], fraction: float, threshold: float = 0.5) -> dict[str, torch.Tensor]:
    """The ceil(fraction * units) units with the highest dead rate among those with rate >= threshold,
    pooled over layers (ties: earlier layer, lower index): {layer name: unit indices}."""
    names = list(rates)
    flat = torch.cat([rates[n].reshape(-1) for n in names]) if names else torch.zeros(0)
    k = math.ceil(fraction * flat.numel())
    order = torch.sort(-flat.to(torch.float64), stable=True).indices
    chosen = [int(i) for i in order[:k] if float(flat[i]) >= threshold]
    out, start = {}, 0
    for n in names:
        stop = start + rates[n].numel()
        out[n] = torch.tensor([i - start for i in chosen if start <= i < stop], dtype=torch.long)
        start = stop
    return out


@torch.no_grad()
def ap_prune(
    model: nn.Module,
    n: int,
    reference: dict[str, torch.Tensor],
    units: dict[str, torch.Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> dict[str, Any]:
    """AP's pruning step (Liu et al. 2022, as in the authors' code, github.com/Martin1937/Activate-
    While-Pruning): switch off the n active NEGATIVE weights that moved least over the last training
    phase, smallest |w - reference| first, where reference["<layer name>.weight"] is the layer's
    weight when that phase began (e.g. a copy of dict(model.named_parameters()) taken then). Removing a negative input weight raises the unit's pre-activation wherever that input is
    positive (always, after a ReLU or for nonnegative features), so the unit is silent less often.

    Candidates are the masked linears that feed a ReLU (`relu_layers`; the authors' code also looks
    at other layers, where a negative weight is no ReLU's business). `units` = {layer name: unit
    indices} restricts them further to those units' incoming weights (see `most_dead_units`; an
    addition of ours, not in the paper). At most as many as there are candidates are pruned.
    Returns {"pruned", "layers": {name: count}, "units": {name: indices of the units touched}}.
    """
    layers = [(r.name, r.linear) for r in relu_layers(model) if "mask" in dict(r.linear.named_buffers(recurse=False))]
    cands = []
    for name, m in layers:
        c = (m.mask != 0) & (m.weight < 0)
        if units is not None:
            rows = torch.zeros(c.shape[0], dtype=torch.bool, device=c.device)
            rows[units.get(name, torch.zeros(0, dtype=torch.long)).to(c.device)] = True
            c &= rows[:, None]
        cands.append(c)
    n = min(n, sum(int(c.sum()) for c in cands))
    scores = [(m.weight - reference[f"{name}.weight"].to(m.weight)).abs() for name, m in layers]
    picks = _smallest(scores, cands, n) if layers else []
    touched = {}
    for (name, m), p in zip(layers, picks, strict=True):
        switch_off(m, p, optimizer)
        touched[name] = torch.unique(torch.div(p, m.weight.shape[1], rounding_mode="floor")).cpu()
    return {"pruned": n, "layers": {name: int(p.numel()) for (name, _), p in zip(layers, picks, strict=True)},
            "units": touched}
