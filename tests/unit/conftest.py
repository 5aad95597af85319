"""Fixtures shared by the unit tests of several layers."""

from collections.abc import Callable

import pytest
import torch
from torch import nn

from netarium.models import ModelSpec, build_model
from netarium.models.masks import add_masks


def _relu_mlp(w0, w1) -> nn.Module:
    """A registry MLP, linear -> ReLU (tap "layer1.post") -> readout, with the given weights, zero
    biases and masks on both linears ("layers.0.linear", "readout")."""
    w0, w1 = torch.tensor(w0), torch.tensor(w1)
    model = build_model("mlp", {"hidden": [w0.shape[0]], "activation": ["relu"]}, ModelSpec(w0.shape[1], w1.shape[0]))
    with torch.no_grad():
        model.layers[0].linear.weight.copy_(w0)
        model.readout.weight.copy_(w1)
        model.layers[0].linear.bias.zero_()
        model.readout.bias.zero_()
    add_masks(model)
    return model


@pytest.fixture
def relu_mlp() -> Callable[..., nn.Module]:
    """relu_mlp(w0, w1): a masked one-hidden-layer ReLU MLP with the given weights."""
    return _relu_mlp
