"""What the hypernetwork view computes (analysis/hypernet.py) and draws (viz/hypernet.py): the boundary at a
chosen gamma, the examples near it, |theta(gamma)| across gamma and over training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netarium.analysis.hypernet import norm_history, points_near, surface_at, task_at, theta_profile
from netarium.models import ModelSpec, build_model
from netarium.tasks import make_task
from netarium.training.history import History
from netarium.viz.hypernet import mip_curves_figure, theta_norm_figure

TASK = make_task("rotated-2d", {"n_samples": 600}, seed=0)


def model(mip: bool = True):
    torch.manual_seed(0)
    return build_model("hypernetwork", {"mip": mip}, ModelSpec.for_task(TASK))


def test_the_surface_is_the_model_at_that_gamma_over_the_box() -> None:
    m = model()
    s0, s1 = surface_at(m, TASK, 0.0, resolution=12), surface_at(m, TASK, 1.0, resolution=12)
    assert s0.values.shape == (12, 12) and s0.kind == "binary" and s0.box == TASK.meta["box"]
    point = torch.tensor([[1.0, float(s0.xs[3]), float(s0.ys[5])]])
    p = torch.softmax(m(point), -1)[0, 1].item()
    assert s1.values[5, 3] != pytest.approx(s0.values[5, 3])  # the boundary moves with gamma
    assert surface_at(m, TASK, 1.0, resolution=12).values[5, 3] == pytest.approx(p, abs=1e-6)
    assert s1.values[5, 3] == pytest.approx(p, abs=1e-6)
    with pytest.raises(ValueError, match="no parameter gamma"):
        task_at(make_task("circle", {"n_samples": 50}), 0.5)


def test_points_near_keep_the_examples_within_the_window() -> None:
    near = points_near(TASK, 0.5, "train", window=0.1)
    g = TASK.meta["gamma_train"]
    keep = (g - 0.5).abs() <= 0.1
    assert near.points.shape == (int(keep.sum()), 2) and near.labels.tolist() == TASK.y_train[keep].tolist()
    np.testing.assert_allclose(near.points, TASK.X_train[keep, 1:].numpy())
    assert len(points_near(TASK, 0.5, "test").labels) == int(((TASK.meta["gamma_test"] - 0.5).abs() <= 0.05).sum())


def test_theta_profile_plain_rises_from_zero_mip_stays_level() -> None:
    plain, mip = theta_profile(model(False), 11), theta_profile(model(True), 11)
    assert plain.norms[0] == 0.0 and np.all(np.diff(plain.norms) > 0) and plain.base_norm is None and not plain.mip
    np.testing.assert_allclose(plain.norms, plain.norms[-1] * plain.gammas, rtol=1e-5, atol=1e-6)
    assert mip.mip and mip.base_norm is not None and mip.norms.max() / mip.norms.min() < 1.5


def test_norm_history_and_figures() -> None:
    h = History()
    h.record(10, {"train_loss": 0.5, "theta_norm_0": 0.1, "theta_norm_1": 1.0, "theta_norm_0.5": 0.6})
    h.record(20, {"train_loss": 0.4, "theta_norm_0": 0.3, "theta_norm_1": 1.2, "theta_norm_0.5": 0.8})
    series = norm_history(h)
    assert list(series) == [0.0, 0.5, 1.0] and series[0.0] == ([10, 20], [0.1, 0.3])
    fig = theta_norm_figure(series, theta_profile(model(False), 11), 0.4)
    names = [t.name for t in fig.data]
    assert names[:3] == ["γ = 0", "γ = 0.5", "γ = 1"] and "γ shown" in names
    assert list(fig.data[1].y) == [0.6, 0.8]
    marker = next(t for t in fig.data if t.name == "γ shown")
    assert marker.x[0] == 0.4 and marker.y[0] == pytest.approx(0.4 * fig.data[3].y[-1], rel=1e-5)
    assert "no evaluations" in theta_norm_figure({}).layout.annotations[0].text
    curves = mip_curves_figure({("plain", 0): ([10, 20], [0.5, 0.2]), ("mip", 0): ([10, 20], [0.3, 0.0])})
    assert [t.name for t in curves.data] == ["plain", "MIP"] and curves.layout.yaxis.type == "log"
    assert list(curves.data[1].y) == [0.3]  # a zero loss has no place on a log axis
