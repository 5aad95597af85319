"""Muon: MomentUm Orthogonalized by Newton-Schulz (Jordan et al. 2024), with AdamW for the rest.

Hidden weight matrices take a momentum step whose direction is orthogonalized (every singular value
pushed towards 1) by a quintic Newton-Schulz iteration; biases, norms and, by default, the input and
readout matrices take AdamW steps. Reference: K. Jordan et al., "Muon: An optimizer for hidden layers
in neural networks", 2024, https://kellerjordan.github.io/posts/muon/.

Learning rates: `group["lr"]` is the Muon lr in *both* parameter groups, and each group carries a
fixed `lr_scale` (1 for Muon, `adam_lr / lr` for AdamW); a step uses `group["lr"] * group["lr_scale"]`.
So `Run.set_lr(x)`, which writes one lr into every group, sets the Muon lr to x and scales the AdamW
lr by the same factor, keeping their ratio; `Run.lr` (group 0) reads back the Muon lr.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import torch
from pydantic import Field
from torch import nn

from netarium.schema import Params
from netarium.training.optim import LR_HINT, OPTIMIZERS

QUINTIC = (3.4445, -4.7750, 2.0315)  # (a, b, c) of the reference: steep at 0, oscillates near 1
CUBIC = (1.5, -0.5, 0.0)  # the classic Newton-Schulz iteration: converges to the polar factor, slowly


def newton_schulz(G: torch.Tensor, steps: int = 5, coefficients: tuple[float, float, float] = QUINTIC) -> torch.Tensor:
    """An approximate polar factor U Vᵀ of G = U Σ Vᵀ (over the last two axes), in float32.

    X ← G / (‖G‖_F + 1e-7), then `steps` times X ← aX + b(XXᵀ)X + c(XXᵀ)²X, working on the wide
    orientation (XXᵀ the smaller Gram matrix). Each step maps every singular value σ to
    aσ + bσ³ + cσ⁵ and keeps the singular vectors, so the result is U φ(Σ) Vᵀ.
    """
    if G.ndim < 2:
        raise ValueError(f"newton_schulz needs a matrix, got shape {tuple(G.shape)}")
    a, b, c = coefficients
    X = G.to(torch.float32)
    tall = G.size(-2) > G.size(-1)
    if tall:
        X = X.mT
    X = X / (torch.linalg.matrix_norm(X, keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.mT if tall else X


def split_matrices(params: Iterable[nn.Parameter], muon_for: str = "hidden") -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(Muon parameters, AdamW parameters): matrices (ndim >= 2) go to Muon, except, for "hidden",
    the first and the last matrix in parameter order (the input layer / embedding and the readout);
    "first" gives Muon the first matrix only (the Li2 grokking setup: Muon on the first layer)."""
    params = list(params)
    matrices = [i for i, p in enumerate(params) if p.ndim >= 2]
    if muon_for == "hidden":
        matrices = matrices[1:-1]
    elif muon_for == "first":
        matrices = matrices[:1]
    elif muon_for != "all":
        raise ValueError(f"muon_for must be 'hidden', 'first' or 'all', got {muon_for!r}")
    chosen = set(matrices)
    return [p for i, p in enumerate(params) if i in chosen], [p for i, p in enumerate(params) if i not in chosen]


