"""Optimizers (a registry with schemas), losses and regularization."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from netarium.schema import Params, Registry, SchemaError

OPTIMIZERS = Registry("optimizer")
# TensorFlow Playground's learning rates (src/state.ts), offered by the sidebar as a dropdown
LR_CHOICES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
LR_HINT = {"choices": list(LR_CHOICES)}


class SGDParams(Params):
    lr: float = Field(0.03, gt=0.0, le=10.0, title="Learning rate", description="Learning rate", json_schema_extra=LR_HINT)
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="Heavy-ball momentum")
    nesterov: bool = Field(False, description="Nesterov momentum (needs momentum > 0)")
    weight_decay: float = Field(0.0, ge=0.0, le=10.0, description="L2 weight decay folded into the gradient")

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> SGDParams:
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs momentum > 0")
        return self


class AdamParams(Params):
    lr: float = Field(0.01, gt=0.0, le=10.0, title="Learning rate", description="Learning rate", json_schema_extra=LR_HINT)
    beta1: float = Field(0.9, ge=0.0, lt=1.0, description="Decay of the first moment")
    beta2: float = Field(0.999, ge=0.0, lt=1.0, description="Decay of the second moment")
    eps: float = Field(1e-8, gt=0.0, le=1.0, description="Added to the denominator")
    weight_decay: float = Field(0.0, ge=0.0, le=10.0, description="Weight decay (coupled for Adam, decoupled for AdamW)")


class AdamWParams(AdamParams):
    lr: float = Field(0.001, gt=0.0, le=10.0, title="Learning rate", description="Learning rate", json_schema_extra=LR_HINT)
    weight_decay: float = Field(0.01, ge=0.0, le=10.0, description="Decoupled weight decay")


class RMSpropParams(Params):
    lr: float = Field(0.01, gt=0.0, le=10.0, title="Learning rate", description="Learning rate", json_schema_extra=LR_HINT)
    alpha: float = Field(0.99, ge=0.0, lt=1.0, description="Smoothing of the squared gradient")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="Momentum")
    eps: float = Field(1e-8, gt=0.0, le=1.0, description="Added to the denominator")
    weight_decay: float = Field(0.0, ge=0.0, le=10.0, description="L2 weight decay")


@OPTIMIZERS.register("sgd", SGDParams, "Stochastic gradient descent, with momentum and Nesterov")
def make_sgd(p: SGDParams, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=p.lr, momentum=p.momentum, nesterov=p.nesterov, weight_decay=p.weight_decay)


@OPTIMIZERS.register("adam", AdamParams, "Adam (Kingma & Ba 2015)")
def make_adam(p: AdamParams, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=p.lr, betas=(p.beta1, p.beta2), eps=p.eps, weight_decay=p.weight_decay)


@OPTIMIZERS.register("adamw", AdamWParams, "Adam with decoupled weight decay (Loshchilov & Hutter 2019)")
def make_adamw(p: AdamWParams, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=p.lr, betas=(p.beta1, p.beta2), eps=p.eps, weight_decay=p.weight_decay)


@OPTIMIZERS.register("rmsprop", RMSpropParams, "RMSprop (Tieleman & Hinton 2012)")
def make_rmsprop(p: RMSpropParams, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=p.lr, alpha=p.alpha, momentum=p.momentum, eps=p.eps, weight_decay=p.weight_decay)


def build_optimizer(
    name: str, params: Params | dict, model_params: Iterable[nn.Parameter], lr_factors: Mapping[nn.Parameter, float] | None = None
) -> torch.optim.Optimizer:
    """An optimizer over `model_params` from a registered name and its parameters.

    `lr_factors` ({parameter: factor}, from a model's `lr_factors()`, see `model_lr_factors`) moves those
    parameters into groups of their own whose lr is the group's lr times the factor, tagged `lr_factor`
    (Run.set_lr keeps the factor); group 0 stays the optimizer's own lr.
    """
    entry = OPTIMIZERS.get(name)
    params = OPTIMIZERS.params_for(name, params)
    optimizer = entry.factory(params, model_params)
    if lr_factors:
        split_lr_groups(optimizer, lr_factors)
    return optimizer


def model_lr_factors(model: nn.Module) -> dict[nn.Parameter, float]:
    """{parameter: learning-rate factor} a model declares with an `lr_factors()` method ({} without one)."""
    factors = getattr(model, "lr_factors", None)
    return dict(factors()) if callable(factors) else {}


def split_lr_groups(optimizer: torch.optim.Optimizer, lr_factors: Mapping[nn.Parameter, float]) -> None:
    """Move each parameter with a factor != 1 out of its group into a new group with the same settings
    and lr = group lr × factor (one new group per (group, factor)); before the first step."""
    for group in list(optimizer.param_groups):
        moved: dict[float, list[nn.Parameter]] = {}
        kept = []
        for p in group["params"]:
            f = float(lr_factors.get(p, 1.0))
            (moved.setdefault(f, []) if f != 1.0 else kept).append(p)
        if not moved:
            continue
        group["params"] = kept
        for f, ps in moved.items():
            settings = {k: v for k, v in group.items() if k != "params"}
            optimizer.add_param_group({**settings, "params": ps, "lr": group["lr"] * f, "lr_factor": f})


IGNORE = -100  # the target of a sequence position that is not scored


@dataclass(frozen=True)
class Loss:
    """A loss with what it needs of the model (output width) and how to score predictions."""

    name: str  # "cross_entropy", "bce", "mse" or "tfp"
    n_outputs: int
    one_hot: bool = False  # mse on class labels: regress the one-hot target vector, score by argmax
    squash: bool = False  # tfp on 2 classes: the output goes through tanh towards targets ±1

    def __call__(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.name == "tfp":  # TensorFlow Playground's Errors.SQUARE, 0.5 (o - t)^2, averaged over the batch
            if self.squash:
                return 0.5 * (torch.tanh(out.squeeze(-1)) - tfp_targets(y, out.dtype)).square().mean()
            return 0.5 * (out - y.to(out.dtype).reshape(out.shape)).square().mean()
        if self.name == "cross_entropy":
            if out.dim() == 3:  # a sequence: (batch, positions, classes); unscored positions are -100
                return F.cross_entropy(out.flatten(0, 1), y.flatten(), ignore_index=IGNORE)
            return F.cross_entropy(out, y)
        if self.name == "bce":
            return F.binary_cross_entropy_with_logits(out.squeeze(-1), y.to(out.dtype))
        if self.one_hot:
            return F.mse_loss(out, F.one_hot(y, self.n_outputs).to(out.dtype))
        return F.mse_loss(out, y.to(out.dtype).reshape(out.shape))

    def accuracy(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fraction correct (classification) or R^2 = 1 - SSE/SST (regression)."""
        if self.name == "cross_entropy" and out.dim() == 3:  # token accuracy over the scored positions
            scored = y != IGNORE
            return ((out.argmax(-1) == y) & scored).sum() / scored.sum().clamp_min(1)
        if self.name == "cross_entropy" or self.one_hot:
            return (out.argmax(-1) == y).float().mean()
        if self.name == "bce" or self.squash:  # the sign of the logit (tfp: of tanh, the same)
            return ((out.squeeze(-1) > 0).long() == y).float().mean()
        y = y.to(out.dtype).reshape(out.shape)
        sst = ((y - y.mean(0)) ** 2).sum().clamp_min(1e-12)
        return 1.0 - ((out - y) ** 2).sum() / sst

    @property
    def score_name(self) -> str:
        return "r2" if self.name in ("mse", "tfp") and not (self.one_hot or self.squash) else "acc"


def tfp_targets(y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """TensorFlow Playground's labels: class 1 -> +1, class 0 -> -1."""
    return y.to(dtype) * 2 - 1


def resolve_loss(name: str, kind: str, n_classes: int, n_outputs: int) -> Loss:
    """The loss for a task: "auto" is cross-entropy for classes and MSE for regression."""
    if name == "auto":
        name = "mse" if kind == "regression" else "cross_entropy"
    if kind == "sequence" and name != "cross_entropy":
        raise SchemaError("loss", f"{name} does not apply to a sequence task (a class per position)", "auto, cross_entropy")
    if name == "tfp":
        if kind == "regression":
            return Loss("tfp", n_outputs)
        if kind != "classification" or n_classes != 2:
            raise SchemaError("loss", f"tfp needs a task with 2 classes or a regression task, this one has "
                              f"{n_classes or 'none'} {'classes' if kind == 'classification' else f'({kind})'}",
                              "auto, cross_entropy, mse")
        return Loss("tfp", 1, squash=True)
    if name == "bce":
        if n_classes != 2:
            raise SchemaError("loss", f"bce needs a task with 2 classes, this one has {n_classes or 'none (regression)'}", "auto, cross_entropy, mse")
        return Loss("bce", 1)
    if name == "cross_entropy" and kind == "regression":
        raise SchemaError("loss", "cross_entropy needs a classification task", "auto or mse for regression")
    if name == "mse" and kind != "regression":
        if kind != "classification":
            raise SchemaError("loss", f"mse needs a regression or classification task, not {kind}", "auto, cross_entropy")
        return Loss("mse", n_classes, one_hot=True)  # squared error to the one-hot class vector
    return Loss(name, n_outputs)


def penalty_weights(model: nn.Module) -> list[torch.Tensor]:
    """The tensors L1/L2 regularization applies to: every weight matrix, not biases or norms."""
    return [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]


def tfp_regularization_terms(weights: list[torch.Tensor], l1: float, l2: float) -> list[torch.Tensor]:
    """dR/dw of each weight now (before the optimizer's step): l1 sign(w) + l2 w, the derivatives of
    TensorFlow Playground's L1 |w| and L2 w²/2 (nn.ts RegularizationFunction)."""
    with torch.no_grad():
        return [torch.sign(w).mul_(l1).add_(w * l2) for w in weights]


@torch.no_grad()
def tfp_regularize(weights: list[torch.Tensor], terms: list[torch.Tensor], lr: float, l1: float) -> list[torch.Tensor | None]:
    """TensorFlow Playground's updateWeights after the gradient step: w <- w - lr dR (dR from
    `tfp_regularization_terms`, taken before the step). With L1 on, an entry that this pushes across 0
    (w_before * w_after < 0) is set to 0; returns, per weight, the bool mask of those (None without L1)."""
    crossed: list[torch.Tensor | None] = []
    for w, term in zip(weights, terms, strict=True):
        new = w - term.mul_(lr)
        flip = w * new < 0 if l1 else None
        w.copy_(new)
        if flip is not None:
            w.masked_fill_(flip, 0.0)
        crossed.append(flip)
    return crossed


def regularization(weights: list[torch.Tensor], l1: float, l2: float) -> torch.Tensor | None:
    """l1 * sum|w| + l2 * sum w^2 over `weights`, or None when both rates are zero."""
    if not weights or (l1 == 0 and l2 == 0):
        return None
    total = weights[0].new_zeros(())
    for w in weights:
        if l1:
            total = total + l1 * w.abs().sum()
        if l2:
            total = total + l2 * (w * w).sum()
    return total


from netarium.training import muon as _muon  # noqa: E402, F401  (registers "muon"; it imports OPTIMIZERS from here)
