"""Quadratic neurons with ReLinear initialization (Fan et al., "Expressivity and trainability of quadratic
networks", 2023): y = s((w_r·x + b_r)(w_g·x + b_g) + w_b·(x⊙x) + c).

ReLinear starts every neuron as the linear neuron it contains (w_g = 0, b_g = 1, w_b = 0, c = 0, with
w_r, b_r initialized as a Linear would be) and trains the quadratic terms (w_g, b_g, w_b, c) with a smaller
learning rate (a factor in the schema, applied through the optimizer's parameter groups: `lr_factors`).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, ModelSpec, Square, make_activation
from netarium.models.mlp import check_widths
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError, as_list


class QuadraticParams(Params):
    hidden: list[int] = Field([4], min_length=1, max_length=8, description="Quadratic neurons per hidden layer (1-8 layers, 1-1024 each)")
    activation: list[Activation] = Field(["relu"], min_length=1, max_length=8, json_schema_extra={"per_item_of": "hidden"},
                                         description="Activation per hidden layer; one value applies to all")
    init: Literal["relinear", "random"] = Field(
        "relinear", description="relinear: w_g = 0, b_g = 1, w_b = 0, c = 0, every neuron starts as its linear part; "
                                "random: the quadratic terms drawn like a Linear's weights and biases")
    quadratic_lr: float = Field(0.1, gt=0.0, le=1.0, description="Learning-rate factor of the quadratic terms (w_g, b_g, w_b, c): "
                                "their lr is the optimizer's lr times this (ReLinear trains them slower)")

    _lists = field_validator("hidden", "activation", mode="before")(classmethod(lambda cls, v: as_list(v)))

    _widths = field_validator("hidden")(classmethod(lambda cls, v: check_widths(v)))

    @model_validator(mode="after")
    def _per_layer(self) -> QuadraticParams:
        if len(self.activation) not in (1, len(self.hidden)):
            raise ValueError(f"activation needs 1 or {len(self.hidden)} entries, got {len(self.activation)}")
        return self

    def activations(self) -> list[str]:
        """One activation name per hidden layer."""
        return list(self.activation) * len(self.hidden) if len(self.activation) == 1 else list(self.activation)


class HadamardSquare(Square):
    """x -> x⊙x, the input of the w_b term; drawn in the diagram as the x⊙x glyph."""

    diagram_label = "x⊙x"


class QuadraticLinear(nn.Module):
    """(w_r·x + b_r)(w_g·x + b_g) + w_b·(x⊙x) + c for `out_features` neurons at once: three Linears,
    `r` (the linear part w_r, b_r), `g` (w_g, b_g) and `b` (w_b on x⊙x, with c as its bias)."""

    def __init__(self, in_features: int, out_features: int, init: str = "relinear"):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.r = nn.Linear(in_features, out_features)
        self.g = nn.Linear(in_features, out_features)
        self.square = HadamardSquare()
        self.b = nn.Linear(in_features, out_features)
        if init == "relinear":
            relinear_(self)

    def linear_part(self, x: torch.Tensor) -> torch.Tensor:
        """w_r·x + b_r: the linear neuron this quadratic neuron contains (ReLinear starts as exactly it)."""
        return self.r(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.r(x) * self.g(x) + self.b(self.square(x))

    def quadratic_parameters(self) -> list[nn.Parameter]:
        """w_g, b_g, w_b, c: the terms ReLinear trains with a smaller learning rate."""
        return [self.g.weight, self.g.bias, self.b.weight, self.b.bias]


@torch.no_grad()
def relinear_(q: QuadraticLinear) -> None:
    """ReLinear initialization in place: w_g = 0, b_g = 1, w_b = 0, c = 0 (w_r, b_r as they are)."""
    q.g.weight.zero_()
    q.g.bias.fill_(1.0)
    q.b.weight.zero_()
    q.b.bias.zero_()


class QuadraticLayer(nn.Module):
    """quadratic neurons -> tap "layerN.pre" -> activation -> tap "layerN.post"."""

    def __init__(self, quad: QuadraticLinear, activation: str, index: int):
        super().__init__()
        self.quad = quad
        self.pre = Tap(f"layer{index}.pre")
        self.act = make_activation(activation)
        self.post = Tap(f"layer{index}.post")
        self.activation_name = activation

    @property
    def linear(self) -> nn.Linear:
        """The linear part (w_r, b_r): what the Playground's graph draws and its link editor sets."""
        return self.quad.r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.act(self.pre(self.quad(x))))


class QuadraticNet(Capable, nn.Module):
    """Hidden layers of quadratic neurons, a Linear readout; taps "in", "layerN.pre", "layerN.post", "logits"."""

    CAPABILITIES = frozenset({"mlp", "quadratic", "links"})  # mlp: layered, layers[i].linear (w_r) and a readout Linear
    CAPABILITY_WORDS = {"quadratic": "a network of quadratic neurons (quadratic)"}
    axis_names = {"stream": "h"}  # the diagram: the + inside a neuron joins hidden values, not a residual stream

    def __init__(self, p: QuadraticParams, spec: ModelSpec):
        super().__init__()
        if spec.vocab_size is not None:
            raise SchemaError("model.name", "quadratic neurons need feature inputs, this task gives tokens", "mlp, transformer")
        self.spec = spec
        self.quadratic_lr = p.quadratic_lr
        self.inp = Tap("in")
        widths = [spec.n_inputs, *p.hidden]
        self.layers = nn.ModuleList(
            QuadraticLayer(QuadraticLinear(widths[i], widths[i + 1], p.init), act, i + 1)
            for i, act in enumerate(p.activations())
        )
        self.readout = nn.Linear(widths[-1], spec.n_outputs)
        self.logits = Tap("logits")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for layer in self.layers:
            h = layer(h)
        return self.logits(self.readout(h))

    def lr_factors(self) -> dict[nn.Parameter, float]:
        """The quadratic terms' learning-rate factor, per parameter (training/optim.py build_optimizer reads it)."""
        return {p: self.quadratic_lr for layer in self.layers for p in layer.quad.quadratic_parameters()}

    def network_links(self) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        """The Playground graph's links, (weights, biases) in layer order: a link's strength is the weight of
        the linear part w_r (the map the neuron starts as under ReLinear; w_g and w_b are the quadratic
        corrections, drawn in the Quadratic neurons view); biases are b_r."""
        weights = [layer.quad.r.weight for layer in self.layers] + [self.readout.weight]
        biases = [layer.quad.r.bias for layer in self.layers] + [self.readout.bias]
        return weights, biases


@MODELS.register("quadratic", QuadraticParams, "Quadratic neurons (w_r·x+b_r)(w_g·x+b_g)+w_b·(x⊙x)+c with ReLinear init (Fan et al.)",
                 tags=tuple(QuadraticNet.CAPABILITIES))
def make_quadratic(p: QuadraticParams, spec: ModelSpec) -> QuadraticNet:
    return QuadraticNet(p, spec)
