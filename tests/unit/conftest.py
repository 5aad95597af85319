"""Fixtures shared by the unit tests of several layers."""

from collections.abc import Callable, Iterator

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


@pytest.fixture
def local_ray(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Ray runtime of 2 CPUs on this machine that binds and talks to the loopback address only;
    yields its address. Skipped where ray is not installed (it is in the dev extra)."""
    ray = pytest.importorskip("ray")
    from ray._private import ray_constants

    for name, value in {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # node address 127.0.0.1 (children too)
                        "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             _temp_dir=str(tmp_path_factory.mktemp("ray")))
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()
