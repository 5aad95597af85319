"""Sparsity experiments of PAPERS.md: `g2g-sparse`, `pruning-dnr`, `rnn-sparsity`, `n2n-compression`.
Runners train the nets; checks judge the numbers the Connectivity page shows."""

from __future__ import annotations

import time

import numpy as np

from netarium.experiments.base import (
    EXPERIMENTS,
    CheckResult,
    Experiment,
    Progress,
    Result,
    multi_result,
    scaled_progress,
    train_all,
)
from netarium.experiments.iterative_pruning import iterative_pruning
from netarium.experiments.n2n import n2n_search
from netarium.models.masks import sparsity
from netarium.models.pruning import magnitude_prune
from netarium.training.config import Config
from netarium.training.run import Run
from netarium.viz.sparsity_experiments import (
    accuracy_by_variant_figure,
    n2n_figure,
    pruning_rounds_figure,
    recovery_figure,
)

# ---- g2g-sparse -------------------------------------------------------------------------------------

G2G_SEEDS = (0, 1, 2)
G2G_VARIANTS: dict[str, tuple[str, list[str]]] = {
    # name: (label, overrides of the preset: G2G ensembles with SET rewiring)
    "dense": ("dense", ["model.connectivity=dense", "trainer.name=supervised"]),
    "static": ("static G2G", ["trainer.name=supervised"]),
    "dst": ("G2G + DST (random regrowth)", ["trainer.rule=random"]),
    "hebbian": ("G2G + Hebbian regrowth", ["trainer.rule=hebbian"]),
}
G2G_TOLERANCE = 0.01  # one accuracy point


def run_g2g(config: Config, progress: Progress | None = None) -> Result:
    """Each variant of G2G_VARIANTS on each seed of G2G_SEEDS (same data, inits and batches per seed)."""
    t0 = time.perf_counter()
    configs, keys = [], []
    for name, (_, overrides) in G2G_VARIANTS.items():
        for seed in G2G_SEEDS:
            configs.append(config.with_overrides([*overrides, f"seed={seed}"]))
            keys.append((name, seed))
    runs = train_all(configs, progress)
    extra: dict[str, float] = {}
    for (name, seed), run in zip(keys, runs, strict=True):
        extra[f"{name}_seed{seed}_test_acc"] = run.final_metrics()["test_acc"]
        extra[f"{name}_sparsity"] = sparsity(run.model)
    for name in G2G_VARIANTS:
        extra[f"{name}_test_acc"] = float(np.mean([extra[f"{name}_seed{s}_test_acc"] for s in G2G_SEEDS]))
    preset = keys.index(("dst", G2G_SEEDS[0]))  # the preset itself (G2G + DST) leads: its history is the result's
    return multi_result(config, [runs[preset], *runs[:preset], *runs[preset + 1:]], t0, extra)


def check_g2g(result: Result) -> CheckResult:
    """The sparse variants are about 75% sparse, and the best of them is within one point of the dense
    baseline or better (mean test accuracy over G2G_SEEDS)."""
    e = result.extra
    sparse = [n for n in G2G_VARIANTS if n != "dense"]
    best = max(sparse, key=lambda n: e[f"{n}_test_acc"])
    gap = e["dense_test_acc"] - e[f"{best}_test_acc"]
    sparse_enough = all(abs(e[f"{n}_sparsity"] - 0.75) <= 0.02 for n in sparse)
    close = gap <= G2G_TOLERANCE
    parts = ", ".join(f"{G2G_VARIANTS[n][0]} {e[f'{n}_test_acc']:.2%}" + (f" at {e[f'{n}_sparsity']:.0%} sparsity" if n != "dense" else "")
                      for n in G2G_VARIANTS)
    reason = (f"mean test accuracy over seeds {', '.join(map(str, G2G_SEEDS))}: {parts}; best sparse ({G2G_VARIANTS[best][0]}) is "
              f"{abs(gap) * 100:.2f} points {'below' if gap > 0 else 'above'} dense ({'within' if close else 'NOT within'} one point)"
              + ("" if sparse_enough else "; the sparse variants are NOT at 75% sparsity"))
    return CheckResult(close and sparse_enough, dict(e), reason)


