"""The sparsity experiments: each preset shows its phenomenon, and each check fails on numbers that
contradict it."""

import pytest

from netarium.experiments import EXPERIMENTS, Result
from netarium.experiments.sparsity import (
    G2G_SEEDS,
    G2G_VARIANTS,
    PRUNE_ROUNDS,
    PRUNE_SEEDS,
    RNN_CELLS,
    RNN_GRAPHS,
    check_g2g,
    check_n2n,
    check_pruning_dnr,
    check_rnn_sparsity,
)
from netarium.models import parameter_count
from netarium.models.masks import masked_modules
from netarium.training import Config
from netarium.training.history import History


def with_extra(extra: dict) -> Result:
    return Result(Config(), {}, History(), steps=1, seconds=0.0, extra=extra)


def test_g2g_preset_is_within_a_point_of_dense_at_75_percent_sparsity():
    exp = EXPERIMENTS.get("g2g-sparse")
    assert exp.page == "sparsity"
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert len(result.runs) == len(G2G_VARIANTS) * len(G2G_SEEDS)
    lead = result.runs[0]
    assert lead.config.trainer.name == "dst" and lead.config.seed == G2G_SEEDS[0]
    assert lead.trainer.log is not None and len(lead.trainer.log.steps()) == 14  # every 100 steps below 1500
    assert e["dense_sparsity"] == 0.0
    for name in ("static", "dst", "hebbian"):
        assert e[f"{name}_sparsity"] == pytest.approx(0.75, abs=0.01)
    # the hidden-to-hidden layer: 4 ensembles of 64, each reading one ensemble
    hidden = dict(masked_modules(lead.model))["layers.1.linear"]
    assert int(hidden.mask.sum()) == 4 * 64 * 64
    for name in G2G_VARIANTS:
        assert e[f"{name}_test_acc"] == pytest.approx(sum(e[f"{name}_seed{s}_test_acc"] for s in G2G_SEEDS) / len(G2G_SEEDS))
    means = exp.figure(result).data[0]
    assert list(means.y) == pytest.approx([e[f"{n}_test_acc"] for n in G2G_VARIANTS])


def test_g2g_check_needs_the_best_sparse_within_a_point_and_the_sparsity():
    e = {"dense_test_acc": 0.98, "static_test_acc": 0.95, "dst_test_acc": 0.965, "hebbian_test_acc": 0.96,
         "dense_sparsity": 0.0, "static_sparsity": 0.75, "dst_sparsity": 0.75, "hebbian_sparsity": 0.75}
    c = check_g2g(with_extra(e))
    assert not c.passed and "1.50 points below dense (NOT within one point)" in c.reason
    e["hebbian_test_acc"] = 0.985
    c = check_g2g(with_extra(e))
    assert c.passed and "best sparse (G2G + Hebbian regrowth) is 0.50 points above dense" in c.reason
    e["dst_sparsity"] = 0.5
    c = check_g2g(with_extra(e))
    assert not c.passed and "NOT at 75% sparsity" in c.reason


def test_rnn_sparsity_preset_recovers_after_pruning_60_and_80_percent():
    exp = EXPERIMENTS.get("rnn-sparsity")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert [r.config.model.cell for r in result.runs[:len(RNN_CELLS)]] == list(RNN_CELLS)
    for cell, run in zip(RNN_CELLS, result.runs, strict=False):
        (rnn,) = [m for _, m in masked_modules(run.model)]
        assert float(rnn.mask.mean()) == pytest.approx(0.2, abs=0.01)  # the last level, 80% pruned, stayed pruned
        assert float((rnn.weight.detach() * (1 - rnn.mask)).abs().sum()) == 0.0
        assert e[f"{cell}_p60_sparsity"] == pytest.approx(0.6, abs=0.01)
        assert e[f"{cell}_p60_pruned_acc"] < e[f"{cell}_p60_retrained_acc"]  # pruning hurt, retraining healed
    for name in RNN_GRAPHS:
        assert 0.7 < e[f"{name}_sparsity"] < 0.95 and e[f"{name}_acc"] > 0.9
    bars = {t.name: list(t.y) for t in exp.figure(result).data}
    assert bars["dense"][:len(RNN_CELLS)] == [e[f"{c}_dense_acc"] for c in RNN_CELLS]
    assert bars["60% pruned, retrained"][:len(RNN_CELLS)] == [e[f"{c}_p60_retrained_acc"] for c in RNN_CELLS]


