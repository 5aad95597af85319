"""Batched training for every other model: members of one architecture stacked with torch.func.

The hand-written nets of training/ensemble.py cover the MLP families; a KAN, a quadratic net, an hourglass,
a transformer on modular arithmetic and any model added later train here instead. Members batch when
their Configs differ only in what does not change the model's shapes or graph: seeds, learning rate and
the optimizer's other numbers, L1/L2, clipping (the model section itself must be equal). Their trainable
parameters live in the same (K, P) buffer as the hand-written path's, so the per-member optimizer update,
divergence freezing, evaluation and member Runs are BatchedGroup's; only the net differs: the model's own
forward, `torch.func.functional_call` vmapped over the member axis, and autograd for the backward.

Frozen parameters (the hourglass lift, a fixed readout) and buffers (masks, grids) are stacked per
member beside the buffer and never move. A model's `lr_factors()` (the quadratic neuron's slower
quadratic terms) becomes a (1, P) scale of the learning rate. Models whose maths depends on train/eval
mode (dropout, batch norm), other trainers, and sequence outputs are left to ordinary Runs; so is any
model whose forward torch.func cannot vmap (a probe step at build time says so).

Measured on the 2-core CPU (`netarium bench sweep`, the "func" cases): see the README's benchmark part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, vmap

from netarium.models.base import masked_modules
from netarium.training.config import Config
from netarium.training.ensemble import (
    BATCHED_MODELS,
    BATCHED_OPTIMIZERS,
    BatchedGroup,
    DataPool,
    _Net,
    _Prepared,
    _Workspace,
    batch_signature,
    prepare_run,
    split_members,
)
from netarium.training.optim import model_lr_factors
from netarium.training.run import MODE_SENSITIVE, resolve_device
from netarium.training.sweep import Member
from netarium.training.sweep_run import GROUP_BUILDERS, MemberGroup


def func_signature(config: Config) -> tuple[Any, ...] | None:
    """What members must share to train as one torch.func program; None where this path does not take
    the Config (the hand-written path's models, another trainer or optimizer)."""
    if config.trainer.name != "supervised" or config.optimizer.name not in BATCHED_OPTIMIZERS:
        return None
    if getattr(config.trainer, "lr_decay", "none") != "none":
        return None  # a learning-rate schedule: the members train as Runs
    if config.model.name in BATCHED_MODELS and batch_signature(config) is not None:
        return None  # the hand-written nets take it (faster, and they pad widths)
    if config.regularization == "tfp":
        return None  # TensorFlow Playground's L1 kills links by adding masks to the Run's model: Runs do it
    arch = config.model.model_dump_json()
    return (config.task.name, arch, config.loss, config.batch_size, config.order, config.regularization,
            config.optimizer.name, str(resolve_device(config.device)), config.eval_every)


def _shapes(prep: _Prepared) -> tuple[Any, ...]:
    """What stacks: the data shapes and every parameter's shape (a token task's vocabulary sizes them)."""
    return prep.shape_key(), tuple((name, tuple(t.shape)) for name, t in prep.params.items())


class _FuncNet(_Net):
    """A model stacked by torch.func: the slots are its trainable parameters at their own shapes (no
    padding: members share the architecture), `consts` its frozen parameters and buffers per member."""

    def __init__(self, template: nn.Module, trainable: list[tuple[str, tuple[int, ...]]],
                 consts: dict[str, torch.Tensor]):
        self.template = template
        self._add_slots(trainable)
        self.masks = {}
        self.consts = consts
        self._saved: tuple[torch.Tensor, dict[str, torch.Tensor]] | None = None

        def one(params: dict[str, torch.Tensor], const: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.template, (params, const), (x,), strict=True)

        self._batched = vmap(one, randomness="error")

    def _const(self, rows: slice) -> dict[str, torch.Tensor]:
        return {name: t[rows] for name, t in self.consts.items()}

    def forward(self, V: dict[str, torch.Tensor], x: torch.Tensor, ws: _Workspace | None, rows: slice) -> torch.Tensor:
        if ws is None:  # evaluation
            with torch.no_grad():
                return self._batched(V, self._const(rows), x)
        leaves = {name: v.detach().requires_grad_(True) for name, v in V.items()}
        with torch.enable_grad():
            out = self._batched(leaves, self._const(rows), x)
        self._saved = (out, leaves)
        return out.detach().clone()  # the loss works in place on what it is given

    def backward(self, V: dict[str, torch.Tensor], Gv: dict[str, torch.Tensor], d: torch.Tensor) -> None:
        assert self._saved is not None, "backward without a training forward"
        out, leaves = self._saved
        self._saved = None
        names = list(leaves)
        grads = torch.autograd.grad(out, [leaves[n] for n in names], d, allow_unused=True)
        for name, g in zip(names, grads, strict=True):
            if g is None:
                Gv[name].zero_()
            else:
                Gv[name].copy_(g)


class FuncGroup(BatchedGroup):
    """Members of one func_signature trained as one torch.func program (see the module docstring)."""

    kind = "batched"
    signature = staticmethod(func_signature)
    takes_tokens = True
    _mask_pairs: list[tuple[Any, str]] = []  # (slot of a masked weight, its mask's const name)

    def __init__(self, members: Sequence[Member], prepared: Sequence[_Prepared] | None = None,
                 templates: Sequence[nn.Module] | None = None):
        if prepared is None or templates is None:  # each member's Run built once: its data, weights and model
            pool = DataPool()
            built = [prepare_run(m, pool) for m in members]
            prepared, templates = [p for p, _ in built], [run.model for _, run in built]
        self._templates = list(templates)
        super().__init__(members, prepared)
        self.chunk = self.K  # one vmapped call for all: its cost is per call, not per member
        self._templates = []

    def make_net(self, preps: Sequence[_Prepared], n_in: int, n_out: int) -> _Net:
        models = self._templates
        template = models[0]
        if any(isinstance(m, MODE_SENSITIVE) for m in template.modules()):
            raise ValueError("the model's maths depends on train/eval mode (dropout, batch norm)")
        trainable = [(n, tuple(p.shape)) for n, p in template.named_parameters() if p.requires_grad]
        frozen = [n for n, p in template.named_parameters() if not p.requires_grad]
        buffers = [n for n, _ in template.named_buffers()]
        dev = self.device
        consts: dict[str, torch.Tensor] = {}
        for name in frozen + buffers:
            consts[name] = torch.stack([_tensor(m, name).detach() for m in models]).to(dev)
        if frozen:
            self.frozen_sq = sum(consts[n].flatten(1).square().sum(1) for n in frozen)  # type: ignore[assignment]
        net = _FuncNet(template.to(dev), trainable, consts)
        factors = {id(p): f for p, f in model_lr_factors(template).items()}
        if any(f != 1.0 for f in factors.values()):
            scale = torch.ones(1, net.row, device=dev)
            params = dict(template.named_parameters())
            for s in net.slots:
                scale[:, s.offset : s.offset + s.size] = float(factors.get(id(params[s.name]), 1.0))
            self.lr_scale = scale
        # masked connectivity (sparse-mlp): after every step a masked-out weight is 0 again (Run.apply_masks)
        self._mask_pairs = [(s, f"{name + '.' if name else ''}mask") for name, _ in masked_modules(template)
                            for s in net.slots if s.name == f"{name + '.' if name else ''}weight"]
        for p in preps:  # the group's parameters are the trainable ones; the rest are constants
            p.params = {n: t for n, t in p.params.items() if n in {s.name for s in net.slots}}
        return net

    def _update(self) -> None:
        super()._update()
        if self._mask_pairs:
            views = self.net.views(self.P)
            with torch.no_grad():
                for slot, mask in self._mask_pairs:
                    views[slot.name].mul_(self.net.consts[mask])

    def parameters(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's weights, named as its model's parameters (a copy): the trained ones and the frozen."""
        out = super().parameters(i)
        names = {n for n, _ in self.net.template.named_parameters()}
        out.update({n: t[i].clone() for n, t in self.net.consts.items() if n in names})
        return out

    def probe(self) -> None:
        """One forward and backward of every member on two training samples, nothing updated: raises
        where torch.func cannot run the model (then its members train as Runs)."""
        rows = slice(0, self.K)
        x, y = self.Xtr[self.data_of, :2], self.ytr[self.data_of, :2]
        Vr, Gr = self.net.views(self.P), self.net.views(self.G)
        out = self.net.forward(Vr, x, self.ws, rows)
        if out.shape[:2] != (self.K, 2) or out.ndim != 3 or y.ndim != 2:
            raise ValueError(f"the model's output {tuple(out.shape[1:])} is not one row of logits per sample")
        self.net.backward(Vr, Gr, torch.zeros_like(out))
        self.G.zero_()


def _tensor(model: nn.Module, name: str) -> torch.Tensor:
    module_name, _, leaf = name.rpartition(".")
    return getattr(model.get_submodule(module_name) if module_name else model, leaf)


def build_func_groups(members: list[Member]) -> tuple[list[MemberGroup], list[Member]]:
    """The GROUP_BUILDERS entry after the hand-written one: members grouped by func_signature and data
    shapes train as FuncGroups (two or more); a lone member and what the probe refuses are left to Runs."""
    # per-position outputs are not rows of logits; the group computes no AUC (ctr's Runs do)
    found, left = split_members(members, func_signature, lambda p: not (p.sequence or p.asks_auc), key=_shapes)
    groups: list[MemberGroup] = []
    for pairs in found:
        preps = [p for p, _ in pairs]
        if len(preps) == 1:  # vmap's dispatch costs more than it saves for one model: a Run is faster
            left.append(preps[0].member)
            continue
        try:
            group = FuncGroup([p.member for p in preps], preps, [model for _, model in pairs])
            group.probe()
        except Exception:  # noqa: BLE001  (any model torch.func cannot stack trains as ordinary Runs)
            left.extend(p.member for p in preps)
            continue
        groups.append(group)
    left.sort(key=lambda m: m.index)
    return groups, left


GROUP_BUILDERS.append(build_func_groups)
