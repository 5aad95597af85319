"""What is special about an Hourglass MLP: the widths along its depth (a wide stream squeezed through a
narrow waist in every block), how much each bottleneck block writes into the wide stream relative to
it, |W_up s(W_down z)| / |z|, and the spectrum of the frozen lift beside that of each block's learned
map W_up W_down (rank at most the bottleneck)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from netarium.analysis.common import eval_mode
from netarium.models.base import parameter_count
from netarium.models.taps import record


def _require_hourglass(model: nn.Module) -> None:
    if not hasattr(model, "lift") or not hasattr(model, "blocks") or not hasattr(model, "widths"):
        raise ValueError(f"{type(model).__name__} is not an hourglass MLP (needs a lift, blocks and widths)")


@dataclass(frozen=True)
class HourglassProfile:
    """The widths along the depth and each block's relative update on a batch of inputs."""

    stages: list[str]  # "in", "lift", "block1 waist", "block1 out", ..., "out"
    widths: list[int]  # the width of each stage
    blocks: list[str]
    update_rel: np.ndarray  # (L,) mean over the batch of |W_up s(W_down z_l)| / |z_l|
    trainable: int
    frozen: int
    lift_frozen: bool


def hourglass_profile(model: nn.Module, x: torch.Tensor) -> HourglassProfile:
    """Widths in, lifted, at each waist and after each block, out; and the relative update per block,
    |W_up s(W_down z)| / |z| with norms over the stream's features, averaged over the batch."""
    _require_hourglass(model)
    wide, waist = model.widths
    names = list(model.block_names)
    taps = [t for b in names for t in (f"{b}.resid_pre", f"{b}.mlp_out")]
    with eval_mode(model), torch.no_grad():
        acts = record(model, x, taps)
    rel = []
    for b in names:
        z, u = acts[f"{b}.resid_pre"].float(), acts[f"{b}.mlp_out"].float()
        rel.append(float((u.norm(dim=-1) / z.norm(dim=-1).clamp_min(1e-12)).mean()))
    n_in = model.spec.n_inputs if model.spec.vocab_size is None else model.spec.n_inputs * model.spec.vocab_size
    stages, widths = ["in", "lift"], [n_in, wide]
    for b in names:
        stages += [f"{b} waist", f"{b} out"]
        widths += [waist, wide]
    stages.append("out")
    widths.append(model.spec.n_outputs)
    total = parameter_count(model, trainable_only=False)
    trainable = parameter_count(model)
    lift_frozen = not any(p.requires_grad for p in model.lift.parameters())
    return HourglassProfile(stages, widths, names, np.asarray(rel), trainable, total - trainable, lift_frozen)


@dataclass(frozen=True)
class Spectra:
    """Singular values (descending) of the lift and of each block's learned linear part W_up W_down."""

    lift: np.ndarray
    blocks: dict[str, np.ndarray]


def spectra(model: nn.Module) -> Spectra:
    """σ(W_lift) and σ(W_up W_down) per block: the frozen random map has a flat spectrum across its input
    rank; each block's product has rank at most the bottleneck width."""
    _require_hourglass(model)
    with torch.no_grad():
        lift = torch.linalg.svdvals(model.lift.weight.detach().float().cpu())
        blocks = {name: torch.linalg.svdvals((b.up.weight @ b.down.weight).detach().float().cpu()).numpy()
                  for name, b in zip(model.block_names, model.blocks, strict=True)}
    return Spectra(lift.numpy(), blocks)
