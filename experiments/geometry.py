"""Representational geometry experiments of PAPERS.md: `geometry-tanh-relu`, `convergent-learning`,
`degeneracy`. Each trains several nets (one runner) and judges numbers the geometry views also show."""

from __future__ import annotations

import itertools
import time

import numpy as np

from netarium.analysis import geometry as geo
from netarium.analysis.degeneracy import degeneracy_report, interaction_sparsity, plant_redundancy
from netarium.analysis.representation import cka_across, match_layers, probe_set, representations
from netarium.experiments.base import (
    EXPERIMENTS,
    CheckResult,
    Experiment,
    Progress,
    Result,
    multi_result,
    train_all,
)
from netarium.models.taps import hidden_taps
from netarium.tasks import make_task
from netarium.training.config import Config
from netarium.training.run import Run

# ---- geometry-tanh-relu ---------------------------------------------------------------------------

TANH_RELU_SEEDS = 10


def hidden_alignment(run: Run) -> dict[str, float]:
    """Linear CKA of the (first) hidden layer with the input and with the labels, on the test set;
    with conditions, also the hidden layer's CCGP and parallelism score for the label dichotomy."""
    probe = probe_set(run.task, n=10_000)
    tap = hidden_taps(run.model)[0]
    reps = representations(run.model, probe, ["in", tap])
    out = geo.alignment(reps[tap], reps["in"], probe.y, probe.n_classes)
    if probe.conditions is not None and probe.condition_targets is not None:
        out["ccgp"] = geo.ccgp(reps[tap], probe.conditions, probe.condition_targets)
        out["parallelism"] = geo.parallelism_score(reps[tap], probe.conditions, probe.condition_targets)
    return out


def run_tanh_relu(config: Config, progress: Progress | None = None) -> Result:
    """tanh and ReLU nets (the config's model with each activation) over TANH_RELU_SEEDS seeds each,
    on the same task; mean hidden-input and hidden-label alignment per activation."""
    t0 = time.perf_counter()
    configs = [config.with_overrides([f"model.activation={act}", f"seed={config.seed + s}"])
               for act in ("tanh", "relu") for s in range(TANH_RELU_SEEDS)]
    task = make_task(config.task.name, config.task, seed=config.task_seed)
    runs = train_all(configs, progress, task=task)
    extra: dict[str, float] = {}
    for k, act in enumerate(("tanh", "relu")):
        al = [hidden_alignment(r) for r in runs[k * TANH_RELU_SEEDS : (k + 1) * TANH_RELU_SEEDS]]
        for key in [k for k in ("input", "labels", "ccgp", "parallelism") if k in al[0]]:
            values = np.array([a[key] for a in al])
            extra[f"{act}_{key}"] = float(values.mean())
            extra[f"{act}_{key}_sem"] = float(values.std(ddof=1) / np.sqrt(len(values)))
        extra[f"{act}_test_acc"] = float(np.mean([r.final_metrics().get("test_acc", np.nan) for r in
                                                 runs[k * TANH_RELU_SEEDS : (k + 1) * TANH_RELU_SEEDS]]))
    return multi_result(config, runs, t0, extra)


def check_tanh_relu(result: Result) -> CheckResult:
    """tanh's hidden layer aligns more with the labels than ReLU's; ReLU's more with the input."""
    e = result.extra
    label_ok = e["tanh_labels"] > e["relu_labels"]
    input_ok = e["relu_input"] > e["tanh_input"]
    numbers = dict(e)
    reason = (f"hidden-label alignment tanh {e['tanh_labels']:.3f} vs ReLU {e['relu_labels']:.3f} "
              f"({'tanh higher' if label_ok else 'tanh NOT higher'}); hidden-input alignment ReLU {e['relu_input']:.3f} "
              f"vs tanh {e['tanh_input']:.3f} ({'ReLU higher' if input_ok else 'ReLU NOT higher'}); "
              + (f"CCGP tanh {e['tanh_ccgp']:.2f} / ReLU {e['relu_ccgp']:.2f}, parallelism tanh {e['tanh_parallelism']:.2f} / "
                 f"ReLU {e['relu_parallelism']:.2f}; " if "tanh_ccgp" in e else "")
              + f"means over {TANH_RELU_SEEDS} seeds")
    return CheckResult(label_ok and input_ok, numbers, reason)


# ---- convergent-learning ----------------------------------------------------------------------------

CONVERGENT_NETS = 3


