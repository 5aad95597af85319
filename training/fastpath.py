"""A fast forward and backward pass for plain MLPs on the CPU, in NumPy, for the supervised trainer.

A TensorFlow Playground-sized network (2-4-2-1, batch 10) spends almost all of an autograd step in
dispatch and bookkeeping, not arithmetic: each of the ~40 tensor operations of a forward and a
backward pass costs a few microseconds of overhead on arrays of 10-40 numbers. The same passes
written out in NumPy (about a microsecond per operation) train the Playground's default several
times faster. `FastMLP` computes the data loss, the output and every parameter's gradient (written
into `p.grad`, a tensor sharing memory with a NumPy view) for models/mlp.MLP; the trainer then
steps the optimizer, applies clipping, regularization and masks exactly as on the autograd path, so
every optimizer and rule keeps working. The trajectories match autograd's to float rounding (the
tests hold them to 1e-5 relative over hundreds of steps).

It takes a run only where it computes the same function: CPU, float32, models/mlp.MLP with plain or
masked linear maps (no token embedding), a trained readout, activations relu/tanh/sigmoid/linear,
no forward hooks on any module (a view that taps the live model gets the autograd path), losses
cross_entropy, bce, mse and tfp. Anything else returns None and the autograd path runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from netarium.models.mlp import MLP
from netarium.models.sparse import MaskedLinear

if TYPE_CHECKING:
    from netarium.training.run import Run

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
LOSSES = ("cross_entropy", "bce", "mse", "tfp")
MAX_UNITS = 256  # wider layers are arithmetic-bound: autograd over MKL is as fast there


def _hooked(model: nn.Module) -> bool:
    """True when any module has a forward (pre-)hook, or a global one is registered."""
    from torch.nn.modules import module as M

    if M._global_forward_hooks or M._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


class FastMLP:
    """NumPy forward and backward of one models/mlp.MLP; `grads(x, y)` fills every `p.grad`."""

    plain_sgd = False  # the run's optimizer is plain SGD: `sgd_step` replaces its step (set by Run.fast_path)

    def __init__(self, model: MLP, loss: Any, acts: list[str]):
        self.model = model
        self.loss = loss
        self.acts = acts
        self.linears: list[nn.Linear] = [layer.linear for layer in model.layers] + [model.readout]
        self.W = [lin.weight.detach().numpy() for lin in self.linears]  # views: edits in place show in both
        self.b = [lin.bias.detach().numpy() if lin.bias is not None else None for lin in self.linears]
        self.masks = [lin.mask.numpy() if isinstance(lin, MaskedLinear) else None for lin in self.linears]
        self._grads: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        for lin in self.linears:
            gw = torch.zeros_like(lin.weight)
            gb = torch.zeros_like(lin.bias) if lin.bias is not None else None
            self._grads.append((gw, gb))
        self.gW = [g[0].numpy() for g in self._grads]
        self.gb = [g[1].numpy() if g[1] is not None else None for g in self._grads]

    @classmethod
    def for_run(cls, run: Run) -> FastMLP | None:
        """A fast path for this run's model and loss, or None where it would not compute the same thing."""
        model = run.model
        if type(model) is not MLP or run.device.type != "cpu":
            return None
        p = run.config.model
        if getattr(p, "readout", "trained") != "trained" or any(a not in ACTIVATIONS for a in p.activations()):
            return None
        linears = [layer.linear for layer in model.layers] + [model.readout]
        if any(type(lin) not in (nn.Linear, MaskedLinear) or lin.weight.dtype != torch.float32 for lin in linears):
            return None
        if max(lin.weight.shape[0] for lin in linears) > MAX_UNITS or run.loss.name not in LOSSES:
            return None
        if run.task.X_train.dtype != torch.float32 or _hooked(model):
            return None
        return cls(model, run.loss, p.activations())

    def usable(self) -> bool:
        """Still valid: no hook has been added since (a view tapping the live model)."""
        return not _hooked(self.model)

    # ---- the passes ----
    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        hs = [x]
        h = x
        n = len(self.W)
        for i in range(n):
            W = self.W[i] if self.masks[i] is None else self.W[i] * self.masks[i]
            z = h @ W.T
            if self.b[i] is not None:
                z += self.b[i]
            if i == n - 1:
                return z, hs
            act = self.acts[i]
            if act == "tanh":
                np.tanh(z, out=z)
            elif act == "relu":
                np.maximum(z, 0, out=z)
            elif act == "sigmoid":
                z = 1.0 / (1.0 + np.exp(-z, dtype=np.float32))
                z = z.astype(np.float32, copy=False)
            hs.append(z)
            h = z
        raise AssertionError("unreachable")

    def _loss(self, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The batch's mean loss and d loss / d out, as the torch Loss computes them."""
        loss, B = self.loss, out.shape[0]
        if loss.name == "tfp":
            if getattr(loss, "squash", False):
                o = np.tanh(out[:, 0])
                diff = o - (y.astype(np.float32) * 2 - 1)
                d = (diff * (1 - o * o) / B).astype(np.float32)[:, None]
                return float(0.5 * np.mean(diff * diff)), d
            diff = out - y.astype(np.float32).reshape(out.shape)
            return float(0.5 * np.mean(diff * diff)), (diff / diff.size).astype(np.float32)
        if loss.name == "cross_entropy":
            m = out.max(1, keepdims=True)
            e = np.exp(out - m)
            s = e.sum(1, keepdims=True)
            logp = out - m - np.log(s)
            rows = np.arange(B)
            value = -float(np.mean(logp[rows, y]))
            d = e / s
            d[rows, y] -= 1.0
            return value, (d / B).astype(np.float32)
        if loss.name == "bce":
            z = out[:, 0]
            t = y.astype(np.float32)
            value = float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
            d = (1.0 / (1.0 + np.exp(-z)) - t) / B
            return value, d.astype(np.float32)[:, None]
        if loss.one_hot:
            t = np.zeros_like(out)
            t[np.arange(B), y] = 1.0
        else:
            t = y.astype(np.float32).reshape(out.shape)
        diff = out - t
        return float(np.mean(diff * diff)), (diff * (2.0 / diff.size)).astype(np.float32)

    def grads(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward and backward on a batch: sets every parameter's .grad, returns (loss, output). A
        diverging run overflows silently, as torch does (the run's finiteness check reports it)."""
        with np.errstate(all="ignore"):
            return self._passes(x, y)

    def _passes(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, hs = self._forward(x.numpy())
        value, d = self._loss(out, y.numpy())
        n = len(self.W)
        for i in range(n - 1, -1, -1):
            h = hs[i]
            np.matmul(d.T, h, out=self.gW[i])
            if self.masks[i] is not None:
                self.gW[i] *= self.masks[i]
            if self.gb[i] is not None:
                np.sum(d, 0, out=self.gb[i])
            if i == 0:
                break
            W = self.W[i] if self.masks[i] is None else self.W[i] * self.masks[i]
            d = d @ W
            act = self.acts[i - 1]
            if act == "tanh":
                d *= 1 - h * h
            elif act == "relu":
                d *= h > 0
            elif act == "sigmoid":
                d *= h * (1 - h)
        for lin, (gw, gb) in zip(self.linears, self._grads, strict=True):
            lin.weight.grad = gw
            if gb is not None:
                lin.bias.grad = gb
        return torch.from_numpy(np.array(value, dtype=np.float32)), torch.from_numpy(out)

    def add_penalty(self, l1: float, l2: float) -> None:
        """The additive penalty's gradient on every weight matrix: l1 sign(w) + 2 l2 w (of
        l1 sum|w| + l2 sum w^2, training/optim.py regularization), as autograd adds it."""
        for W, gW in zip(self.W, self.gW, strict=True):
            if l1:
                gW += np.float32(l1) * np.sign(W)
            if l2:
                gW += np.float32(2 * l2) * W

    def sgd_step(self, lr: float) -> None:
        """Plain SGD (no momentum, no weight decay) in place: p -= lr * grad, as torch.optim.SGD
        computes it (param.add_(grad, alpha=-lr)), without its per-step bookkeeping."""
        step = np.float32(lr)
        for W, gW, b, gb in zip(self.W, self.gW, self.b, self.gb, strict=True):
            W -= step * gW
            if b is not None:
                b -= step * gb


def plain_sgd(optimizer: torch.optim.Optimizer) -> bool:
    """True for torch.optim.SGD with one group, no momentum, no weight decay, not maximizing: the
    update `FastMLP.sgd_step` computes."""
    if type(optimizer) is not torch.optim.SGD or len(optimizer.param_groups) != 1:
        return False
    g = optimizer.param_groups[0]
    return not (g["momentum"] or g["weight_decay"] or g["nesterov"] or g.get("maximize") or g.get("dampening"))
