"""Trainer `noprop`: NoProp's discrete-time training (Li, Teh, Pascanu 2025, Algorithm 1) of a `noprop` model.

Every step, for each block t = 1..T on its own: draw z_{t-1} ~ q(z_{t-1} | y) = N(sqrt(ᾱ_{t-1}) u_y,
(1 - ᾱ_{t-1}) I) from the label alone, let block t guess the clean embedding û_t(x, z_{t-1}), and take the
gradient of its weighted denoising loss w_t ||û_t - u_y||², w_t = (T η / 2)(SNR(t) - SNR(t-1)) (the paper's
eq. 8; "uniform": w_t = η); then the head's cross-entropy on z_T ~ q(z_T | y). Each loss is back-propagated
alone and its graph freed before the next block runs, so no gradient passes from one block to another and
no forward pass runs through the chain: what goes is end-to-end propagation, gradients still flow inside
a block. The gradients (disjoint per block; the head's and, when learned, the embedding's shared) are
summed, then one optimizer step. The prior term KL(q(z_0 | y) || N(0, I)) is 0: ᾱ_0 = 0 (models/noprop.py).

The step returns the cross-entropy of the inference chain's prediction on the batch, computed under no_grad
for the curves and the divergence check only (nothing is trained on it). `log` keeps every step's
unweighted per-block losses ||û_t - u_y||² ("block1".."blockT") and the head's cross-entropy ("head").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from netarium.models.noprop import NoPropNet, snr
from netarium.schema import Params, SchemaError
from netarium.training.history import History
from netarium.training.optim import regularization
from netarium.training.trainers import TRAINERS

if TYPE_CHECKING:
    from netarium.training.run import Run


class NoPropParams(Params):
    eta: float = Field(1.0, gt=0.0, le=100.0, description="η: weight of the denoising losses against the head's "
                       "cross-entropy (the paper's hyperparameter, 0.1 there with snr)")
    weighting: Literal["uniform", "snr"] = Field(
        "uniform", description="Block t's loss weight: uniform, η for every block; snr, (T η / 2)(SNR(t) - SNR(t-1)) as "
        "in the paper (the late, clean blocks weigh up to 10⁴ times more: fine with Adam, whose steps do not scale "
        "with a block's loss, but plain SGD then leaves the early blocks untrained)")
    grad_clip: float = Field(0.0, ge=0.0, le=1000.0, description="Clip the summed gradient's norm to this value (0 = off)")


def block_weights(abar: list[float], eta: float, weighting: str) -> list[float]:
    """w_1..w_T: (T η / 2)(SNR(t) - SNR(t-1)) with SNR = ᾱ / (1 - ᾱ) ("snr"), or η each ("uniform")."""
    T = len(abar) - 1
    if weighting == "uniform":
        return [eta] * T
    return [T * eta / 2 * (snr(abar[t]) - snr(abar[t - 1])) for t in range(1, T + 1)]


def head_loss(model: NoPropNet, y: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The head's cross-entropy on z_T ~ q(z_T | y) (the paper's -log p(y | z_T) term)."""
    return F.cross_entropy(model.head(model.noised(model.T, y, noise)), y)


class NoProp:
    """See the module docstring. `attach` refuses a model that is no noprop chain and a task without classes."""

    def __init__(self, p: NoPropParams):
        self.p = p
        self.log: History | None = None
        self.weights: list[float] = []
        self._gen: torch.Generator | None = None

    def attach(self, run: Run) -> None:
        model = run.model
        if not isinstance(model, NoPropNet):
            raise SchemaError("trainer", f"noprop trains the denoising blocks of a noprop model, not {run.config.model.name}",
                              "model noprop, or trainer supervised for this model")
        if run.task.kind != "classification":
            raise SchemaError("trainer", f"noprop denoises class labels; {run.task.name} is a {run.task.kind} task",
                              "a classification task, or trainer supervised")
        if run.config.regularization == "tfp" and (run.config.l1 or run.config.l2):
            raise SchemaError("regularization", "the noprop trainer applies L1/L2 as a penalty", "penalty")
        self.weights = block_weights(model.abar, self.p.eta, self.p.weighting)
        self._gen = torch.Generator(device=run.device).manual_seed(run.config.seed + 104_729)
        self.log = History(run.config.history_points)

    def _noise(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape, generator=self._gen, device=like.device, dtype=like.dtype)

    def step(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._gen is None:
            self.attach(run)
        model: NoPropNet = run.model  # type: ignore[assignment]
        config = run.config
        run.optimizer.zero_grad(set_to_none=True)
        shape = torch.empty(x.shape[0], model.d, device=x.device)
        losses = []
        for t in range(1, model.T + 1):  # each block alone: its graph is freed by its backward before the next
            loss = model.denoising_loss(t, x, y, self._noise(shape))
            (self.weights[t - 1] * loss).backward()
            losses.append(loss.detach())
        ce = head_loss(model, y, self._noise(shape))
        if (config.l1 or config.l2) and config.regularization == "penalty":
            (ce + regularization(run.penalized, config.l1, config.l2)).backward()
        else:
            ce.backward()
        losses.append(ce.detach())
        if self.p.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), self.p.grad_clip)
        run.optimizer.step()
        run.apply_masks()
        values = torch.stack(losses).tolist()
        assert self.log is not None
        self.log.record(run.step_count + 1, {**{f"block{t + 1}": v for t, v in enumerate(values[:-1])}, "head": values[-1]})
        with torch.no_grad():  # monitoring only: the chain's prediction of this batch (curves, divergence check)
            out = model(x)
            return run.loss(out, y), out


@TRAINERS.register("noprop", NoPropParams, "NoProp: each block of a noprop model learns on its own to denoise a noised "
                   "label embedding (no back-propagation between blocks)")
def make_noprop(p: NoPropParams) -> NoProp:
    return NoProp(p)
