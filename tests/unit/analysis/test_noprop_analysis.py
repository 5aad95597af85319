"""The NoProp chain analyses: the trajectory z_0..z_T of chosen inputs and its 2-D projection, and the blocks'
denoising losses now."""

import numpy as np
import pytest
import torch

from netarium.analysis.noprop import block_losses, chain_trajectory, pick_rows, project_2d
from netarium.models import ModelSpec, build_model, record


def model():
    torch.manual_seed(0)
    return build_model("noprop", {"blocks": 3, "hidden": 8}, ModelSpec(4, 3))


def test_pick_rows_takes_the_first_rows_of_each_class_in_class_order():
    y = np.array([2, 0, 1, 0, 2, 1, 0])
    assert pick_rows(y, [0, 2], 2).tolist() == [1, 3, 0, 4]
    assert pick_rows(y, [], 2).tolist() == []


def test_projection_keeps_variance_and_fixes_signs():
    pts = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    mean, axes, kept = project_2d(pts)
    assert kept == pytest.approx(1.0)  # planar points: two axes keep everything
    np.testing.assert_allclose(np.abs(axes[:, 0]), [1.0, 0.0, 0.0], atol=1e-12)  # the long side first
    assert axes[np.abs(axes[:, 0]).argmax(), 0] > 0
    _, line_axes, _ = project_2d(np.array([[0.0], [1.0], [3.0]]))  # one dimension: the second axis is zeros
    assert line_axes.shape == (1, 2) and line_axes[0, 1] == 0


def test_trajectory_holds_the_chain_states_and_their_projection():
    m = model()
    X, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    rows = np.array([3, 7, 11])
    traj = chain_trajectory(m, X, y, rows)
    acts = record(m, X[rows], ["z0", "block1.post", "block2.post", "block3.post", "logits"])
    assert traj.states.shape == (3, 4, 3) and traj.coords.shape == (3, 4, 2) and traj.class_coords.shape == (3, 2)
    np.testing.assert_allclose(traj.states[:, 2], acts["block2.post"].numpy(), rtol=1e-6)
    assert traj.labels.tolist() == y[rows].tolist() and traj.predicted.tolist() == acts["logits"].argmax(-1).tolist()
    pts = np.concatenate([traj.embeddings, traj.states.reshape(-1, 3)])
    mean, axes, kept = project_2d(pts)
    np.testing.assert_allclose(traj.coords, (traj.states - mean) @ axes, atol=1e-9)
    assert 0 < traj.explained <= 1 and traj.explained == pytest.approx(kept)
    np.testing.assert_allclose(traj.distances[:, 0], np.linalg.norm(traj.embeddings[traj.labels], axis=1))  # z_0 = 0


def test_block_losses_are_each_blocks_denoising_loss_with_seeded_noise():
    m = model()
    X, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    losses = block_losses(m, X, y, seed=5)
    noise = torch.randn(30, 3, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = [float(m.denoising_loss(t, X, y, noise)) for t in (1, 2, 3)]
    np.testing.assert_allclose(losses, expected, rtol=1e-6)
    assert losses.shape == (3,) and (losses > 0).all()
