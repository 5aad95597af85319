"""Kolmogorov-Arnold networks with bell bases: ReLU-KAN (Qiu et al. 2024) and AF-KAN's bases (Ta & Tran 2025).

Every edge (j -> i) of a layer carries a learned 1-D function phi_ij(x) = sum_n w_ijn B_n(u(x)), a node
sums its edges: y_i = sum_j phi_ij(x_j) + b_i. The bases live on the unit interval: the layer maps its
input range [-r, r] onto [0, 1] with u = (x + r) / 2r (r = `input_range` for the first layer, 1 for later
layers, whose inputs are the previous nodes squashed by tanh into [-1, 1]; a choice of this model, not
of the papers). Grid size G and span k give G + k intervals n = 0..G+k-1 with s_n = (n - k)/G and
e_n = s_n + (k + 1)/G (ReLU-KAN eq. 6), so the bases cover [-k/G, 1 + k/G].

basis "relu" is ReLU-KAN's R_n(u) = [relu(e_n - u) relu(u - s_n)]^2 * 16/(e_n - s_n)^4: 1 at the interval's
centre, 0 outside [s_n, e_n]. The AF-KAN bases put another activation f (silu, tanh, gelu, elu,
softplus) in place of relu and combine a = f(u - s_n), b = f(e_n - u) by a function type (AF-KAN's
`func`): quad1 (ab)^2, prod ab, sum a + b, sum_prod a + b + ab, quad2 ab + a^2 + b^2,
cubic1 (a + b)(a^2 + b^2), cubic2 (ab)^3. Normalisation (`norm`): "peak" divides each basis by its value
at the interval centre (ReLU-KAN's 16/(e - s)^4 for relu-quad1, so every basis peaks at 1 there);
"l2mm" is AF-KAN's data normalisation of the basis stack: divide by its L2 norm, then min-max to [0, 1]
over the whole batch (so a basis then depends on the batch it is computed on). AF-KAN's attention
over the bases (global attention, then LayerNorm over the inputs and one weight per edge) is not built:
it would turn the edges into one shared function per input node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import nn
from torch.nn import functional as F

from netarium.models.base import MODELS, Capable, ModelSpec
from netarium.models.mlp import check_widths
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError, as_list

BasisActivation = Literal["relu", "silu", "tanh", "gelu", "elu", "softplus"]
Combination = Literal["quad1", "prod", "sum", "sum_prod", "quad2", "cubic1", "cubic2"]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "silu": F.silu, "tanh": torch.tanh, "gelu": F.gelu, "elu": F.elu, "softplus": F.softplus,
}
COMBINATIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "quad1": lambda a, b: (a * b) ** 2,
    "prod": lambda a, b: a * b,
    "sum": lambda a, b: a + b,
    "sum_prod": lambda a, b: a + b + a * b,
    "quad2": lambda a, b: a * b + a * a + b * b,
    "cubic1": lambda a, b: (a + b) * (a * a + b * b),
    "cubic2": lambda a, b: (a * b) ** 3,
}
HIDDEN_RANGE = 1.0  # hidden nodes are squashed by tanh into [-1, 1], the later layers' input range


def grid_intervals(grid: int, span: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(s, e), each (G + k,): s_n = (n - k)/G, e_n = s_n + (k + 1)/G (ReLU-KAN eq. 6) on the unit interval."""
    s = (torch.arange(grid + span, dtype=torch.float32) - span) / grid
    return s, s + (span + 1) / grid


def raw_basis(u: torch.Tensor, s: torch.Tensor, e: torch.Tensor, activation: str, combination: str) -> torch.Tensor:
    """combination(f(u - s_n), f(e_n - u)) for every basis n: u (...,) -> (..., G + k), unnormalised."""
    f = ACTIVATIONS[activation]
    u = u.unsqueeze(-1)
    return COMBINATIONS[combination](f(u - s), f(e - u))


