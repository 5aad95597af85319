"""Dynamic sparse training (DST): every dT steps prune the weakest active edges of a masked layer
and regrow as many elsewhere, so the layer keeps its edge count while its wiring moves.

Works on any nn.Linear-like module with a `.weight` of shape (out, in) and a float 0/1 `.mask`
buffer of the same shape: the mask is written in place (`module.mask.copy_(new)`) and the weights
outside it are zeroed, so a module whose `set_mask` does more is not needed. Regrowth rules: random
(SET, Mocanu et al. 2018), largest gradient (RigL, Evci et al. 2020) or Hebbian (largest
|corr(post, pre)|, as in G2GNet 2025).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from netarium.models.base import masked_modules

RegrowRule = Literal["random", "gradient", "hebbian"]
REGROW_RULES: tuple[str, ...] = ("random", "gradient", "hebbian")


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


def prune_fraction(step: int, total_steps: int, initial: float = 0.3) -> float:
    """Cosine-decayed fraction of active edges to update at `step`:
    f(t) = initial * (1 + cos(pi * t / T)) / 2, with t clamped to [0, T] (RigL, Evci et al. 2020)."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    t = min(max(step, 0), total_steps)
    return initial * (1.0 + math.cos(math.pi * t / total_steps)) / 2.0


def _first_n(score: torch.Tensor, candidates: torch.Tensor, n: int, *, largest: bool) -> torch.Tensor:
    """Flat indices (ascending) of the n candidates with the largest (or smallest) score; ties at the
    cut go to the lower flat index, so the choice is deterministic. A selection, not a sort: the n-th
    best value by kthvalue (linear time), then every candidate better than it and the first tied ones."""
    idx = torch.nonzero(candidates.reshape(-1), as_tuple=False).reshape(-1)
    values = score.reshape(-1)[idx]
    values = -values if largest else values  # the n smallest of these
    if n <= 0:
        return idx[:0]
    if n >= values.numel():
        return idx
    cut = torch.kthvalue(values, n).values
    better = values < cut
    tied = torch.nonzero(values == cut).reshape(-1)[: n - int(better.sum())]
    better[tied] = True
    return idx[better]


def _check_n(n: int, available: int, what: str) -> None:
    if n < 0 or n > available:
        raise ValueError(f"cannot {what} {n} edges: {available} available")


def prune_smallest(weight: torch.Tensor, mask: torch.Tensor, n: int) -> torch.Tensor:
    """A copy of `mask` with the n active edges of smallest |w| switched off (magnitude pruning;
    ties go to the lower flat index)."""
    active = mask != 0
    _check_n(n, int(active.sum()), "prune")
    new = mask.detach().clone()
    drop = _first_n(weight.detach().abs().to(torch.float64), active, n, largest=False)
    new.view(-1)[drop] = 0
    return new


