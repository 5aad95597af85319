"""Trainers: how one optimisation step is taken (a registry, so other training rules can plug in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import torch
from pydantic import Field
from torch import nn

from netarium.schema import Params, Registry
from netarium.training.optim import regularization

if TYPE_CHECKING:
    from netarium.training.run import Run

TRAINERS = Registry("trainer")


class Trainer(Protocol):
    def step(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Take one step on a batch; return the detached data loss and the model output."""
        ...


class SupervisedParams(Params):
    grad_clip: float = Field(0.0, ge=0.0, le=1000.0, description="Clip the gradient norm to this value (0 = off)")


class Supervised:
    """Back-propagation on data loss + L1/L2 penalty, then one optimizer step."""

    def __init__(self, p: SupervisedParams):
        self.grad_clip = p.grad_clip

    def step(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        run.optimizer.zero_grad(set_to_none=True)
        out = run.model(x)
        loss = run.loss(out, y)
        config = run.config
        if config.l1 or config.l2:
            loss_reg = loss + regularization(run.penalized, config.l1, config.l2)
            loss_reg.backward()
        else:
            loss.backward()
        if self.grad_clip:
            nn.utils.clip_grad_norm_(run.model.parameters(), self.grad_clip)
        run.optimizer.step()
        return loss.detach(), out


@TRAINERS.register("supervised", SupervisedParams, "Back-propagation with the chosen optimizer")
def make_supervised(p: SupervisedParams) -> Supervised:
    return Supervised(p)
