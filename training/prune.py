"""Iterative magnitude pruning (IMP) of a Run's linear layers, with fine-tuning or weight rewinding
(lottery tickets, Frankle & Carbin 2019; rewinding to an early step k, Frankle et al. 2019), and AP
("Activate-while-Pruning", Liu et al. 2022, "AP: Selective Activation for De-sparsifying Pruned
Neural Networks", arXiv:2212.06145), which spends part of each round's pruning budget on negative
weights that barely moved, to lower the dynamic dead-neuron rate (DNR) of the ReLU units.

The pieces:
- `add_masks` turns every plain nn.Linear into a MaskedLinear (all-ones mask) that adopts the same
  Parameter objects, so a Run's optimizer, penalty list and references keep working;
- `magnitude_prune` switches off a fraction of the active edges with the smallest |w|, one global
  threshold or per layer; `ap_prune` is AP's part of a round;
- `relu_dead_rate` / `unit_dead_rates` measure the dynamic DNR: the fraction of (input, unit) pairs
  whose ReLU output is 0, over probe inputs (AP 2022). They hook the ReLU modules directly (the MLPs
  tap the same values as "layerN.post"), so training/ needs nothing from netarium.analysis; anything
  else (e.g. analysis.sparsity measures) comes in through `iterative_pruning(..., measure=f)`;
- `iterative_pruning` trains a Run densely (round 0), then prunes and retrains round after round,
  recording sparsity, accuracy and DNR after each round.

Only modules of type exactly nn.Linear are converted. Subclasses are left alone: TokenLinear (the
MLP's input layer on token tasks) computes its output by embedding lookups, which a MaskedLinear
forward would replace, and others (e.g. attention's out_proj) are used functionally by their
parents. Those layers stay dense and are not pruned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from netarium.models.gate import FORWARD_GATE
from netarium.models.sparse import MaskedLinear
from netarium.training.dst import masked_modules, reset_optimizer_state
from netarium.training.run import EVAL_CAP, Run

if TYPE_CHECKING:
    from netarium.tasks import Task
    from netarium.training.config import Config

Scope = Literal["global", "layer"]
Mode = Literal["finetune", "rewind"]

# AP's default share of each round's pruning: the official code prunes 2 of every 20 percent with AP
# (ap_pruning_rate = 2, bench_pruning_rate = prune_percent - 2)
AP_RATE = 0.02


# --- masks ----------------------------------------------------------------------------------------


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


def _active_count(layers: list[tuple[str, nn.Module]]) -> tuple[int, int]:
    """(active edges, total entries) over the layers' masks."""
    active = sum(int((m.mask != 0).sum()) for _, m in layers)
    return active, sum(m.mask.numel() for _, m in layers)


def edge_counts(model: nn.Module, include_readout: bool = True) -> tuple[int, int]:
    """(active edges, total entries) over the model's masked layers."""
    return _active_count(pruning_layers(model, include_readout))


def sparsity(model: nn.Module, include_readout: bool = True) -> float:
    """Fraction of switched-off entries over the masked layers (0 when there is none)."""
    active, total = edge_counts(model, include_readout)
    return 1.0 - active / total if total else 0.0


def _smallest(scores: list[torch.Tensor], candidates: list[torch.Tensor], n: int) -> list[torch.Tensor]:
    """Per layer, the flat indices of the n candidates with the smallest score over all the layers
    together; ties go to the earlier layer, then the lower flat index (a stable sort)."""
    idx = [torch.nonzero(c.reshape(-1), as_tuple=False).reshape(-1) for c in candidates]
    values = torch.cat([s.detach().reshape(-1)[i].to(torch.float64).cpu() for s, i in zip(scores, idx, strict=True)])
    if n > values.numel():
        raise ValueError(f"cannot choose {n} of {values.numel()} candidates")
    chosen = torch.sort(values, stable=True).indices[:n]
    out, start = [], 0
    for i in idx:
        stop = start + i.numel()
        pick = chosen[(chosen >= start) & (chosen < stop)] - start
        out.append(i[pick.to(i.device)])
        start = stop
    return out


@torch.no_grad()
def _switch_off(module: nn.Module, flat: torch.Tensor, optimizer: torch.optim.Optimizer | None) -> None:
    """Switch off the edges at flat indices `flat`: mask and weight to 0, their optimizer state too."""
    where = torch.zeros(module.mask.numel(), dtype=torch.bool, device=module.mask.device)
    where[flat] = True
    where = where.view_as(module.mask)
    module.mask[where] = 0
    module.weight[where] = 0
    if optimizer is not None:
        reset_optimizer_state(optimizer, module.weight, where)


