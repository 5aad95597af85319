"""What quadratic neurons compute over the input plane: each neuron's pre-activation
(w_r·x + b_r)(w_g·x + b_g) + w_b·(x⊙x) + c beside its linear part w_r·x + b_r, and, for a first layer
that reads the two plane coordinates, the conic its zero set is (Fan et al. 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from netarium.analysis.playground import Box, _grid_inputs
from netarium.models.taps import record

CONIC_TOL = 1e-9  # |det| below this (relative to the scale of A) counts as a parabola


@dataclass(frozen=True)
class QuadraticResponses:
    """One hidden layer's quadratic neurons over an R x R grid of the task's box: `quadratic` (n, R, R) the
    pre-activation, `linear` (n, R, R) its linear part w_r·x + b_r (the neuron it started as under
    ReLinear), `conics` one name per neuron when the layer reads the plane's (x1, x2) directly, else []."""

    layer: int
    xs: np.ndarray
    ys: np.ndarray
    box: Box
    quadratic: np.ndarray
    linear: np.ndarray
    conics: list[str]

    @property
    def n_neurons(self) -> int:
        return int(self.quadratic.shape[0])


def quadratic_layers(model: nn.Module) -> list[nn.Module]:
    """The QuadraticLinear of each hidden layer (layers[i].quad), in order."""
    return [layer.quad for layer in getattr(model, "layers", []) if hasattr(layer, "quad")]


def quadratic_form(quad: nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per neuron, the pre-activation as xᵀAx + kᵀx + c0: A (n, d, d) = sym(w_r w_gᵀ) + diag(w_b),
    k (n, d) = b_g w_r + b_r w_g, c0 (n,) = b_r b_g + c."""
    wr, br = quad.r.weight.detach().double().cpu().numpy(), quad.r.bias.detach().double().cpu().numpy()
    wg, bg = quad.g.weight.detach().double().cpu().numpy(), quad.g.bias.detach().double().cpu().numpy()
    wb, c = quad.b.weight.detach().double().cpu().numpy(), quad.b.bias.detach().double().cpu().numpy()
    outer = np.einsum("ni,nj->nij", wr, wg)
    A = 0.5 * (outer + outer.transpose(0, 2, 1)) + np.einsum("ni,ij->nij", wb, np.eye(wr.shape[1]))
    k = bg[:, None] * wr + br[:, None] * wg
    return A, k, br * bg + c


def conic_type(A: np.ndarray) -> str:
    """The kind of the curve xᵀAx + kᵀx + c0 = 0 in the plane from its 2x2 quadratic part: ellipse
    (det A > 0; a circle when A is a multiple of I), hyperbola (det < 0), parabola (det = 0, A ≠ 0), line
    (A = 0: the linear neuron). Degenerate cases (an empty ellipse, two lines) keep the name of their family."""
    scale = float(np.abs(A).max())
    if scale < CONIC_TOL:
        return "line"
    det = float(np.linalg.det(A)) / scale**2
    if abs(det) < 1e-6:
        return "parabola"
    if det > 0:
        return "circle" if abs(A[0, 0] - A[1, 1]) < 1e-6 * scale and abs(A[0, 1]) < 1e-6 * scale else "ellipse"
    return "hyperbola"


@torch.no_grad()
def quadratic_responses(model: nn.Module, task, layer: int = 1, resolution: int = 40) -> QuadraticResponses:
    """Layer `layer`'s (1-based) quadratic pre-activations and linear parts over the task's 2-D box; a
    ValueError says why when the task is not 2-D or the model has no such quadratic layer."""
    quads = quadratic_layers(model)
    if not 1 <= layer <= len(quads):
        raise ValueError(f"the model has {len(quads)} quadratic layer(s), not a layer {layer}")
    xs, ys, feats, box = _grid_inputs(model, task, resolution)
    name = f"layer{layer - 1}.post" if layer > 1 else "in"
    h = record(model, feats, [name])[name]
    quad = quads[layer - 1]
    R = resolution

    def maps(t: torch.Tensor) -> np.ndarray:
        return t.float().reshape(R, R, -1).permute(2, 0, 1).cpu().numpy()

    conics: list[str] = []
    if layer == 1 and list(getattr(task, "input_names", []) or []) == ["x1", "x2"]:
        A, _, _ = quadratic_form(quad)
        conics = [conic_type(a) for a in A]
    return QuadraticResponses(layer, xs, ys, box, maps(quad(h)), maps(quad.linear_part(h)), conics)
