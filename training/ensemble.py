"""Batched training: sweep members of one architecture trained as one program.

Members whose tensors have the same shapes and graph (task and data shapes, mlp or residual-mlp of
one depth and activation per layer, loss, batch size and order, regularization mode, optimizer kind,
the supervised trainer) train together: every parameter lives in one (K, P) buffer, one row per
member; the forward and backward
passes are batched matrix products over the member axis, and one optimizer update with per-member
hyperparameters ((K, 1) tensors) moves every row. Each member starts from the weights and data its
own `Run` builds (same seed, same Config) and draws its batches from that Run's generator, so its
trajectory is the Run's up to float rounding (the tests hold it to 1e-5).

Widths are padded: members that differ only in hidden widths (and a residual stream without LayerNorm)
are stored at the widest member's shape; padded units have zero weights in and out, receive exactly
zero gradient (an activation with f(0) != 0, sigmoid, is masked) and so stay zero: they change no
output, gradient, norm or metric.

TensorFlow Playground's options batch too: its loss (tanh output, targets ±1), its fixed batch order
(every member walks the stored order alike) and its regularization update after the step, whose L1
kills a weight it pushes across 0: `alive` (K, P) holds each member's live links, as its Run's masks.

A member whose loss turns NaN/inf is frozen where Run would stop (same checks, same cadence, same
reason): its weights are kept aside, its row is zeroed and its learning rate set to 0 so it costs
nothing and moves no more; rows never mix, so the others train on unchanged.

Why hand-written backward passes rather than autograd or torch.func: measured on the 2-core CPU,
64 MLPs 2-64-64-1 full batch, autograd over torch.bmm and vmap(grad(functional_call)) were both
within 10% of a naive stacked loop (~1.6k model-steps/s; 64 plain loops one after another: ~1.4k): the
step is bound by memory traffic and allocation, not by kernel launches. A hand-written pass can (1)
write into preallocated buffers (autograd allocates fresh tensors, large ones page-fault on every
step), (2) train the members in chunks whose activations stay in cache, (3) compute tanh as
2 sigmoid(2z) - 1 on the CPU (torch.tanh costs 6x a sigmoid there), and (4) pick the orientation of
each small matrix product that MKL runs fast (a product with 1-4 output columns is 5-20x slower than
its transpose). Together, on that case: ~3.5k model-steps/s against ~1.6k for autograd or vmap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from netarium.models.base import make_activation
from netarium.models.masks import masked_modules
from netarium.training.config import Config
from netarium.training.history import History
from netarium.training.optim import Loss, tfp_targets
from netarium.training.run import (
    EVAL_CAP,
    Run,
    divergence_reason,
    fixed_batch_ranges,
    fixed_samples_seen,
    resolve_device,
)
from netarium.training.sweep import Member
from netarium.training.sweep_run import GROUP_BUILDERS, MemberGroup, MemberState, member_config

BATCHED_MODELS = ("mlp", "residual-mlp")
BATCHED_OPTIMIZERS = ("sgd", "adam", "adamw")
CACHE_FLOATS = 1 << 19  # CPU: members per chunk so that one activation buffer holds about this many floats
SMALL = 4  # a batched product with at most this many output columns runs faster transposed (MKL)
LN_EPS = 1e-5  # nn.LayerNorm's default, which the residual MLP uses


def batch_signature(config: Config) -> tuple[Any, ...] | None:
    """What members must share to train as one program (widths aside); None when the batched path
    cannot take the Config (another model family, trainer or optimizer, a frozen readout)."""
    if config.trainer.name != "supervised" or config.optimizer.name not in BATCHED_OPTIMIZERS:
        return None
    if getattr(config.trainer, "lr_decay", "none") != "none":
        return None  # a learning-rate schedule: the members train as Runs
    m = config.model
    if m.name == "mlp":
        if m.readout != "trained":
            return None
        arch: tuple[Any, ...] = (len(m.hidden), tuple(m.activations()), m.bias, m.readout_bias)
    elif m.name == "residual-mlp":
        # a LayerNorm normalises the stream over its width: that width cannot be padded
        arch = (m.blocks, m.activation, m.prenorm, m.bias, m.layout, m.width if m.prenorm else None)
    else:
        return None
    return (config.task.name, m.name, arch, config.loss, config.batch_size, config.order, config.regularization,
            config.optimizer.name, str(resolve_device(config.device)), config.eval_every)


# ---------------------------------------------------------------- batched linear algebra

class _Workspace:
    """Buffers reused from step to step (fresh large tensors cost page faults every step)."""

    def __init__(self, device: torch.device):
        self.device = device
        self._bufs: dict[tuple[Any, ...], torch.Tensor] = {}

    def get(self, key: str, shape: tuple[int, ...]) -> torch.Tensor:
        buf = self._bufs.get((key, shape))
        if buf is None:
            buf = self._bufs[(key, shape)] = torch.empty(shape, device=self.device)
        return buf


def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, out: torch.Tensor | None,
            scale: float = 1.0) -> torch.Tensor:
    """scale (x (c, B, i) @ w (c, o, i)^T + b (c, o)), into `out` when given; bias and scale ride on
    the product (baddbmm) where they can, saving a pass over the output (scaling by 2 is exact)."""
    if w.shape[1] <= SMALL:
        z = torch.bmm(w, x.transpose(1, 2)).transpose(1, 2)
        z = out.copy_(z) if out is not None else z.contiguous()
        if b is not None:
            z.add_(b.unsqueeze(1))
        return z.mul_(scale) if scale != 1.0 else z
    if b is not None:
        kw = {"out": out} if out is not None else {}
        return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2), beta=scale, alpha=scale, **kw)
    z = torch.bmm(x, w.transpose(1, 2), out=out) if out is not None else torch.bmm(x, w.transpose(1, 2))
    return z.mul_(scale) if scale != 1.0 else z


def _linear_backward(x: torch.Tensor, w: torch.Tensor, dz: torch.Tensor, gw: torch.Tensor, gb: torch.Tensor | None,
                     dx: torch.Tensor | None) -> torch.Tensor | None:
    """Gradients of `_linear` into the views gw, gb; the input's gradient into dx (when wanted)."""
    if w.shape[2] <= SMALL:
        gw.copy_(torch.bmm(x.transpose(1, 2), dz).transpose(1, 2))
    else:
        torch.bmm(dz.transpose(1, 2), x, out=gw)
    if gb is not None:
        torch.sum(dz, 1, out=gb)
    if dx is None:
        return None
    if w.shape[1] == 1:  # an outer product
        return torch.mul(dz, w, out=dx)
    if w.shape[2] <= SMALL:
        return dx.copy_(torch.bmm(w.transpose(1, 2), dz.transpose(1, 2)).transpose(1, 2))
    return torch.bmm(dz, w, out=dx)