def relu_kan_basis(u: torch.Tensor, s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """ReLU-KAN's R_n(u) = [relu(e_n - u) relu(u - s_n)]^2 * 16/(e_n - s_n)^4 (Qiu et al. 2024, eq. 6)."""
    return raw_basis(u, s, e, "relu", "quad1") * (16.0 / (e - s) ** 4)


class KANLayer(nn.Module):
    """in -> out edges, each a learned function sum_n w_ijn B_n(u(x_j)); y_i = sum_j phi_ij(x_j) + b_i.

    All bases of all inputs are one (batch, in, G + k) tensor and the sum over edges and bases is one
    contraction with the (out, in, G + k) weights, one matrix product (ReLU-KAN's matrix form). No child modules: the
    diagram draws the layer as one KAN glyph.
    """

    NCD_GLYPH = "kan"

    def __init__(self, in_features: int, out_features: int, grid: int, span: int, input_range: float,
                 activation: str = "relu", combination: str = "quad1", norm: str = "peak", bias: bool = True,
                 init_scale: float = 1.0):
        super().__init__()
        self.in_features, self.out_features, self.grid, self.span = in_features, out_features, grid, span
        self.input_range, self.activation, self.combination, self.norm = input_range, activation, combination, norm
        s, e = grid_intervals(grid, span)
        self.register_buffer("s", s, persistent=False)
        self.register_buffer("e", e, persistent=False)
        centre = (s + e) / 2
        peak = raw_basis(centre, s, e, activation, combination).diagonal()
        self.register_buffer("peak", peak, persistent=False)
        n = grid + span
        # each u lies in about k + 1 bases of height <= 1: weights of this size keep y_i of order one
        std = init_scale / (in_features * (span + 1)) ** 0.5
        self.weight = nn.Parameter(torch.randn(out_features, in_features, n) * std)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    @property
    def n_bases(self) -> int:
        return self.grid + self.span

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """u = (x + r) / 2r: the layer's input range [-r, r] onto the bases' unit interval."""
        return (x + self.input_range) / (2 * self.input_range)

    def bases(self, x: torch.Tensor) -> torch.Tensor:
        """(..., G + k) normalised bases at inputs x (...)."""
        u = self.to_unit(x)
        if self.activation == "relu" and self.combination == "quad1" and self.norm == "peak":
            return relu_kan_basis(u, self.s, self.e)
        raw = raw_basis(u, self.s, self.e, self.activation, self.combination)
        if self.norm == "peak":
            return raw / self.peak
        flat = raw / raw.norm().clamp_min(1e-12)  # AF-KAN's L2MM: L2 over the whole tensor, then min-max
        lo, hi = flat.min(), flat.max()
        return (flat - lo) / (hi - lo).clamp_min(1e-12)

    def edge_functions(self, x: torch.Tensor) -> torch.Tensor:
        """phi_ij at the points x (P,) along every input: (P, out, in), without the node bias."""
        b = self.bases(x.unsqueeze(-1).expand(-1, self.in_features))  # (P, in, n)
        return (b.unsqueeze(1) * self.weight).sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.bases(x).flatten(1), self.weight.flatten(1), self.bias)

    def ncd_detail(self) -> str:
        basis = "ReLU-KAN" if self.activation == "relu" and self.combination == "quad1" else f"{self.activation} {self.combination}"
        return (f"{self.in_features} to {self.out_features}: a learned 1-D function on each of the "
                f"{self.in_features * self.out_features} edges ({basis} bases, G={self.grid}, k={self.span}, "
                f"input range ±{self.input_range:g})")

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, G={self.grid}, k={self.span}, range=±{self.input_range:g}, "
                f"basis={self.activation}/{self.combination}/{self.norm}")


