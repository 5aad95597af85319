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

With plain SGD (no clipping) Run.step goes further: `burst` takes every step up to the run's next
snapshot, evaluation or finiteness check in one call (batches indexed in NumPy, each layer's [W | b]
in one flat buffer, the regularization rules and masks applied as the trainer applies them), so the
per-step work is the arithmetic; `evaluate` gives Run.evaluate's metrics in NumPy. On TensorFlow
Playground's preset that is ~5x the autograd loop's epochs per second.

It takes a run only where it computes the same function: CPU, float32, models/mlp.MLP with plain or
masked linear maps (no token embedding), a trained readout, activations relu/tanh/sigmoid/linear,
no forward hooks on any module (a view that taps the live model gets the autograd path), losses
cross_entropy, bce, mse and tfp. Anything else returns None and the autograd path runs.
"""

from __future__ import annotations

import math
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
# With an optimizer other than plain SGD, each step interleaves NumPy's products with torch's update. Past
# ~1e5 multiply-adds a step OpenBLAS goes multi-threaded and its spinning threads fight torch's for the cores:
# measured on 2 cores (2-h-h-2 MLP, Adam), h=64 batch 32 (1.4e5): 1.06x autograd; h=64 batch 128 (5.6e5):
# 0.19x; h=16 batch 64 (2e4): 1.42x. Plain SGD (whole bursts in NumPy) stays 2.9-6.4x faster at every size.
STEPWISE_MAX_MACS = 100_000


def _times_act_grad(d: np.ndarray, h: np.ndarray, act: str) -> None:
    """d *= act'(z), written with the activation's output h = act(z) (linear: nothing to do)."""
    if act == "tanh":
        d *= 1 - h * h
    elif act == "relu":
        d *= h > 0
    elif act == "sigmoid":
        d *= h * (1 - h)


def _hooked(model: nn.Module) -> bool:
    """True when any module has a forward (pre-)hook, or a global one is registered."""
    from torch.nn.modules import module as M

    if M._global_forward_hooks or M._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


class FastMLP:
    """NumPy forward and backward of one models/mlp.MLP: `grads(x, y)` fills every `p.grad` for one step
    of any optimizer; `burst(run, k)` takes k whole steps of plain SGD; `evaluate(run)` measures."""

    plain_sgd = False  # the run's optimizer is plain SGD: `burst` may replace its steps (set by Run.fast_path)

    def __init__(self, model: MLP, loss: Any, acts: list[str]):
        self.model = model
        self.loss = loss
        self.acts = acts
        self.linears: list[nn.Linear] = [layer.linear for layer in model.layers] + [model.readout]
        self.W = [lin.weight.detach().numpy() for lin in self.linears]  # views: edits in place show in both
        self.b = [lin.bias.detach().numpy() if lin.bias is not None else None for lin in self.linears]
        self.masks = [lin.mask.numpy() if isinstance(lin, MaskedLinear) else None for lin in self.linears]
        # every gradient in one flat buffer, each p.grad a tensor over its part
        size = sum(w.size + (b.size if b is not None else 0) for w, b in zip(self.W, self.b, strict=True))
        self._G = np.zeros(size, np.float32)
        self.gW, self.gb = self._views(self._G)
        self._grads = [(torch.from_numpy(gw), torch.from_numpy(gb) if gb is not None else None)
                       for gw, gb in zip(self.gW, self.gb, strict=True)]
        self._state = list(model.state_dict().items())  # detached tensors sharing the parameters' and masks' memory
        self._modules = list(model.modules())
        self._data: tuple[Any, np.ndarray, np.ndarray] | None = None  # (X_train, inputs, targets) for bursts
        self._aug: tuple | None = None  # the burst's buffers (_augmented)
        self._buffers: dict[tuple[int, int], np.ndarray] = {}
        self._eval_sets: tuple | None = None  # the evaluation sets as NumPy, made once (evaluate)

    def _views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Views of `flat` shaped as each linear map's weight and bias, in order."""
        Ws: list[np.ndarray] = []
        bs: list[np.ndarray | None] = []
        at = 0
        for w, b in zip(self.W, self.b, strict=True):
            Ws.append(flat[at:at + w.size].reshape(w.shape))
            at += w.size
            bs.append(flat[at:at + b.size] if b is not None else None)
            at += b.size if b is not None else 0
        return Ws, bs

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

    def macs(self, batch: int) -> int:
        """Multiply-adds of one forward pass over `batch` examples."""
        return batch * sum(int(w.size) for w in self.W)

    def usable(self) -> bool:
        """Still valid: no hook has been added since (a view tapping the live model)."""
        from torch.nn.modules import module as M

        if M._global_forward_hooks or M._global_forward_pre_hooks:
            return False
        return not any(m._forward_hooks or m._forward_pre_hooks for m in self._modules)

    # ---- the passes ----
    def _effective(self, W: list[np.ndarray]) -> list[np.ndarray]:
        """The weights the forward pass uses: masked ones times their mask."""
        return [w if m is None else w * m for w, m in zip(W, self.masks, strict=True)]

    def _forward(self, x: np.ndarray, W: list[np.ndarray], b: list[np.ndarray | None]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The output and every layer's input (x, then each hidden activation) for effective weights W."""
        hs = [x]
        h = x
        last = len(W) - 1
        for i, w in enumerate(W):
            z = h @ w.T
            if b[i] is not None:
                z += b[i]
            if i == last:
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

    def _backward(self, hs: list[np.ndarray], d: np.ndarray, W: list[np.ndarray]) -> None:
        """From d loss / d output back through the layers: every gradient into gW / gb."""
        gW, gb, masks = self.gW, self.gb, self.masks
        for i in range(len(W) - 1, -1, -1):
            h = hs[i]
            np.matmul(d.T, h, out=gW[i])
            if masks[i] is not None:
                gW[i] *= masks[i]
            if gb[i] is not None:
                np.sum(d, 0, out=gb[i])
            if i == 0:
                return
            d = d @ W[i]
            _times_act_grad(d, h, self.acts[i - 1])

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Labels or targets as the loss's gradient reads them (computed once for a whole training set)."""
        loss = self.loss
        if loss.name == "tfp" and getattr(loss, "squash", False):
            return y.astype(np.float32) * 2 - 1  # tfp_targets: class 1 -> +1, class 0 -> -1
        if loss.name == "cross_entropy":
            return y
        if loss.name == "bce":
            return y.astype(np.float32)
        if loss.one_hot:
            return np.eye(loss.n_outputs, dtype=np.float32)[y]
        return y.astype(np.float32).reshape(len(y), -1)

    def _loss(self, out: np.ndarray, t: np.ndarray, value: bool = True, grad: bool = True) -> tuple[float, np.ndarray | None]:
        """The batch's mean loss (nan unless `value`) and d loss / d out (None unless `grad`), as the
        torch Loss computes them, from targets made by `targets`."""
        loss, B = self.loss, out.shape[0]
        v = math.nan
        d = None
        if loss.name == "tfp":
            if getattr(loss, "squash", False):
                o = np.tanh(out[:, 0])
                diff = o - t
                if value:
                    v = 0.5 * float(np.dot(diff, diff)) / B
                if grad:
                    o *= o
                    np.subtract(1, o, out=o)
                    o *= diff
                    o /= B
                    d = o[:, None]
                return v, d
            diff = out - t.reshape(out.shape)
            flat = diff.ravel()
            if value:
                v = 0.5 * float(np.dot(flat, flat)) / diff.size
            if grad:
                diff /= diff.size
                d = diff
            return v, d
        if loss.name == "cross_entropy":
            m = out.max(1, keepdims=True)
            e = np.exp(out - m)
            s = e.sum(1, keepdims=True)
            rows = np.arange(B)
            if value:
                v = -float(np.mean((out - m - np.log(s))[rows, t]))
            if grad:
                d = e / s
                d[rows, t] -= 1.0
                d = (d / B).astype(np.float32, copy=False)
            return v, d
        if loss.name == "bce":
            z = out[:, 0]
            if value:
                v = float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
            if grad:
                d = ((1.0 / (1.0 + np.exp(-z)) - t) / B).astype(np.float32, copy=False)[:, None]
            return v, d
        diff = out - t.reshape(out.shape)
        flat = diff.ravel()
        if value:
            v = float(np.dot(flat, flat)) / diff.size
        if grad:
            diff *= np.float32(2.0 / diff.size)
            d = diff
        return v, d

    def _set_grads(self) -> None:
        for lin, (gw, gb) in zip(self.linears, self._grads, strict=True):
            lin.weight.grad = gw
            if gb is not None:
                lin.bias.grad = gb

    def grads(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward and backward on a batch: sets every parameter's .grad, returns (loss, output). A
        diverging run overflows silently, as torch does (the run's finiteness check reports it)."""
        with np.errstate(all="ignore"):
            W = self._effective(self.W)
            out, hs = self._forward(x.numpy(), W, self.b)
            value, d = self._loss(out, self.targets(y.numpy()))
            self._backward(hs, d, W)
        self._set_grads()
        return torch.from_numpy(np.array(value, dtype=np.float32)), torch.from_numpy(out)

    def add_penalty(self, l1: float, l2: float, W: list[np.ndarray] | None = None) -> None:
        """The additive penalty's gradient on every weight matrix: l1 sign(w) + 2 l2 w (of
        l1 sum|w| + l2 sum w^2, training/optim.py regularization), as autograd adds it."""
        for w, gw in zip(self.W if W is None else W, self.gW, strict=True):
            if l1:
                gw += np.float32(l1) * np.sign(w)
            if l2:
                gw += np.float32(2 * l2) * w

    def sgd_step(self, lr: float) -> None:
        """Plain SGD (no momentum, no weight decay) in place: p -= lr * grad, as torch.optim.SGD
        computes it (param.add_(grad, alpha=-lr)), without its per-step bookkeeping."""
        step = np.float32(lr)
        for W, gW, b, gb in zip(self.W, self.gW, self.b, self.gb, strict=True):
            W -= step * gW
            if b is not None:
                b -= step * gb

    # ---- many steps in one call ----
    def burst(self, run: Run, k: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Take `k` steps of the supervised trainer with plain SGD, as k calls of Supervised.step would:
        the same batches (Run.next_rows), the additive penalty or TensorFlow Playground's L1/L2 update
        (an L1 weight crossing 0 dies: weight and mask entry 0), masks applied after every update.

        During the burst each linear map lives in a flat NumPy copy as one matrix [W | b] that multiplies
        inputs with a column of ones appended, so that one matmul makes z = W h + b and one makes both
        gradients, and one update moves every parameter; the copy is written back at the end (the caller
        holds the run, so no reader sees it) and the last step's gradients stay in p.grad. Returns the last
        step's loss and output and the number of examples the k batches held."""
        config = run.config
        l1, l2 = float(config.l1), float(config.l2)
        tfp = bool(l1 or l2) and config.regularization == "tfp"
        additive = bool(l1 or l2) and not tfp
        f1, f2, f2x2 = np.float32(l1), np.float32(l2), np.float32(2 * l2)
        lr = np.float32(run.lr)
        X, T = self._training_set(run)
        A, GA, M, P, G, tmp = self._augmented()
        masked = any(m is not None for m in self.masks)
        nobias = [b is None for b in self.b]
        last = len(A) - 1
        acts = self.acts
        for a, w, b in zip(A, self.W, self.b, strict=True):
            a[:, :-1] = w
            a[:, -1] = b if b is not None else 0.0
        for m, mask in zip(M, self.masks, strict=True):
            if m is not None:
                m[:, :-1] = mask
        seen = 0
        value = math.nan
        out = X[:0, :0]
        with np.errstate(all="ignore"):
            for s in range(k):
                rows = run.next_rows(run.step_count + s)
                h, t = X[rows], T[rows]
                B = h.shape[0]
                seen += B
                E = [a * m if m is not None else a for a, m in zip(A, M, strict=True)] if masked else A
                hs = [h]
                for i in range(last):
                    z = h @ E[i].T
                    h = self._hidden(i, B)
                    hv = h[:, :-1]
                    act = acts[i]
                    if act == "tanh":
                        np.tanh(z, out=hv)
                    elif act == "relu":
                        np.maximum(z, 0, out=hv)
                    elif act == "sigmoid":
                        hv[...] = 1.0 / (1.0 + np.exp(-z, dtype=np.float32))
                    else:
                        hv[...] = z
                    hs.append(h)
                out = h @ E[last].T
                value, d = self._loss(out, t, s == k - 1)
                for i in range(last, -1, -1):
                    np.matmul(d.T, hs[i], out=GA[i])
                    if M[i] is not None:
                        GA[i] *= M[i]
                    if nobias[i]:
                        GA[i][:, -1] = 0.0
                    if i == 0:
                        break
                    d = d @ E[i][:, :-1]
                    hv = hs[i][:, :-1]
                    _times_act_grad(d, hv, acts[i - 1])
                if additive:
                    for a, g in zip(A, GA, strict=True):
                        w = a[:, :-1]
                        if l1:
                            g[:, :-1] += f1 * np.sign(w)
                        if l2:
                            g[:, :-1] += f2x2 * w
                terms = [np.sign(a[:, :-1]) * f1 + a[:, :-1] * f2 for a in A] if tfp else None  # nn.ts: der(w) before the step
                np.multiply(G, lr, out=tmp)
                P -= tmp
                if terms is not None:
                    for a, term, m, mask in zip(A, terms, M, self.masks, strict=True):
                        w = a[:, :-1]
                        term *= lr
                        new = w - term
                        if l1:  # optim.tfp_regularize: a weight pushed across 0 dies (Run.regularize_tfp)
                            flip = w * new < 0
                            new[flip] = 0.0
                            if mask is not None:
                                mask[flip] = 0.0
                                m[:, :-1][flip] = 0.0
                        w[...] = new
                if masked:
                    for a, m in zip(A, M, strict=True):
                        if m is not None:
                            a *= m
        for a, ga, w, b, gw, gb in zip(A, GA, self.W, self.b, self.gW, self.gb, strict=True):
            w[...] = a[:, :-1]
            gw[...] = ga[:, :-1]
            if b is not None:
                b[...] = a[:, -1]
                gb[...] = ga[:, -1]
        self._set_grads()
        return torch.tensor(value, dtype=torch.float32), torch.from_numpy(out), seen

    def _augmented(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray | None], np.ndarray, np.ndarray, np.ndarray]:
        """The burst's buffers, made once: each map's [W | b] and its gradient as views of flat buffers
        P and G (and a scratch one), and each masked map's mask with a column of ones for the bias."""
        if self._aug is None:
            shapes = [(w.shape[0], w.shape[1] + 1) for w in self.W]
            size = sum(r * c for r, c in shapes)
            P, G, tmp = (np.zeros(size, np.float32) for _ in range(3))
            A, GA, at = [], [], 0
            for r, c in shapes:
                A.append(P[at:at + r * c].reshape(r, c))
                GA.append(G[at:at + r * c].reshape(r, c))
                at += r * c
            M = [np.ones(s, np.float32) if m is not None else None for s, m in zip(shapes, self.masks, strict=True)]
            self._aug = (A, GA, M, P, G, tmp)
        return self._aug

    def _hidden(self, i: int, rows: int) -> np.ndarray:
        """A (rows, width + 1) buffer for hidden layer i's activations, its last column ones."""
        key = (i, rows)
        h = self._buffers.get(key)
        if h is None:
            h = self._buffers[key] = np.ones((rows, self.W[i].shape[0] + 1), np.float32)
        return h

    def _training_set(self, run: Run) -> tuple[np.ndarray, np.ndarray]:
        """The run's training inputs (with a column of ones appended) and targets (`targets`) as NumPy, made once."""
        X = run.task.X_train
        if self._data is None or self._data[0] is not X:
            x = X.numpy()
            self._data = (X, np.concatenate([x, np.ones((len(x), 1), np.float32)], 1), self.targets(run.task.y_train.numpy()))
        return self._data[1], self._data[2]

    # ---- reading ----
    def state_copy(self) -> dict[str, torch.Tensor]:
        """A copy of the model's state dict (weights, biases, masks), without walking the modules."""
        return {k: v.clone() for k, v in self._state}

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's output on x."""
        with np.errstate(all="ignore"):
            return self._forward(x, self._effective(self.W), self.b)[0]

    def score(self, out: np.ndarray, y: np.ndarray) -> float:
        """Loss.accuracy in NumPy: fraction correct, or R^2 = 1 - SSE/SST for regression."""
        loss = self.loss
        if loss.name == "cross_entropy" or loss.one_hot:
            return float(np.mean(out.argmax(-1) == y, dtype=np.float32))
        if loss.name == "bce" or getattr(loss, "squash", False):
            return float(np.float32(np.count_nonzero((out[:, 0] > 0) == y)) / np.float32(len(y)))
        t = y.astype(np.float32).reshape(out.shape)
        sst = max(np.float32(((t - t.mean(0)) ** 2).sum()), np.float32(1e-12))
        return float(np.float32(1.0) - ((out - t) ** 2).sum() / sst)

    def evaluate(self, run: Run, cap: int, train_out: torch.Tensor | None = None,
                 train_loss: torch.Tensor | None = None) -> dict[str, float]:
        """Run.evaluate's metrics (but lr) in NumPy: loss and score on train and test (the first `cap`
        examples of each), the norm of all parameters and of all gradients (once there are gradients)."""
        t = run.task
        cached = self._eval_sets
        if cached is None or cached[0][0] is not t.X_train or cached[0][1] is not t.X_test or cached[0][2] != cap:
            sets = []
            for X, y in ((t.X_train[:cap], t.y_train[:cap]), (t.X_test[:cap], t.y_test[:cap])):
                sets.append((X.numpy(), y.numpy(), self.targets(y.numpy())))
            full = t.y_train.numpy()
            self._eval_sets = ((t.X_train, t.X_test, cap), sets, (full, self.targets(full)))
        _, ((Xtr, ytr, ttr), (Xte, yte, tte)), (yall, tall) = self._eval_sets
        score = self.loss.score_name
        out: dict[str, float] = {}
        with np.errstate(all="ignore"):
            if train_out is None:
                o = self.predict(Xtr)
                value = self._loss(o, ttr, grad=False)[0]
            else:
                o, ytr = train_out.numpy(), yall
                value = self._loss(o, tall, grad=False)[0] if train_loss is None else float(train_loss)
            out["train_loss"] = float(np.float32(value))
            out[f"train_{score}"] = self.score(o, ytr)
            o = self.predict(Xte)
            out["test_loss"] = float(np.float32(self._loss(o, tte, grad=False)[0]))
            out[f"test_{score}"] = self.score(o, yte)
            out["weight_norm"] = _norm([a for w, b in zip(self.W, self.b, strict=True) for a in (w, b) if a is not None])
            grads = [p.grad for lin in self.linears for p in (lin.weight, lin.bias) if p is not None and p.grad is not None]
            if grads:
                ours = [g for pair in self._grads for g in pair if g is not None]
                same = len(grads) == len(ours) and all(a is b for a, b in zip(grads, ours, strict=True))
                out["grad_norm"] = float(np.sqrt(np.float32(np.dot(self._G, self._G)))) if same else _norm([g.numpy() for g in grads])
        return out


def _norm(arrays: list[np.ndarray]) -> float:
    """The 2-norm of all entries of `arrays` together, in float32 as torch's foreach_norm computes it."""
    return float(np.sqrt(np.float32(sum(np.float32(np.dot(a.ravel(), a.ravel())) for a in arrays))))


def plain_sgd(optimizer: torch.optim.Optimizer) -> bool:
    """True for torch.optim.SGD with one group, no momentum, no weight decay, not maximizing: the
    update `FastMLP.sgd_step` computes."""
    if type(optimizer) is not torch.optim.SGD or len(optimizer.param_groups) != 1:
        return False
    g = optimizer.param_groups[0]
    return not (g["momentum"] or g["weight_decay"] or g["nesterov"] or g.get("maximize") or g.get("dampening"))
