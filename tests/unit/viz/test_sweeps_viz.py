"""Sweep figures built from real (tiny) sweeps: every member's curve, the final metric with its seed
spread, the heatmap's cell means, parallel coordinates, and diverged members shown as diverged."""

from __future__ import annotations

import dataclasses
import math
from statistics import fmean

import pytest

from netarium.training.config import Config
from netarium.training.sweep import sweep_from_specs
from netarium.training.sweep_run import run_sweep
from netarium.viz.sweeps import (
    CROSS_COLOR,
    DIVERGED_COLOR,
    SweepMember,
    axis_colors,
    best_first,
    default_metric,
    final_figure,
    final_line_figure,
    heatmap_figure,
    members_of,
    parallel_figure,
    sweep_curves_figure,
)

TINY = dict(steps=40, task={"name": "reg-plane", "n_samples": 100}, optimizer={"name": "sgd"}, model={"name": "mlp", "hidden": [4]})


@pytest.fixture(scope="module")
def grid() -> list[SweepMember]:
    """2 learning rates (10 diverges) x 2 activations x 2 seeds on a regression plane."""
    sweep = sweep_from_specs(Config(**TINY), ["optimizer.lr=0.01,10", "model.activation=tanh,relu"], seeds=2)
    return members_of(run_sweep(sweep, builders=[]).members)


@pytest.fixture(scope="module")
def line() -> list[SweepMember]:
    """3 learning rates x 3 seeds, classification (every member finite)."""
    base = Config(steps=30, task={"name": "circle", "n_samples": 100}, model={"name": "mlp", "hidden": [4]})
    return members_of(run_sweep(sweep_from_specs(base, ["optimizer.lr=log:0.001:0.1:3"], seeds=3), builders=[]).members)


def test_members_carry_their_point_seed_state_and_curves(grid):
    assert [m.index for m in grid] == list(range(8))
    assert [m.seed for m in grid[:2]] == [0, 1]
    assert {m.point["optimizer.lr"] for m in grid if m.diverged} == {10}
    assert all(m.value("test_r2") is None for m in grid if m.diverged)  # never a number, stale or NaN
    assert all(m.value("test_r2") is not None and m.series["test_loss"][0] for m in grid if not m.diverged)
    assert default_metric(grid) == "test_r2"
    auc = [dataclasses.replace(m, final={**m.final, "test_acc": 0.5, "test_auc": 0.7}) for m in grid]
    assert default_metric(auc) == "test_auc"  # a task scored by AUC (ctr) is shown by it


def test_heatmap_cells_are_seed_means_and_diverged_cells_say_so(grid):
    fig = heatmap_figure(grid, "optimizer.lr", "model.activation", "test_r2")
    heat, crosses, cells = fig.data
    assert list(heat.y) == ["0.01", "10"] and list(heat.x) == ["tanh", "relu"]
    means = []
    for col, act in enumerate(["tanh", "relu"]):
        seeds = [m.value("test_r2") for m in grid if m.point == {"optimizer.lr": 0.01, "model.activation": act}]
        assert heat.z[0][col] == pytest.approx(fmean(seeds))
        assert cells.text[col] == f"{fmean(seeds):.3g}"
        means.append(fmean(seeds))
    assert list(heat.z[1]) == [None, None] and list(cells.text[2:]) == ["diverged", "diverged"]  # a grey cell, not NaN
    assert crosses.marker.symbol == "x-thin" and list(crosses.y) == ["10", "10"]
    assert list(cells.customdata) == [0, 2, 4, 6]  # a clickable mark per cell: its first member
    darker = 0 if means[0] < means[1] else 1  # the lower R² sits on the dark end of the scale: white text
    assert cells.textfont.color[darker] == "#ffffff" and cells.textfont.color[1 - darker] == "#000000"
    assert fig.layout.hoverdistance == -1
    assert "diverged" in cells.hovertemplate[2] and "learning rate 10" in cells.hovertemplate[2]
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.type == "category"
    assert not heat.reversescale  # R²: higher is better, brighter
    assert heatmap_figure(grid, "optimizer.lr", "model.activation", "test_loss").data[0].reversescale


def test_heatmap_outlines_the_selected_members_cell(grid):
    fig = heatmap_figure(grid, "optimizer.lr", "model.activation", "test_r2", selected=3)  # lr 0.01, relu
    (rect,) = fig.layout.shapes
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (0.5, 1.5, -0.5, 0.5)


