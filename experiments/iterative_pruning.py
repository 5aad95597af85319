"""Iterative magnitude pruning (IMP) of a Run's linear layers, round after round, with fine-tuning or
weight rewinding (lottery tickets, Frankle & Carbin 2019; rewinding to an early step k, Frankle et
al. 2019), and optionally AP (Liu et al. 2022, models/pruning.py) to lower the dynamic dead-neuron
rate. The loop the `pruning-dnr` experiment runs: it trains a Run densely (round 0), then prunes
and retrains, recording sparsity, accuracy and DNR (analysis/dead_units.py) after each round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from netarium.analysis.dead_units import relu_dead_rate, static_dead_count, unit_dead_rates
from netarium.models.masks import add_masks, edge_counts
from netarium.models.pruning import AP_RATE, Scope, ap_prune, magnitude_prune, most_dead_units
from netarium.training.run import EVAL_CAP, Run

if TYPE_CHECKING:
    from netarium.tasks import Task
    from netarium.training.config import Config

Mode = Literal["finetune", "rewind"]


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
    """A detached copy of every parameter by name (a phase's starting weights, a rewind point)."""
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
    active, total = edge_counts(run.model, include_readout)
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
        "static_dead_units": static_dead_count(run.model),
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
        active, _ = edge_counts(run.model, include_readout)
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


