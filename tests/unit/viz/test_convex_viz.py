"""viz/convex.py: the objective figure has ADMM, FISTA (named as the gated relaxation) and one line per run on
both panels, each run's final J as a point, the optimum line; the gap figure is log-log; a boundary panel is
a heatmap of f with the training points. Built from a hand-made comparison (no solving)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from netarium.analysis import convex as acx
from netarium.analysis.playground import Surface
from netarium.training.convex import Solution
from netarium.viz import convex as cviz


def comparison() -> acx.ConvexComparison:
    admm = Solution(torch.zeros(2, 3), torch.zeros(2, 3), objective=[0.9, 0.5, 0.41, 0.4], seconds=[0.1, 0.2, 0.3, 0.4])
    fista = Solution(torch.zeros(2, 3), torch.zeros(2, 3), objective=[0.8, 0.39, 0.38], seconds=[0.05, 0.1, 0.15])
    net = {"W1": torch.eye(2, dtype=torch.float64), "b1": torch.zeros(2, dtype=torch.float64), "a": torch.ones(2, dtype=torch.float64)}
    solve = acx.GlobalSolve(admm, {**net, "hidden": 2}, upper=0.4, lower=0.3999, patterns=30, working=10, active=2,
                            rounds=1, iterations=4, objective=admm.objective, seconds=admm.seconds)
    runs = [acx.RunTrace(f"adam seed {k}", k, "adam", [10, 20, 30], [0.01, 0.02, 0.03], [0.7, 0.5, 0.45 + k / 100],
                         0.45 + k / 100, 8, 6, net) for k in range(3)]
    return acx.ConvexComparison(0.05, 20, True, solve, runs, fista)


def test_objective_figure_has_every_series_on_both_panels():
    c = comparison()
    fig = cviz.objective_figure(c)
    go.Figure(fig)  # validates
    lines = [t for t in fig.data if t.mode == "lines" and t.x is not None and t.x[0] is not None]
    names = [t.name for t in lines]
    assert names.count(cviz.ADMM_NAME) == 2 and names.count(cviz.FISTA_NAME) == 2
    assert "gated relaxation" in cviz.FISTA_NAME
    for k in range(3):
        assert names.count(f"adam seed {k}") == 2
    finals = [t for t in fig.data if t.mode == "markers"]
    assert len(finals) == 6 and np.allclose(sorted({round(float(t.y[0]), 9) for t in finals}), [0.45, 0.46, 0.47])
    assert {float(t.x[0]) for t in finals} == {30.0, 0.03}  # the last step (left) and the last second (right)
    assert any(t.name.startswith("optimum J* = 0.400000") for t in fig.data)
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis2.type == "log"
    assert fig.layout.xaxis2.title.text == "seconds"


def test_gap_figure_is_log_log_and_gaps_are_relative():
    c = comparison()
    fig = cviz.gap_figure(c)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    admm = next(t for t in fig.data if t.name == cviz.ADMM_NAME)
    assert np.allclose(admm.y, [max(abs(v - 0.4) / 0.4, 1e-12) for v in [0.9, 0.5, 0.41, 0.4]])
    finals = [t for t in fig.data if t.mode == "markers"]
    assert np.allclose(sorted(float(t.y[0]) for t in finals), [0.05 / 0.4, 0.06 / 0.4, 0.07 / 0.4])


def test_boundary_panel_draws_f_and_the_points():
    xs = ys = np.linspace(-1, 1, 5, dtype=np.float32)
    s = Surface(xs, ys, np.outer(ys, xs), "regression", (-1.0, 1.0, -1.0, 1.0))
    fig = cviz.boundary_panel(s, np.array([[0.5, 0.5], [-0.5, 0.5]]), np.array([1.0, -1.0]), "optimum: 2 neurons")
    assert fig.layout.title.text == "optimum: 2 neurons"
    types = [t.type for t in fig.data]
    assert types == ["heatmap", "scatter"] and len(fig.data[1].x) == 2


def test_robust_figure_has_the_four_lines_and_the_clean_level():
    r = acx.RobustComparison(eps=[0.0, 0.1], robust_clean=[0.9, 0.85], robust_pgd=[0.9, 0.8], certified=[0.95, 0.7],
                             neurons=[4, 6], converged=[True, False], standard_clean=0.92, standard_pgd=[0.92, 0.6],
                             patterns=30, seconds=1.0)
    fig = cviz.robust_figure(r)
    lines = {t.name: list(t.y) for t in fig.data}
    assert lines == {"robust net under PGD (test)": [0.9, 0.8], "robust net, clean (test)": [0.9, 0.85],
                     "robust net, certified (train)": [0.95, 0.7], "standard net under PGD (test)": [0.92, 0.6],
                     "standard net, clean (test)": [0.92, 0.92]}
    assert fig.layout.yaxis.range == (0.5, 1.02)  # from below the lowest value (0.6), in tenths
