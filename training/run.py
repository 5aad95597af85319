"""`Run`: one training run (model, optimizer, data, metric history), stepped by anyone."""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from netarium.models import ModelSpec, build_model
from netarium.models.gate import FORWARD_GATE
from netarium.models.masks import add_masks, masked_modules
from netarium.schema import SchemaError
from netarium.tasks import Task, make_task
from netarium.tasks.ctr import roc_auc
from netarium.tasks.elliptic import relative_l2
from netarium.training.config import Config
from netarium.training.fastpath import STEPWISE_MAX_MACS, FastMLP, plain_sgd
from netarium.training.heap import configure_heap
from netarium.training.history import History
from netarium.training.optim import (
    build_optimizer,
    model_lr_factors,
    penalty_weights,
    resolve_loss,
    tfp_regularize,
)
from netarium.training.snapshots import Snapshots
from netarium.training.trainers import TRAINERS

EVAL_CAP = 4096  # samples per split used for evaluation metrics
EARLY_POINTS = 50  # a watched run's train-loss points before its first evaluation, at most
MODE_SENSITIVE = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._NormBase)


def binary_scores(out: torch.Tensor) -> np.ndarray:
    """A binary classifier's score for class 1 from its outputs: the logit (one output) or the logit
    difference out[:, 1] - out[:, 0] (two), as a float64 array for an AUC."""
    score = out[:, 0] if out.shape[-1] == 1 else out[:, 1] - out[:, 0]
    return score.detach().double().cpu().numpy()


def split_metrics(model: nn.Module, task: Task, cap: int, name: str, score: Callable[[torch.Tensor, torch.Tensor], float],
                  has_modes: bool = False) -> dict[str, float]:
    """train_<name> and test_<name>: score(outputs, targets) on the first `cap` samples of each split (in eval
    mode for a model with modes)."""
    was_training = model.training
    if has_modes:
        model.eval()
    out = {}
    for split in ("train", "test"):
        X, y = getattr(task, f"X_{split}")[:cap], getattr(task, f"y_{split}")[:cap]
        out[f"{split}_{name}"] = score(model(X), y)
    if was_training and has_modes:
        model.train()
    return out


def auc_metrics(model: nn.Module, task: Task, cap: int, has_modes: bool = False) -> dict[str, float]:
    """train_auc and test_auc of a binary classifier."""
    return split_metrics(model, task, cap, "auc", lambda out, y: roc_auc(binary_scores(out), y.cpu().numpy()), has_modes)


def rel_l2_metrics(model: nn.Module, task: Task, cap: int, has_modes: bool = False) -> dict[str, float]:
    """train_rel_l2 and test_rel_l2, the mean relative L2 error |pred - y| / |y| per sample (operator
    learning's error, elliptic-1d)."""
    return split_metrics(model, task, cap, "rel_l2", lambda out, y: float(relative_l2(out, y)), has_modes)