def run_convergent(config: Config, progress: Progress | None = None) -> Result:
    """CONVERGENT_NETS nets of one config with different seeds on the same data; for every pair,
    unit matching per hidden layer against the shuffled baseline, and linear CKA layer × layer."""
    t0 = time.perf_counter()
    task = make_task(config.task.name, config.task, seed=config.task_seed)
    runs = train_all([config.with_overrides([f"seed={config.seed + i}"]) for i in range(CONVERGENT_NETS)], progress, task=task)
    probe = probe_set(runs[0].task, n=10_000)
    extra: dict[str, float] = {}
    gains: dict[str, list[float]] = {}
    matched: dict[str, list[float]] = {}
    baseline: dict[str, list[float]] = {}
    diag, off = [], []
    for a, b in itertools.combinations(range(len(runs)), 2):
        for layer, m in match_layers(runs[a].model, runs[b].model, probe, seed=a * 10 + b).items():
            gains.setdefault(layer, []).append(m.mean_gain)
            matched.setdefault(layer, []).append(float(m.hungarian.correlations.mean()))
            baseline.setdefault(layer, []).append(float(m.baseline.mean()))
        cka = cka_across(runs[a].model, runs[b].model, probe).matrix
        hidden = slice(1, cka.shape[0] - 1)  # the hidden layers (input and logits trivially match)
        h = cka[hidden, hidden]
        diag.append(float(np.diag(h).mean()))
        off.append(float(h[~np.eye(len(h), dtype=bool)].mean()) if len(h) > 1 else float("nan"))
    for layer in gains:
        key = layer.replace(" ", "")
        extra[f"{key}_matched"] = float(np.mean(matched[layer]))
        extra[f"{key}_baseline"] = float(np.mean(baseline[layer]))
        extra[f"{key}_min_gain"] = float(np.min(gains[layer]))
    extra["cka_diagonal"] = float(np.mean(diag))
    extra["cka_off_diagonal"] = float(np.nanmean(off))
    extra["cka_min_margin"] = float(np.nanmin(np.array(diag) - np.array(off)))
    return multi_result(config, runs, t0, extra)


def check_convergent(result: Result) -> CheckResult:
    """Matched correlation above the shuffled baseline in every layer and every pair; cross-net CKA
    higher on the diagonal (same layer) than off it, for every pair."""
    e = result.extra
    layers = sorted(k[: -len("_min_gain")] for k in e if k.endswith("_min_gain"))
    match_ok = all(e[f"{layer}_min_gain"] > 0 for layer in layers)
    cka_ok = e["cka_min_margin"] > 0
    parts = ", ".join(f"{layer} {e[f'{layer}_matched']:.2f} vs {e[f'{layer}_baseline']:.2f}" for layer in layers)
    reason = (f"matched-unit correlation vs shuffled baseline: {parts} ({'above in every layer and pair' if match_ok else 'NOT above everywhere'}); "
              f"cross-net CKA diagonal {e['cka_diagonal']:.3f} vs off-diagonal {e['cka_off_diagonal']:.3f} "
              f"({'higher for every pair' if cka_ok else 'NOT higher for every pair'})")
    return CheckResult(match_ok and cka_ok, dict(e), reason)


# ---- degeneracy -------------------------------------------------------------------------------------

PLANT_LAYER = 0  # the hidden layer (0-based) the redundancy is planted in


def plant_sites(layer, acts: np.ndarray) -> tuple[int, int, int]:
    """(unit to kill, unit to overwrite with a copy, the copied source): live units that are in no
    degenerate group already, the source the most variable of them (so the copy is not a constant)."""
    busy = set(layer.dead) | {u for g in (*layer.duplicates, *layer.cofiring) for u in g}
    free = [u for u in np.argsort(-acts.var(0)) if int(u) not in busy]
    if len(free) < 3:
        raise ValueError(f"{layer.tap}: fewer than 3 live, non-degenerate units to plant in")
    source, dead, copy = (int(u) for u in free[:3])
    return dead, copy, source


def run_degeneracy(config: Config, progress: Progress | None = None) -> Result:
    """Train one ReLU net, then plant a dead unit and a duplicated unit in copies of it and look for
    them with the degeneracy report; effective rank and interaction sparsity per layer besides."""
    t0 = time.perf_counter()
    (run,) = train_all([config], progress)
    x = probe_set(run.task, n=10_000).x
    extra: dict[str, float] = {}
    base = degeneracy_report(run.model, x)
    for layer in base:
        key = layer.tap.split(".")[0]
        extra[f"{key}_effective_rank"] = layer.effective_rank
        extra[f"{key}_units"] = float(layer.n_units)
        extra[f"{key}_dead"] = float(len(layer.dead))
        extra[f"{key}_redundant"] = float(layer.redundant_units)
    taps = [layer.tap for layer in base]
    for a, b in zip(taps, taps[1:], strict=False):
        s = interaction_sparsity(run.model, x, a, b)
        extra[f"gini_{a.split('.')[0]}_to_{b.split('.')[0]}_standard"] = s["standard"]
        extra[f"gini_{a.split('.')[0]}_to_{b.split('.')[0]}_interaction"] = s["interaction"]
    tap = taps[PLANT_LAYER]
    dead_unit, copy_unit, source = plant_sites(base[PLANT_LAYER], representations(run.model, probe_set(run.task, n=10_000), [tap])[tap])
    dead = degeneracy_report(plant_redundancy(run.model, "dead", PLANT_LAYER, unit=dead_unit), x, [tap])[0]
    dup = degeneracy_report(plant_redundancy(run.model, "duplicate", PLANT_LAYER, unit=copy_unit, source=source), x, [tap])[0]
    extra.update({"planted_dead_unit": float(dead_unit), "planted_copy_unit": float(copy_unit), "planted_copy_source": float(source)})
    extra["planted_dead_found"] = float(dead_unit in dead.dead)
    extra["planted_duplicate_found"] = float(any({copy_unit, source} <= set(g) for g in dup.duplicates))
    extra["effective_rank_before"] = base[PLANT_LAYER].effective_rank
    extra["effective_rank_with_dead"] = dead.effective_rank
    extra["effective_rank_with_duplicate"] = dup.effective_rank
    extra["redundant_before"] = float(base[PLANT_LAYER].redundant_units)
    extra["redundant_with_dead"] = float(dead.redundant_units)
    extra["redundant_with_duplicate"] = float(dup.redundant_units)
    return multi_result(config, [run], t0, extra)