def figure_g2g(result: Result):
    """Mean test accuracy per variant with each seed's as a dot."""
    e = result.extra
    acc = {G2G_VARIANTS[n][0]: [e[f"{n}_seed{s}_test_acc"] for s in G2G_SEEDS] for n in G2G_VARIANTS}
    return accuracy_by_variant_figure(acc, f"Digits, test accuracy over seeds {', '.join(map(str, G2G_SEEDS))}: dense vs 75% sparse")


G2G_SPARSE = EXPERIMENTS.register(Experiment(
    id="g2g-sparse",
    title="Ensemble-to-ensemble wiring at 75% sparsity",
    paper="Neuro-inspired ensemble-to-ensemble communication primitives (G2GNet, 2025)",
    look_for="Hidden layers split into 4 ensembles, each reading 1 ensemble of the layer below (75% of the connections "
             "gone): static, rewired by DST (random regrowth) or by the Hebbian rule, the sparse nets stay within a "
             "point of the dense one on digits (Connectivity page: block graph, rewiring, mask heatmaps).",
    config=Config(
        task={"name": "digits"},
        model={"name": "sparse-mlp", "hidden": [256, 256], "connectivity": "g2g", "groups": 4, "k": 1, "sparse_readout": True},
        optimizer={"name": "adam", "lr": 0.001},
        trainer={"name": "dst", "rule": "random", "every": 100, "fraction": 0.3},
        batch_size=64,
        steps=2000,
    ),
    check=check_g2g,
    page="sparsity",
    runner=run_g2g,
    figure=figure_g2g,
))


# ---- rnn-sparsity -------------------------------------------------------------------------------------

RNN_CELLS = ("rnn-tanh", "rnn-relu", "gru", "lstm")
RNN_LEVELS = (0.6, 0.8)  # recurrent sparsity reached by magnitude pruning, in turn
RNN_GRAPHS = {"watts-strogatz": ["model.recurrence=watts-strogatz", "model.ws_k=4", "model.ws_p=0.1"],
              "barabasi-albert": ["model.recurrence=barabasi-albert", "model.ba_m=2"]}
RNN_RETRAIN = 200  # steps of retraining after each pruning
RNN_TOLERANCE = 0.02  # two accuracy points


def _recurrent_sparsity(run: Run) -> float:
    """Sparsity of the recurrent weights (the rnn's only masked layer unless its readout got a mask)."""
    return sparsity(run.model, include_readout=False)


def run_rnn_sparsity(config: Config, progress: Progress | None = None) -> Result:
    """Each cell of RNN_CELLS trained densely, then its recurrent weights magnitude-pruned to each level of
    RNN_LEVELS in turn (accuracy right after pruning, then after RNN_RETRAIN steps); and the preset's cell
    with recurrent weights masked by each random graph of RNN_GRAPHS from the start."""
    t0 = time.perf_counter()
    cells = [config.with_overrides([f"model.cell={cell}"]) for cell in RNN_CELLS]
    graphs = [config.with_overrides(overrides) for overrides in RNN_GRAPHS.values()]
    total = sum(c.steps + RNN_RETRAIN * len(RNN_LEVELS) for c in cells) + sum(c.steps for c in graphs)
    done = 0
    extra: dict[str, float] = {}
    runs: list[Run] = []
    for cell, c in zip(RNN_CELLS, cells, strict=True):
        run = Run(c).train(progress=scaled_progress(progress, done, total))
        extra[f"{cell}_dense_acc"] = run.evaluate()["test_acc"]
        for level in RNN_LEVELS:
            current = _recurrent_sparsity(run)
            magnitude_prune(run.model, (level - current) / (1 - current), scope="layer", include_readout=False,
                            optimizer=run.optimizer)
            key = f"{cell}_p{round(level * 100)}"
            extra[f"{key}_sparsity"] = _recurrent_sparsity(run)
            extra[f"{key}_pruned_acc"] = run.evaluate()["test_acc"]
            run.step(RNN_RETRAIN)
            extra[f"{key}_retrained_acc"] = run.evaluate()["test_acc"]
        done += c.steps + RNN_RETRAIN * len(RNN_LEVELS)
        if progress:
            progress(done, total)
        runs.append(run)
    for name, c in zip(RNN_GRAPHS, graphs, strict=True):
        run = Run(c).train(progress=scaled_progress(progress, done, total))
        extra[f"{name}_acc"] = run.evaluate()["test_acc"]
        extra[f"{name}_sparsity"] = _recurrent_sparsity(run)
        done += c.steps
        runs.append(run)
    return multi_result(config, runs, t0, extra)


