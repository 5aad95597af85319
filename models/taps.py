"""Taps: named identity modules that mark what can be looked at inside a model (cf. TransformerLens
hook points), and one function that records any subset of them for a batch."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


class Tap(nn.Identity):
    """An identity module whose output is a named activation ("layer1.post", "logits", ...)."""

    def __init__(self, name: str):
        super().__init__()
        self.tap_name = name

    def extra_repr(self) -> str:
        return repr(self.tap_name)


def tap_modules(model: nn.Module) -> dict[str, Tap]:
    """Every Tap of a model by tap name, in forward (registration) order."""
    return {m.tap_name: m for m in model.modules() if isinstance(m, Tap)}


def tap_names(model: nn.Module) -> list[str]:
    """The names of a model's taps, in order."""
    return list(tap_modules(model))


def record(
    model: nn.Module, x: torch.Tensor, taps: Iterable[str] | None = None, *, grad: bool = False
) -> dict[str, torch.Tensor]:
    """Run `model(x)` once and return the activations at the requested taps (all when None).

    Unknown tap names raise KeyError naming the available ones. Without `grad` the pass runs under
    no_grad and the tensors are detached.
    """
    available = tap_modules(model)
    wanted = list(available) if taps is None else list(taps)
    missing = [t for t in wanted if t not in available]
    if missing:
        raise KeyError(f"unknown taps {missing}; the model has {list(available)}")
    out: dict[str, torch.Tensor] = {}
    handles = []
    for name in wanted:
        def hook(_m: nn.Module, _inp: tuple, output: torch.Tensor, name: str = name) -> None:
            out[name] = output if grad else output.detach()

        handles.append(available[name].register_forward_hook(hook))
    try:
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            model(x)
    finally:
        for h in handles:
            h.remove()
    return {name: out[name] for name in wanted if name in out}