def test_one_axis_shows_the_mean_and_the_min_max_over_seeds(line):
    fig = final_line_figure(line, "optimizer.lr", "test_acc")
    mean, seeds = fig.data[0], fig.data[1]
    assert list(mean.x) == [0.001, 0.01, 0.1]
    for i, lr in enumerate([0.001, 0.01, 0.1]):
        vals = [m.value("test_acc") for m in line if m.point["optimizer.lr"] == lr]
        assert mean.y[i] == pytest.approx(fmean(vals))
        assert mean.error_y.array[i] == pytest.approx(max(vals) - fmean(vals))
        assert mean.error_y.arrayminus[i] == pytest.approx(fmean(vals) - min(vals))
    assert len(seeds.x) == 9 and sorted(seeds.customdata) == list(range(9))
    assert fig.layout.xaxis.type == "log"  # 0.001..0.1 spans decades
    assert len(fig.data) == 2  # nothing diverged: no cross trace


def test_one_axis_draws_diverged_members_as_crosses_above_the_finite_values(grid):
    fig = final_line_figure(grid, "optimizer.lr", "test_r2")
    cross = next(t for t in fig.data if t.name.startswith("diverged"))
    finite = [m.value("test_r2") for m in grid if not m.diverged]
    assert cross.name == "diverged (4)" and cross.marker.symbol == "x" and cross.marker.color == CROSS_COLOR
    assert sorted(cross.customdata) == [4, 5, 6, 7] and all(y > max(finite) for y in cross.y)
    assert all(math.isfinite(y) for t in fig.data for y in t.y)


def test_curves_one_line_per_member_coloured_by_the_axis_and_diverged_noted(line, grid):
    fig = sweep_curves_figure(line, "test_loss", "optimizer.lr")
    assert len(fig.data) == 9
    colors, scale = axis_colors(line, "optimizer.lr")
    assert scale is None and len(set(colors.values())) == 3
    for t in fig.data:
        member = line[t.customdata[0]]
        assert t.line.color == colors[f"{member.point['optimizer.lr']:g}"]
        assert list(t.y) == member.series["test_loss"][1]
    assert sum(t.showlegend for t in fig.data) == 3  # one legend entry per learning rate
    fig = sweep_curves_figure(grid, "test_loss", "optimizer.lr")
    assert "✕ 4 diverged: #4 at step" in fig.layout.annotations[0].text  # they diverged before their first evaluation


def test_a_diverged_member_with_a_curve_is_a_grey_dotted_line_ending_in_a_cross():
    m = SweepMember(0, {"l2": 0.1}, 0, "diverged", "the loss became inf", 30, {"test_loss": math.nan},
                    {"test_loss": ([10, 20], [0.5, 0.7])})
    ok = SweepMember(1, {"l2": 0.0}, 0, "running", "", 30, {"test_loss": 0.2}, {"test_loss": ([10, 20, 30], [0.5, 0.3, 0.2])})
    fig = sweep_curves_figure([m, ok], "test_loss", "l2")
    line, cross = fig.data[0], fig.data[1]
    assert line.line.color == DIVERGED_COLOR and line.line.dash == "dot" and line.name == "diverged"
    assert (cross.x, cross.y, cross.marker.symbol) == ((20,), (0.5 + 0.05 * 0.3,), "x")  # kept on the plot
    assert list(fig.layout.yaxis.range) == pytest.approx([0.2 - 0.015, 0.5 + 0.015])  # the finite members' range
    assert best_first([m, ok], "test_loss")[0] is ok


def test_parallel_coordinates_put_diverged_members_on_a_diverged_tick(grid):
    fig = parallel_figure(grid, ["optimizer.lr", "model.activation"], "test_r2")
    lr, act, metric = fig.data[0].dimensions
    assert list(act.ticktext) == ["tanh", "relu"] and list(act.values) == [0, 0, 1, 1, 0, 0, 1, 1]
    assert list(lr.values) == [-2.0] * 4 + [1.0] * 4  # log10: 0.01..10 spans decades
    assert list(lr.ticktext) == ["0.01", "0.1", "1", "10"]
    top = metric.tickvals[-1]
    assert metric.ticktext[-1] == "diverged" and [v == top for v in metric.values] == [False] * 4 + [True] * 4
    assert list(fig.data[0].line.color[4:]) == [0.0] * 4  # painted grey by the scale's bottom


def test_final_figure_picks_the_drawing_by_the_number_of_axes(grid, line):
    assert [t.type for t in final_figure(line, "test_acc").data][:2] == ["scatter", "scatter"]
    assert final_figure(grid, "test_r2").data[0].type == "heatmap"
    three = [SweepMember(i, {"a": i % 2, "b": i // 2 % 2, "c": i // 4}, 0, "running", final={"test_loss": 0.1 * i})
             for i in range(8)]
    assert final_figure(three, "test_loss").data[0].type == "parcoords"