class _Activation:
    """An activation applied in place where its backward needs only the output. Its input comes
    scaled by `scale` (the fast tanh wants 2z, which `_linear` gives at no cost)."""

    def __init__(self, name: str, fast_tanh: bool):
        self.name = name
        self.needs_input = name in ("gelu", "silu", "square")
        self.fast_tanh = fast_tanh and name == "tanh"
        self.scale = 2.0 if self.fast_tanh else 1.0
        self.zero_is_zero = float(make_activation(name)(torch.zeros(1))) == 0.0
        self._minus_one = torch.tensor(-1.0)

    def forward(self, z: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        """f(z / scale); in place on z unless the backward needs z (then into `out` or a new tensor)."""
        n = self.name
        if n == "linear":
            return z
        if n == "tanh":
            if self.fast_tanh:  # tanh z = 2 sigmoid(2z) - 1: 4-6x faster than torch.tanh on the CPU
                return torch.add(self._minus_one, torch.sigmoid(z, out=z), alpha=2, out=z)
            return torch.tanh(z, out=z)
        if n == "relu":
            return torch.relu_(z)
        if n == "sigmoid":
            return torch.sigmoid(z, out=z)
        target = out if out is not None else torch.empty_like(z)
        if n == "gelu":
            return torch.ops.aten.gelu.out(z, out=target)
        if n == "silu":
            return torch.ops.aten.silu.out(z, out=target)
        return torch.mul(z, z, out=target)  # square

    def backward(self, g: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """dL/dz from dL/da (in place on g), with z the input and a the output."""
        n = self.name
        if n == "linear":
            return g
        if n == "tanh":
            return torch.ops.aten.tanh_backward.grad_input(g, a, grad_input=g)
        if n == "relu":
            return torch.ops.aten.threshold_backward.grad_input(g, a, 0, grad_input=g)
        if n == "sigmoid":
            return torch.ops.aten.sigmoid_backward.grad_input(g, a, grad_input=g)
        if n == "gelu":
            return torch.ops.aten.gelu_backward.grad_input(g, z, grad_input=g)
        if n == "silu":
            return torch.ops.aten.silu_backward.grad_input(g, z, grad_input=g)
        return g.mul_(z).mul_(2)  # square


def _layer_norm(h: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, tuple]:
    """nn.LayerNorm over the last axis with per-member affine (c, w); returns the output and what the
    backward needs."""
    xhat, mean, rstd = torch.native_layer_norm(h, [h.shape[-1]], None, None, LN_EPS)
    return torch.addcmul(beta.unsqueeze(1), xhat, gamma.unsqueeze(1)), (h, xhat, mean, rstd, gamma)


def _layer_norm_backward(dy: torch.Tensor, saved: tuple, ggamma: torch.Tensor, gbeta: torch.Tensor) -> torch.Tensor:
    h, xhat, mean, rstd, gamma = saved
    torch.sum(dy * xhat, 1, out=ggamma)
    torch.sum(dy, 1, out=gbeta)
    return torch.ops.aten.native_layer_norm_backward(dy * gamma.unsqueeze(1), h, [h.shape[-1]], mean, rstd,
                                                     None, None, [True, False, False])[0]


# ---------------------------------------------------------------- the two stacked networks

@dataclass(frozen=True)
class Slot:
    """One parameter of the stacked network: its model name, padded shape and place in a row."""

    name: str
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class _Net:
    """A stacked network: slots (the model's parameter names at padded shapes), forward and backward.

    `views(T)` cuts a (c, P) buffer into per-slot (c, *shape) views; forward(V, x, ws) gives the output
    (c, B, n_out) and keeps what backward(V, Gv, d) needs when `ws` (a workspace) is given.
    """

    slots: list[Slot]
    masks: dict[str, torch.Tensor]  # hidden-unit masks (K, 1, H) of padded layers whose f(0) != 0

    def _add_slots(self, shapes: list[tuple[str, tuple[int, ...]]]) -> None:
        self.slots, offset = [], 0
        for name, shape in shapes:
            self.slots.append(Slot(name, shape, offset))
            offset += math.prod(shape)
        self.row = offset

    def views(self, T: torch.Tensor) -> dict[str, torch.Tensor]:
        c = T.shape[0]
        return {s.name: T[:, s.offset : s.offset + s.size].view(c, *s.shape) for s in self.slots}

    def weight_mask(self, device: torch.device) -> torch.Tensor:
        """(1, P): 1 on the weight matrices (what L1/L2 penalise, as penalty_weights), 0 elsewhere."""
        mask = torch.zeros(1, self.row, device=device)
        for s in self.slots:
            if len(s.shape) >= 2:
                mask[:, s.offset : s.offset + s.size] = 1.0
        return mask

    def _unit_masks(self, device: torch.device, layers: list[tuple[str, _Activation, list[int]]]) -> None:
        """For each hidden layer (key, activation, width per member) that pads a unit whose activation
        at 0 is not 0: a (K, 1, H) mask, so padded units output exactly 0."""
        self.masks = {}
        for key, act, widths in layers:
            width = max(widths)
            if not act.zero_is_zero and min(widths) < width:
                mask = torch.zeros(len(widths), 1, width, device=device)
                for k, w in enumerate(widths):
                    mask[k, :, :w] = 1.0
                self.masks[key] = mask

    def forward(self, V: dict[str, torch.Tensor], x: torch.Tensor, ws: _Workspace | None, rows: slice) -> torch.Tensor:
        raise NotImplementedError

    def backward(self, V: dict[str, torch.Tensor], Gv: dict[str, torch.Tensor], d: torch.Tensor) -> None:
        raise NotImplementedError


def _mask(a: torch.Tensor, masks: dict[str, torch.Tensor], key: str, rows: slice) -> torch.Tensor:
    mask = masks.get(key)
    return a.mul_(mask[rows]) if mask is not None else a


class _MLPNet(_Net):
    """models/mlp.MLP stacked: layers.{i}.linear (with activation), then readout."""

    def __init__(self, configs: Sequence[Config], n_in: int, n_out: int, device: torch.device, fast_tanh: bool):
        ps = [c.model for c in configs]
        depth = len(ps[0].hidden)
        widths = [max(p.hidden[i] for p in ps) for i in range(depth)]
        self.bias = ps[0].bias
        self.acts = [_Activation(a, fast_tanh) for a in ps[0].activations()]
        dims = [n_in, *widths, n_out]
        self.layers = [f"layers.{i}.linear" for i in range(depth)] + ["readout"]
        shapes: list[tuple[str, tuple[int, ...]]] = []
        out_bias = self.bias and ps[0].readout_bias
        for i, name in enumerate(self.layers):
            shapes.append((f"{name}.weight", (dims[i + 1], dims[i])))
            if self.bias and (out_bias or name != "readout"):
                shapes.append((f"{name}.bias", (dims[i + 1],)))
        self._add_slots(shapes)
        self._unit_masks(device, [(str(i), self.acts[i], [p.hidden[i] for p in ps]) for i in range(depth)])
        self._saved: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._ws: _Workspace | None = None

    def forward(self, V: dict[str, torch.Tensor], x: torch.Tensor, ws: _Workspace | None, rows: slice) -> torch.Tensor:
        c, B = x.shape[0], x.shape[1]
        h = x
        self._ws = ws
        self._saved = [(x, x)]
        for i, name in enumerate(self.layers):
            w, b = V[f"{name}.weight"], V.get(f"{name}.bias")
            out = ws.get(f"z{i}", (c, B, w.shape[1])) if ws is not None else None
            act = self.acts[i] if i < len(self.acts) else None
            z = _linear(h, w, b, out, act.scale if act is not None else 1.0)
            if act is None:
                return z
            a_out = ws.get(f"a{i}", z.shape) if ws is not None and act.needs_input else None
            h = _mask(act.forward(z, a_out), self.masks, str(i), rows)
            if ws is not None:
                self._saved.append((z, h))
        raise AssertionError("unreachable")

    def backward(self, V: dict[str, torch.Tensor], Gv: dict[str, torch.Tensor], d: torch.Tensor) -> None:
        g = d
        for i in range(len(self.layers) - 1, -1, -1):
            name = self.layers[i]
            w = V[f"{name}.weight"]
            x = self._saved[i][1]
            if i < len(self.layers) - 1:
                z, a = self._saved[i + 1]
                g = self.acts[i].backward(g, z, a)
            dx = self._ws.get(f"d{i}", x.shape) if i > 0 and self._ws is not None else None
            g_next = _linear_backward(x, w, g, Gv[f"{name}.weight"], Gv.get(f"{name}.bias"), dx)
            if g_next is not None:
                g = g_next
        self._saved = []


class _ResidualNet(_Net):
    """models/mlp.ResidualMLP stacked: embed, blocks.{i} (norm, fc_in, activation, fc_out), final_norm,
    readout; sequential (h + F(h)) or parallel (x + sum F(x)) layout."""

    def __init__(self, configs: Sequence[Config], n_in: int, n_out: int, device: torch.device, fast_tanh: bool):
        ps = [c.model for c in configs]
        p0 = ps[0]
        width, hidden = max(p.width for p in ps), max(p.hidden for p in ps)
        self.blocks, self.prenorm, self.bias, self.parallel = p0.blocks, p0.prenorm, p0.bias, p0.layout == "parallel"
        self.act = _Activation(p0.activation, fast_tanh)
        shapes: list[tuple[str, tuple[int, ...]]] = []

        def linear(name: str, o: int, i: int) -> None:
            shapes.append((f"{name}.weight", (o, i)))
            if self.bias:
                shapes.append((f"{name}.bias", (o,)))

        def norm(name: str) -> None:
            if self.prenorm:
                shapes.extend([(f"{name}.weight", (width,)), (f"{name}.bias", (width,))])

        linear("embed", width, n_in)
        for j in range(self.blocks):
            norm(f"blocks.{j}.norm")
            linear(f"blocks.{j}.fc_in", hidden, width)
            linear(f"blocks.{j}.fc_out", width, hidden)
        norm("final_norm")
        linear("readout", n_out, width)
        self._add_slots(shapes)
        self._unit_masks(device, [("hidden", self.act, [p.hidden for p in ps])])
        self._saved: dict[str, Any] = {}

    def _norm(self, V: dict[str, torch.Tensor], name: str, h: torch.Tensor, keep: bool) -> torch.Tensor:
        if not self.prenorm:
            return h
        y, saved = _layer_norm(h, V[f"{name}.weight"], V[f"{name}.bias"])
        if keep:
            self._saved[name] = saved
        return y

    def forward(self, V: dict[str, torch.Tensor], x: torch.Tensor, ws: _Workspace | None, rows: slice) -> torch.Tensor:
        keep = ws is not None
        self._saved = {"x": x}
        h = _linear(x, V["embed.weight"], V.get("embed.bias"), None)
        x0 = h
        for j in range(self.blocks):
            name = f"blocks.{j}"
            n = self._norm(V, f"{name}.norm", x0 if self.parallel else h, keep)
            z = _linear(n, V[f"{name}.fc_in.weight"], V.get(f"{name}.fc_in.bias"), None, self.act.scale)
            a = _mask(self.act.forward(z, None), self.masks, "hidden", rows)
            o = _linear(a, V[f"{name}.fc_out.weight"], V.get(f"{name}.fc_out.bias"), None)
            if keep:
                self._saved[name] = (n, z, a)
            h = h + o
        n = self._norm(V, "final_norm", h, keep)
        self._saved["final"] = n
        return _linear(n, V["readout.weight"], V.get("readout.bias"), None)

    def _norm_backward(self, Gv: dict[str, torch.Tensor], name: str, dy: torch.Tensor) -> torch.Tensor:
        if not self.prenorm:
            return dy
        return _layer_norm_backward(dy, self._saved[name], Gv[f"{name}.weight"], Gv[f"{name}.bias"])

    def backward(self, V: dict[str, torch.Tensor], Gv: dict[str, torch.Tensor], d: torch.Tensor) -> None:
        s = self._saved
        n = s["final"]
        dn = _linear_backward(n, V["readout.weight"], d, Gv["readout.weight"], Gv.get("readout.bias"), torch.empty_like(n))
        dh = self._norm_backward(Gv, "final_norm", dn)
        dx0 = torch.zeros_like(dh) if self.parallel else None
        for j in range(self.blocks - 1, -1, -1):
            name = f"blocks.{j}"
            n, z, a = s[name]
            w_out, w_in = V[f"{name}.fc_out.weight"], V[f"{name}.fc_in.weight"]
            da = _linear_backward(a, w_out, dh, Gv[f"{name}.fc_out.weight"], Gv.get(f"{name}.fc_out.bias"), torch.empty_like(a))
            dz = self.act.backward(da, z, a)
            dn = _linear_backward(n, w_in, dz, Gv[f"{name}.fc_in.weight"], Gv.get(f"{name}.fc_in.bias"), torch.empty_like(n))
            dbranch = self._norm_backward(Gv, f"{name}.norm", dn)
            if self.parallel:
                dx0.add_(dbranch)
            else:
                dh = dh + dbranch
        if self.parallel:
            dh = dh + dx0
        _linear_backward(s["x"], V["embed.weight"], dh, Gv["embed.weight"], Gv.get("embed.bias"), None)
        self._saved = {}


NETS = {"mlp": _MLPNet, "residual-mlp": _ResidualNet}


# ---------------------------------------------------------------- losses, batched

def _loss_and_grad(loss: Loss, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member mean loss (c,) and its gradient with respect to `out` (c, B, C), as Loss and autograd
    compute them for one member (written over `out`)."""
    B = out.shape[1]
    if loss.name == "tfp":  # 0.5 (o - t)^2 averaged: d/do = (o - t) (1 - o^2 under tanh) / n
        if loss.squash:
            t = tfp_targets(y, out.dtype).unsqueeze(-1)
            a = torch.tanh(out, out=out)
            diff = a - t
            values = diff.square().mean((1, 2)).mul_(0.5)
            return values, torch.ops.aten.tanh_backward.grad_input(diff, a, grad_input=diff).mul_(1.0 / B)
        diff = out.sub_(y.to(out.dtype).reshape(out.shape))
        values = diff.square().mean((1, 2)).mul_(0.5)
        return values, diff.mul_(1.0 / diff[0].numel())
    if loss.name == "cross_entropy":
        logp = out - torch.logsumexp(out, -1, keepdim=True)  # log_softmax, 3x faster on small class counts
        values = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(1)
        d = torch.exp(logp, out=out)
        d.scatter_add_(-1, y.unsqueeze(-1), torch.full_like(d[..., :1], -1.0))
        return values, d.mul_(1.0 / B)
    if loss.name == "bce":
        z, t = out[..., 0], y.to(out.dtype)
        values = F.binary_cross_entropy_with_logits(z, t, reduction="none").mean(1)
        return values, torch.sigmoid(out, out=out).sub_(t.unsqueeze(-1)).mul_(1.0 / B)
    target = F.one_hot(y, loss.n_outputs).to(out.dtype) if loss.one_hot else y.to(out.dtype).reshape(out.shape)
    diff = out.sub_(target)
    values = diff.square().mean((1, 2))
    return values, diff.mul_(2.0 / diff[0].numel())


def _scores(loss: Loss, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Loss.accuracy per member (c,): fraction correct, or R^2 for regression."""
    if loss.name == "cross_entropy" or loss.one_hot:
        return (out.argmax(-1) == y).float().mean(1)
    if loss.name == "bce" or loss.squash:
        return ((out[..., 0] > 0).long() == y).float().mean(1)
    y = y.to(out.dtype).reshape(out.shape)
    sst = ((y - y.mean(1, keepdim=True)) ** 2).sum((1, 2)).clamp_min(1e-12)
    return 1.0 - ((out - y) ** 2).sum((1, 2)) / sst


def _losses(loss: Loss, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-member mean loss (c,) without a gradient."""
    return _loss_and_grad(loss, out.clone(), y)[0]


# ---------------------------------------------------------------- the group

@dataclass
class _Prepared:
    """What a member's Run builds and the group needs: data, initial weights, batching, its generator."""

    member: Member
    config: Config
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # X_train, y_train, X_test, y_test
    params: dict[str, torch.Tensor]
    loss: Loss
    batch_size: int
    full_batch: bool
    eval_every: int
    generator: torch.Generator
    tokens: bool  # the task gives tokens: the hand-written path does not take it
    sequence: bool = False  # the task scores every position (y per sample is a sequence)
    asks_auc: bool = False  # the task asks Run.evaluate for train_auc and test_auc (ctr)
    asks_rel_l2: bool = False  # the task asks Run.evaluate for train_rel_l2 and test_rel_l2 (elliptic-1d)

    def shape_key(self) -> tuple[Any, ...]:
        """Members with equal keys (and signatures) train in one program."""
        return (tuple((tuple(t.shape), t.dtype) for t in self.data), self.loss, self.batch_size, self.eval_every)


class DataPool:
    """The distinct data sets seen so far: members with equal data share one set of tensors (K members
    on one digits split hold it once)."""

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], list[tuple[torch.Tensor, ...]]] = {}

    def canonical(self, data: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        key = tuple((tuple(t.shape), t.dtype, float(t.double().sum())) for t in data)
        for known in self._known.setdefault(key, []):
            if all(torch.equal(a, b) for a, b in zip(known, data, strict=True)):
                return known
        self._known[key].append(data)
        return data


def prepare_run(member: Member, pool: DataPool) -> tuple[_Prepared, Run]:
    """Build the member's ordinary Run (its seed, data and initial weights exactly) and keep what a
    group needs; its data is the pool's copy when an earlier member had the same. The Run too."""
    run = Run(member_config(member.config), task=member.task)
    t = run.task
    data = pool.canonical((t.X_train, t.y_train, t.X_test, t.y_test))
    prep = _Prepared(member, run.config, data,  # type: ignore[arg-type]
                     {n: p.detach() for n, p in run.model.named_parameters()}, run.loss, run.batch_size,
                     run.full_batch, run.eval_every, run._gen, t.vocab_size is not None,
                     getattr(t, "kind", "") == "sequence" or t.y_train.ndim > 1, bool(t.meta.get("score_auc")),
                     bool(t.meta.get("score_rel_l2")))
    return prep, run


def prepare(member: Member, pool: DataPool) -> _Prepared:
    """prepare_run() without the Run."""
    return prepare_run(member, pool)[0]


class BatchedGroup:
    """Members of one batch signature trained as one program (see the module docstring).

    Answers like RunGroup: states(), histories(), final_metrics() per member, in `members` order;
    `parameters(i)` gives member i's weights at its own (unpadded) shapes, named as its model's.
    """

    kind = "batched"

    def __init__(self, members: Sequence[Member], prepared: Sequence[_Prepared] | None = None):
        self.members = list(members)
        if prepared is None:
            pool = DataPool()
            prepared = [prepare(m, pool) for m in self.members]
        preps = list(prepared)
        sigs = {self.signature(p.config) for p in preps}
        keys = {p.shape_key() for p in preps}
        if None in sigs or len(sigs) != 1 or len(keys) != 1 or any(p.tokens and not self.takes_tokens for p in preps):
            raise ValueError("these members cannot train as one batched program")
        p0 = preps[0]
        self.K = K = len(preps)
        self.configs = [p.config for p in preps]
        self.device = dev = resolve_device(p0.config.device)
        self.loss, self.batch_size, self.full_batch, self.eval_every = p0.loss, p0.batch_size, p0.full_batch, p0.eval_every
        self.optimizer = p0.config.optimizer.name
        n_in, n_out = int(p0.data[0].shape[1]), p0.loss.n_outputs
        self.n_train = int(p0.data[0].shape[0])
        self.net: _Net = self.make_net(preps, n_in, n_out)
        self._init_data(preps)
        self._init_params(preps)
        self._init_hyper()
        self.gens = [p.generator for p in preps]
        self.fixed = p0.config.order == "fixed"
        self._perm: torch.Tensor | None = None
        self._pos = 0
        width = max((s.shape[0] if s.shape else 1) for s in self.net.slots)
        self.chunk = K if dev.type != "cpu" else max(1, min(K, CACHE_FLOATS // max(self.batch_size * width, 1)))
        n_eval = max(min(int(self.Xte.shape[1]), EVAL_CAP), min(self.n_train, EVAL_CAP))
        self.eval_chunk = max(1, min(K, 16 * CACHE_FLOATS // max(n_eval * width, 1)))  # bounded memory
        self._shared_x: dict[int, torch.Tensor] = {}
        self._view_cache: dict[tuple[int, int], tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = {}
        self.ws = _Workspace(dev)
        self.step_count = 0
        self.steps = [0] * K
        self.live = [True] * K
        self.states_ = ["ready"] * K
        self.reasons = [""] * K
        self.metrics: list[dict[str, float]] = [{} for _ in range(K)]
        self.histories_ = [History(c.history_points) for c in self.configs]
        self._last_finite = [0] * K
        self._frozen: dict[int, torch.Tensor] = {}  # member -> its row when it diverged
        self._has_grads = False

    # ---- setup ----
    signature = staticmethod(batch_signature)  # what members must share; None: this group cannot take the Config
    takes_tokens = False  # the hand-written nets read feature vectors only
    lr_scale: torch.Tensor | None = None  # (1, P) per-parameter factors of the learning rate (a model's lr_factors)
    frozen_sq: torch.Tensor | None = None  # (K,) squared norm of each member's frozen parameters (in weight_norm)

    def make_net(self, preps: Sequence[_Prepared], n_in: int, n_out: int) -> _Net:
        return NETS[preps[0].config.model.name](self.configs, n_in, n_out, self.device, fast_tanh=self.device.type == "cpu")

    def _init_data(self, preps: Sequence[_Prepared]) -> None:
        """One copy of each distinct data set: stacks (U, N, ...) and each member's index into them."""
        slot: dict[int, int] = {}  # prepare() gives equal data sets one identity
        unique_sets: list[tuple[torch.Tensor, ...]] = []
        index = []
        for p in preps:
            if id(p.data[0]) not in slot:
                slot[id(p.data[0])] = len(unique_sets)
                unique_sets.append(p.data)
            index.append(slot[id(p.data[0])])
        self.shared = len(unique_sets) == 1
        self.data_of = torch.tensor(index, device=self.device)
        self.Xtr, self.ytr, self.Xte, self.yte = (torch.stack([d[i] for d in unique_sets]).to(self.device) for i in range(4))

    def _init_params(self, preps: Sequence[_Prepared]) -> None:
        net, dev = self.net, self.device
        self.P = torch.zeros(self.K, net.row, device=dev)
        self.G = torch.zeros_like(self.P)
        self.real_shapes: list[dict[str, tuple[int, ...]]] = []
        views = net.views(self.P)
        with torch.no_grad():
            for k, p in enumerate(preps):
                if set(p.params) != {s.name for s in net.slots}:
                    raise ValueError(f"member {p.member.index}: unexpected parameters {sorted(p.params)}")
                shapes = {}
                for name, t in p.params.items():
                    views[name][k][tuple(slice(0, n) for n in t.shape)] = t.to(dev)
                    shapes[name] = tuple(t.shape)
                self.real_shapes.append(shapes)
        self.wmask = net.weight_mask(dev)

    def _init_hyper(self) -> None:
        """Per-member hyperparameters as (K, 1) tensors (float64 where torch computes them in Python)."""
        cfg, dev = self.configs, self.device

        def col(values: list[float], dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.tensor(values, dtype=dtype, device=dev).unsqueeze(1)

        opts = [c.optimizer for c in cfg]
        self.lr64 = col([o.lr for o in opts], torch.float64)
        self.lr_values = [o.lr for o in opts]
        self.wd = col([o.weight_decay for o in opts])
        self.wd64 = col([o.weight_decay for o in opts], torch.float64)
        self.decays = any(o.weight_decay for o in opts)
        self.T1, self.T2 = torch.empty_like(self.P), torch.empty_like(self.P)
        self.l1, self.l2 = col([c.l1 for c in cfg]), col([2 * c.l2 for c in cfg])
        tfp = cfg[0].regularization == "tfp"  # one mode per group (batch_signature)
        self.penalized = not tfp and any(c.l1 or c.l2 for c in cfg)
        self.tfp_reg = tfp and any(c.l1 or c.l2 for c in cfg)
        if self.tfp_reg:  # TensorFlow Playground's update after the step (optim.tfp_regularize), per member
            self.l2_tfp = col([c.l2 for c in cfg])
            self.kills = col([float(c.l1 > 0) for c in cfg]).bool()  # L1 on: a weight it crosses over 0 dies
            self.R = torch.empty_like(self.P)
        # 1 where a link lives, 0 where L1 killed it (the masks of the members' Runs); biases stay 1
        self.alive = torch.ones_like(self.P) if self.tfp_reg and any(c.l1 > 0 for c in cfg) else None
        self.clip = col([c.trainer.grad_clip for c in cfg])
        self.clipped = any(c.trainer.grad_clip for c in cfg)
        self.state: dict[str, torch.Tensor] = {}
        self.fused: torch.optim.Optimizer | None = None
        self._row_leaves: list[torch.Tensor] = []
        if self.optimizer == "sgd":
            self.momentum = col([o.momentum for o in opts])
            self.nesterov = col([float(o.nesterov) for o in opts]).bool()
            self.has_momentum = any(o.momentum for o in opts)
            if self.has_momentum:
                self.state["buf"] = torch.zeros_like(self.P)
        else:
            self.fused = self._fused_adam(opts) if self.lr_scale is None else None  # fused: one lr per row
            self.b1 = col([1 - o.beta1 for o in opts])  # lerp weight, 1 - beta1 as torch computes it
            self.b2 = col([o.beta2 for o in opts])
            self.one_minus_b2 = col([1 - o.beta2 for o in opts])
            self.b1_64, self.b2_64 = col([o.beta1 for o in opts], torch.float64), col([o.beta2 for o in opts], torch.float64)
            self.eps = col([o.eps for o in opts])
            self.adam_steps = 0
            if self.fused is None:
                self.state["exp_avg"] = torch.zeros_like(self.P)
                self.state["exp_avg_sq"] = torch.zeros_like(self.P)

    def _fused_adam(self, opts: list[Any]) -> torch.optim.Optimizer | None:
        """torch's fused Adam/AdamW over the rows (leaf views sharing P's and G's storage), one param
        group per distinct (lr, betas, eps, weight decay): one pass over the buffers instead of ten
        (measured on (b) of `netarium bench sweep`: the update went from about a quarter of the step
        to a twentieth). None where torch has no fused kernel for the device: the tensor update runs."""
        rows = [self.P[k].detach() for k in range(self.K)]
        groups: dict[tuple[float, ...], list[torch.Tensor]] = {}
        for k, o in enumerate(opts):
            rows[k].grad = self.G[k]
            groups.setdefault((o.lr, o.beta1, o.beta2, o.eps, o.weight_decay), []).append(rows[k])
        cls = torch.optim.AdamW if self.optimizer == "adamw" else torch.optim.Adam
        try:
            opt = cls([{"params": ps, "lr": lr, "betas": (b1, b2), "eps": eps, "weight_decay": wd}
                       for (lr, b1, b2, eps, wd), ps in groups.items()], fused=True)
        except (RuntimeError, ValueError, TypeError):
            return None
        self._row_leaves = rows
        return opt

    # ---- data ----
    def _indices(self) -> torch.Tensor | None:
        """Each member's next batch (K, B) from its own generator, as its Run draws it; None: full batch."""
        if self.full_batch:
            return None
        n, bs = self.n_train, self.batch_size
        if self.fixed:  # every member walks the stored order alike (Run.next_batch)
            ranges = fixed_batch_ranges(self.step_count, n, bs)
            idx = torch.cat([torch.arange(a, b, device=self.device) for a, b in ranges])
            return idx.unsqueeze(0).expand(self.K, -1)
        if self._perm is None or self._pos + bs > n:
            self._perm = torch.stack([torch.randperm(n, generator=g) for g in self.gens]).to(self.device)
            self._pos = 0
        idx = self._perm[:, self._pos : self._pos + bs]
        self._pos += bs
        return idx

    def _rows(self, X: torch.Tensor, rows: slice, idx: torch.Tensor | None, cap: int | None = None) -> torch.Tensor:
        """Members `rows`' samples of a stacked data tensor: the batch `idx`, or the first `cap` (all)."""
        which = self.data_of[rows]
        if idx is not None:
            return X[which.unsqueeze(1), idx[rows]]
        if self.shared:
            part = X[0, :cap]
            return part.expand(which.shape[0], *part.shape).contiguous()
        return X[which, :cap]

    def _batch(self, rows: slice, idx: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Members `rows`' training batch; one full-batch copy per chunk size when all share the data."""
        if idx is not None or not self.shared:
            return self._rows(self.Xtr, rows, idx), self._rows(self.ytr, rows, idx)
        c = rows.stop - rows.start
        if c not in self._shared_x:
            self._shared_x[c] = self._rows(self.Xtr, rows, None)
        return self._shared_x[c], self.ytr[0].expand(c, *self.ytr.shape[1:])

    def _views(self, rows: slice) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Per-slot views of members `rows` of the parameters and the gradients (made once: both
        buffers are only ever updated in place)."""
        key = (rows.start, rows.stop)
        if key not in self._view_cache:
            self._view_cache[key] = (self.net.views(self.P[rows]), self.net.views(self.G[rows]))
        return self._view_cache[key]

    def _chunks(self, size: int) -> list[slice]:
        return [slice(a, min(a + size, self.K)) for a in range(0, self.K, size)]

    # ---- training ----
    def _train_step(self, score: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step of every member; returns the losses (K,) and, when `score`, the scores of the
        step's outputs (full batch: what Run's evaluation reads)."""
        idx = self._indices()
        losses = torch.empty(self.K, device=self.device)
        scores = torch.empty(self.K, device=self.device) if score else None
        for rows in self._chunks(self.chunk):
            x, y = self._batch(rows, idx)
            Vr, Gr = self._views(rows)
            out = self.net.forward(Vr, x, self.ws, rows)
            if scores is not None:
                scores[rows] = _scores(self.loss, out, y)
            losses[rows], d = _loss_and_grad(self.loss, out, y)
            self.net.backward(Vr, Gr, d)
        self._update()
        self._has_grads = True
        return losses, scores

    def _update(self) -> None:
        """Penalty, clipping and one optimizer step on every row, with each member's hyperparameters;
        then TensorFlow Playground's regularization update where the members use it.

        Temporaries go to two preallocated (K, P) buffers: fresh ones cost 4x as much (page faults)."""
        if self.alive is not None:
            self.G.mul_(self.alive)  # a dead link's masked weight gets no gradient (MaskedLinear)
        if self.tfp_reg:  # dR/dw before the step: l1 sign(w) + l2 w on the weight matrices
            P, T2 = self.P, self.T2
            torch.sign(P, out=self.R).mul_(self.l1).add_(torch.mul(P, self.l2_tfp, out=T2)).mul_(self.wmask)
        self._step_rows()
        if self.tfp_reg:
            self._regularize_tfp()

    def _regularize_tfp(self) -> None:
        """w <- w - lr dR; with L1 on, a weight pushed across 0 is set to 0 and its link dies (Run.regularize_tfp)."""
        P, T1 = self.P, self.T1
        term = self.R.mul_(self.lr64.float())
        torch.sub(P, term, out=T1)
        if self.alive is not None:
            flip = (P * T1 < 0) & self.kills
            P.copy_(T1).masked_fill_(flip, 0.0)
            self.alive.masked_fill_(flip, 0.0)
            P.mul_(self.alive)  # what Run.apply_masks does: a dead weight the optimizer moved is 0 again
        else:
            P.copy_(T1)

    def _step_rows(self) -> None:
        """Penalty, clipping and the optimizer's step on every row."""
        P, G, T1, T2 = self.P, self.G, self.T1, self.T2
        if self.penalized:  # l1 sign(w) + 2 l2 w on the weight matrices, as autograd gives for the penalty
            torch.sign(P, out=T1).mul_(self.l1).add_(torch.mul(P, self.l2, out=T2)).mul_(self.wmask)
            G.add_(T1)
        if self.clipped:  # clip_grad_norm_: scale by min(1, clip / (norm + 1e-6)) where clip > 0
            norm = torch.linalg.vector_norm(G, dim=1, keepdim=True)
            G.mul_(torch.where(self.clip > 0, (self.clip / (norm + 1e-6)).clamp_(max=1.0), 1.0))
        if self.fused is not None:
            self.fused.step()  # weight decay, coupled or decoupled, is the kernel's
            return
        coupled = self.optimizer != "adamw" and self.decays
        g = torch.mul(P, self.wd, out=T1).add_(G) if coupled else G  # grad + wd * param
        if self.optimizer == "sgd":
            if self.has_momentum:
                buf = self.state["buf"].mul_(self.momentum).add_(g)
                g = torch.where(self.nesterov, torch.mul(buf, self.momentum, out=T2).add_(g), buf, out=T1)
            step = torch.mul(g, self.lr64.float(), out=T1)
            P.sub_(step.mul_(self.lr_scale) if self.lr_scale is not None else step)
            return
        self.adam_steps += 1
        t = self.adam_steps
        if self.optimizer == "adamw" and self.decays:
            if self.lr_scale is not None:
                P.mul_(1 - (self.lr64 * self.wd64).float() * self.lr_scale)
            else:
                P.mul_((1 - self.lr64 * self.wd64).float())
        m, v = self.state["exp_avg"], self.state["exp_avg_sq"]
        m.lerp_(g, self.b1)
        v.mul_(self.b2).addcmul_(torch.mul(g, self.one_minus_b2, out=T2), g)
        step_size = (self.lr64 / (1 - self.b1_64**t)).float()
        bc2_sqrt = ((1 - self.b2_64**t) ** 0.5).float()
        denom = torch.sqrt(v, out=T2).div_(bc2_sqrt).add_(self.eps)
        update = torch.div(m, denom, out=T2).mul_(step_size)
        P.sub_(update.mul_(self.lr_scale) if self.lr_scale is not None else update)

    def moments(self, name: str) -> torch.Tensor:
        """The optimizer's per-row state `name` (exp_avg, exp_avg_sq, buf) as a (K, P) tensor; zeros
        for a row the fused optimizer has not stepped."""
        if self.fused is None:
            return self.state[name]
        return torch.stack([self.fused.state[r][name] if name in self.fused.state.get(r, {}) else torch.zeros_like(r)
                            for r in self._row_leaves])

    def step(self, n: int) -> int:
        """Train every live member n steps, checking losses where Run checks them (every evaluation,
        every 256 steps of a call, at the end of a call)."""
        taken = 0
        losses: torch.Tensor | None = None
        for _ in range(n):
            if not any(self.live):
                break
            evaluating = (self.step_count + 1) % self.eval_every == 0
            losses, scores = self._train_step(score=evaluating and self.full_batch)
            self.step_count += 1
            taken += 1
            for k in range(self.K):
                if self.live[k]:
                    self.steps[k] = self.step_count
                    self.states_[k] = "running"
            if evaluating:
                self._check(losses)
                metrics = self._evaluate(losses if self.full_batch else None, scores)
                for k in range(self.K):
                    if self.live[k]:
                        self.histories_[k].record(self.step_count, metrics[k])
            elif taken % 256 == 0:
                self._check(losses)
        if losses is not None:
            self._check(losses)
        return n

    def _check(self, losses: torch.Tensor) -> None:
        """Freeze every live member whose loss is NaN/inf, saying when, as Run does."""
        values = losses.tolist()
        for k, value in enumerate(values):
            if not self.live[k]:
                continue
            if math.isfinite(value):
                self._last_finite[k] = self.step_count
                continue
            self.live[k] = False
            self.states_[k] = "diverged"
            self.reasons[k] = divergence_reason(value, self._last_finite[k] + 1, self.step_count, self.lr_values[k])
            self._freeze(k)

    def _freeze(self, k: int) -> None:
        """Keep member k's row aside and zero it everywhere with learning rate 0: it moves no more,
        costs no NaN arithmetic, and (rows never mixing) cannot touch the others."""
        self._frozen[k] = self.P[k].clone()
        for t in (self.P, self.G, *self.state.values()):
            t[k] = 0.0
        self.lr64[k] = 0.0
        if self.fused is not None:
            self._row_leaves[k].grad = None  # the fused optimizer skips a row without a gradient

    # ---- evaluation ----
    def _forward_eval(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Losses and scores (K,) of every member on the first EVAL_CAP samples of a split."""
        losses = torch.empty(self.K, device=self.device)
        scores = torch.empty(self.K, device=self.device)
        for rows in self._chunks(self.eval_chunk):
            x, t = self._rows(X, rows, None, EVAL_CAP), self._rows(y, rows, None, EVAL_CAP)
            out = self.net.forward(self._views(rows)[0], x, None, rows)
            scores[rows] = _scores(self.loss, out, t)
            losses[rows] = _losses(self.loss, out, t)
        return losses, scores

    def _evaluate(self, train_loss: torch.Tensor | None, train_score: torch.Tensor | None) -> list[dict[str, float]]:
        """Run.evaluate for every member: train (the step's full-batch output, else a fresh pass) and
        test loss and score, weight and gradient norms, learning rate; stored as each live member's metrics."""
        with torch.no_grad():
            if train_loss is None or train_score is None:
                train_loss, train_score = self._forward_eval(self.Xtr, self.ytr)
            test_loss, test_score = self._forward_eval(self.Xte, self.yte)
            norm = torch.linalg.vector_norm(self.P, dim=1)
            if self.frozen_sq is not None:  # Run's weight_norm counts every parameter, frozen ones too
                norm = (norm.square() + self.frozen_sq).sqrt()
            columns = [train_loss, train_score, test_loss, test_score, norm]
            if self._has_grads:
                columns.append(torch.linalg.vector_norm(self.G, dim=1))
            table = torch.stack(columns, 1).tolist()
        score = self.loss.score_name
        names = ["train_loss", f"train_{score}", "test_loss", f"test_{score}", "weight_norm", "grad_norm"]
        out = []
        for k, row in enumerate(table):
            metrics = dict(zip(names, row, strict=False))
            metrics["lr"] = self.lr_values[k]
            if self.live[k]:
                self.metrics[k] = metrics
            out.append(metrics)
        return out

    # ---- what SweepRun reads ----
    def states(self) -> list[MemberState]:
        return [MemberState(self.states_[k], self.reasons[k], self.steps[k], dict(self.metrics[k])) for k in range(self.K)]

    def histories(self) -> list[History]:
        return [h.copy() for h in self.histories_]

    def final_metrics(self) -> list[dict[str, float]]:
        """Evaluate every live member now (recorded unless already at this step); a diverged member
        keeps its last metrics, as RunGroup answers."""
        fresh = self._evaluate(None, None) if any(self.live) else []
        out = []
        for k in range(self.K):
            if not self.live[k]:
                out.append(dict(self.metrics[k]))
                continue
            steps, _ = self.histories_[k].series("test_loss")
            if not steps or steps[-1] != self.step_count:
                self.histories_[k].record(self.step_count, fresh[k])
            out.append(fresh[k])
        return out

    def parameters(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's weights at its own shapes, named as its model's parameters (a copy)."""
        row = self._frozen.get(i, self.P[i])
        views = self.net.views(row.unsqueeze(0))
        return {name: views[name][0][tuple(slice(0, n) for n in shape)].clone()
                for name, shape in self.real_shapes[i].items()}

    def links(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's live links per weight matrix (1 alive, 0 killed by L1 under tfp regularization),
        at its own shapes; empty when no member of the group can lose a link."""
        if self.alive is None:
            return {}
        views = self.net.views(self.alive[i].unsqueeze(0))
        return {name: views[name][0][tuple(slice(0, n) for n in shape)].clone()
                for name, shape in self.real_shapes[i].items() if len(shape) >= 2}

    def runs(self) -> list[Run]:
        """Each member as an ordinary Run of its Config (and shared task) holding its trained weights,
        dead links, step, state, metrics and history; optimizer state and weight snapshots start anew."""
        return [self.member_run(k) for k in range(len(self.members))]

    def member_run(self, k: int) -> Run:
        """Member `k` alone as runs() gives it (a streamed save's checkpoint builds only this one)."""
        run = Run(self.configs[k], task=self.members[k].task)
        weights, links = self.parameters(k), self.links(k)
        with torch.no_grad():
            for name, p in run.model.named_parameters():
                p.copy_(weights[name])
            for name, module in masked_modules(run.model):
                if f"{name}.weight" in links:
                    module.mask.copy_(links[f"{name}.weight"])
        seen = fixed_samples_seen(self.steps[k], self.n_train, self.batch_size) if self.fixed and not self.full_batch else None
        run.step_count, run.samples_seen = self.steps[k], seen if seen is not None else self.steps[k] * self.batch_size
        run.state, run.reason = self.states_[k], self.reasons[k]
        run.metrics, run.history = dict(self.metrics[k]), self.histories_[k].copy()
        return run

    def close(self) -> None:
        self.P = self.G = self.T1 = self.T2 = self.R = torch.empty(0)
        self.alive = None
        self.state.clear()
        self.fused = None
        self._row_leaves = []
        self._view_cache.clear()
        self.ws = _Workspace(self.device)


def split_members(members: list[Member], signature: Any, takes: Any,
                  key: Any = _Prepared.shape_key) -> tuple[list[list[tuple[_Prepared, nn.Module]]], list[Member]]:
    """Members grouped by `signature(config)` (None: left), each prepared (one data pool) and grouped again by
    `key(prep)` (the data shapes); a prepared member that `takes(prep)` refuses is left too. Returns (the groups as (prep, the
    member's built model: its parameters are the prep's), the left)."""
    by_signature: dict[tuple[Any, ...], list[Member]] = {}
    left: list[Member] = []
    for m in members:
        sig = signature(m.config)
        if sig is None:
            left.append(m)
        else:
            by_signature.setdefault(sig, []).append(m)
    pool = DataPool()
    groups: list[list[tuple[_Prepared, nn.Module]]] = []
    for ms in by_signature.values():
        by_shape: dict[tuple[Any, ...], list[tuple[_Prepared, nn.Module]]] = {}
        for m in ms:
            prep, run = prepare_run(m, pool)
            if takes(prep):
                by_shape.setdefault(key(prep), []).append((prep, run.model))
            else:
                left.append(m)
        groups.extend(by_shape.values())
    return groups, left


def build_batched_groups(members: list[Member]) -> tuple[list[MemberGroup], list[Member]]:
    """The GROUP_BUILDERS entry: members grouped by batch signature and data shapes train batched (a
    group of one too); the rest (other models, trainers, optimizers, token tasks) are left."""
    # a task that asks for relative L2 errors (elliptic-1d) trains as Runs, which compute them
    found, left = split_members(members, batch_signature, lambda p: not (p.tokens or p.asks_rel_l2))
    groups: list[MemberGroup] = [BatchedGroup([p.member for p, _ in pairs], [p for p, _ in pairs]) for pairs in found]
    left.sort(key=lambda m: m.index)
    return groups, left


GROUP_BUILDERS.append(build_batched_groups)

# every other model, batched by torch.func (after the hand-written nets: they take what they can first)
from netarium.training import func_ensemble as _func_ensemble  # noqa: E402, F401
