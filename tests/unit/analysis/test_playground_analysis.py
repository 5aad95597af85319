import dataclasses

import numpy as np
import pytest
import torch

from netarium.analysis.playground import (
    DENSITY,
    confusion_matrix,
    decision_surface,
    feature_maps,
    grid_points,
    network_weights,
    neuron_maps,
    node_map,
)
from netarium.models import ModelSpec, build_model
from netarium.models.masks import add_masks
from netarium.tasks import make_task


def linear_model(weight, bias=None, n_inputs=2):
    """A depth-0 MLP (just the readout) with the given (out, in) weight."""
    w = torch.tensor(weight, dtype=torch.float32)
    m = build_model("mlp", {"hidden": []}, ModelSpec(n_inputs, w.shape[0]))
    with torch.no_grad():
        m.readout.weight.copy_(w)
        m.readout.bias.copy_(torch.zeros(w.shape[0]) if bias is None else torch.tensor(bias, dtype=torch.float32))
    return m


@pytest.fixture(scope="module")
def circle():
    return make_task("circle", {"n_samples": 200}, seed=0)


def test_grid_points_cover_the_box_corners_row_by_row():
    box = (-6.5, 6.0, -2.0, 3.0)
    xs, ys, pts = grid_points(box, 5)
    assert pts.shape == (25, 2) and pts.dtype == torch.float32
    assert (xs[0], xs[-1], ys[0], ys[-1]) == box
    corners = {tuple(p) for p in pts.numpy().tolist()}
    assert {(-6.5, -2.0), (6.0, -2.0), (-6.5, 3.0), (6.0, 3.0)} <= corners
    grid = pts.numpy().reshape(5, 5, 2)  # point i*R + j is (xs[j], ys[i])
    assert np.array_equal(grid[..., 0], np.broadcast_to(xs, (5, 5)))
    assert np.array_equal(grid[..., 1], np.broadcast_to(ys[:, None], (5, 5)))
    with pytest.raises(ValueError):
        grid_points(box, 1)


@pytest.mark.parametrize("loss,weight", [("bce", [[1.0, 0.0]]), ("cross_entropy", [[0.0, 0.0], [1.0, 0.0]])])
def test_binary_surface_is_p_class1_and_above_half_exactly_where_x1_positive(circle, loss, weight):
    R = 41  # odd: x1 = 0 is on the grid (p = 0.5 there, not above)
    s = decision_surface(linear_model(weight), circle, resolution=R, loss_name=loss)
    assert s.kind == "binary" and s.values.shape == (R, R) and isinstance(s.values, np.ndarray)
    x1 = np.broadcast_to(s.xs, (R, R))
    assert np.array_equal(s.values > 0.5, x1 > 0)
    assert np.allclose(s.values, 1 / (1 + np.exp(-x1)), atol=1e-6)
    assert np.array_equal(s.labels, (s.values > 0.5).astype(int))
    assert np.allclose(s.confidence, np.maximum(s.values, 1 - s.values))
    assert s.box == tuple(circle.meta["box"])


def test_tfp_surface_and_maps_read_the_tanh_output(circle):
    """Under the tfp loss the one output o means tanh(o) in [-1, 1]: P(class 1) = (tanh(o) + 1) / 2, the
    output column of the neuron maps is tanh(o) (TFP's output node), the class its sign."""
    R = 21
    model = linear_model([[0.7, 0.0]], bias=[0.1])
    s = decision_surface(model, circle, resolution=R, loss_name="tfp")
    x1 = np.broadcast_to(s.xs, (R, R))
    o = 0.7 * x1 + 0.1
    assert s.kind == "binary" and np.allclose(s.values, (np.tanh(o) + 1) / 2, atol=1e-6)
    assert np.array_equal(s.labels, (o > 0).astype(int))
    nm = neuron_maps(model, circle, resolution=R, loss_name="tfp")
    assert np.allclose(nm.columns()[-1][0], np.tanh(o), atol=1e-6)
    X = torch.tensor([[-1.0, 0.0], [2.0, 0.0], [-0.1, 0.0]])
    assert confusion_matrix(model, X, torch.tensor([0, 1, 1]), 2, "tfp").tolist() == [[1, 0], [0, 2]]  # -0.07 + 0.1 > 0
    with pytest.raises(ValueError, match="tfp expects one output"):
        decision_surface(linear_model([[0.0, 0.0], [1.0, 0.0]]), circle, resolution=5, loss_name="tfp")


