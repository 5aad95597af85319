"""Figures of the sparsity experiments: the numbers they are given end up where they belong."""

import math

import pytest

from netarium.viz.sparsity_experiments import (
    accuracy_by_variant_figure,
    n2n_figure,
    pruning_rounds_figure,
    recovery_figure,
)


def test_accuracy_by_variant_marks_means_and_every_seed():
    fig = accuracy_by_variant_figure({"dense": [0.9, 1.0], "sparse": [0.8, 0.9, 1.0]}, "t")
    means, seeds = fig.data
    assert list(means.x) == ["dense", "sparse"] and list(means.y) == pytest.approx([0.95, 0.9])
    assert list(means.text) == ["95.00%", "90.00%"]
    assert list(seeds.x) == ["dense", "dense", "sparse", "sparse", "sparse"] and list(seeds.y) == [0.9, 1.0, 0.8, 0.9, 1.0]
    assert all(t.type == "scatter" for t in fig.data)  # no bars on a cut axis


def test_pruning_rounds_puts_dnr_left_accuracy_right_and_dashes_ap():
    s = {"sparsity": [0.0, 0.2], "dnr": [0.2, 0.1], "test_acc": [0.97, 0.96]}
    fig = pruning_rounds_figure({"seed 0": s, "seed 0 + AP": {**s, "dnr": [0.2, 0.05]}}, "t")
    by = {(t.name, t.xaxis): t for t in fig.data}
    assert list(by[("seed 0", "x")].y) == [0.2, 0.1] and list(by[("seed 0", "x2")].y) == [0.97, 0.96]
    assert list(by[("seed 0", "x")].x) == [0.0, 20.0]
    assert by[("seed 0 + AP", "x")].line.dash == "dash" and by[("seed 0", "x")].line.dash == "solid"
    assert by[("seed 0 + AP", "x")].line.color == by[("seed 0", "x")].line.color  # same seed, same colour
    assert [t.showlegend for t in fig.data] == [True, False, True, False]


def test_recovery_groups_stages_per_net_with_gaps_for_missing_stages():
    fig = recovery_figure({"gru": {"dense": 0.99, "pruned": 0.7}, "ws": {"graph": 0.98}}, "t")
    assert [t.name for t in fig.data] == ["dense", "pruned", "graph"]
    assert list(fig.data[0].y)[0] == 0.99 and math.isnan(list(fig.data[0].y)[1])
    assert list(fig.data[2].y)[1] == 0.98 and fig.layout.barmode == "group"


def test_n2n_splits_stages_and_draws_the_target_region():
    rollouts = [{"stage": 1, "index": 0, "reward": 0.5, "params": 5000, "acc": 0.9, "widths": [64]},
                {"stage": 2, "index": 1, "reward": 0.9, "params": 1000, "acc": 0.95, "widths": [16]}]
    fig = n2n_figure(rollouts, 9000, 0.98, 3.0, 0.95, "t")
    names = [t.name for t in fig.data]
    assert names == ["stage 1: remove layers", "stage 1: remove layers", "stage 2: shrink widths", "stage 2: shrink widths", "teacher"]
    (rect,) = fig.layout.shapes
    assert rect.x1 == 3000 and rect.y0 == pytest.approx(0.95 * 0.98) and rect.x0 == pytest.approx(1000 / 1.5)
    assert list(fig.data[3].x) == [1000] and list(fig.data[3].y) == [0.95]