class KANParams(Params):
    hidden: list[int] = Field([4], min_length=0, max_length=6, description="Nodes per hidden KAN layer (0-6 layers, 1-1024 each)")
    grid: int = Field(5, ge=1, le=64, description="Grid size G: intervals of the unit grid each edge's bases cover")
    span: int = Field(3, ge=1, le=8, description="Span k: each basis covers k + 1 grid intervals (G + k bases per edge)")
    basis: BasisActivation = Field("relu", description="relu: ReLU-KAN's bell basis; silu, tanh, gelu, elu, softplus: "
                                   "AF-KAN's bases built from that activation")
    combination: Combination = Field("quad1", description="How AF-KAN combines f(u - s) and f(e - u): quad1 (ab)^2 "
                                     "(ReLU-KAN's form), prod, sum, sum_prod, quad2, cubic1, cubic2")
    norm: Literal["peak", "l2mm"] = Field("peak", description="peak: each basis is 1 at its interval's centre (ReLU-KAN); "
                                          "l2mm: AF-KAN's L2 then min-max normalisation over the batch")
    input_range: float = Field(6.0, gt=0.0, le=100.0, description="The first layer's grid spans [-r, r] "
                               "(6: the Playground's points; 1 for inputs in [0, 1] such as digits' pixels)")
    bias: bool = Field(True, description="Each node adds a learned bias")
    init_scale: float = Field(1.0, ge=0.0, le=10.0, description="Multiplies the initial basis weights")

    _lists = field_validator("hidden", mode="before")(classmethod(lambda cls, v: as_list(v)))
    _widths = field_validator("hidden")(classmethod(lambda cls, v: check_widths(v)))

    @model_validator(mode="after")
    def _relu_needs_product(self) -> KANParams:
        if self.basis == "relu" and self.combination == "sum":
            raise ValueError("basis relu with combination sum is flat inside every interval (relu(u-s) + relu(e-u) = e - s): "
                             "choose quad1, prod or another combination")
        return self


class KANBlock(nn.Module):
    """KAN layer -> tap "layerN.pre" -> tanh (into the next layer's range) -> tap "layerN.post"."""

    def __init__(self, layer: KANLayer, index: int):
        super().__init__()
        self.kan = layer
        self.pre = Tap(f"layer{index}.pre")
        self.act = nn.Tanh()
        self.post = Tap(f"layer{index}.post")
        self.activation_name = "tanh"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.act(self.pre(self.kan(x))))


class KAN(Capable, nn.Module):
    """A KAN: taps "in", "layerN.pre" (the node sums), "layerN.post" (squashed), "logits" (the last layer)."""

    CAPABILITIES = frozenset({"kan", "links"})
    CAPABILITY_WORDS = {"kan": "a Kolmogorov-Arnold network (model kan)"}

    def __init__(self, p: KANParams, spec: ModelSpec):
        super().__init__()
        if spec.vocab_size is not None:
            raise SchemaError("model.name", "kan reads numeric features, this task gives tokens", "mlp, transformer")
        self.spec = spec
        self.inp = Tap("in")
        widths = [spec.n_inputs, *p.hidden, spec.n_outputs]

        def layer(i: int) -> KANLayer:
            return KANLayer(widths[i], widths[i + 1], p.grid, p.span, p.input_range if i == 0 else HIDDEN_RANGE,
                            p.basis, p.combination, p.norm, p.bias, p.init_scale)

        self.layers = nn.ModuleList(KANBlock(layer(i), i + 1) for i in range(len(p.hidden)))
        self.readout = layer(len(p.hidden))
        self.logits = Tap("logits")

    def kan_layers(self) -> list[KANLayer]:
        """Every KAN layer in order, the readout last."""
        return [b.kan for b in self.layers] + [self.readout]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.layers:
            h = block(h)
        return self.logits(self.readout(h))

    def network_link_curves(self, points: int = 64) -> list[torch.Tensor]:
        """Each layer's edge functions phi_ij at `points` evenly spaced inputs of its range: (P, out, in)."""
        curves = []
        with torch.no_grad():
            for layer in self.kan_layers():
                r = float(layer.input_range)
                xs = torch.linspace(-r, r, points, device=layer.weight.device, dtype=layer.weight.dtype)
                curves.append(layer.edge_functions(xs))
        return curves

    def network_links(self, points: int = 64) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        """The Playground graph's links, (weights, biases) in layer order: each edge's L1 norm, the mean
        |phi_ij(x)| over `points` evenly spaced inputs of its layer's range, and the nodes' biases."""
        weights = [c.abs().mean(0) for c in self.network_link_curves(points)]
        biases = [None if layer.bias is None else layer.bias.detach() for layer in self.kan_layers()]
        return weights, biases


@MODELS.register("kan", KANParams, "Kolmogorov-Arnold network: a learned 1-D function on every edge (ReLU-KAN, AF-KAN bases)",
                 tags=tuple(KAN.CAPABILITIES))
def make_kan(p: KANParams, spec: ModelSpec) -> KAN:
    return KAN(p, spec)
