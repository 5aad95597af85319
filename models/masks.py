"""Masks and surgery on them: which modules are masked, turning plain linear maps into masked ones,
counting edges, comparing masks, and switching edges off (weights and optimizer state too).

A masked module is any module with a `.weight` of shape (out, in) and a float 0/1 `mask` buffer of
the same shape (models/sparse.py's MaskedLinear and MaskedRNN): mask[i, j] = 1 means input j feeds
output i. Training (DST rewiring, pruning) writes masks; analysis only reads them.

`add_masks` converts only modules of type exactly nn.Linear. Subclasses are left alone: TokenLinear
(the MLP's input layer on token tasks) computes its output by embedding lookups, which a MaskedLinear
forward would replace, and others (e.g. attention's out_proj) are used functionally by their
parents. Those layers stay dense and are never pruned.
"""

from __future__ import annotations

from collections.abc import Collection

import torch
from torch import nn

from netarium.models.base import masked_modules
from netarium.models.sparse import MaskedLinear


def readout_name(model: nn.Module) -> str | None:
    """The qualified name of the readout: the last nn.Linear (any subclass) in module order, which
    is the logits map of every netarium model ("readout", or "unembed" for the transformer)."""
    names = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    return names[-1] if names else None


def add_masks(model: nn.Module, include_readout: bool = True, only: Collection[str] | None = None) -> list[str]:
    """Replace every module of type exactly nn.Linear by a MaskedLinear with an all-ones mask, in place.

    The new module adopts the old one's weight and bias Parameter objects (same tensors, device,
    dtype, requires_grad), and takes its place under the same name, so outputs, state-dict keys of
    weight/bias (a "mask" buffer is added), taps, diagrams and an optimizer built over
    model.parameters() are unchanged. Subclasses of nn.Linear are skipped (see the module doc);
    with include_readout=False the readout (`readout_name`) is skipped too, and with `only` every
    module not named in it. Idempotent: returns the names converted by this call. A Run must then
    call `run.rescan_masks()`.
    """
    skip = None if include_readout else readout_name(model)
    if type(model) is nn.Linear and skip != "":
        raise ValueError("add_masks replaces submodules in place; wrap a bare nn.Linear in a container first")
    names = {id(m): name for name, m in model.named_modules()}
    converted: dict[int, MaskedLinear] = {}
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) is not nn.Linear or names.get(id(child)) == skip or (only is not None and names.get(id(child)) not in only):
                continue
            if id(child) not in converted:  # a module shared by several parents is converted once
                converted[id(child)] = _adopt(child)
            setattr(parent, child_name, converted[id(child)])
    return [name for i, name in names.items() if i in converted]


def _adopt(old: nn.Linear) -> MaskedLinear:
    """A MaskedLinear (all-ones mask) holding `old`'s own Parameters; built on the meta device so no
    memory is allocated and no random number is drawn for weights that are thrown away."""
    with torch.device("meta"):
        new = MaskedLinear(old.in_features, old.out_features, bias=old.bias is not None)
    new.weight = old.weight
    new.bias = old.bias
    new.mask = torch.ones_like(old.weight, requires_grad=False)
    new.train(old.training)
    return new


def pruning_layers(model: nn.Module, include_readout: bool = True) -> list[tuple[str, nn.Module]]:
    """(name, module) of every masked module that pruning may touch, in module order."""
    skip = None if include_readout else readout_name(model)
    return [(name, m) for name, m in masked_modules(model) if name != skip]


def edge_counts(model: nn.Module, include_readout: bool = True) -> tuple[int, int]:
    """(active edges, total entries) over the model's masked layers that pruning may touch."""
    layers = pruning_layers(model, include_readout)
    return sum(int((m.mask != 0).sum()) for _, m in layers), sum(m.mask.numel() for _, m in layers)


def sparsity(model: nn.Module, include_readout: bool = True) -> float:
    """Fraction of switched-off entries over the masked layers (0 when there is none)."""
    active, total = edge_counts(model, include_readout)
    return 1.0 - active / total if total else 0.0


def edge_turnover(old_mask: torch.Tensor, new_mask: torch.Tensor) -> dict[str, float | int]:
    """Edge changes between two masks: pruned (1->0), grown (0->1), kept (1->1) and
    turnover = (pruned + grown) / (2 * edges of old_mask), 0 when old_mask has no edge."""
    old, new = old_mask != 0, new_mask != 0
    if old.shape != new.shape:
        raise ValueError(f"mask shapes differ: {tuple(old.shape)} vs {tuple(new.shape)}")
    pruned = int((old & ~new).sum())
    grown = int((~old & new).sum())
    kept = int((old & new).sum())
    edges = int(old.sum())
    return {
        "pruned": pruned,
        "grown": grown,
        "kept": kept,
        "turnover": (pruned + grown) / (2 * edges) if edges else 0.0,
    }


def changed_edges(old_mask: torch.Tensor, new_mask: torch.Tensor) -> tuple[list[int], list[int]]:
    """Flat (row-major) indices of the edges switched off (1 -> 0) and on (0 -> 1) between two masks."""
    old, new = (old_mask != 0).reshape(-1), (new_mask != 0).reshape(-1)
    return torch.nonzero(old & ~new).reshape(-1).tolist(), torch.nonzero(~old & new).reshape(-1).tolist()


def reset_optimizer_state(optimizer: torch.optim.Optimizer, param: torch.Tensor, where: torch.Tensor) -> int:
    """Zero the per-entry optimizer state of `param` (Adam's moments, SGD's momentum buffer: every state
    tensor shaped like `param`) where the bool `where` is True, so a pruned or regrown edge starts
    without the momentum its old weight had. Returns how many state tensors were touched."""
    state = optimizer.state.get(param)
    if not state:
        return 0
    touched = 0
    for value in state.values():
        if isinstance(value, torch.Tensor) and value.shape == param.shape:
            value.masked_fill_(where.to(value.device), 0)
            touched += 1
    return touched


@torch.no_grad()
def switch_off(module: nn.Module, flat: torch.Tensor, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Switch off the edges of a masked module at flat indices `flat`: mask and weight to 0, and their
    optimizer state too when `optimizer` is given."""
    where = torch.zeros(module.mask.numel(), dtype=torch.bool, device=module.mask.device)
    where[flat] = True
    where = where.view_as(module.mask)
    module.mask[where] = 0
    module.weight[where] = 0
    if optimizer is not None:
        reset_optimizer_state(optimizer, module.weight, where)