def test_rnn_check_wants_every_cell_back_within_two_points_at_60_percent():
    e = {}
    for cell in RNN_CELLS:
        e |= {f"{cell}_dense_acc": 0.99, f"{cell}_p60_sparsity": 0.6, f"{cell}_p60_pruned_acc": 0.7,
              f"{cell}_p60_retrained_acc": 0.98, f"{cell}_p80_sparsity": 0.8, f"{cell}_p80_pruned_acc": 0.6,
              f"{cell}_p80_retrained_acc": 0.9}
    for name in RNN_GRAPHS:
        e |= {f"{name}_acc": 0.95, f"{name}_sparsity": 0.84}
    result = Result(Config(model={"name": "rnn"}, task={"name": "reber"}), {}, History(), steps=1, seconds=0.0, extra=e)
    assert check_rnn_sparsity(result).passed
    e["lstm_p60_retrained_acc"] = 0.96
    c = check_rnn_sparsity(result)
    assert not c.passed and "lstm dense 99.0%, pruned → retrained 60%: 70.0% → 96.0%, 80%: 60.0% → 90.0% (NOT recovered" in c.reason


def test_pruning_dnr_preset_dnr_falls_with_sparsity():
    exp = EXPERIMENTS.get("pruning-dnr")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    assert len(result.runs) == 2 * len(PRUNE_SEEDS)
    for tag in ("imp", "ap"):
        for s in PRUNE_SEEDS:
            sparsities = [e[f"{tag}_seed{s}_r{r}_sparsity"] for r in range(PRUNE_ROUNDS + 1)]
            assert sparsities == pytest.approx([1 - 0.8**r for r in range(PRUNE_ROUNDS + 1)], abs=1e-3)
    assert e[f"imp_r{PRUNE_ROUNDS}_dnr_mean"] < e["imp_r0_dnr_mean"]
    assert e["imp_r0_dnr_mean"] == e["ap_r0_dnr_mean"]  # round 0 is the same dense net
    lines = {(t.name, t.xaxis): list(t.y) for t in exp.figure(result).data}
    assert lines[("seed 0", "x")] == [e[f"imp_seed0_r{r}_dnr"] for r in range(PRUNE_ROUNDS + 1)]


def test_pruning_check_needs_a_falling_dnr():
    e = {f"imp_seed{s}_spearman": -0.5 for s in PRUNE_SEEDS} | {"imp_spearman_mean": -0.5, "ap_spearman_mean": -0.9}
    for tag in ("imp", "ap"):
        for r in (0, PRUNE_ROUNDS):
            e |= {f"{tag}_r{r}_dnr_mean": 0.2 - r / 100, f"{tag}_r{r}_test_acc_mean": 0.97, f"{tag}_r{r}_sparsity_mean": 1 - 0.8**r}
    c = check_pruning_dnr(with_extra(e))
    assert not c.passed and "(mean -0.50, NOT <= -0.7)" in c.reason
    e["imp_spearman_mean"] = -0.8
    assert check_pruning_dnr(with_extra(e)).passed


def test_n2n_preset_finds_a_small_accurate_student():
    exp = EXPERIMENTS.get("n2n-compression")
    result = exp.run()
    check = exp.check(result)
    assert check.passed, check.reason
    e = result.extra
    teacher = result.runs[0]
    assert e["teacher_params"] == parameter_count(teacher.model) and e["teacher_layers"] == 6
    summary = e["n2n"]
    best = summary["best"]
    assert best["ratio"] == pytest.approx(e["teacher_params"] / best["params"])
    assert best["reward"] == max(r["reward"] for r in summary["rollouts"])
    assert len(summary["rollouts"]) == e["rollouts"] == 40
    fig = exp.figure(result)
    assert sum(len(t.x) for t in fig.data if t.xaxis == "x") == 40  # one reward dot per rollout


def test_n2n_check_wants_three_times_smaller_and_95_percent():
    e = {"teacher_params": 92170.0, "teacher_acc": 0.98, "teacher_layers": 6.0, "best_params": 40000.0, "best_acc": 0.97,
         "best_ratio": 92170 / 40000, "best_reward": 0.5, "best_layers": 1.0, "best_width1": 128.0, "stage1_mean_reward": 0.5,
         "stage2_mean_reward": 0.6, "mean_keep_prob": 0.4, "rollouts": 40.0, "students_trained": 8.0, "rollouts_meeting_bar": 0.0}
    c = check_n2n(with_extra(e))
    assert not c.passed and "2.3x smaller (NOT >= 3x)" in c.reason
    e |= {"best_params": 10000.0, "best_ratio": 9.217, "best_acc": 0.92}
    c = check_n2n(with_extra(e))
    assert not c.passed and "93.9% of the teacher (NOT >= 95%)" in c.reason
    e["best_acc"] = 0.95
    assert check_n2n(with_extra(e)).passed
