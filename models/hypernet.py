"""A hypernetwork: an MLP h that maps a task parameter gamma to the weights theta(gamma) of a small target MLP,
which is applied to the example's other inputs (Ha et al. 2016). The first `gammas` input columns are gamma
(in [0, 1]), the rest go to the target net; every example gets its own target weights.

Magnitude invariant parametrization, MIP (Ortiz, Guttag & Dalca 2023, "Magnitude invariant parametrizations
improve hypernetwork learning"): with a plain hypernet, theta = h(gamma), and h's output magnitude is
proportional to its input's (LeakyReLU layers, biases initialised to 0: h(c gamma) = c h(gamma) for c > 0),
so examples with gamma near 0 get near-zero target weights and tiny gradients. MIP
  1. encodes each gamma with constant norm, E(gamma) = [cos(pi gamma / 2), sin(pi gamma / 2)], |E| = 1;
  2. predicts a residual: theta = theta_0 + h(E(gamma)), theta_0 independent learned weights at the target
     net's usual initialisation.
The hypernet is initialised as in the paper's code: Kaiming normal (fan out) weights, biases 0, LeakyReLU;
theta_0 Kaiming normal (fan in) for weights, 0 for biases.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field, field_validator
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, ModelSpec, make_activation
from netarium.models.mlp import check_widths
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError, as_list

NORM_GAMMAS = (0.0, 0.5, 1.0)  # the gammas whose |theta(gamma)| the run's history records at every evaluation
LEAK = 0.01  # nn.LeakyReLU's default slope


class HypernetworkParams(Params):
    hidden: list[int] = Field([16], min_length=0, max_length=4, description="Neurons per hidden layer of the target "
                              "net, whose weights the hypernetwork predicts (0-4 layers, 1-1024 each)")
    activation: Activation = Field("relu", description="Activation of the target net's hidden layers")
    hyper_hidden: list[int] = Field([32, 32], min_length=1, max_length=4, description="Neurons per hidden layer of the "
                                    "hypernetwork (LeakyReLU; 1-4 layers, 1-1024 each)")
    mip: bool = Field(True, description="Magnitude invariant parametrization: [cos, sin] encoding of gamma and "
                      "theta = theta_0 + h(E(gamma)); off: the plain hypernetwork theta = h(gamma) (its head's bias starts at 0)")
    gammas: int = Field(1, ge=1, le=8, description="How many leading input columns are the task parameters gamma "
                        "(in [0, 1]); the rest are the target net's inputs")

    _lists = field_validator("hidden", "hyper_hidden", mode="before")(classmethod(lambda cls, v: as_list(v)))
    _widths = field_validator("hidden", "hyper_hidden")(classmethod(lambda cls, v: check_widths(v)))


def mip_encoding(gamma: torch.Tensor) -> torch.Tensor:
    """E(gamma) = [cos(pi gamma / 2), sin(pi gamma / 2)] for each column of gamma (..., k) -> (..., 2k):
    every pair has norm 1, so |E| = sqrt(k) whatever gamma is (Ortiz et al. 2023)."""
    half = gamma * (math.pi / 2)
    return torch.cat([torch.cos(half), torch.sin(half)], dim=-1)


class GammaEncoding(nn.Module):
    """MIP's input encoding E(gamma) = [cos(pi gamma / 2), sin(pi gamma / 2)] (drawn as one glyph)."""

    diagram_label = "cos|sin"

    def forward(self, gamma: torch.Tensor) -> torch.Tensor:
        return mip_encoding(gamma)


class HyperNet(nn.Module):
    """encoding -> (Linear, LeakyReLU) x L -> head -> theta = base + head(h): every target weight, flat.

    `base` is MIP's theta_0 (initialised as the target net would be) or, for the plain hypernet, the head's
    bias (initialised to 0, as the paper's code does): the two differ in its initial value and the encoding
    only, with the same parameters."""

    def __init__(self, gammas: int, widths: list[int], n_out: int, base: torch.Tensor | None):
        super().__init__()
        self.encoding = GammaEncoding() if base is not None else nn.Identity()
        sizes = [2 * gammas if base is not None else gammas, *widths]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.acts = nn.ModuleList(nn.LeakyReLU(LEAK) for _ in widths)
        self.hidden = Tap("hyper.hidden")
        self.head = nn.Linear(sizes[-1], n_out, bias=False)
        self.base = nn.Parameter(torch.zeros(n_out) if base is None else base)
        with torch.no_grad():  # the paper's code: Kaiming normal fan-out, zero biases
            for layer in self.layers:
                nn.init.kaiming_normal_(layer.weight, a=LEAK, mode="fan_out", nonlinearity="leaky_relu")
                layer.bias.zero_()
            nn.init.kaiming_normal_(self.head.weight, mode="fan_out", nonlinearity="linear")

    def forward(self, gamma: torch.Tensor) -> torch.Tensor:
        h = self.encoding(gamma)
        for layer, act in zip(self.layers, self.acts, strict=True):
            h = act(layer(h))
        return self.base + self.head(self.hidden(h))


