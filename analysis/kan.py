"""What a KAN's edges learned: every edge's 1-D function sampled over its layer's input range, and its
L1 norm (mean |phi_ij(x)| over the range), the strength of the edge in the views and the network graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from netarium.analysis.playground import NetworkWeights, network_weights

POINTS = 64  # samples along each layer's input range


@dataclass(frozen=True)
class EdgeCurves:
    """One KAN layer's edge functions: xs (P,) over [-r, r], ys (P, out, in) = phi_ij(xs), l1 (out, in)."""

    index: int  # 1-based layer number; the readout is the last
    xs: np.ndarray
    ys: np.ndarray
    l1: np.ndarray
    bias: np.ndarray | None
    input_range: float

    @property
    def shape(self) -> tuple[int, int]:
        """(out, in)."""
        return int(self.ys.shape[1]), int(self.ys.shape[2])


def kan_layers(model: nn.Module) -> list[nn.Module]:
    """The model's KAN layers in order (raises ValueError for a model that is no KAN)."""
    layers = getattr(model, "kan_layers", None)
    if not callable(layers):
        raise ValueError(f"{type(model).__name__} is not a KAN (model kan)")
    return list(layers())


def edge_curves(model: nn.Module, points: int = POINTS) -> list[EdgeCurves]:
    """Every layer's edge functions phi_ij sampled at `points` evenly spaced inputs over its range."""
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    out = []
    with torch.no_grad():
        for i, layer in enumerate(kan_layers(model)):
            r = float(layer.input_range)
            xs = torch.linspace(-r, r, points, device=layer.weight.device, dtype=layer.weight.dtype)
            ys = layer.edge_functions(xs).float().cpu().numpy()
            bias = None if layer.bias is None else layer.bias.detach().float().cpu().numpy().copy()
            out.append(EdgeCurves(i + 1, xs.float().cpu().numpy(), ys, np.abs(ys).mean(0), bias, r))
    return out


def network_links(model: nn.Module) -> NetworkWeights:
    """NetworkWeights whose (out, in) 'weights' are the edges' L1 norms (non-negative), biases the nodes'
    (the model's own `network_links`, at the same POINTS samples as the curves)."""
    kan_layers(model)
    return network_weights(model)
