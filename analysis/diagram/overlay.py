"""Live overlays for a neural circuit diagram: what training is doing to each op, on a probe batch.

Learned ops: the weight norm ||W||_F and the gradient norm ||dL/dW||_F of the data loss (no L1/L2
term). Element-wise ops: the mean activation over inputs and units, and the fraction of dead units
(units whose output is 0 on every probe input, the usual definition of a dead ReLU). The ops are the
diagram's own modules (activations, norms), not taps, so they are watched with `forward_hooks`. Collapsed
components aggregate their members: norms as the norm of all their weights together (root sum of
squares), activations weighted by unit count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from netarium.analysis.common import eval_mode
from netarium.analysis.dead_units import dnr
from netarium.analysis.diagram.model import Diagram
from netarium.models.taps import ForwardHook, forward_hooks

DEAD_ATOL = 1e-6  # |output| at or below this counts as zero

LEARNED_METRICS = {"weight_norm": "‖W‖", "grad_norm": "‖∇W‖"}
ELEMENTWISE_METRICS = {"dead_fraction": "dead units", "mean_activation": "mean activation"}


@dataclass(frozen=True)
class OpStats:
    """One op's live numbers; None where the metric does not apply to the op."""

    weight_norm: float | None = None
    grad_norm: float | None = None
    mean_activation: float | None = None
    dead_fraction: float | None = None
    units: int = 0  # units of an element-wise op (its last axis), the weight of its activation stats

    def get(self, metric: str) -> float | None:
        return getattr(self, metric)


@dataclass(frozen=True)
class Overlay:
    """Per-op statistics of one model state, with the step and probe size they were measured at."""

    step: int
    n_probe: int
    stats: dict[str, OpStats]

    def value(self, diagram: Diagram, op_id: str, metric: str) -> float | None:
        """The metric of an op, or of a collapsed component (aggregated over all its members)."""
        comp = next((c for c in diagram.components if c.id == op_id), None)
        if comp is None:
            s = self.stats.get(op_id)
            return s.get(metric) if s else None
        inner = [self.stats[i] for i in comp.members if i in self.stats and self.stats[i].get(metric) is not None]
        if not inner:
            return None
        if metric in LEARNED_METRICS:
            return math.sqrt(sum(s.get(metric) ** 2 for s in inner))
        units = sum(s.units for s in inner)
        return sum(s.get(metric) * s.units for s in inner) / units if units else None

    def range(self, diagram: Diagram, metric: str) -> tuple[float, float] | None:
        """(min, max) of a metric over the ops drawn in `diagram`; None when no op has it."""
        values = [v for o in diagram.ops if (v := self.value(diagram, o.id, metric)) is not None]
        return (min(values), max(values)) if values else None


def _module_calls(diagram: Diagram) -> dict[str, list[str]]:
    """module name -> the op ids it produced, in call order (a module called twice has two ops)."""
    calls: dict[str, list[str]] = {}
    for op in diagram.expand().ops:
        if op.module and op.kind in ("learned", "embed", "elementwise"):
            calls.setdefault(op.module, []).append(op.id)
    return calls


def _weight(model: nn.Module, modules: dict[str, nn.Module], name: str) -> torch.Tensor | None:
    """The weight of a learned op: a module's .weight (an RNN's first input-hidden weight), or the
    parameter itself for a learned tensor used directly (a positional embedding)."""
    if name in modules:
        m = modules[name]
        w = getattr(m, "weight", None)
        if w is None and isinstance(m, nn.RNNBase):
            w = m.weight_ih_l0
        return w if isinstance(w, torch.Tensor) else None
    try:
        return model.get_parameter(name)
    except AttributeError:
        return None


def diagram_overlay(
    model: nn.Module,
    diagram: Diagram,
    x: torch.Tensor,
    y: torch.Tensor,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    step: int = 0,
) -> Overlay:
    """Weight and gradient norms of every learned op and activation stats of every element-wise op
    of `diagram` (extracted from `model`), from one forward and backward pass on (x, y).

    The model's own .grad fields are left untouched (torch.autograd.grad), so this is safe on a copy
    that shares nothing with training, and harmless on the live model between steps.
    """
    full = diagram.expand()
    modules = dict(model.named_modules())
    calls = _module_calls(full)
    kinds = {o.id: o.kind for o in full.ops}
    outputs: dict[str, list[torch.Tensor]] = {}

    def keep(name: str) -> ForwardHook:
        def hook(_m: nn.Module, _inp: tuple, out: object) -> None:
            if isinstance(out, torch.Tensor):
                outputs.setdefault(name, []).append(out.detach())
        return hook

    watched = [(modules[name], keep(name)) for name, ids in calls.items()
               if name in modules and any(kinds[i] == "elementwise" for i in ids)]
    learned = {name: w for name, ids in calls.items()
               if kinds[ids[0]] in ("learned", "embed") and (w := _weight(model, modules, name)) is not None}
    with forward_hooks(watched), eval_mode(model), torch.enable_grad():
        out = model(x)
        weights = [w for w in learned.values() if w.requires_grad]
        grads = torch.autograd.grad(loss(out, y), weights, allow_unused=True) if weights else ()
    grad_of = {id(w): g for w, g in zip(weights, grads, strict=True)}
    stats: dict[str, OpStats] = {}
    for name, w in learned.items():
        g = grad_of.get(id(w))
        for op_id in calls[name][:1]:  # a module's parameters belong to its first call
            stats[op_id] = OpStats(weight_norm=float(w.detach().norm()),
                                   grad_norm=float(g.norm()) if g is not None else 0.0)
    for name, outs in outputs.items():
        for op_id, a in zip(calls[name], outs, strict=False):
            units = a.reshape(-1, a.shape[-1]) if a.dim() >= 2 else a.reshape(-1, 1)
            stats[op_id] = OpStats(mean_activation=float(units.float().mean()),
                                   dead_fraction=dnr(units, DEAD_ATOL), units=units.shape[1])
    return Overlay(step=step, n_probe=int(x.shape[0]), stats=stats)