def check_rnn_sparsity(result: Result) -> CheckResult:
    """For every cell, the net pruned to 60% recurrent sparsity or more is back within two points of its
    dense accuracy after RNN_RETRAIN steps of retraining (deeper levels and graph masks are reported)."""
    e = result.extra
    level = round(RNN_LEVELS[0] * 100)
    ok = {cell: e[f"{cell}_p{level}_retrained_acc"] >= e[f"{cell}_dense_acc"] - RNN_TOLERANCE
          and e[f"{cell}_p{level}_sparsity"] >= RNN_LEVELS[0] - 1e-3 for cell in RNN_CELLS}
    parts = []
    for cell in RNN_CELLS:
        steps = ", ".join(f"{round(lv * 100)}%: {e[f'{cell}_p{round(lv * 100)}_pruned_acc']:.1%} → "
                          f"{e[f'{cell}_p{round(lv * 100)}_retrained_acc']:.1%}" for lv in RNN_LEVELS)
        parts.append(f"{cell} dense {e[f'{cell}_dense_acc']:.1%}, pruned → retrained {steps}"
                     + ("" if ok[cell] else " (NOT recovered at 60%)"))
    graphs = ", ".join(f"{name} ({e[f'{name}_sparsity']:.0%} sparse) {e[f'{name}_acc']:.1%}" for name in RNN_GRAPHS)
    reason = (f"test accuracy after {result.config.steps} dense steps, then right after pruning the recurrent weights → after "
              f"{RNN_RETRAIN} more steps: " + "; ".join(parts) + f"; {result.config.model.cell} trained from the start on "
              f"graph masks: {graphs}")
    return CheckResult(all(ok.values()), dict(e), reason)


def figure_rnn(result: Result):
    """Per cell: dense, right after each pruning level, and retrained; then the graph-masked nets."""
    e = result.extra
    stages: dict[str, dict[str, float]] = {}
    for cell in RNN_CELLS:
        row = {"dense": e[f"{cell}_dense_acc"]}
        for level in RNN_LEVELS:
            k = f"{cell}_p{round(level * 100)}"
            row[f"{level:.0%} pruned"] = e[f"{k}_pruned_acc"]
            row[f"{level:.0%} pruned, retrained"] = e[f"{k}_retrained_acc"]
        stages[cell] = row
    for name in RNN_GRAPHS:
        stages[f"{result.config.model.cell} on {name} ({e[f'{name}_sparsity']:.0%} sparse)"] = {"trained on the graph": e[f"{name}_acc"]}
    return recovery_figure(stages, "Reber strings: recurrent weights magnitude-pruned, then retrained "
                                   f"{RNN_RETRAIN} steps (the graph-wired nets: trained sparse from the start)")


