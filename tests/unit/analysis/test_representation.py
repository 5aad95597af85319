"""Representations of a probe set per layer and over training: the data the geometry views draw."""

import numpy as np
import pytest
import torch

from netarium.analysis.representation import (
    alignment_over_training,
    cka_within,
    embedding_frames,
    interleaved,
    layer_title,
    match_layers,
    probe_set,
    rdm_set,
    representation_taps,
    representations,
    warped_grid,
)
from netarium.models.base import ModelSpec, build_model
from netarium.tasks import make_task
from netarium.training import Config, Run

CUBE = Config(task={"name": "cube", "samples_per_condition": 20}, model={"name": "mlp", "hidden": [16], "activation": ["tanh"]},
              optimizer={"name": "adam", "lr": 0.01}, steps=150, seed=0)


@pytest.fixture(scope="module")
def cube_runs():
    before = Run(CUBE)
    after = Run(CUBE).train()
    return before, after


def test_interleaved_takes_each_group_in_turn():
    groups = np.array([2, 2, 0, 1, 0, 2, 1])
    order = interleaved(groups)
    assert order.tolist() == [2, 3, 0, 4, 6, 1, 5]
    assert sorted(order.tolist()) == list(range(7))


def test_probe_covers_every_condition_first_and_refuses_regression():
    task = make_task("cube", {"samples_per_condition": 20}, seed=0)
    probe = probe_set(task, n=16)
    assert len(probe.y) == 16 and sorted(probe.conditions[:8].tolist()) == list(range(8))
    assert probe.condition_targets is not None and len(probe.condition_names) == 8
    colour, names = probe.colour
    assert colour is probe.conditions and names[0] == "+++"
    # labels agree with the condition targets
    assert (probe.y == probe.condition_targets[probe.conditions]).all()
    with pytest.raises(ValueError, match="classification"):
        probe_set(make_task("reg-plane", {}, seed=0))


def test_taps_and_titles_for_both_registered_models():
    mlp = build_model("mlp", {"hidden": [4, 3]}, ModelSpec(2, 2))
    assert representation_taps(mlp) == ["in", "layer1.post", "layer2.post", "logits"]
    res = build_model("residual-mlp", {"blocks": 2}, ModelSpec(2, 2))
    assert representation_taps(res) == ["in", "block1.resid_post", "block2.resid_post", "logits"]
    assert [layer_title(t) for t in representation_taps(res)] == ["input", "block 1", "block 2", "logits"]


def test_embedding_frames_are_pca_and_aligned_across_frames(cube_runs):
    before, after = cube_runs
    probe = probe_set(after.task)
    frames = embedding_frames([(0, before.model), (150, after.model), (151, after.model)], probe, k=2)
    assert frames.coords.shape == (3, 3, len(probe.y), 2) and frames.steps == [0, 150, 151]
    assert frames.titles == ["input", "layer 1", "logits"]
    # the same model twice gives the same frame: Procrustes removes sign flips and rotations
    assert np.allclose(frames.coords[1], frames.coords[2], atol=1e-9)
    # distances within a frame are those of the top-2 PCA projection of the layer
    h = representations(after.model, probe, ["layer1.post"])["layer1.post"]
    hc = h - h.mean(0)
    _, _, vt = np.linalg.svd(hc, full_matrices=False)
    proj = hc @ vt[:2].T
    d_frame = np.linalg.norm(frames.coords[1, 1][:, None] - frames.coords[1, 1][None], axis=-1)
    d_pca = np.linalg.norm(proj[:, None] - proj[None], axis=-1)
    assert np.allclose(d_frame, d_pca, atol=1e-6)
    assert (frames.explained[:, :, 0] >= frames.explained[:, :, 1]).all()