class Muon(torch.optim.Optimizer):
    """Muon on matrices, AdamW on everything else: two param groups tagged `use_muon` True / False.

    Muon, per matrix W (rows × cols; conv kernels flattened over all but the first axis):
    B ← μB + G; D = G + μB (Nesterov) or B; θ ← θ(1 - lr·wd) - lr · max(1, rows/cols)^½ · NS(D).
    The AdamW group matches torch.optim.AdamW at lr = lr · lr_scale.
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        lr: float = 0.02,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        weight_decay: float = 0.0,
        adam_lr: float = 1e-3,
        adam_betas: tuple[float, float] = (0.9, 0.999),
        adam_eps: float = 1e-8,
        adam_weight_decay: float = 0.0,
        muon_for: Literal["hidden", "first", "all"] = "hidden",
    ):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        muon, adam = split_matrices(params, muon_for)
        defaults: dict[str, Any] = dict(
            lr=lr, lr_scale=1.0, use_muon=True, momentum=momentum, nesterov=nesterov, ns_steps=ns_steps,
            weight_decay=weight_decay, betas=adam_betas, eps=adam_eps,
        )  # fmt: skip
        groups = [
            dict(params=muon, use_muon=True, lr_scale=1.0, weight_decay=weight_decay),
            dict(params=adam, use_muon=False, lr_scale=adam_lr / lr, weight_decay=adam_weight_decay),
        ]
        super().__init__(groups, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr = group["lr"] * group["lr_scale"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if group["use_muon"]:
                    self._muon_update(p, group, lr)
                else:
                    self._adamw_update(p, group, lr)
        return loss

    def _muon_update(self, p: nn.Parameter, group: dict[str, Any], lr: float) -> None:
        g = p.grad.reshape(p.shape[0], -1).to(torch.float32)
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(g)
        buf = state["momentum_buffer"]
        mu = group["momentum"]
        buf.mul_(mu).add_(g)
        direction = g.add(buf, alpha=mu) if group["nesterov"] else buf
        rows, cols = direction.shape
        update = newton_schulz(direction, group["ns_steps"]) * max(1.0, rows / cols) ** 0.5
        p.mul_(1 - lr * group["weight_decay"])
        p.add_(update.reshape(p.shape).to(p.dtype), alpha=-lr)

    def _adamw_update(self, p: nn.Parameter, group: dict[str, Any], lr: float) -> None:
        g = p.grad
        state = self.state[p]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        beta1, beta2 = group["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        p.mul_(1 - lr * group["weight_decay"])
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        denom = (v.sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
        p.addcdiv_(m, denom, value=-lr / (1 - beta1**t))


class MuonParams(Params):
    lr: float = Field(0.02, gt=0.0, le=10.0, title="Learning rate", json_schema_extra=LR_HINT, description="Muon learning rate (the AdamW lr keeps its ratio to it when lr changes live)")
    momentum: float = Field(0.95, ge=0.0, lt=1.0, description="Momentum of the Muon buffer: B ← μB + G")
    nesterov: bool = Field(True, description="Orthogonalize G + μB (Nesterov) instead of B")
    ns_steps: int = Field(5, ge=1, le=10, description="Newton-Schulz iterations of the orthogonalization")
    weight_decay: float = Field(0.0, ge=0.0, le=10.0, description="Decoupled weight decay of the Muon matrices")
    adam_lr: float = Field(0.001, gt=0.0, le=10.0, title="AdamW learning rate", json_schema_extra=LR_HINT, description="AdamW learning rate for biases, norms, input and readout")
    adam_beta1: float = Field(0.9, ge=0.0, lt=1.0, description="AdamW decay of the first moment")
    adam_beta2: float = Field(0.999, ge=0.0, lt=1.0, description="AdamW decay of the second moment")
    adam_eps: float = Field(1e-8, gt=0.0, le=1.0, description="AdamW: added to the denominator")
    adam_weight_decay: float = Field(0.0, ge=0.0, le=10.0, description="AdamW decoupled weight decay")
    muon_for: Literal["hidden", "first", "all"] = Field(
        "hidden", description="Which matrices Muon takes: hidden (not the first and last, as the reference advises), first (the first layer only) or all"
    )


@OPTIMIZERS.register("muon", MuonParams, "Muon: orthogonalized momentum on hidden matrices, AdamW elsewhere (Jordan et al. 2024)")
def make_muon(p: MuonParams, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    return Muon(
        params, lr=p.lr, momentum=p.momentum, nesterov=p.nesterov, ns_steps=p.ns_steps, weight_decay=p.weight_decay,
        adam_lr=p.adam_lr, adam_betas=(p.adam_beta1, p.adam_beta2), adam_eps=p.adam_eps,
        adam_weight_decay=p.adam_weight_decay, muon_for=p.muon_for,
    )  # fmt: skip
