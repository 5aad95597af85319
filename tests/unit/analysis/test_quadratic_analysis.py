"""Quadratic neurons over the plane: the quadratic form reproduces the pre-activation, conic kinds,
ReLinear responses equal their linear parts, non-2-D tasks are refused, and the figure's panels."""

import numpy as np
import pytest
import torch

from netarium.analysis.quadratic import conic_type, quadratic_form, quadratic_responses
from netarium.models import ModelSpec, build_model
from netarium.models.quadratic import QuadraticLinear
from netarium.tasks import make_task
from netarium.viz.quadratic import quadratic_neurons_figure


def neuron(wb=(0.0, 0.0), wg=(0.0, 0.0), wr=(1.0, 0.5), br=0.2, bg=1.0, c=0.0) -> QuadraticLinear:
    q = QuadraticLinear(2, 1, init="relinear")
    with torch.no_grad():
        q.r.weight.copy_(torch.tensor([wr]))
        q.r.bias.fill_(br)
        q.g.weight.copy_(torch.tensor([wg]))
        q.g.bias.fill_(bg)
        q.b.weight.copy_(torch.tensor([wb]))
        q.b.bias.fill_(c)
    return q


def test_quadratic_form_reproduces_the_pre_activation():
    torch.manual_seed(0)
    q = QuadraticLinear(3, 4, init="random")
    A, k, c0 = quadratic_form(q)
    x = torch.randn(20, 3, dtype=torch.float64)
    want = q.double()(x).detach().numpy()
    xn = x.numpy()
    got = np.einsum("bi,nij,bj->bn", xn, A, xn) + xn @ k.T + c0
    assert np.allclose(got, want, atol=1e-10)


@pytest.mark.parametrize(("kwargs", "kind"), [
    ({}, "line"),  # ReLinear: the linear neuron
    ({"wb": (1.0, 1.0), "wr": (0.0, 0.0), "c": -4.0}, "circle"),  # x1² + x2² - 4
    ({"wb": (1.0, 3.0), "c": -1.0}, "ellipse"),
    ({"wb": (1.0, -1.0)}, "hyperbola"),
    ({"wb": (1.0, 0.0)}, "parabola"),
    ({"wr": (1.0, 0.0), "wg": (0.0, 1.0)}, "hyperbola"),  # (x1 + 0.2)(x2 + 1): two lines, a degenerate hyperbola
])
def test_conic_kinds(kwargs, kind):
    A, _, _ = quadratic_form(neuron(**kwargs))
    assert conic_type(A[0]) == kind


def test_relinear_responses_equal_their_linear_parts_and_training_bends_them():
    task = make_task("circle", None, seed=0)
    torch.manual_seed(0)
    model = build_model("quadratic", {"hidden": [3, 2]}, ModelSpec(2, 2))
    r = quadratic_responses(model, task, layer=1, resolution=12)
    assert r.quadratic.shape == r.linear.shape == (3, 12, 12) and r.conics == ["line"] * 3
    assert np.array_equal(r.quadratic, r.linear)
    r2 = quadratic_responses(model, task, layer=2, resolution=12)
    assert r2.quadratic.shape == (2, 12, 12) and r2.conics == []  # a deeper layer is no conic in the plane
    with torch.no_grad():
        model.layers[0].quad.b.weight.fill_(1.0)
    r = quadratic_responses(model, task, layer=1, resolution=12)
    assert not np.allclose(r.quadratic, r.linear) and np.array_equal(r.linear, quadratic_responses(model, task, 1, 12).linear)
    with pytest.raises(ValueError, match="not a layer 3"):
        quadratic_responses(model, task, layer=3)


def test_non_2d_task_is_refused():
    task = make_task("digits", None, seed=0)
    model = build_model("quadratic", {"hidden": [3]}, ModelSpec(task.n_inputs, 10))
    with pytest.raises(ValueError, match="not a 2-D task"):
        quadratic_responses(model, task)


def test_figure_has_two_panels_per_neuron_with_zero_contours():
    task = make_task("circle", None, seed=0)
    torch.manual_seed(1)
    model = build_model("quadratic", {"hidden": [2], "init": "random"}, ModelSpec(2, 2))
    r = quadratic_responses(model, task, resolution=16)
    fig = quadratic_neurons_figure(r)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 4 and all(float(np.abs(t.z).max()) == pytest.approx(1.0) for t in heat)
    crossing = sum(float(np.min(v)) < 0 < float(np.max(v)) for v in (*r.quadratic, *r.linear))
    assert sum(t.type == "contour" for t in fig.data) == crossing >= 1
    assert [a.text for a in fig.layout.annotations][1] == "neuron 1: linear part"