def hebbian_scores(pre: torch.Tensor, post: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """|Pearson correlation| over the batch of each (post unit i, pre unit j): (out, in) matrix
    |sum_b (post_bi - mean_i)(pre_bj - mean_j)| / (B * std_i * std_j), population std; a unit with zero
    variance scores 0 (the Hebbian growth signal of G2GNet 2025)."""
    x = pre.detach().to(torch.float64).reshape(pre.shape[0], -1)
    y = post.detach().to(torch.float64).reshape(post.shape[0], -1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"pre and post have different batch sizes: {x.shape[0]} vs {y.shape[0]}")
    xc, yc = x - x.mean(0), y - y.mean(0)
    sx, sy = xc.pow(2).mean(0).sqrt(), yc.pow(2).mean(0).sqrt()
    cov = yc.T @ xc / x.shape[0]
    denom = sy[:, None] * sx[None, :]
    return torch.where(denom > eps, cov.abs() / denom.clamp_min(eps), torch.zeros_like(cov))


def regrow(
    mask_after_prune: torch.Tensor,
    n: int,
    rule: RegrowRule,
    *,
    grad: torch.Tensor | None = None,
    pre: torch.Tensor | None = None,
    post: torch.Tensor | None = None,
    forbidden: torch.Tensor | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """A copy of `mask_after_prune` with n inactive edges switched on, chosen among the edges that are
    inactive and not in `forbidden` (pass the pre-prune mask so an edge pruned this round is not grown
    back). Rules: "random" uniform draw seeded by `seed` (SET, Mocanu et al. 2018); "gradient" largest
    |dL/dW| (RigL, Evci et al. 2020; `grad` must be the dense gradient w.r.t. the effective weight
    W * M, since the gradient of W itself is 0 off the mask); "hebbian" largest |corr(post_i, pre_j)|
    over a batch (`pre` (batch, in), `post` (batch, out); see hebbian_scores). Ties go to the lower
    flat index (row-major (out, in))."""
    candidates = mask_after_prune == 0
    if forbidden is not None:
        candidates &= forbidden == 0
    _check_n(n, int(candidates.sum()), "regrow")
    if rule == "random":
        g = torch.Generator().manual_seed(seed)
        score = torch.rand(mask_after_prune.shape, generator=g, dtype=torch.float64)
    elif rule == "gradient":
        if grad is None:
            raise ValueError('rule "gradient" needs grad (dL/d(W*M), same shape as the mask)')
        score = grad.detach().abs().to(torch.float64).cpu()
    elif rule == "hebbian":
        if pre is None or post is None:
            raise ValueError('rule "hebbian" needs pre (batch, in) and post (batch, out) activity')
        score = hebbian_scores(pre, post).cpu()
    else:
        raise ValueError(f"unknown regrow rule {rule!r}; choose one of {REGROW_RULES}")
    if score.shape != mask_after_prune.shape:
        raise ValueError(f"{rule} scores have shape {tuple(score.shape)}, mask {tuple(mask_after_prune.shape)}")
    grow = _first_n(score, candidates.cpu(), n, largest=True).to(mask_after_prune.device)
    new = mask_after_prune.detach().clone()
    new.view(-1)[grow] = 1
    return new


@torch.no_grad()
def dst_step(
    module: nn.Module,
    rule: RegrowRule,
    fraction: float,
    *,
    grad: torch.Tensor | None = None,
    pre: torch.Tensor | None = None,
    post: torch.Tensor | None = None,
    seed: int = 0,
    return_edges: bool = False,
) -> dict:
    """One DST round on `module` in place: prune n = round(fraction * active) smallest-|w| edges (capped
    at the number of inactive edges, the room there is to regrow), regrow n by `rule` among edges that
    were inactive before the round; grown weights start at 0 and every weight off the mask is zeroed.
    The edge count is unchanged. Returns edge_turnover(old, new) (SET 2018 / RigL 2020), plus the flat
    (row-major) indices "pruned_idx" and "grown_idx" with return_edges=True."""
    old = module.mask.detach().clone()
    active = int((old != 0).sum())
    n = min(int(round(fraction * active)), old.numel() - active)
    pruned = prune_smallest(module.weight, old, n)
    new = regrow(pruned, n, rule, grad=grad, pre=pre, post=post, forbidden=old, seed=seed)
    assert int((new != 0).sum()) == active, "DST changed the edge count"
    module.mask.copy_(new)
    module.weight.data[(new != 0) & (old == 0)] = 0
    module.weight.data[new == 0] = 0
    stats = edge_turnover(old, new)
    if return_edges:
        stats["pruned_idx"], stats["grown_idx"] = changed_edges(old, new)
    return stats


@dataclass(frozen=True)
class DSTSchedule:
    """When and how much to rewire: every `dT` steps (step > 0) while step < stop_fraction * total_steps,
    each masked module gets dst_step with fraction prune_fraction(step, total_steps, initial)
    (RigL's schedule, Evci et al. 2020). Holds no state: the round's seed is derived from `seed`,
    the step and the module's position, so replaying a run rewires it the same way."""

    rule: RegrowRule = "random"
    dT: int = 100
    total_steps: int = 1000
    initial: float = 0.3
    stop_fraction: float = 0.75
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rule not in REGROW_RULES:
            raise ValueError(f"unknown regrow rule {self.rule!r}; choose one of {REGROW_RULES}")
        if self.dT < 1 or self.total_steps < 1:
            raise ValueError("dT and total_steps must be positive")

    def is_update_step(self, step: int) -> bool:
        """True when `step` is a rewiring step."""
        return step > 0 and step % self.dT == 0 and step < self.stop_fraction * self.total_steps

    def maybe_update(
        self,
        step: int,
        modules: nn.Module | Mapping[str, nn.Module] | Iterable[nn.Module],
        *,
        grad: Mapping[str, torch.Tensor] | None = None,
        pre: Mapping[str, torch.Tensor] | None = None,
        post: Mapping[str, torch.Tensor] | None = None,
        return_edges: bool = False,
    ) -> list[dict] | None:
        """Rewire every masked module if `step` is an update step, else None. `modules` is a model (its
        masked submodules are used), a {name: module} mapping or a sequence (named "0", "1", ...);
        the signals are {name: tensor} mappings keyed the same way. Each returned dict is the
        module's edge_turnover plus its "name", "step" and "fraction"."""
        if not self.is_update_step(step):
            return None
        if isinstance(modules, nn.Module):
            named = list(masked_modules(modules))
        elif isinstance(modules, Mapping):
            named = list(modules.items())
        else:
            named = [(str(k), m) for k, m in enumerate(modules)]
        fraction = prune_fraction(step, self.total_steps, self.initial)
        stats = []
        for k, (name, module) in enumerate(named):
            round_seed = (self.seed * 1_000_003 + step) * 1_009 + k
            s = dst_step(
                module,
                self.rule,
                fraction,
                grad=(grad or {}).get(name),
                pre=(pre or {}).get(name),
                post=(post or {}).get(name),
                seed=round_seed,
                return_edges=return_edges,
            )
            stats.append({"name": name, "step": step, "fraction": fraction, **s})
        return stats


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


class DSTLog:
    """What DST did to a run: the masks before the first rewiring and every round's pruned and grown
    edges, so the wiring at any step can be replayed for a view. Append-only (one writer, the
    trainer); readers on other threads see whole events."""

    def __init__(self, masks: Mapping[str, torch.Tensor]):
        self.names: list[str] = list(masks)
        self.initial: dict[str, torch.Tensor] = {k: (m.detach() != 0).cpu().clone() for k, m in masks.items()}
        self.events: list[dict] = []

    def add(self, stats: Iterable[dict]) -> None:
        self.events.extend(dict(s) for s in stats)

    def steps(self) -> list[int]:
        """The rewiring steps, in order, without repeats."""
        return sorted({int(e["step"]) for e in list(self.events)})

    def mask_at(self, name: str, step: int) -> torch.Tensor:
        """The bool mask of layer `name` after every rewiring at or before `step`."""
        if name not in self.initial:
            raise KeyError(f"no masked layer {name!r}; layers: {', '.join(self.names)}")
        mask = self.initial[name].clone()
        flat = mask.view(-1)
        for e in list(self.events):
            if e["name"] == name and e["step"] <= step:
                flat[e["pruned_idx"]] = False
                flat[e["grown_idx"]] = True
        return mask

    def event(self, name: str, step: int) -> dict | None:
        """The round of layer `name` at exactly `step`, or None."""
        return next((e for e in list(self.events) if e["name"] == name and e["step"] == step), None)

    def turnover(self) -> list[dict]:
        """One row per round and layer without the edge lists: step, name, fraction, pruned, grown, kept, turnover."""
        return [{k: v for k, v in e.items() if not k.endswith("_idx")} for e in list(self.events)]