RNN_SPARSITY = EXPERIMENTS.register(Experiment(
    id="rnn-sparsity",
    title="Recurrent nets survive losing most recurrent weights",
    paper="Investigating sparsity in recurrent neural networks (2024)",
    look_for="RNN-tanh, RNN-ReLU, GRU and LSTM telling Reber strings from corrupted ones: magnitude-prune 60% then 80% "
             "of the recurrent weights, retrain a little, and accuracy comes back; nets wired by Watts-Strogatz or "
             "Barabási-Albert graphs learn too (Connectivity page: recurrent graph, degree histograms).",
    config=Config(
        task={"name": "reber"},
        model={"name": "rnn", "cell": "gru", "hidden": 32},
        optimizer={"name": "adam", "lr": 0.003},
        trainer={"name": "supervised", "grad_clip": 1.0},
        batch_size=64,
        steps=1000,
    ),
    check=check_rnn_sparsity,
    page="sparsity",
    runner=run_rnn_sparsity,
    figure=figure_rnn,
))


# ---- pruning-dnr -------------------------------------------------------------------------------------

PRUNE_SEEDS = (0, 1, 2)
PRUNE_ROUNDS = 8
PRUNE_STEPS_PER_ROUND = 150
SPEARMAN_BOUND = -0.7


def _spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def run_pruning_dnr(config: Config, progress: Progress | None = None) -> Result:
    """Iterative global magnitude pruning (20% of the remaining edges per round, PRUNE_ROUNDS rounds,
    rewinding the survivors to their initial values: lottery tickets) on each seed of PRUNE_SEEDS,
    without and with AP; the dynamic DNR and the accuracies after every round."""
    t0 = time.perf_counter()
    jobs = [(seed, ap) for seed in PRUNE_SEEDS for ap in (False, True)]
    extra: dict[str, float] = {}
    runs: list[Run] = []
    for j, (seed, ap) in enumerate(jobs):
        def step(done: int, total: int, j: int = j) -> None:
            if progress:
                progress(j * (PRUNE_ROUNDS + 1) + done, len(jobs) * (PRUNE_ROUNDS + 1))

        res = iterative_pruning(config.with_overrides([f"seed={seed}"]), PRUNE_ROUNDS, 0.2, PRUNE_STEPS_PER_ROUND,
                                mode="rewind", scope="global", ap=ap, progress=step)
        tag = f"{'ap' if ap else 'imp'}_seed{seed}"
        for r in res.rounds:
            extra[f"{tag}_r{r['round']}_sparsity"] = r["sparsity"]
            extra[f"{tag}_r{r['round']}_dnr"] = r["dnr"]
            extra[f"{tag}_r{r['round']}_test_acc"] = r["test_acc"]
        extra[f"{tag}_spearman"] = _spearman(res.series("sparsity"), res.series("dnr"))
        runs.append(res.run)
    for tag in ("imp", "ap"):
        extra[f"{tag}_spearman_mean"] = float(np.mean([extra[f"{tag}_seed{s}_spearman"] for s in PRUNE_SEEDS]))
        for key in ("dnr", "test_acc", "sparsity"):
            for r in (0, PRUNE_ROUNDS):
                extra[f"{tag}_r{r}_{key}_mean"] = float(np.mean([extra[f"{tag}_seed{s}_r{r}_{key}"] for s in PRUNE_SEEDS]))
    return multi_result(config, runs, t0, extra)