def resolve_device(name: str) -> torch.device:
    """cpu or cuda; "auto" reads $NETARIUM_DEVICE, then picks cuda when a GPU is present."""
    if name == "auto":
        name = os.environ.get("NETARIUM_DEVICE", "").strip().lower() or "auto"
        if name not in ("auto", "cpu", "cuda"):
            raise SchemaError("NETARIUM_DEVICE", f"unknown device {name!r}", "one of auto, cpu, cuda")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SchemaError("device", "cuda was asked for but no GPU is available here", "one of auto, cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and GPU) generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def auto_eval_every(n_eval: int, batch: int) -> int:
    """Steps between evaluations so that evaluation costs about 2% of training.

    A step costs ~3 forward passes of `batch` samples, an evaluation one of `n_eval`: every
    17 * n_eval / batch steps makes it ~2%; clamped to [200, 1000]: at least 200 steps (an evaluation
    also has a fixed cost), at most 1000 (so the curves get a point at least every 1000 steps).
    """
    return int(min(max(200, math.ceil(17 * n_eval / max(batch, 1))), 1000))


def fixed_batch_ranges(step: int, n: int, batch: int) -> list[tuple[int, int]]:
    """The [start, stop) ranges of training rows in batch `step` (from 0) of the fixed order, TensorFlow
    Playground's oneStep: every epoch walks the set in its stored order and updates after every `batch`
    examples; the r = n mod batch left at an epoch's end stay accumulated and join the next epoch's first
    batch (so each epoch has n // batch updates, that one of batch + r examples)."""
    per_epoch = n // batch
    epoch, j = divmod(step, per_epoch)
    left = n - per_epoch * batch
    if j == 0 and epoch > 0 and left:
        return [(n - left, n), (0, batch)]
    return [(j * batch, (j + 1) * batch)]


def fixed_samples_seen(steps: int, n: int, batch: int) -> int:
    """Examples the first `steps` batches of the fixed order hold (see fixed_batch_ranges)."""
    per_epoch = n // batch
    return steps * batch + (n - per_epoch * batch) * ((steps - 1) // per_epoch if steps > 0 else 0)


def divergence_reason(value: float, first: int, step: int, lr: float) -> str:
    """Why a run stopped: its training loss was `value` (NaN/inf) when checked at `step`, finite last
    checked at step `first` - 1. One wording for a Run and for a batched sweep member."""
    when = f"at step {first}" if first == step else f"between steps {first} and {step}"
    return (f"the training loss became {value} {when} (learning rate {lr:g}); "
            "lower the learning rate or the initial scale, then reset")


def offer_flush(progress: Callable[[int, int], None] | None, source: object, history: Callable[[], History],
                step: int, weights: Callable[[], dict[str, torch.Tensor]]) -> None:
    """Hand a training loop's latest history and weights to a progress callback that saves as it goes
    (one with `due()` and `flush(source, history, step, weights)`, e.g. runs_io.RunWriter) when it asks
    for them; history and weights are built only then. Other callbacks are left alone."""
    due = getattr(progress, "due", None)
    if due is not None and due():
        progress.flush(source, history(), step, weights)  # type: ignore[union-attr]


@dataclass
class Snapshot:
    """A consistent copy of a run's state for readers on other threads."""

    step: int
    epoch: float
    state: str
    reason: str
    seconds: float
    steps_per_sec: float
    metrics: dict[str, float]
    history: History = field(repr=False)


class Run:
    """Owns model, optimizer, data and history; `step(n)` trains, `evaluate()` measures.

    States: "ready" (never stepped), "running" (stepped), "diverged" (loss went NaN/inf: `reason`
    says when; stepping is refused until reset).
    """

    def __init__(self, config: Config, task: Task | None = None):
        self.config = config
        self.device = resolve_device(config.device)
        configure_heap()  # keep freed memory for the next step, unless a server chose its own policy
        seed_everything(config.seed)
        if task is None:
            task = make_task(config.task.name, config.task, seed=config.task_seed)
        self.task = task.to(self.device)
        self.loss = resolve_loss(config.loss, task.kind, task.n_classes, task.n_outputs)
        spec = ModelSpec.for_task(task, n_outputs=self.loss.n_outputs)
        self.model = build_model(config.model.name, config.model, spec).to(self.device)
        self.optimizer = build_optimizer(config.optimizer.name, config.optimizer, self.model.parameters(), model_lr_factors(self.model))
        self.trainer = TRAINERS.get(config.trainer.name).factory(config.trainer)
        self.penalized = penalty_weights(self.model)
        if config.regularization == "tfp" and config.l1 > 0:
            add_masks(self.model)  # a link L1 kills is a masked-out weight (nn.ts: isDead), as the views read it
        self.rescan_masks()
        attach = getattr(self.trainer, "attach", None)
        if attach is not None:
            attach(self)  # a trainer that needs the built model checks it now, so a bad pairing fails here
        # toggling train/eval walks every module; only do it where it changes the maths
        self._has_modes = any(isinstance(m, MODE_SENSITIVE) for m in self.model.modules())
        self.history = History(config.history_points)
        n_train = int(task.X_train.shape[0])
        self.batch_size = n_train if config.batch_size in (0,) or config.batch_size >= n_train else config.batch_size
        self.full_batch = self.batch_size == n_train
        n_eval = min(int(task.X_test.shape[0]), EVAL_CAP) + (0 if self.full_batch else min(n_train, EVAL_CAP))
        self.eval_every = config.eval_every or auto_eval_every(n_eval, self.batch_size)
        self._gen = torch.Generator().manual_seed(config.seed + 1)
        self._perm: torch.Tensor | None = None
        self._pos = 0
        self._last_finite_step = 0  # the last step whose loss was checked and finite
        self._last_out: torch.Tensor | None = None
        self.step_count = 0
        self.samples_seen = 0
        self.seconds = 0.0
        self.steps_per_sec = 0.0
        self.state = "ready"
        self.reason = ""
        self.metrics: dict[str, float] = {}
        # A watched run (LiveRun) sets this: until the first evaluation (eval_every steps, often hundreds),
        # step() records the loss it has just checked as a train_loss point, at most EARLY_POINTS of them,
        # so that curves show something at once. Off elsewhere: headless histories hold evaluations only.
        self.early_loss_points = False
        self._last_loss = math.nan
        self._last_early_step = 0
        self.snapshots = Snapshots(self.model, max_gap=self.eval_every)
        if self.snapshots.enabled:
            self.snapshots.record(0, self.model)

    def rescan_masks(self) -> None:
        """Find the model's masked modules again (after masks were added or removed): the trainer
        zeroes their weights outside the mask after every optimizer step."""
        self._fast: FastMLP | None | bool = False  # the modules changed: the fast path is looked for again
        self.masked: list[nn.Module] = [m for _, m in masked_modules(self.model)]
        self._mask_of = {id(m.weight): m for m in self.masked}

    def fast_path(self) -> FastMLP | None:
        """The NumPy forward/backward for this run's model (training/fastpath.py), or None where it
        does not apply (then autograd runs); $NETARIUM_FASTPATH=0 turns it off."""
        if self._fast is False:
            self._fast = FastMLP.for_run(self) if os.environ.get("NETARIUM_FASTPATH", "1") != "0" else None
            if self._fast is not None:
                self._fast.plain_sgd = plain_sgd(self.optimizer)
                batch = self.config.batch_size or len(self.task.X_train)
                if not self._fast.plain_sgd and self._fast.macs(min(batch, len(self.task.X_train))) > STEPWISE_MAX_MACS:
                    self._fast = None  # step by step beside torch's optimizer only where that is faster (fastpath.py)
        fast = self._fast
        return fast if fast is not None and fast.usable() else None  # type: ignore[return-value]

    def apply_masks(self) -> None:
        """Zero every masked module's weights outside its mask. The masked forward already ignores
        them; this keeps norms, checkpoints and magnitude pruning honest when an optimizer's momentum
        (Adam) or a whole-matrix update (Muon) would move a masked-out weight."""
        if self.masked:
            with torch.no_grad():
                torch._foreach_mul_([m.weight for m in self.masked], [m.mask for m in self.masked])

    def regularize_tfp(self, terms: list[torch.Tensor]) -> None:
        """After the optimizer's step: TensorFlow Playground's regularization update of the weight
        matrices (optim.tfp_regularize, `terms` taken before the step); a weight L1 pushed across 0
        is set to 0 and its link masked out, so it stays dead until the run is rebuilt."""
        crossed = tfp_regularize(self.penalized, terms, self.lr, self.config.l1)
        for w, flip in zip(self.penalized, crossed, strict=True):
            module = self._mask_of.get(id(w)) if flip is not None else None
            if module is not None:
                module.mask.masked_fill_(flip, 0.0)

    # ---- data ----
    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next training batch: the whole set, the next slice of a seeded epoch permutation, or
        (order "fixed") the next batch of the stored order (fixed_batch_ranges)."""
        X, y = self.task.X_train, self.task.y_train
        if self.full_batch:
            return X, y
        if self.config.order == "fixed":
            ranges = fixed_batch_ranges(self.step_count, X.shape[0], self.batch_size)
            if len(ranges) == 1:
                (a, b), = ranges
                return X[a:b], y[a:b]
            return torch.cat([X[a:b] for a, b in ranges]), torch.cat([y[a:b] for a, b in ranges])
        idx = self._next_permuted()
        return X[idx], y[idx]

    def next_rows(self, step: int) -> slice | np.ndarray:
        """The rows of the training set that make batch `step` (from 0), as next_batch picks them when
        the run is at that step (the shuffled order draws from the same generator): a slice or indices."""
        n = int(self.task.X_train.shape[0])
        if self.full_batch:
            return slice(0, n)
        if self.config.order == "fixed":
            ranges = fixed_batch_ranges(step, n, self.batch_size)
            if len(ranges) == 1:
                return slice(*ranges[0])
            return np.concatenate([np.arange(a, b) for a, b in ranges])
        return self._next_permuted().cpu().numpy()

    def _next_permuted(self) -> torch.Tensor:
        """The next batch's indices in the seeded epoch permutation (a new one when the epoch is used up)."""
        n = self.task.X_train.shape[0]
        if self._perm is None or self._pos + self.batch_size > n:
            self._perm = torch.randperm(n, generator=self._gen).to(self.device)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx

    @property
    def steps_per_epoch(self) -> int:
        """Steps that make one epoch: 1 full batch, else n_train // batch (a shuffled epoch drops the
        partial batch, the fixed order carries it into the next epoch's first)."""
        return 1 if self.full_batch else int(self.task.X_train.shape[0]) // self.batch_size

    @property
    def epoch(self) -> float:
        return self.samples_seen / max(int(self.task.X_train.shape[0]), 1)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def set_live_config(self, config: Config) -> None:
        """Adopt a Config that differs from this run's only in live settings (training/live.py's
        LIVE_KEYS): learning rate and history cap now; steps (and L1/L2 where a caller changes them
        live) are read from it at every step."""
        self.set_lr(config.optimizer.lr)
        self.history.set_max_points(config.history_points)
        self.config = config

    def set_lr(self, lr: float) -> None:
        """Change the learning rate of every parameter group, effective from the next step."""
        if not (lr > 0 and math.isfinite(lr)):
            raise SchemaError("optimizer.lr", f"must be a positive number, got {lr}")
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_factor", 1.0)  # a group with a model's lr factor keeps it

    # ---- training ----
    def step(self, n: int = 1) -> int:
        """Train `n` steps (fewer if the loss diverges); return how many were taken."""
        if self.state == "diverged":
            return 0
        with FORWARD_GATE.shared():  # no fx tracing (which patches nn.Module globally) meanwhile
            return self._step(n)

    def _step(self, n: int) -> int:
        t0 = time.perf_counter()
        if self._has_modes:
            self.model.train()
        taken = 0
        loss = None
        snaps = self.snapshots
        next_snap = snaps.next_step if snaps.enabled else math.inf
        burst = self.trainer.burst_path(self) if hasattr(self.trainer, "burst_path") else None
        while taken < n:
            if burst is not None:
                # as many steps as there are before the next thing the loop below does (a snapshot, an
                # evaluation, a finiteness check, the end), in one NumPy call: the same steps, batches and checks
                k = min(n - taken, self.eval_every - self.step_count % self.eval_every, 256 - taken % 256)
                if next_snap != math.inf:
                    k = min(k, max(int(next_snap) - self.step_count, 1))
                loss, out, seen = burst.burst(self, k)
            else:
                k = 1
                x, y = self.next_batch()
                loss, out = self.trainer.step(self, x, y)
                seen = int(x.shape[0])
            self.step_count += k
            self.samples_seen += seen
            taken += k
            if self.step_count >= next_snap:
                snaps.record(self.step_count, self.model, burst.state_copy() if burst is not None else None)
                next_snap = snaps.next_step
            if self.step_count % self.eval_every == 0:
                if not self._check_finite(loss):
                    break
                self._last_out = out.detach() if self.full_batch else None
                self.history.record(self.step_count, self.evaluate(train_out=self._last_out, train_loss=loss))
            elif taken % 256 == 0 and not self._check_finite(loss):
                break
        if loss is not None and self.state != "diverged" and self._check_finite(loss) and self.early_loss_points:
            self._record_early_loss()
        dt = time.perf_counter() - t0
        self.seconds += dt
        if taken and dt > 0:
            rate = taken / dt
            self.steps_per_sec = rate if self.steps_per_sec == 0 else 0.8 * self.steps_per_sec + 0.2 * rate
        if self.state == "ready" and taken:
            self.state = "running"
        return taken

    def _record_early_loss(self) -> None:
        """Before the first evaluation, the last checked loss (the batch of the last step, read anyway for
        the divergence check: no extra work) as a train_loss point, every eval_every / EARLY_POINTS steps."""
        step = self.step_count
        if step < self.eval_every and step - self._last_early_step >= max(1, self.eval_every // EARLY_POINTS):
            self.history.record(step, {"train_loss": self._last_loss})
            self._last_early_step = step

    def last_finite_loss(self) -> tuple[int, float] | None:
        """(step, training loss) of the last loss checked finite (the divergence check's), None before any."""
        if self._last_finite_step > 0 and math.isfinite(self._last_loss):
            return self._last_finite_step, self._last_loss
        return None

    def _check_finite(self, loss: torch.Tensor) -> bool:
        """False (and the run marked diverged, saying between which steps) when `loss` is NaN/inf.

        Checking the latest loss only (every eval, every 256 steps and at the end of each call)
        keeps per-step work at zero; a NaN/inf that reaches the weights persists, so it is caught.
        """
        value = float(loss)
        if math.isfinite(value):
            self._last_finite_step = self.step_count
            self._last_loss = value
            return True
        self.state = "diverged"
        self.reason = divergence_reason(value, self._last_finite_step + 1, self.step_count, self.lr)
        return False

    def evaluate(self, train_out: torch.Tensor | None = None, train_loss: torch.Tensor | None = None) -> dict[str, float]:
        """Loss and accuracy (R^2 for regression) on train and test, weight/gradient norms, lr; and
        train/test AUC (ctr) or relative L2 error (elliptic-1d) on a task whose meta asks for it."""
        with FORWARD_GATE.shared(), torch.no_grad():
            out = self._evaluate(train_out, train_loss)
            if self.task.meta.get("score_auc"):  # a task that asks for AUC (ctr): train_auc and test_auc
                out.update(auc_metrics(self.model, self.task, EVAL_CAP, self._has_modes))
            if self.task.meta.get("score_rel_l2"):  # an operator-learning task (elliptic-1d): train_rel_l2, test_rel_l2
                out.update(rel_l2_metrics(self.model, self.task, EVAL_CAP, self._has_modes))
            return out

    def _evaluate(self, train_out: torch.Tensor | None, train_loss: torch.Tensor | None) -> dict[str, float]:
        fast = self.fast_path()
        if fast is not None and not self._has_modes:  # the same numbers from NumPy (training/fastpath.py)
            out = fast.evaluate(self, EVAL_CAP, train_out, train_loss)
            out["lr"] = self.lr
            self.metrics = out
            return out
        t = self.task
        was_training = self.model.training
        if self._has_modes:
            self.model.eval()
        metrics: dict[str, torch.Tensor] = {}
        if train_out is None:
            Xtr, ytr = t.X_train[:EVAL_CAP], t.y_train[:EVAL_CAP]
            train_out = self.model(Xtr)
            train_loss = self.loss(train_out, ytr)
        else:
            ytr = t.y_train
            if train_loss is None:
                train_loss = self.loss(train_out, ytr)
        score = self.loss.score_name
        metrics["train_loss"] = train_loss
        metrics[f"train_{score}"] = self.loss.accuracy(train_out, ytr)
        Xte, yte = t.X_test[:EVAL_CAP], t.y_test[:EVAL_CAP]
        test_out = self.model(Xte)
        metrics["test_loss"] = self.loss(test_out, yte)
        metrics[f"test_{score}"] = self.loss.accuracy(test_out, yte)
        params = [p for p in self.model.parameters()]
        metrics["weight_norm"] = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(params)))
        grads = [p.grad for p in params if p.grad is not None]
        if grads:
            metrics["grad_norm"] = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        values = torch.stack([v.float() for v in metrics.values()]).tolist()
        out = dict(zip(metrics, values, strict=True))
        out["lr"] = self.lr
        model_metrics = getattr(self.model, "history_metrics", None)
        if callable(model_metrics):  # what a model measures of itself at every evaluation (a hypernet's |theta(gamma)|)
            out.update(model_metrics())
        if was_training and self._has_modes:
            self.model.train()
        self.metrics = out
        return out

    def snapshot(self) -> Snapshot:
        """A copy of the state that other threads may read freely."""
        return Snapshot(
            step=self.step_count, epoch=self.epoch, state=self.state, reason=self.reason,
            seconds=self.seconds, steps_per_sec=self.steps_per_sec, metrics=dict(self.metrics),
            history=self.history.copy(),
        )

    def final_metrics(self) -> dict[str, float]:
        """Evaluate now (recording it in the history unless already recorded at this step)."""
        metrics = self.evaluate()
        steps, _ = self.history.series("test_loss")
        if not steps or steps[-1] != self.step_count:
            self.history.record(self.step_count, metrics)
        return metrics

    def train(self, steps: int | None = None, progress: Callable[[int, int], None] | None = None, chunk: int = 0) -> Run:
        """Step until `steps` (default config.steps) or divergence, calling progress(done, total)."""
        total = self.config.steps if steps is None else steps
        chunk = chunk or max(self.eval_every, 1)
        while self.step_count < total and self.state != "diverged":
            self.step(min(chunk, total - self.step_count))
            if progress:
                progress(self.step_count, total)
                offer_flush(progress, self, self.history.copy, self.step_count, self.model.state_dict)
        return self