def test_rdms_over_conditions_with_rsa(cube_runs):
    _, after = cube_runs
    rdms = rdm_set(after.model, probe_set(after.task), "euclidean")
    assert rdms.over == "conditions" and rdms.titles == ["input", "layer 1", "labels"]
    assert all(r.shape == (8, 8) for r in rdms.rdms)
    labels = rdms.rdms[-1]
    targets = after.task.meta["condition_targets"].numpy()
    assert np.array_equal(labels, (targets[:, None] != targets[None, :]).astype(float))
    assert rdms.rsa_input[0] == pytest.approx(1.0) and rdms.rsa_labels[-1] == pytest.approx(1.0)
    # trained on the label: the hidden layer's RDM follows the labels more than the input's does
    assert rdms.rsa_labels[1] > rdms.rsa_labels[0]


def test_cka_within_is_symmetric_with_unit_diagonal(cube_runs):
    _, after = cube_runs
    res = cka_within(after.model, probe_set(after.task))
    assert res.rows == res.cols == ["input", "layer 1", "logits"]
    assert np.allclose(np.diag(res.matrix), 1.0, atol=1e-5) and np.allclose(res.matrix, res.matrix.T, atol=1e-6)


def test_label_alignment_grows_with_training(cube_runs):
    before, after = cube_runs
    curves = alignment_over_training([(0, before.model), (150, after.model)], probe_set(after.task))
    assert curves.titles == ["layer 1"] and curves.steps == [0, 150]
    assert curves.labels[1, 0] > curves.labels[0, 0] + 0.1
    assert 0 <= curves.input.min() and curves.input.max() <= 1 + 1e-9


def test_a_net_matches_itself_perfectly(cube_runs):
    _, after = cube_runs
    matches = match_layers(after.model, after.model, probe_set(after.task))
    m = matches["layer 1"]
    assert np.allclose(m.hungarian.correlations, 1.0, atol=1e-6)
    assert (m.hungarian.pairs[:, 0] == m.hungarian.pairs[:, 1]).all()
    assert m.mean_gain > 0.5


def test_warped_grid_keeps_the_plane_at_the_input_and_centres_hidden_layers():
    cfg = Config(task={"name": "circle"}, model={"name": "mlp", "hidden": [5, 3]}, steps=1)
    run = Run(cfg)
    probe = probe_set(run.task)
    grid = warped_grid(run.model, run.task, probe, n_lines=5, per_line=7)
    assert grid.titles == ["input", "layer 1", "layer 2"]
    assert all(lines.shape == (10, 7, 2) for lines in grid.lines)
    x0, x1, y0, y1 = run.task.meta["box"]
    assert np.allclose(grid.lines[0][0, :, 0], np.linspace(x0, x1, 7)) and np.allclose(grid.lines[0][0, :, 1], y0)
    assert np.allclose(grid.points[0], probe.points)
    assert np.allclose(grid.points[1].mean(0), 0, atol=1e-9)
    with pytest.raises(ValueError, match="2-D"):
        warped_grid(*cube_inputs())


def cube_inputs():
    run = Run(CUBE)
    return run.model, run.task, probe_set(run.task)


def test_token_inputs_are_recorded_as_floats():
    task = make_task("modular", {"M": 5}, seed=0)
    model = build_model("mlp", {"hidden": [6]}, ModelSpec.for_task(task))
    reps = representations(model, probe_set(task, n=10))
    assert reps["in"].dtype == np.float64 and reps["in"].shape == (10, 2)
    assert torch.is_tensor(probe_set(task, n=3).x)


def test_rbf_cka_grid_matches_pairwise_rbf_cka(cube_runs):
    from netarium.analysis import geometry as geo

    _, after = cube_runs
    probe = probe_set(after.task, n=80)
    res = cka_within(after.model, probe, kernel="rbf")
    reps = representations(after.model, probe)
    taps = list(reps)
    assert res.title == "CKA (rbf), layer × layer"
    assert res.matrix[0, 1] == pytest.approx(geo.rbf_cka(reps[taps[0]], reps[taps[1]]))
    assert np.allclose(np.diag(res.matrix), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="kernel"):
        cka_within(after.model, probe, kernel="poly")