def check_pruning_dnr(result: Result) -> CheckResult:
    """Dynamic DNR falls as sparsity grows: Spearman(sparsity, DNR) over the rounds <= -0.7, mean over
    PRUNE_SEEDS, for magnitude pruning alone. AP's effect on DNR and accuracy is reported, not judged."""
    e = result.extra
    falls = e["imp_spearman_mean"] <= SPEARMAN_BOUND
    last = PRUNE_ROUNDS
    per_seed = ", ".join(f"{e[f'imp_seed{s}_spearman']:+.2f}" for s in PRUNE_SEEDS)
    reason = (f"magnitude pruning with rewinding to init, {PRUNE_ROUNDS} rounds of 20% to {e[f'imp_r{last}_sparsity_mean']:.0%} "
              f"sparsity: DNR {e['imp_r0_dnr_mean']:.3f} → {e[f'imp_r{last}_dnr_mean']:.3f}, Spearman(sparsity, DNR) "
              f"{per_seed} (mean {e['imp_spearman_mean']:+.2f}, {'<=' if falls else 'NOT <='} {SPEARMAN_BOUND}), test accuracy "
              f"{e['imp_r0_test_acc_mean']:.1%} → {e[f'imp_r{last}_test_acc_mean']:.1%}; with AP: DNR → "
              f"{e[f'ap_r{last}_dnr_mean']:.3f} (Spearman {e['ap_spearman_mean']:+.2f}), test accuracy → "
              f"{e[f'ap_r{last}_test_acc_mean']:.1%} ({(e[f'ap_r{last}_test_acc_mean'] - e[f'imp_r{last}_test_acc_mean']) * 100:+.1f} "
              f"points against pruning alone; the paper reports +3-4)")
    return CheckResult(falls, dict(e), reason)


def figure_pruning(result: Result):
    """DNR and accuracy against sparsity, round by round, per seed, without (solid) and with AP (dashed)."""
    e = result.extra
    series = {}
    for seed in PRUNE_SEEDS:
        for tag, label in (("imp", f"seed {seed}"), ("ap", f"seed {seed} + AP")):
            rounds = range(PRUNE_ROUNDS + 1)
            series[label] = {key: [e[f"{tag}_seed{seed}_r{r}_{key}"] for r in rounds] for key in ("sparsity", "dnr", "test_acc")}
    return pruning_rounds_figure(series, f"{PRUNE_ROUNDS} rounds of 20% magnitude pruning, rewound to init each round")


PRUNING_DNR = EXPERIMENTS.register(Experiment(
    id="pruning-dnr",
    title="The more a network is pruned, the fewer of its ReLUs are dead",
    paper="Liu et al., AP: Selective activation for de-sparsifying pruned neural networks (2022)",
    look_for="Prune 20% of the smallest weights per round (rewinding the rest to their initial values) to 83% sparsity: "
             "the dynamic dead-neuron rate (inactive (input, ReLU) pairs) falls round after round; AP, which also prunes "
             "negative weights that barely moved, lowers it further (Connectivity page: DNR vs sparsity).",
    config=Config(
        task={"name": "digits"},
        model={"name": "mlp", "hidden": [128, 128], "activation": "relu"},
        optimizer={"name": "adam", "lr": 0.001},
        batch_size=128,
        steps=300,
    ),
    check=check_pruning_dnr,
    page="sparsity",
    runner=run_pruning_dnr,
    figure=figure_pruning,
))


# ---- n2n-compression ---------------------------------------------------------------------------------

N2N_RATIO, N2N_ACC = 3.0, 0.95
N2N_ROLLOUTS = (20, 20)  # stage 1 (remove layers), stage 2 (shrink widths)
N2N_STUDENT_STEPS = 300


