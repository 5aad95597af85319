"""The Playground's data sets against TensorFlow Playground's formulas (src/dataset.ts): radii, gaps,
labels read at the noised copy of a point that itself stays put, regression targets, sample counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netarium.tasks import TASKS, make_task
from netarium.tasks.playground import (
    REG_GAUSSIANS,
    cones_target,
    gen_circle,
    gen_gauss,
    gen_reg_gauss,
    gen_reg_plane,
    gen_spiral,
    gen_xor,
    plane_target,
)

N = 2000


def draw(gen, noise: float, seed: int = 0, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    return gen(np.random.default_rng(seed), n, noise)


def test_circle_radii_and_balance_without_noise():
    pts, y = draw(gen_circle, 0.0)
    r = np.linalg.norm(pts, axis=1)
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [N // 2, N // 2]
    assert r[y == 1].max() < 2.5  # 0.5 R, R = 5
    assert r[y == 0].min() >= 3.5 and r[y == 0].max() <= 5.0  # [0.7 R, R]


def test_xor_gap_and_labels_without_noise():
    pts, y = draw(gen_xor, 0.0)
    assert np.abs(pts).min() >= 0.3 and np.abs(pts).max() <= 5.3  # U(-5, 5) pushed 0.3 off each axis
    np.testing.assert_array_equal(y, (pts[:, 0] * pts[:, 1] >= 0).astype(np.int64))
    assert 0.45 < y.mean() < 0.55


@pytest.mark.parametrize("gen", [gen_circle, gen_xor])
def test_noise_moves_the_label_not_the_point(gen):
    clean_pts, clean_y = draw(gen, 0.0, seed=5)
    pts, y = draw(gen, 0.5, seed=5)
    np.testing.assert_array_equal(pts, clean_pts)  # the same draws put every point in the same place
    flipped = (y != clean_y).mean()
    assert 0.05 < flipped < 0.45  # some labels flip, most stay


def test_circle_noisy_label_is_read_at_the_noised_copy():
    """Replaying the draws: label 1 iff the copy p + U(-5, 5)^2 * noise lies within 0.5 R."""
    noise = 0.3
    pts, y = draw(gen_circle, noise, seed=2, n=400)
    rng = np.random.default_rng(2)
    rng.uniform(size=400), rng.uniform(size=400), rng.uniform(size=400)  # the radii (two arrays) and angles
    q = pts + rng.uniform(-5, 5, (400, 2)) * noise
    np.testing.assert_array_equal(y, (np.linalg.norm(q, axis=1) < 2.5).astype(np.int64))


def test_xor_noisy_label_is_read_at_the_noised_copy():
    noise = 0.2
    pts, y = draw(gen_xor, noise, seed=3, n=400)
    rng = np.random.default_rng(3)
    rng.uniform(size=(400, 2))  # the points
    q = pts + rng.uniform(-5, 5, (400, 2)) * noise
    np.testing.assert_array_equal(y, (q[:, 0] * q[:, 1] >= 0).astype(np.int64))


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_gauss_centres_and_variance(noise):
    pts, y = draw(gen_gauss, noise, n=8000)
    assert np.bincount(y).tolist() == [4000, 4000]
    var = 0.5 + 7 * noise  # TFP: variance scale [0, 0.5] -> [0.5, 4]
    for label, centre in ((1, 2.0), (0, -2.0)):
        np.testing.assert_allclose(pts[y == label].mean(0), [centre, centre], atol=0.1)
        np.testing.assert_allclose(pts[y == label].var(0), [var, var], rtol=0.08)


def test_spiral_arms_without_noise():
    pts, y = draw(gen_spiral, 0.0, n=500)
    i = np.arange(250)
    r, t = i / 250 * 5, 1.75 * i / 250 * 2 * np.pi
    # TFP: the positive arm starts at angle 0, the negative one at pi; x = r sin t, y = r cos t
    np.testing.assert_allclose(pts[y == 1], np.stack([r * np.sin(t), r * np.cos(t)], 1), atol=1e-12)
    np.testing.assert_allclose(pts[y == 0], np.stack([r * np.sin(t + np.pi), r * np.cos(t + np.pi)], 1), atol=1e-12)
    noisy, _ = draw(gen_spiral, 0.4, n=500)
    assert 0 < np.abs(noisy - pts).max() <= 0.4  # U(-1, 1) * noise per coordinate


def test_reg_plane_target_formula_and_range():
    pts, y = draw(gen_reg_plane, 0.0)
    np.testing.assert_allclose(y, (pts[:, 0] + pts[:, 1]) / 10)
    assert np.abs(pts).max() <= 6 and np.abs(y).max() <= 1.2  # x1 + x2 in [-12, 12], mapped as TFP: [-10, 10] -> [-1, 1]
    noisy_pts, noisy_y = draw(gen_reg_plane, 0.5)
    np.testing.assert_array_equal(noisy_pts, pts)  # the points stay put
    assert np.abs(noisy_y - y).max() > 0.3  # the target is read at the noised copy
    assert np.abs(noisy_y).max() > 1.3  # and is not clipped: |x + noise| reaches 2 * 6 = 12 per coordinate


def test_plane_and_cone_targets_at_chosen_points():
    np.testing.assert_allclose(plane_target(np.array([[6.0, 6.0], [-2.0, 1.0], [10.0, 10.0]])), [1.2, -0.1, 2.0])
    centres = np.array([[cx, cy] for cx, cy, _ in REG_GAUSSIANS])
    signs = np.array([s for _, _, s in REG_GAUSSIANS])
    np.testing.assert_allclose(cones_target(centres), signs)  # ±1 at each centre
    # halfway down the (-4, 2.5, +1) cone: 1 - 1/2; the nearest other centre is 4 away, outside its radius 2
    np.testing.assert_allclose(cones_target(np.array([[-4.0, 1.5], [-4.0, 4.5], [-6.0, 2.5]])), [0.5, 0.0, 0.0])
    # between (0, 2.5, -1) and (0, -2.5, +1): distances 1.5 and 3.5 -> the larger magnitude, -(1 - 0.75)
    np.testing.assert_allclose(cones_target(np.array([[0.0, 1.0]])), [-0.25])
    assert cones_target(np.array([[0.0, 0.0], [50.0, 50.0], [-6.0, 6.0]])).tolist() == [0.0, 0.0, 0.0]  # far from every cone


def test_reg_gauss_targets_are_the_cones_at_the_noised_copy():
    pts, y = draw(gen_reg_gauss, 0.0)
    np.testing.assert_allclose(y, cones_target(pts))
    assert np.abs(y).max() <= 1 and (y == 0).mean() > 0.2 and (y > 0.5).any() and (y < -0.5).any()
    noisy_pts, noisy_y = draw(gen_reg_gauss, 0.3)
    np.testing.assert_array_equal(noisy_pts, pts)
    rng = np.random.default_rng(0)
    rng.uniform(size=(N, 2))
    np.testing.assert_allclose(noisy_y, cones_target(pts + rng.uniform(-6, 6, (N, 2)) * 0.3))


def test_default_sample_counts_per_kind():
    """TFP's playground.ts: NUM_SAMPLES_CLASSIFY = 500, NUM_SAMPLES_REGRESS = 1200."""
    for name in ("circle", "xor", "gauss", "spiral"):
        assert TASKS.get(name).schema().n_samples == 500
        t = make_task(name, {}, seed=0)
        assert len(t.X_train) + len(t.X_test) == 500
    for name in ("reg-plane", "reg-gauss"):
        schema = TASKS.get(name).schema
        assert schema().n_samples == 1200 and "1,200" in schema.model_fields["n_samples"].description
        t = make_task(name, {}, seed=0)
        assert len(t.X_train) + len(t.X_test) == 1200 and t.y_train.dtype == torch.float32


def test_task_labels_match_the_generator():
    """make_task keeps the generator's labels with its points (after the seeded split)."""
    t = make_task("xor", {"noise": 0.4, "n_samples": 600}, seed=1)
    p = t.meta["points_train"]
    clean = (p[:, 0] * p[:, 1] >= 0).long()
    assert 0 < int((t.y_train != clean).sum()) < len(p) // 3  # noise mislabels, it does not move
    assert float(p.abs().min()) >= 0.3