def test_multiclass_surface_labels_match_argmax_of_a_manual_forward():
    task = make_task("spirals", {"n_classes": 3, "n_samples": 150}, seed=0)
    torch.manual_seed(1)
    m = build_model("mlp", {"hidden": [6]}, ModelSpec(2, 3))
    R = 17
    s = decision_surface(m, task, resolution=R)
    _, _, pts = grid_points(task.meta["box"], R)
    probs = torch.softmax(m(task.featurize(pts)), -1).detach().numpy()
    assert s.kind == "multiclass"
    assert np.array_equal(s.labels, probs.argmax(1).reshape(R, R))
    assert np.allclose(s.confidence, probs.max(1).reshape(R, R), atol=1e-6)
    assert np.allclose(s.values, s.confidence)
    assert s.probs.shape == (3, R, R) and np.allclose(s.probs.sum(0), 1, atol=1e-5)
    assert len(np.unique(s.labels)) > 1


def test_regression_surface_is_the_prediction():
    task = make_task("reg-plane", {"n_samples": 100, "features": ["x1", "x2", "x1*x2"]}, seed=0)
    m = linear_model([[0.5, -1.0, 0.1]], bias=[0.25], n_inputs=3)
    s = decision_surface(m, task, resolution=9, loss_name="mse")
    X1, X2 = np.meshgrid(s.xs, s.ys)
    assert s.kind == "regression" and s.labels is None
    assert np.allclose(s.values, 0.5 * X1 - X2 + 0.1 * X1 * X2 + 0.25, atol=1e-5)


def test_non_2d_task_and_bad_loss_raise_clear_errors(circle):
    flat = dataclasses.replace(circle, meta={})
    with pytest.raises(ValueError, match="not a 2-D task"):
        decision_surface(linear_model([[1.0, 0.0]]), flat)
    with pytest.raises(ValueError, match="not a 2-D task"):
        neuron_maps(linear_model([[1.0, 0.0]]), dataclasses.replace(circle, featurize=None))
    with pytest.raises(ValueError, match="one output logit"):
        decision_surface(linear_model([[1.0, 0.0], [0.0, 1.0]]), circle, loss_name="bce")
    with pytest.raises(ValueError, match="unknown loss"):
        decision_surface(linear_model([[1.0, 0.0]]), circle, loss_name="hinge")


def test_neuron_maps_shapes_and_values_equal_a_manual_forward():
    task = make_task("circle", {"n_samples": 100, "features": ["x1", "x2", "x1*x2"]}, seed=0)
    torch.manual_seed(0)
    m = build_model("mlp", {"hidden": [8, 5], "activation": ["tanh", "relu"]}, ModelSpec(3, 1))
    R = 11
    nm = neuron_maps(m, task, resolution=R, loss_name="bce")
    assert list(nm.maps) == ["inputs", "layer1", "layer2", "output"]
    assert {k: v.shape for k, v in nm.maps.items()} == {
        "inputs": (3, R, R), "layer1": (8, R, R), "layer2": (5, R, R), "output": (1, R, R)}
    X1, X2 = np.meshgrid(nm.xs, nm.ys)
    assert np.allclose(nm.maps["inputs"][2], X1 * X2, atol=1e-5)
    _, _, pts = grid_points(task.meta["box"], R)
    x = task.featurize(pts)
    with torch.no_grad():
        h1 = torch.tanh(m.layers[0].linear(x))
        h2 = torch.relu(m.layers[1].linear(h1))
        p = torch.sigmoid(m.readout(h2))
    assert np.allclose(nm.maps["layer1"][3], h1[:, 3].reshape(R, R).numpy(), atol=1e-6)
    assert np.allclose(nm.maps["layer2"], h2.T.reshape(5, R, R).numpy(), atol=1e-6)
    assert np.allclose(nm.maps["output"][0], p[:, 0].reshape(R, R).numpy(), atol=1e-6)
    assert np.allclose(nm.output, nm.maps["output"][0])
    cols = nm.columns()
    assert [c.shape[0] for c in cols] == [3, 8, 5, 1]
    assert np.allclose(cols[-1], 2 * nm.maps["output"] - 1)  # probabilities on the signed scale
    assert nm.input_names == ["x1", "x2", "x1*x2"]


def test_neuron_maps_multiclass_output_is_softmax_per_unit():
    task = make_task("blobs", {"n_classes": 4, "n_samples": 80}, seed=0)
    m = build_model("mlp", {"hidden": [3]}, ModelSpec(2, 4))
    nm = neuron_maps(m, task, resolution=6)
    assert nm.maps["output"].shape == (4, 6, 6)
    assert np.allclose(nm.maps["output"].sum(0), 1, atol=1e-5)
    assert np.allclose(nm.output, nm.maps["output"].max(0))