def run_n2n(config: Config, progress: Progress | None = None) -> Result:
    """Train the teacher MLP, then N2N: layer-removal rollouts, then width-shrinking rollouts on the
    best stage-1 architecture, each student distilled from the teacher."""
    t0 = time.perf_counter()
    total = config.steps + sum(N2N_ROLLOUTS)
    (teacher,) = train_all([config], scaled_progress(progress, 0, total))
    res = n2n_search(teacher, *N2N_ROLLOUTS, student_steps=N2N_STUDENT_STEPS, seed=config.seed,
                     progress=scaled_progress(progress, config.steps, total))
    rollouts = res.rollouts
    meets = [r for r in rollouts if r["ratio"] >= N2N_RATIO and r["acc"] >= N2N_ACC * res.teacher_acc]
    extra: dict[str, float] = {
        "teacher_params": float(res.teacher_params), "teacher_acc": res.teacher_acc, "teacher_layers": float(len(res.teacher_widths)),
        "best_params": float(res.best.params), "best_acc": res.best.acc, "best_ratio": res.best.ratio,
        "best_reward": res.best.reward, "best_layers": float(len(res.best.widths)),
        "stage1_best_layers": float(len(res.stage1_best.widths)),
        "mean_keep_prob": float(np.mean(res.keep_probs)) if res.keep_probs else float("nan"),
        "stage1_mean_reward": float(np.mean([r["reward"] for r in rollouts if r["stage"] == 1])),
        "stage2_mean_reward": float(np.mean([r["reward"] for r in rollouts if r["stage"] == 2])),
        "rollouts": float(len(rollouts)), "students_trained": float(res.students_trained),
        "rollouts_meeting_bar": float(len(meets)),
    }
    for i, w in enumerate(res.best.widths):
        extra[f"best_width{i + 1}"] = float(w)
    result = multi_result(config, [teacher], t0, extra)
    result.extra["n2n"] = res.summary()
    return result


def check_n2n(result: Result) -> CheckResult:
    """The best student is at least 3x smaller (parameters) than the teacher and keeps at least 95% of
    its test accuracy; how many rollouts cleared that bar and where the policy moved are reported."""
    e = result.extra
    small = e["best_ratio"] >= N2N_RATIO
    good = e["best_acc"] >= N2N_ACC * e["teacher_acc"]
    widths = [int(e[f"best_width{i + 1}"]) for i in range(int(e["best_layers"]))]
    reason = (f"teacher {int(e['teacher_layers'])} hidden layers, {int(e['teacher_params']):,} parameters, {e['teacher_acc']:.1%}; "
              f"best student hidden widths {widths}: {int(e['best_params']):,} parameters = {e['best_ratio']:.1f}x smaller "
              f"({'>=' if small else 'NOT >='} {N2N_RATIO:g}x), {e['best_acc']:.1%} = {e['best_acc'] / e['teacher_acc']:.1%} of the "
              f"teacher ({'>=' if good else 'NOT >='} {N2N_ACC:.0%}); mean reward stage 1 {e['stage1_mean_reward']:.2f}, stage 2 "
              f"{e['stage2_mean_reward']:.2f}; final p(keep layer) {e['mean_keep_prob']:.2f} on average (from 0.5); "
              f"{int(e['rollouts_meeting_bar'])} of {int(e['rollouts'])} rollouts cleared the bar ({int(e['students_trained'])} "
              "students trained, the rest cached)")
    return CheckResult(small and good, {k: v for k, v in e.items() if isinstance(v, float)}, reason)


def figure_n2n(result: Result):
    """Reward per rollout by stage, and every student's size against its accuracy with the target region."""
    summary = result.extra["n2n"]
    teacher = summary["teacher"]
    return n2n_figure(summary["rollouts"], teacher["params"], teacher["acc"], N2N_RATIO, N2N_ACC,
                      f"N2N on a {len(teacher['widths'])}-layer teacher: {len(summary['rollouts'])} rollouts")


N2N_COMPRESSION = EXPERIMENTS.register(Experiment(
    id="n2n-compression",
    title="A policy learns to compress a network",
    paper="Ashok, Rhinehart, Beainy & Kitani, N2N learning: network to network compression via policy gradient (2017)",
    look_for="A 6-layer MLP teacher on digits; a policy removes layers, then shrinks the rest, each student distilled from "
             "the teacher and rewarded C(2 - C) · acc_student / acc_teacher: the best student is several times smaller "
             "at nearly the teacher's accuracy.",
    config=Config(
        task={"name": "digits"},
        model={"name": "mlp", "hidden": [128] * 6, "activation": "relu"},
        optimizer={"name": "adam", "lr": 0.001},
        batch_size=64,
        steps=1000,
    ),
    check=check_n2n,
    page="sparsity",
    runner=run_n2n,
    figure=figure_n2n,
))