def _layer_stats(layers: list[tuple[str, nn.Module]], before: list[int]) -> dict[str, Any]:
    rows = [{"name": name, "before": b, "after": int((m.mask != 0).sum()), "total": m.mask.numel()}
            for (name, m), b in zip(layers, before, strict=True)]
    active, total = sum(r["after"] for r in rows), sum(r["total"] for r in rows)
    return {
        "layers": rows,
        "pruned": sum(before) - active,
        "edges": active,
        "total": total,
        "sparsity": 1.0 - active / total if total else 0.0,
    }


@torch.no_grad()
def magnitude_prune(
    model: nn.Module,
    fraction: float,
    scope: Scope = "global",
    include_readout: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    count: int | None = None,
) -> dict[str, Any]:
    """Switch off `fraction` of the currently active edges of the masked layers, those of smallest |w|,
    in place (mask and weight to 0; their optimizer state zeroed when `optimizer` is given).

    scope "global": n = round(fraction * active edges of all the layers), one threshold across layers;
    "layer": round(fraction * active edges) in each layer. `count` (scope "global" only) asks for
    exactly that many edges instead of a fraction. Ties go to the earlier layer, then the lower
    flat (row-major (out, in)) index. Returns {"layers": [{name, before, after, total}], "pruned",
    "edges" (active after), "total", "sparsity" (over these layers), "threshold" (largest |w| pruned,
    0.0 when none)}.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    if scope not in ("global", "layer"):
        raise ValueError(f'scope must be "global" or "layer", got {scope!r}')
    if count is not None and scope != "global":
        raise ValueError('count needs scope "global"')
    layers = pruning_layers(model, include_readout)
    before = [int((m.mask != 0).sum()) for _, m in layers]
    if scope == "global":
        n = int(round(fraction * sum(before))) if count is None else count
        picks = _smallest([m.weight.abs() for _, m in layers], [m.mask != 0 for _, m in layers], n)
    else:
        picks = [_smallest([m.weight.abs()], [m.mask != 0], int(round(fraction * b)))[0]
                 for (_, m), b in zip(layers, before, strict=True)]
    threshold = max((float(m.weight.reshape(-1)[p].abs().max()) for (_, m), p in zip(layers, picks, strict=True)
                     if p.numel()), default=0.0)
    for (_, m), p in zip(layers, picks, strict=True):
        _switch_off(m, p, optimizer)
    return {**_layer_stats(layers, before), "threshold": threshold}


# --- ReLU layers and the dynamic dead-neuron rate ---------------------------------------------------


@dataclass(frozen=True)
class ReluLayer:
    """A linear map whose outputs go through a ReLU: `name` is the linear's qualified name."""

    name: str
    linear: nn.Module
    act: nn.Module


def relu_layers(model: nn.Module) -> list[ReluLayer]:
    """The (linear, ReLU) pairs of a model, in module order: a module with an `act` child that is an
    nn.ReLU and a linear child `linear` (MLP / sparse MLP layers) or `fc_in` (residual and
    transformer blocks), and, inside an nn.Sequential, a linear child followed directly by an nn.ReLU."""
    pairs: list[ReluLayer] = []
    for name, m in model.named_modules():
        prefix = f"{name}." if name else ""
        act = getattr(m, "act", None)
        if isinstance(act, nn.ReLU):
            for attr in ("linear", "fc_in"):
                lin = getattr(m, attr, None)
                if isinstance(lin, nn.Linear):
                    pairs.append(ReluLayer(prefix + attr, lin, act))
                    break
        if isinstance(m, nn.Sequential):
            children = list(m.named_children())
            for (a_name, a), (_, b) in zip(children, children[1:], strict=False):
                if isinstance(a, nn.Linear) and isinstance(b, nn.ReLU):
                    pairs.append(ReluLayer(prefix + a_name, a, b))
    return pairs