def test_node_map_is_the_neuron_maps_column_at_any_resolution():
    task = make_task("circle", {"n_samples": 100, "features": ["x1", "x2", "x1*x2"]}, seed=0)
    torch.manual_seed(0)
    m = build_model("mlp", {"hidden": [8, 5], "activation": ["tanh", "relu"]}, ModelSpec(3, 1))
    cols = neuron_maps(m, task, resolution=9, loss_name="bce").columns()
    for col, i in [(0, 2), (1, 3), (2, 4), (3, 0)]:
        one = node_map(m, task, col, i, resolution=9, loss_name="bce")
        assert np.allclose(one.values, cols[col][i], atol=1e-6), (col, i)
        assert one.box == tuple(task.meta["box"])
    full = node_map(m, task, 3, 0, loss_name="bce")  # the Playground's 100 x 100 grid by default
    assert full.values.shape == (DENSITY, DENSITY) == (100, 100)
    assert float(full.values.min()) >= -1 and float(full.values.max()) <= 1  # 2p - 1
    with pytest.raises(ValueError, match="column 4"):
        node_map(m, task, 4, 0, resolution=5, loss_name="bce")
    with pytest.raises(ValueError, match="has 8 nodes"):
        node_map(m, task, 1, 8, resolution=5, loss_name="bce")


def test_feature_maps_are_the_playgrounds_features_over_the_box():
    box = (-6.0, 6.0, -5.0, 5.0)
    maps = feature_maps(["x1^2", "sin(x2)"], box, 7)
    xs, ys, _ = grid_points(box, 7)
    X1, X2 = np.meshgrid(xs, ys)
    assert maps.shape == (2, 7, 7)
    assert np.allclose(maps[0], X1**2, atol=1e-5) and np.allclose(maps[1], np.sin(X2), atol=1e-6)
    assert feature_maps([], box, 7).shape == (0, 7, 7)


def test_confusion_matrix_hand_computed_bce_and_cross_entropy():
    X = torch.tensor([[-1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [-2.0, 0.0], [0.5, 0.0]])
    y = torch.tensor([0, 0, 1, 1, 1])
    cm = confusion_matrix(linear_model([[1.0, 0.0]]), X, y, 2, "bce")  # predicted = [0, 1, 1, 0, 1]
    assert cm.tolist() == [[1, 1], [1, 2]] and cm.sum() == 5
    X3 = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0, 2.0, 0], [3.0, 0, 0], [0, 0, 0.5]])
    y3 = torch.tensor([0, 1, 2, 0, 0, 1])
    cm3 = confusion_matrix(linear_model(np.eye(3).tolist(), n_inputs=3), X3, y3, 3, "cross_entropy")
    expected = np.zeros((3, 3), int)
    for t, p in zip([0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 0, 2], strict=True):
        expected[t, p] += 1
    assert np.array_equal(cm3, expected) and cm3.sum() == 6
    with pytest.raises(ValueError):
        confusion_matrix(linear_model([[1.0, 0.0]]), X, y, 2, "mse")


def test_network_weights_in_order_with_shapes_and_values():
    m = build_model("mlp", {"hidden": [8, 8]}, ModelSpec(2, 1))
    nw = network_weights(m)
    assert [w.shape for w in nw.weights] == [(8, 2), (8, 8), (1, 8)]
    assert [b.shape for b in nw.biases] == [(8,), (8,), (1,)]
    assert nw.layer_sizes == [2, 8, 8, 1]
    assert np.array_equal(nw.weights[1], m.layers[1].linear.weight.detach().numpy())
    assert np.array_equal(nw.weights[2], m.readout.weight.detach().numpy())
    nobias = network_weights(build_model("mlp", {"hidden": [3], "bias": False}, ModelSpec(2, 2)))
    assert nobias.biases == [None, None]
    assert nw.masks == [None, None, None]  # dense: no masks
    add_masks(m, include_readout=False)
    with torch.no_grad():
        m.layers[1].linear.mask[2, 5] = 0
    masked = network_weights(m)
    assert masked.masks[2] is None and masked.masks[0].shape == (8, 2) and masked.masks[0].all()
    assert masked.masks[1][2, 5] == 0 and masked.masks[1].sum() == 63


def test_network_weights_token_linear_and_non_mlp():
    tok = build_model("mlp", {"hidden": [4]}, ModelSpec(2, 5, vocab_size=5))
    assert [w.shape for w in network_weights(tok).weights] == [(4, 10), (5, 4)]
    with pytest.raises(ValueError, match="not an MLP"):
        network_weights(build_model("residual-mlp", {"blocks": 1}, ModelSpec(2, 2)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_views_run_on_the_models_device_and_return_cpu_numpy(circle):
    m = build_model("mlp", {"hidden": [4]}, ModelSpec(2, 2)).cuda()
    s = decision_surface(m, circle, resolution=8)
    nm = neuron_maps(m, circle, resolution=8)
    cm = confusion_matrix(m, circle.X_test.cuda(), circle.y_test.cuda(), 2, "cross_entropy")
    assert isinstance(s.values, np.ndarray) and isinstance(nm.maps["layer1"], np.ndarray)
    assert cm.sum() == circle.X_test.shape[0]
