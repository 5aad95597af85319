"""Trainers: how one optimisation step is taken (a registry, so other training rules can plug in)."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Literal, Protocol

import torch
from pydantic import Field
from torch import nn

from netarium.models.masks import masked_modules, reset_optimizer_state
from netarium.models.taps import ForwardHook, forward_hooks
from netarium.schema import Params, Registry, SchemaError
from netarium.training.convex_robust import pgd_attack
from netarium.training.dst import DSTLog, DSTSchedule
from netarium.training.optim import regularization, tfp_regularization_terms

if TYPE_CHECKING:
    from netarium.training.fastpath import FastMLP
    from netarium.training.run import Run

TRAINERS = Registry("trainer")


class Trainer(Protocol):
    def step(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Take one step on a batch; return the detached data loss and the model output."""
        ...


class SupervisedParams(Params):
    grad_clip: float = Field(0.0, ge=0.0, le=1000.0, description="Clip the gradient norm to this value (0 = off)")
    lr_decay: Literal["none", "cosine"] = Field(
        "none", description="cosine: the learning rate at step t is lr (1 + cos(pi t / T)) / 2, falling to 0 over the run's "
        "steps T (a headless run's `steps`; 0 from then on); none: constant. Runs with a decay train one by one, not batched")


def cosine_factor(step: int, total: int) -> float:
    """(1 + cos(pi min(t, T) / T)) / 2: 1 at step 0, 0 from step T on (the cosine schedule, Loshchilov & Hutter 2017)."""
    total = max(int(total), 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(max(step, 0), total) / total))


