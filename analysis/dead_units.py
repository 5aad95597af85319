"""Dead units: ReLU units that never fire. Static ones have no active incoming weight; dynamic ones
output 0 on the inputs at hand. The dynamic dead-neuron rate (DNR) of a model is read off the taps
that hold its ReLU outputs (`models.taps.relu_layers`: "layerN.post" of the MLPs, "blockN.hidden"
of the residual MLP), as AP 2022 measures it during pruning.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from netarium.analysis.common import as_matrix, as_numpy, eval_mode
from netarium.models.gate import FORWARD_GATE
from netarium.models.taps import relu_layers, tap_hooks


def static_dead_units(W_in_masked: np.ndarray | torch.Tensor, atol: float = 0.0) -> list[int]:
    """Structurally dead units: output units (rows of the masked weight W * M, shape (out, in)) with no
    active incoming weight, |W_ij| <= atol for every j; such a unit outputs act(bias) on every input
    whatever it is fed (the static dead neurons of pruning, e.g. AP 2022)."""
    W = as_numpy(W_in_masked)
    return [int(i) for i in np.flatnonzero(np.all(np.abs(W) <= atol, axis=1))]


def dynamic_dead_units(acts: np.ndarray | torch.Tensor, atol: float = 1e-6) -> list[int]:
    """Dynamically dead units: columns of post-activation `acts` (batch, units; trailing dimensions
    flattened into units) with |a| <= atol on every input of the batch (a ReLU that never fires, so no
    gradient flows through it)."""
    A = as_matrix(acts)
    return [int(i) for i in np.flatnonzero(np.all(np.abs(A) <= atol, axis=0))]


def dnr(acts: np.ndarray | torch.Tensor, atol: float = 1e-6, *, per: str = "unit") -> float:
    """Dynamic dead-neuron rate of post-activation `acts` (batch, units). per="unit" (default):
    |dynamic_dead_units| / units, the fraction of units silent on the whole batch. per="pair": the
    fraction of (input, unit) pairs with |a| <= atol, the per-sample inactivity rate that AP 2022
    tracks during pruning."""
    A = as_matrix(acts)
    if A.size == 0:
        return 0.0
    if per == "unit":
        return len(dynamic_dead_units(A, atol)) / A.shape[1]
    if per == "pair":
        return float(np.mean(np.abs(A) <= atol))
    raise ValueError(f'per must be "unit" or "pair", got {per!r}')


def unit_dead_rates(model: nn.Module, X: torch.Tensor, atol: float = 0.0) -> dict[str, torch.Tensor]:
    """Per ReLU layer (keyed by the name of the linear feeding it), each unit's dynamic dead rate: the
    fraction of the inputs X (positions count as inputs) on which its ReLU output, read at the layer's
    tap, is <= atol. One pass in eval mode, without autograd."""
    layers = relu_layers(model)
    with tap_hooks(model, read=[layer.tap for layer in layers]) as acts, eval_mode(model), \
            FORWARD_GATE.shared(), torch.no_grad():
        model(X)
    return {layer.name: (acts[layer.tap].reshape(-1, acts[layer.tap].shape[-1]) <= atol).to(torch.float64).mean(0).cpu()
            for layer in layers if layer.tap in acts}


def relu_dead_rate(model: nn.Module, X: torch.Tensor, atol: float = 0.0) -> dict[str, Any]:
    """The dynamic dead-neuron rate over probe inputs X: "dnr" = fraction of (input, unit) pairs whose
    ReLU output is <= atol, pooled over every ReLU layer (AP 2022's dynamic DNR: `dnr(acts, per="pair")`
    of the pooled ReLU taps), "layers" = {name: that fraction per layer}, "dead_units" = units at 0 on
    every input, "units" = ReLU units in all. "dnr" is nan for a model without ReLU layers."""
    rates = unit_dead_rates(model, X, atol)
    units = sum(r.numel() for r in rates.values())
    pooled = sum(float(r.sum()) for r in rates.values())
    return {
        "dnr": pooled / units if units else math.nan,
        "layers": {name: float(r.mean()) for name, r in rates.items()},
        "dead_units": sum(int((r >= 1.0).sum()) for r in rates.values()),
        "units": units,
    }


def static_dead_count(model: nn.Module) -> int:
    """ReLU units with no active incoming weight (`static_dead_units` of W * mask of each ReLU layer):
    they output relu(bias) whatever the input."""
    count = 0
    for layer in relu_layers(model):
        w = layer.linear.weight.detach()
        mask = getattr(layer.linear, "mask", None)
        count += len(static_dead_units((w * mask if mask is not None else w).reshape(w.shape[0], -1)))
    return count
