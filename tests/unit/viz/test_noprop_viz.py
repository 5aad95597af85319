"""NoProp figures: the trajectory, the distance to the class embedding, the per-block losses."""

import numpy as np
import torch

from netarium.analysis.noprop import chain_trajectory
from netarium.models import ModelSpec, build_model
from netarium.viz import noprop as nviz


def trajectory():
    torch.manual_seed(0)
    m = build_model("noprop", {"blocks": 3, "hidden": 8}, ModelSpec(4, 3))
    X, y = torch.randn(20, 4), torch.tensor([0, 1, 2, 0, 1] * 4)
    return chain_trajectory(m, X, y, np.array([0, 3, 1]))


def test_trajectory_figure_draws_every_class_embedding_and_one_path_per_input():
    traj = trajectory()
    fig = nviz.trajectory_figure(traj, ["zero", "one", "two"])
    embeddings, paths = fig.data[:3], fig.data[3:]
    assert [t.text[0] for t in embeddings] == ["zero", "one", "two"]
    assert len(paths) == 3 and all(len(p.x) == 4 for p in paths)  # z_0..z_3
    np.testing.assert_allclose(paths[1].x, traj.coords[1, :, 0])
    assert [p.showlegend for p in paths] == [True, False, True]  # one legend entry per class
    assert paths[0].marker.symbol[0] == "circle-open"
    assert "keep" in fig.layout.title.text
    dist = nviz.distance_figure(traj)
    np.testing.assert_allclose(dist.data[2].y, traj.distances[2])


def test_smooth_is_a_trailing_running_mean():
    np.testing.assert_allclose(nviz.smooth([1, 3, 5, 7], 2), [1, 2, 4, 6])
    np.testing.assert_allclose(nviz.smooth([1, 3], 1), [1, 3])


def test_block_loss_figures_one_line_per_block_and_the_head_dashed():
    series = {f"block{t}": ([1, 2, 3], [1.0 / t, 0.5 / t, 0.25 / t]) for t in (1, 2)} | {"head": ([1, 2, 3], [2.0, 1.0, 0.5])}
    fig = nviz.block_loss_figure(series, T=2, window=1)
    assert [t.name for t in fig.data] == ["block 1", "block 2", "head cross-entropy"]
    assert fig.data[2].line.dash == "dash" and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[1].y, [0.5, 0.25, 0.125])
    bars = nviz.block_loss_bars(np.array([0.3, 0.1]))
    assert list(bars.data[0].x) == ["block 1", "block 2"]
    assert nviz.block_colour(1, 2) != nviz.block_colour(2, 2)