class TargetLayer(nn.Module):
    """One layer of the target net with per-example weights: z_b = W_b x_b + c_b; taps layerN.pre and
    layerN.post for a hidden layer, "logits" for the readout."""

    def __init__(self, n_in: int, n_out: int, activation: str | None, index: int):
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.activation_name = activation
        self.pre = Tap(f"layer{index}.pre" if activation else "logits")
        if activation:
            self.act = make_activation(activation)
            self.post = Tap(f"layer{index}.post")

    @property
    def size(self) -> int:
        return self.n_out * self.n_in + self.n_out

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """x (B, in), theta (B, size): this layer's weights as an (in, out) matrix (row-major), then its biases."""
        w = theta[:, : self.n_out * self.n_in].reshape(-1, self.n_in, self.n_out)
        b = theta[:, self.n_out * self.n_in :]
        z = self.pre(torch.matmul(x.unsqueeze(1), w).squeeze(1) + b)
        return self.post(self.act(z)) if self.activation_name else z


class Hypernetwork(Capable, nn.Module):
    """gamma -> hypernet -> theta(gamma) -> the target MLP on x. Taps "in", "hyper.hidden", "theta" (every
    example's target weights), "layerN.pre" / "layerN.post" (the target net's hidden layers), "logits"."""

    CAPABILITIES = frozenset({"hypernetwork"})
    CAPABILITY_WORDS = {"hypernetwork": "a hypernetwork (model hypernetwork)"}
    axis_names = {"stream": "θ", "heads": "m", "per_head": "h"}  # theta's wires; a target layer's W: m inputs x h outputs

    def __init__(self, p: HypernetworkParams, spec: ModelSpec):
        super().__init__()
        if spec.vocab_size is not None:  # SchemaErrors: the CLI and the app say them in one line
            raise SchemaError("task.name", "hypernetwork reads numeric features, not tokens", "a task family such as rotated-2d")
        if spec.n_inputs <= p.gammas:
            raise SchemaError("model.gammas", f"hypernetwork reads its first {p.gammas} input(s) as gamma and needs at least "
                              f"one more for the target net; the task gives {spec.n_inputs}", f"1 to {max(spec.n_inputs - 1, 1)}")
        self.spec, self.mip, self.gammas = spec, p.mip, p.gammas
        widths = [spec.n_inputs - p.gammas, *p.hidden, spec.n_outputs]
        acts = [p.activation] * len(p.hidden) + [None]
        self.layer_shapes = [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]
        self.n_theta = sum(o * i + o for o, i in self.layer_shapes)
        self.inp = Tap("in")
        self.hyper = HyperNet(p.gammas, list(p.hyper_hidden), self.n_theta, self.initial_theta() if p.mip else None)
        self.theta = Tap("theta")
        self.target = nn.ModuleList(TargetLayer(i, o, a, k + 1) for k, ((o, i), a) in enumerate(zip(self.layer_shapes, acts, strict=True)))

    def initial_theta(self) -> torch.Tensor:
        """theta_0 at the target net's usual initialisation: Kaiming normal (fan in) weights, zero biases."""
        parts = []
        for o, i in self.layer_shapes:
            w = torch.empty(o, i)
            nn.init.kaiming_normal_(w, a=LEAK, nonlinearity="leaky_relu")
            parts += [w.t().flatten(), torch.zeros(o)]  # stored (in, out), as TargetLayer reads it
        return torch.cat(parts)

    def weights_for(self, gamma: torch.Tensor) -> torch.Tensor:
        """theta(gamma): (n, n_theta) target weights for gammas (n, k)."""
        return self.hyper(gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        theta = self.theta(self.hyper(x[:, : self.gammas]))
        h = x[:, self.gammas :]
        k = 0
        for layer in self.target:
            h = layer(h, theta[:, k : k + layer.size])
            k += layer.size
        return h

    @torch.no_grad()
    def theta_norms(self, gammas: tuple[float, ...] | list[float] = NORM_GAMMAS) -> torch.Tensor:
        """|theta(gamma)| for each gamma (every gamma column at that value): (len(gammas),)."""
        device = self.hyper.base.device
        g = torch.tensor(list(gammas), dtype=torch.float32, device=device).unsqueeze(1).expand(-1, self.gammas)
        return torch.linalg.vector_norm(self.weights_for(g), dim=1)

    def history_metrics(self) -> dict[str, float]:
        """What the run's history records at every evaluation besides loss and accuracy: |theta(gamma)| at
        gamma = 0, 0.5, 1 (the hypernetwork's output norm, which a plain hypernet ties to |gamma|)."""
        norms = self.theta_norms(NORM_GAMMAS).tolist()
        return {f"theta_norm_{g:g}": v for g, v in zip(NORM_GAMMAS, norms, strict=True)}


@MODELS.register("hypernetwork", HypernetworkParams, "Hypernetwork: an MLP maps the task parameter gamma to the weights of "
                 "a target MLP (MIP: constant-norm encoding and a residual on learned weights)", tags=tuple(Hypernetwork.CAPABILITIES))
def make_hypernetwork(p: HypernetworkParams, spec: ModelSpec) -> Hypernetwork:
    return Hypernetwork(p, spec)