def _relu_outputs(model: nn.Module, X: torch.Tensor, layers: list[ReluLayer]) -> dict[str, torch.Tensor]:
    """Each ReLU layer's output for the batch X, as (samples, units) (positions count as samples)."""
    out: dict[str, torch.Tensor] = {}
    handles = []
    for layer in layers:
        def hook(_m: nn.Module, _inp: tuple, output: torch.Tensor, name: str = layer.name) -> None:
            out.setdefault(name, output.detach().reshape(-1, output.shape[-1]))

        handles.append(layer.act.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with FORWARD_GATE.shared(), torch.no_grad():
            model(X)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return out


def unit_dead_rates(model: nn.Module, X: torch.Tensor, atol: float = 0.0) -> dict[str, torch.Tensor]:
    """Per ReLU layer (keyed by the linear's name), each unit's dynamic dead rate: the fraction of the
    inputs X on which its ReLU output is <= atol."""
    layers = relu_layers(model)
    acts = _relu_outputs(model, X, layers)
    return {name: (a <= atol).to(torch.float64).mean(0).cpu() for name, a in acts.items()}


def relu_dead_rate(model_or_run: nn.Module | Run, X: torch.Tensor | None = None, atol: float = 0.0) -> dict[str, Any]:
    """The dynamic dead-neuron rate over probe inputs X (default: the Run's training inputs, at most
    4096): "dnr" = fraction of (input, unit) pairs whose ReLU output is <= atol, pooled over every ReLU
    layer (AP 2022's dynamic DNR; analysis.sparsity.dnr(acts, per="pair") of the pooled "layerN.post"
    taps), "layers" = {name: that fraction per layer}, "dead_units" = units at 0 on every input,
    "units" = ReLU units in all. "dnr" is nan for a model without ReLU layers."""
    model = model_or_run if isinstance(model_or_run, nn.Module) else model_or_run.model
    if X is None:
        if isinstance(model_or_run, nn.Module):
            raise ValueError("pass the probe inputs X (or a Run, whose training inputs are the default)")
        X = model_or_run.task.X_train[:EVAL_CAP]
    rates = unit_dead_rates(model, X, atol)
    units = sum(r.numel() for r in rates.values())
    pooled = sum(float(r.sum()) for r in rates.values())
    return {
        "dnr": pooled / units if units else math.nan,
        "layers": {name: float(r.mean()) for name, r in rates.items()},
        "dead_units": sum(int((r >= 1.0).sum()) for r in rates.values()),
        "units": units,
    }


def static_dead_units(model: nn.Module) -> int:
    """ReLU units with no active incoming weight (a zero row of W * mask): they output relu(bias)
    whatever the input (the static dead neurons of pruning)."""
    count = 0
    for layer in relu_layers(model):
        w = layer.linear.weight.detach()
        mask = getattr(layer.linear, "mask", None)
        eff = w * mask if mask is not None else w
        count += int((eff.reshape(eff.shape[0], -1) == 0).all(1).sum())
    return count


# --- AP: Activate-while-Pruning ---------------------------------------------------------------------


def most_dead_units(rates: dict[str, torch.Tensor], fraction: float, threshold: float = 0.5) -> dict[str, torch.Tensor]:
    """The ceil(fraction * units) units with the highest dead rate among those with rate >= threshold,
    pooled over layers (ties: earlier layer, lower index): {layer name: unit indices}."""
    names = list(rates)
    flat = torch.cat([rates[n].reshape(-1) for n in names]) if names else torch.zeros(0)
    k = math.ceil(fraction * flat.numel())
    order = torch.sort(-flat.to(torch.float64), stable=True).indices
    chosen = [int(i) for i in order[:k] if float(flat[i]) >= threshold]
    out, start = {}, 0
    for n in names:
        stop = start + rates[n].numel()
        out[n] = torch.tensor([i - start for i in chosen if start <= i < stop], dtype=torch.long)
        start = stop
    return out


@torch.no_grad()
def ap_prune(
    model: nn.Module,
    n: int,
    reference: dict[str, torch.Tensor],
    units: dict[str, torch.Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> dict[str, Any]:
    """AP's pruning step (Liu et al. 2022, as in the authors' code, github.com/Martin1937/Activate-
    While-Pruning): switch off the n active NEGATIVE weights that moved least over the last training
    phase, smallest |w - reference| first, where reference["<layer name>.weight"] is the layer's
    weight when that phase began (e.g. a copy of dict(model.named_parameters()) taken then). Removing a negative input weight raises the unit's pre-activation wherever that input is
    positive (always, after a ReLU or for nonnegative features), so the unit is silent less often.

    Candidates are the masked linears that feed a ReLU (`relu_layers`; the authors' code also looks
    at other layers, where a negative weight is no ReLU's business). `units` = {layer name: unit
    indices} restricts them further to those units' incoming weights (see `most_dead_units`; an
    addition of ours, not in the paper). At most as many as there are candidates are pruned.
    Returns {"pruned", "layers": {name: count}, "units": {name: indices of the units touched}}.
    """
    layers = [(r.name, r.linear) for r in relu_layers(model) if "mask" in dict(r.linear.named_buffers(recurse=False))]
    cands = []
    for name, m in layers:
        c = (m.mask != 0) & (m.weight < 0)
        if units is not None:
            rows = torch.zeros(c.shape[0], dtype=torch.bool, device=c.device)
            rows[units.get(name, torch.zeros(0, dtype=torch.long)).to(c.device)] = True
            c &= rows[:, None]
        cands.append(c)
    n = min(n, sum(int(c.sum()) for c in cands))
    scores = [(m.weight - reference[f"{name}.weight"].to(m.weight)).abs() for name, m in layers]
    picks = _smallest(scores, cands, n) if layers else []
    touched = {}
    for (name, m), p in zip(layers, picks, strict=True):
        _switch_off(m, p, optimizer)
        touched[name] = torch.unique(torch.div(p, m.weight.shape[1], rounding_mode="floor")).cpu()
    return {"pruned": n, "layers": {name: int(p.numel()) for (name, _), p in zip(layers, picks, strict=True)},
            "units": touched}


# --- iterative pruning -----------------------------------------------------------------------------


@dataclass
class PruneResult:
    """What `iterative_pruning` gives back: one record per round (round 0 = dense) and the final Run."""

    rounds: list[dict[str, Any]]
    run: Run
    settings: dict[str, Any] = field(default_factory=dict)

    def series(self, key: str) -> list[Any]:
        """One value per round of a record key (e.g. "sparsity", "dnr", "test_acc")."""
        return [r.get(key) for r in self.rounds]


def _params(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


@torch.no_grad()
def rewind(run: Run, state: dict[str, torch.Tensor]) -> None:
    """Set every parameter back to `state` (a `_params` copy), keep the masks (weights off them stay
    0), and drop the optimizer's state (Adam's moments restart, as for a fresh run)."""
    for name, p in run.model.named_parameters():
        p.copy_(state[name])
    run.apply_masks()
    run.optimizer.state.clear()


def _record(run: Run, r: int, probe: torch.Tensor, include_readout: bool, t0: float,
            measure: Callable[[Run], dict] | None, extra: dict[str, Any]) -> dict[str, Any]:
    metrics = run.evaluate()
    layers = pruning_layers(run.model, include_readout)
    active, total = _active_count(layers)
    dead = relu_dead_rate(run.model, probe)
    rec: dict[str, Any] = {
        "round": r,
        "step": run.step_count,
        "sparsity": 1.0 - active / total if total else 0.0,
        "edges": active,
        **{k: v for k, v in metrics.items() if k.startswith(("train_", "test_"))},
        "dnr": dead["dnr"],
        "dnr_layers": dead["layers"],
        "dead_units": dead["dead_units"],
        "static_dead_units": static_dead_units(run.model),
        "units": dead["units"],
        **extra,
        "seconds": time.perf_counter() - t0,
    }
    if measure is not None:
        rec.update(measure(run))
    return rec


def iterative_pruning(
    config: Config,
    rounds: int,
    fraction_per_round: float = 0.2,
    steps_per_round: int | None = None,
    mode: Mode = "finetune",
    scope: Scope = "global",
    include_readout: bool = True,
    rewind_step: int = 0,
    ap: bool = False,
    ap_rate: float = AP_RATE,
    ap_units: float | None = None,
    ap_threshold: float = 0.5,
    probe: torch.Tensor | None = None,
    measure: Callable[[Run], dict] | None = None,
    progress: Callable[[int, int], None] | None = None,
    task: Task | None = None,
) -> PruneResult:
    """Iterative magnitude pruning of a Run built from `config` (every plain linear masked, readout
    optional). Round 0 trains densely for config.steps; each round 1..`rounds` then prunes
    `fraction_per_round` of the active edges (`magnitude_prune`, `scope`) and retrains
    `steps_per_round` steps (default config.steps): mode "finetune" continues from the pruned weights
    (the optimizer state of pruned entries zeroed), mode "rewind" sets the survivors back to their
    values at step `rewind_step` of round 0 (0 = initialization: lottery tickets, Frankle & Carbin
    2019; k > 0: rewinding, Frankle et al. 2019), biases too, and restarts the optimizer.

    ap=True (AP, Liu et al. 2022): `ap_rate` of the active edges of each round's budget (2% of 20% by
    default, as in the authors' code) go to `ap_prune` instead of magnitude pruning: the negative
    weights of ReLU layers that moved least during the last training phase; the sparsity schedule is
    unchanged (with scope "global", a shortfall of AP candidates is made up by magnitude).
    ap_units=f restricts AP to the incoming weights of the ceil(f * units) most-dead ReLU units with
    dead rate >= ap_threshold on the probe (our addition).

    After each round a record: round, step, sparsity and edges (over the pruned layers), the Run's
    train_*/test_* metrics (test_acc, train_acc, losses), dnr (pooled dynamic DNR over the probe,
    `relu_dead_rate`), dnr_layers, dead_units, static_dead_units, units, pruned and ap_pruned (this
    round's), pruned_test_acc (right after pruning, before retraining; None at round 0), seconds
    (since the start), and whatever measure(run) returns. `probe` defaults to the training inputs
    (at most 4096). progress(round, rounds) is called after each round. Deterministic by config.seed.
    """
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    if mode not in ("finetune", "rewind"):
        raise ValueError(f'mode must be "finetune" or "rewind", got {mode!r}')
    if not 0.0 <= fraction_per_round <= 1.0:
        raise ValueError(f"fraction_per_round must be in [0, 1], got {fraction_per_round}")
    if ap and not 0.0 <= ap_rate <= fraction_per_round:
        raise ValueError(f"ap_rate must be in [0, fraction_per_round], got {ap_rate}")
    steps_per_round = config.steps if steps_per_round is None else steps_per_round
    if steps_per_round < 0 or not 0 <= rewind_step <= config.steps:
        raise ValueError("steps_per_round must be >= 0 and rewind_step within [0, config.steps]")
    t0 = time.perf_counter()
    run = Run(config, task=task)
    add_masks(run.model, include_readout)
    run.rescan_masks()
    if run.snapshots.enabled:  # the step-0 snapshot again, now with the mask buffers
        run.snapshots.record(0, run.model)
    probe = run.task.X_train[:EVAL_CAP] if probe is None else probe.to(run.device)
    phase_start = _params(run.model)  # the weights when the current training phase began (AP's reference)
    saved = phase_start
    if rewind_step:
        run.train(rewind_step)
        saved = _params(run.model)
    run.train(config.steps)
    records = [_record(run, 0, probe, include_readout, t0, measure,
                       {"pruned": 0, "ap_pruned": 0, "pruned_test_acc": None})]
    if progress:
        progress(0, rounds)
    for r in range(1, rounds + 1):
        layers = pruning_layers(run.model, include_readout)
        active, _ = _active_count(layers)
        n_ap = int(round(ap_rate * active)) if ap else 0
        opt = run.optimizer if mode == "finetune" else None
        if scope == "global":
            n_mag = int(round(fraction_per_round * active)) - n_ap
            pruned = magnitude_prune(run.model, 0.0, "global", include_readout, opt, count=n_mag)["pruned"]
        else:
            share = fraction_per_round - (ap_rate if ap else 0.0)
            pruned = magnitude_prune(run.model, share, "layer", include_readout, opt)["pruned"]
        ap_pruned = 0
        if n_ap:
            units = None
            if ap_units is not None:
                units = most_dead_units(unit_dead_rates(run.model, probe), ap_units, ap_threshold)
            ap_pruned = ap_prune(run.model, n_ap, phase_start, units, opt)["pruned"]
            if ap_pruned < n_ap and scope == "global":  # too few candidates: magnitude makes up the rest
                pruned += magnitude_prune(run.model, 0.0, "global", include_readout, opt, count=n_ap - ap_pruned)["pruned"]
        pruned_acc = run.evaluate().get("test_acc")
        if mode == "rewind":
            rewind(run, saved)
        phase_start = _params(run.model)
        run.train(run.step_count + steps_per_round)
        records.append(_record(run, r, probe, include_readout, t0, measure,
                               {"pruned": pruned + ap_pruned, "ap_pruned": ap_pruned, "pruned_test_acc": pruned_acc}))
        if progress:
            progress(r, rounds)
    settings = {"rounds": rounds, "fraction_per_round": fraction_per_round, "steps_per_round": steps_per_round,
                "mode": mode, "scope": scope, "include_readout": include_readout, "rewind_step": rewind_step,
                "ap": ap, "ap_rate": ap_rate, "ap_units": ap_units, "ap_threshold": ap_threshold}
    return PruneResult(records, run, settings)