def check_degeneracy(result: Result) -> CheckResult:
    """The planted dead unit and the planted duplicate are both found, and each adds one redundant unit."""
    e = result.extra
    found = e["planted_dead_found"] == 1 and e["planted_duplicate_found"] == 1
    counted = e["redundant_with_dead"] >= e["redundant_before"] + 1 and e["redundant_with_duplicate"] >= e["redundant_before"] + 1
    reason = (f"planted dead unit {e['planted_dead_unit']:.0f} {'found' if e['planted_dead_found'] else 'MISSED'}, planted copy "
              f"of unit {e['planted_copy_source']:.0f} in unit {e['planted_copy_unit']:.0f} "
              f"{'found' if e['planted_duplicate_found'] else 'MISSED'} in layer {PLANT_LAYER + 1}; redundant units "
              f"{e['redundant_before']:.0f} -> {e['redundant_with_dead']:.0f} (dead), {e['redundant_with_duplicate']:.0f} "
              f"(duplicate); effective rank {e['effective_rank_before']:.2f} -> {e['effective_rank_with_dead']:.2f}, "
              f"{e['effective_rank_with_duplicate']:.2f}")
    return CheckResult(found and counted, dict(e), reason)


GEOMETRY_TANH_RELU = EXPERIMENTS.register(Experiment(
    id="geometry-tanh-relu",
    title="tanh follows the task, ReLU keeps the input",
    paper="Alleman, Lindsey & Fusi, Task structure and nonlinearity jointly determine learned representational geometry (ICLR 2024)",
    look_for="Conditions at the corners of a cube, labelled by one cube axis. After training, tanh's hidden layer "
             "aligns more with the labels and ReLU's more with the input (CKA, mean of 10 seeds each). On the Geometry "
             "page: the embedding collapses onto the label for tanh, keeps the cube's corners for ReLU.",
    config=Config(
        task={"name": "cube", "labels": "aligned", "noise": 0.1},
        model={"name": "mlp", "hidden": [100], "activation": ["tanh"]},
        optimizer={"name": "adam", "lr": 0.003},
        steps=200,
    ),
    check=check_tanh_relu,
    page="geometry",
    runner=run_tanh_relu,
))

CONVERGENT_LEARNING = EXPERIMENTS.register(Experiment(
    id="convergent-learning",
    title="Different seeds, similar representations",
    paper="Li, Yosinski, Clune, Lipson & Hopcroft, Convergent learning (2015); CKA: Kornblith et al. (2019)",
    look_for="Three MLPs on the digits from different seeds: hidden units match across nets far above a shuffled "
             "baseline, and cross-net CKA is highest along the diagonal (the same layer).",
    config=Config(
        task={"name": "digits"},
        model={"name": "mlp", "hidden": [64, 64], "activation": ["relu"]},
        optimizer={"name": "adam", "lr": 0.003},
        batch_size=64,
        steps=1500,
    ),
    check=check_convergent,
    page="geometry",
    runner=run_convergent,
))

DEGENERACY = EXPERIMENTS.register(Experiment(
    id="degeneracy",
    title="Finding degenerate units",
    paper="Bushnaq et al., Using degeneracy in the loss landscape for mechanistic interpretability (2024)",
    look_for="A ReLU MLP on the digits: a unit planted dead and a unit planted as a copy of another are found; "
             "effective rank per layer, and interactions sparser in the interaction basis than between neurons.",
    config=Config(
        task={"name": "digits"},
        model={"name": "mlp", "hidden": [32, 32], "activation": ["relu"]},
        optimizer={"name": "adam", "lr": 0.003},
        batch_size=64,
        steps=1500,
    ),
    check=check_degeneracy,
    page="geometry",
    runner=run_degeneracy,
))
