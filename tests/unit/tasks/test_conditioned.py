"""Task families for hypernetworks (tasks/conditioned.py): examples [gamma, x1, x2] with gamma ~ U(0, 1) each,
the rotation and the wave, the 2-D views' meta at view_gamma."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from netarium.tasks import TASKS, make_task
from netarium.tasks.conditioned import VIEW_WINDOW, conditioned_features, rotate


@pytest.mark.parametrize("name", ["rotated-2d", "wave-2d"])
def test_examples_carry_their_own_gamma(name: str) -> None:
    t = make_task(name, {"n_samples": 400}, seed=0)
    assert t.input_names == ["γ", "x1", "x2"] and t.kind == "classification" and t.n_classes == 2
    assert len(t.X_train) == len(t.X_test) == 200
    g = torch.cat([t.X_train[:, 0], t.X_test[:, 0]])
    assert 0.0 <= float(g.min()) and float(g.max()) <= 1.0 and float(g.std()) > 0.25  # U(0, 1): std 0.29
    torch.testing.assert_close(t.meta["gamma_train"], t.X_train[:, 0])
    torch.testing.assert_close(t.meta["raw_points_test"], t.X_test[:, 1:])
    assert {"conditioned", "classification", "2d"} <= t.capabilities
    assert "conditioned" in TASKS.get(name).tags and all(i.description for i in TASKS.get(name).schema.model_fields.values())
    a, b = make_task(name, {"n_samples": 400}, seed=0), make_task(name, {"n_samples": 400}, seed=1)
    assert torch.equal(a.X_train, t.X_train) and not torch.equal(b.X_train, t.X_train)


def test_rotation_by_gamma_times_max_angle() -> None:
    flat = make_task("rotated-2d", {"n_samples": 300, "max_angle": 0.0}, seed=3)
    turned = make_task("rotated-2d", {"n_samples": 300, "max_angle": 90.0}, seed=3)
    torch.testing.assert_close(turned.X_train[:, 0], flat.X_train[:, 0])  # the same gammas, points and labels
    assert torch.equal(turned.y_train, flat.y_train)
    angles = np.deg2rad(90.0) * flat.X_train[:, 0].numpy()
    expected = rotate(flat.X_train[:, 1:].numpy(), angles)
    np.testing.assert_allclose(turned.X_train[:, 1:].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(rotate(np.array([[1.0, 0.0]]), np.array([math.pi / 2])), [[0.0, 1.0]], atol=1e-12)


def test_wave_labels_follow_the_frequency_gamma_sets() -> None:
    t = make_task("wave-2d", {"n_samples": 1000, "amplitude": 2.0, "freq_min": 0.5, "freq_max": 2.0}, seed=0)
    g, x1, x2 = t.X_train[:, 0], t.X_train[:, 1], t.X_train[:, 2]
    expected = (x2 > 2.0 * torch.sin((0.5 + 1.5 * g) * x1)).long()
    assert torch.equal(t.y_train, expected)
    assert 0.3 < float(t.y_train.float().mean()) < 0.7


def test_2d_views_draw_the_plane_at_view_gamma() -> None:
    t = make_task("rotated-2d", {"n_samples": 1000, "view_gamma": 0.3}, seed=0)
    pts = torch.tensor([[1.0, 2.0], [-3.0, 0.5]])
    torch.testing.assert_close(t.featurize(pts), torch.tensor([[0.3, 1.0, 2.0], [0.3, -3.0, 0.5]]))
    shown = t.meta["points_train"]
    near = (t.meta["gamma_train"] - 0.3).abs() <= VIEW_WINDOW
    assert shown.shape == (len(t.X_train), 2)
    assert torch.isnan(shown[~near]).all() and torch.equal(shown[near], t.X_train[near, 1:])
    assert 0 < int(near.sum()) < len(t.X_train) // 5  # about 10% of the examples
    torch.testing.assert_close(conditioned_features(pts, torch.tensor([0.1, 0.9]))[:, 0], torch.tensor([0.1, 0.9]))