class Supervised:
    """Back-propagation on data loss (+ an L1/L2 penalty), then one optimizer step (then, with
    regularization "tfp", TensorFlow Playground's L1/L2 update: Run.regularize_tfp)."""

    def __init__(self, p: SupervisedParams):
        self.grad_clip = p.grad_clip
        self.lr_decay = p.lr_decay
        self._base: list[float] = []  # each parameter group's undecayed lr
        self._applied: list[float] = []  # the lr this trainer last gave each group (another value: set live, a new base)

    def burst_path(self, run: Run) -> FastMLP | None:
        """The fast path when it can take whole bursts of this trainer's steps (FastMLP.burst): plain
        SGD, no gradient clipping, no decay, this exact trainer; else None (one step at a time)."""
        if type(self) is not Supervised or self.grad_clip or self.lr_decay != "none":
            return None
        fast = run.fast_path()
        return fast if fast is not None and fast.plain_sgd else None

    def decay_lr(self, run: Run) -> None:
        """Each parameter group's lr = its base lr x the schedule's factor at this step; a group whose lr was
        changed since (Run.set_lr: the Playground's live learning rate) takes that value as its new base."""
        groups = run.optimizer.param_groups
        if len(self._applied) != len(groups):
            self._base = [float(g["lr"]) for g in groups]
        else:
            self._base = [float(g["lr"]) if g["lr"] != a else b for g, a, b in zip(groups, self._applied, self._base, strict=True)]
        factor = cosine_factor(run.step_count, run.config.steps)
        for g, base in zip(groups, self._base, strict=True):
            g["lr"] = base * factor
        self._applied = [float(g["lr"]) for g in groups]

    def step(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        config = run.config
        if self.lr_decay != "none":
            self.decay_lr(run)
        regularized = bool(config.l1 or config.l2)
        tfp = regularized and config.regularization == "tfp"
        fast = run.fast_path() if type(self) is Supervised else None  # NumPy passes for small plain MLPs
        if fast is not None:
            loss, out = fast.grads(x, y)
            if regularized and not tfp:
                fast.add_penalty(config.l1, config.l2)
        else:
            run.optimizer.zero_grad(set_to_none=True)
            out = run.model(x)
            loss = run.loss(out, y)
            if regularized and not tfp:
                loss_reg = loss + regularization(run.penalized, config.l1, config.l2)
                loss_reg.backward()
            else:
                loss.backward()
        if self.grad_clip:
            nn.utils.clip_grad_norm_(run.model.parameters(), self.grad_clip)
        terms = tfp_regularization_terms(run.penalized, config.l1, config.l2) if tfp else None  # nn.ts: der(w) before the step
        if fast is not None and fast.plain_sgd:
            fast.sgd_step(run.lr)
        else:
            run.optimizer.step()
        if terms is not None:
            run.regularize_tfp(terms)
        run.apply_masks()
        return loss.detach(), out


@TRAINERS.register("supervised", SupervisedParams, "Back-propagation with the chosen optimizer")
def make_supervised(p: SupervisedParams) -> Supervised:
    return Supervised(p)


class DSTParams(SupervisedParams):
    rule: Literal["random", "gradient", "hebbian"] = Field(
        "random", description="Regrowth: random (SET), largest gradient (RigL) or largest |corr(pre, post)| (Hebbian)")
    every: int = Field(100, ge=1, le=100_000, description="Steps between rewirings (dT)")
    fraction: float = Field(0.3, gt=0.0, le=1.0, description="Fraction of active edges rewired at first, decayed by a cosine")
    stop_fraction: float = Field(0.75, gt=0.0, le=1.0, description="Stop rewiring after this fraction of the run's steps")
    total_steps: int = Field(0, ge=0, le=100_000_000, description="Steps the cosine decays over; 0 = the run's steps")


class DynamicSparse(Supervised):
    """Back-propagation, and every `every` steps a DST round on every masked layer (training/dst.py):
    prune the smallest-|w| fraction of active edges, regrow as many by the rule; the edge count stays.

    The regrowth signals are taken on the batch of the rewiring step: for "gradient" the dense gradient
    of the loss with respect to the effective weight W * M, dL/dy^T x (RigL); for "hebbian" the layer's
    input x and its output y (G2GNet 2025). Changed edges lose their optimizer state. `log` (a DSTLog)
    records every round for the views.
    """

    def __init__(self, p: DSTParams):
        super().__init__(p)
        self.p = p
        self.log: DSTLog | None = None
        self._schedule: DSTSchedule | None = None

    def attach(self, run: Run) -> None:
        """Bind to the run's masked layers (the Run calls this once built); a model without any is refused."""
        named = list(masked_modules(run.model))
        if not named:
            raise SchemaError("trainer", "dynamic sparse training needs a model with masked layers",
                              "a sparse model such as sparse-mlp or rnn")
        if self.p.rule != "random":
            odd = [n for n, m in named if not isinstance(m, nn.Linear)]
            if odd:
                raise SchemaError("trainer.rule", f'"{self.p.rule}" regrowth works on masked linear layers only, not {odd[0]}',
                                  "random for recurrent masks")
        total = self.p.total_steps or max(run.config.steps, 1)
        self._schedule = DSTSchedule(rule=self.p.rule, dT=self.p.every, total_steps=total, initial=self.p.fraction,
                                     stop_fraction=self.p.stop_fraction, seed=run.config.seed)
        self.log = DSTLog({n: m.mask for n, m in named})

    @property
    def stops_at(self) -> int | None:
        """The first step at which no more rewiring happens (stop_fraction of the schedule's steps), once attached."""
        s = self._schedule
        return None if s is None else math.ceil(s.stop_fraction * s.total_steps)

    def step(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._schedule is None:
            self.attach(run)
        schedule = self._schedule
        assert schedule is not None and self.log is not None
        total = self.p.total_steps or max(run.config.steps, 1)
        if total != schedule.total_steps:  # the run's steps were changed live: the schedule follows
            self._schedule = schedule = dataclasses.replace(schedule, total_steps=total)
        step = run.step_count + 1
        if not schedule.is_update_step(step):
            return super().step(run, x, y)
        named = dict(masked_modules(run.model))
        pre: dict[str, torch.Tensor] = {}
        post: dict[str, torch.Tensor] = {}
        dpost: dict[str, torch.Tensor] = {}

        def capture(name: str) -> ForwardHook:
            """A masked layer's input (pre) and output (post) as (rows, features), and for the gradient
            rule the gradient of the loss at its output (dpost) once the backward pass reaches it."""
            def hook(_m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
                pre[name] = inputs[0].detach().reshape(-1, inputs[0].shape[-1])
                post[name] = output.detach().reshape(-1, output.shape[-1])
                if self.p.rule == "gradient" and output.requires_grad:
                    output.register_hook(lambda g: dpost.__setitem__(name, g.detach().reshape(-1, g.shape[-1])))
            return hook

        watched = named if self.p.rule != "random" else {}
        with forward_hooks((module, capture(name)) for name, module in watched.items()):
            loss, out = super().step(run, x, y)
        grad = {n: dpost[n].T @ pre[n] for n in dpost}
        stats = schedule.maybe_update(step, named, grad=grad, pre=pre, post=post, return_edges=True) or []
        for s in stats:
            module = named[s["name"]]
            changed = torch.zeros(module.mask.numel(), dtype=torch.bool, device=module.mask.device)
            changed[s["pruned_idx"] + s["grown_idx"]] = True
            reset_optimizer_state(run.optimizer, module.weight, changed.view_as(module.mask))
        self.log.add(stats)
        return loss, out


@TRAINERS.register("dst", DSTParams, "Back-propagation with dynamic sparse training of the masked layers")
def make_dst(p: DSTParams) -> DynamicSparse:
    return DynamicSparse(p)


class AdversarialParams(SupervisedParams):
    eps: float = Field(0.3, gt=0.0, le=10.0,
                       description="Radius of the l_inf ball around each input that the attack searches, in input units")
    steps: int = Field(5, ge=1, le=100, description="PGD ascent steps per training step (Madry et al. 2018)")
    step_size: float = Field(0.0, ge=0.0, le=10.0, description="PGD step per ascent step; 0 = 2.5 eps / steps")


class Adversarial(Supervised):
    """PGD adversarial training (Madry et al. 2018): every step moves each input of the batch by an l_inf PGD
    attack on the run's loss (a uniform random start in the eps-ball, `steps` signed-gradient ascent steps,
    each projected back to the ball), then takes the ordinary step on the moved batch. The attack leaves the
    model's gradients alone and runs in eval mode (dropout off). `last_batch` holds the last moved batch."""

    def __init__(self, p: AdversarialParams):
        super().__init__(p)
        self.p = p
        self.last_batch: torch.Tensor | None = None
        self._gen: torch.Generator | None = None

    def attach(self, run: Run) -> None:
        """Refuse a task whose inputs cannot be perturbed (tokens); seed the attack's random starts."""
        task = run.task
        if task.vocab_size is not None or task.kind == "sequence" or not torch.is_floating_point(task.X_train):
            raise SchemaError("trainer", f"adversarial training perturbs real-valued inputs; {task.name} has token inputs",
                              "a task with real-valued inputs (the 2-D tasks, regression, CSV), or trainer supervised")
        self._gen = torch.Generator().manual_seed(run.config.seed + 7919)

    def step(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._gen is None:
            self.attach(run)
        x_adv = pgd_attack(run.model, x, y, self.p.eps, steps=self.p.steps, step_size=self.p.step_size or None,
                           loss=run.loss, generator=self._gen)
        self.last_batch = x_adv
        return super().step(run, x_adv, y)


@TRAINERS.register("adversarial", AdversarialParams,
                   "PGD adversarial training: back-propagation on inputs moved by an l_inf attack of radius eps")
def make_adversarial(p: AdversarialParams) -> Adversarial:
    return Adversarial(p)


from netarium.training import noprop as _noprop  # noqa: E402, F401  (registers trainer noprop)
