"""The MLP of TensorFlow Playground, grown up, and a residual MLP with declared blocks."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import nn

from netarium.models.base import (
    MODELS,
    Activation,
    Capable,
    InitScheme,
    ModelSpec,
    init_linear,
    make_activation,
)
from netarium.models.taps import Tap
from netarium.schema import Params, as_list


class TokenLinear(nn.Linear):
    """A linear map on concatenated one-hot tokens, computed as a sum of embedding lookups.

    For tokens (N, T) with vocabulary V: y = W [onehot(x_1); ...; onehot(x_T)] + b, W of shape
    (out, T*V): the same maths as a Linear on one-hot inputs, without building them. The rows are
    gathered from W^T made contiguous (a small (T*V, out) copy), one index_select per token position,
    and added: gathering from the transposed view strides through memory, and an (N, T, out) gather
    summed after costs twice as much (modular-grokking's full batch: ~9 ms forward and backward
    before, ~3 ms now). index_select stays differentiable twice (Hessian-vector products), which
    embedding_bag is not.
    """

    def __init__(self, vocab_size: int, n_tokens: int, out_features: int, bias: bool = True):
        super().__init__(n_tokens * vocab_size, out_features, bias=bias)
        self.vocab_size, self.n_tokens = vocab_size, n_tokens
        self.register_buffer("offsets", torch.arange(n_tokens) * vocab_size, persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        table = self.weight.t().contiguous()
        idx = tokens + self.offsets
        y = table.index_select(0, idx[:, 0])
        for t in range(1, self.n_tokens):
            y = y + table.index_select(0, idx[:, t])
        return y + self.bias if self.bias is not None else y


def check_widths(widths: list[int]) -> list[int]:
    """Hidden widths, each between 1 and 1024 (the schemas' validator)."""
    if any(w < 1 or w > 1024 for w in widths):
        raise ValueError("every hidden width must be between 1 and 1024")
    return widths


def input_layer(spec: ModelSpec, out_features: int, bias: bool) -> nn.Linear:
    """The first linear map: a Linear on features, or a TokenLinear when inputs are tokens."""
    if spec.vocab_size is not None:
        return TokenLinear(spec.vocab_size, spec.n_inputs, out_features, bias=bias)
    return nn.Linear(spec.n_inputs, out_features, bias=bias)


class MLPParams(Params):
    hidden: list[int] = Field([8, 8], min_length=0, max_length=8, description="Neurons per hidden layer (0-8 layers, 1-1024 each)")
    activation: list[Activation] = Field(["tanh"], min_length=1, max_length=8, json_schema_extra={"per_item_of": "hidden"},
                                         description="Activation per hidden layer; one value applies to all")
    bias: bool = Field(True, description="Linear maps have a bias")
    readout_bias: bool = Field(True, description="The readout has a bias too (off: f(x) = Σ a_j h_j, the network of the "
                               "convex program of a two-layer ReLU net); only matters when bias is on")
    init: InitScheme = Field("default", description="Weight initialisation scheme (tfp: TensorFlow Playground's "
                             "U(-0.5, 0.5) weights and 0.1 biases; zero: all 0)")
    init_scale: float = Field(1.0, ge=0.0, le=10.0, description="Multiplies the initial weights")
    readout: Literal["trained", "fixed-signs"] = Field(
        "trained", description="fixed-signs: the last layer is frozen at a_j = ±1/sqrt(m) (the xor-grokking model); only the hidden weights learn")

    _lists = field_validator("hidden", "activation", mode="before")(classmethod(lambda cls, v: as_list(v)))

    _widths = field_validator("hidden")(classmethod(lambda cls, v: check_widths(v)))

    @model_validator(mode="after")
    def _per_layer(self) -> MLPParams:
        if len(self.activation) not in (1, max(len(self.hidden), 1)):
            need = f"1 or {len(self.hidden)} entries" if len(self.hidden) > 1 else "1 entry"
            raise ValueError(f"activation needs {need}, got {len(self.activation)}")
        if self.readout == "fixed-signs" and not self.hidden:
            raise ValueError("readout fixed-signs needs a hidden layer (without one, no weight would learn)")
        return self

    def activations(self) -> list[str]:
        """One activation name per hidden layer."""
        return list(self.activation) * len(self.hidden) if len(self.activation) == 1 else list(self.activation)


class Layer(nn.Module):
    """linear -> tap "layerN.pre" -> activation -> tap "layerN.post"."""

    def __init__(self, linear: nn.Linear, activation: str, index: int):
        super().__init__()
        self.linear = linear
        self.pre = Tap(f"layer{index}.pre")
        self.act = make_activation(activation)
        self.post = Tap(f"layer{index}.post")
        self.activation_name = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.act(self.pre(self.linear(x))))


def fix_signs(readout: nn.Linear) -> None:
    """Freeze a readout at a_j = ±1/sqrt(m), alternating over the hidden units (Xu et al. 2024): with
    one output f(x) = Σ a_j h_j; with several, output c gets the signs (-1)^(c+1) a_j, so the logit
    difference of two classes is 2 f(x)."""
    m = readout.in_features
    a = torch.tensor([1.0 if j % 2 == 0 else -1.0 for j in range(m)]) / m**0.5
    with torch.no_grad():
        rows = [a if readout.out_features == 1 else a * (1.0 if c % 2 else -1.0) for c in range(readout.out_features)]
        readout.weight.copy_(torch.stack(rows))
        if readout.bias is not None:
            readout.bias.zero_()
    readout.requires_grad_(False)


class MLP(Capable, nn.Module):
    """Fully connected net; taps "in", "layerN.pre", "layerN.post" (N from 1), "logits"."""

    CAPABILITIES = frozenset({"mlp", "links"})
    CAPABILITY_WORDS = {"links": "a model whose links the network graph draws (an MLP, a KAN, a quadratic net)",
                        "two-layer-relu": "an MLP with one hidden ReLU layer"}

    def __init__(self, p: MLPParams, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.inp = Tap("in")
        widths = list(p.hidden)
        layers = []
        for i, (w, act) in enumerate(zip(widths, p.activations(), strict=True)):
            lin = input_layer(spec, w, p.bias) if i == 0 else nn.Linear(widths[i - 1], w, bias=p.bias)
            layers.append(Layer(lin, act, i + 1))
        self.layers = nn.ModuleList(layers)
        out_bias = p.bias and p.readout_bias
        self.readout = input_layer(spec, spec.n_outputs, out_bias) if not widths else nn.Linear(widths[-1], spec.n_outputs, bias=out_bias)
        self.logits = Tap("logits")
        for m in self.modules():
            if isinstance(m, nn.Linear):
                init_linear(m, p.init, p.init_scale)
        if p.readout == "fixed-signs":
            fix_signs(self.readout)

    def runtime_capabilities(self) -> frozenset[str]:
        """Also "two-layer-relu" for one hidden ReLU layer (the network of the convex program, analysis/convex.py)."""
        one = len(self.layers) == 1 and self.layers[0].activation_name == "relu"
        return super().runtime_capabilities() | ({"two-layer-relu"} if one else frozenset())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for layer in self.layers:
            h = layer(h)
        return self.logits(self.readout(h))


@MODELS.register("mlp", MLPParams, "Multi-layer perceptron with a chosen activation per layer", tags=tuple(MLP.CAPABILITIES))
def make_mlp(p: MLPParams, spec: ModelSpec) -> MLP:
    return MLP(p, spec)


class ResidualMLPParams(Params):
    width: int = Field(32, ge=1, le=1024, description="Width of the residual stream (d_model)")
    blocks: int = Field(4, ge=1, le=32, description="Number of residual blocks")
    hidden: int = Field(64, ge=1, le=4096, description="Hidden width inside each block")
    activation: Activation = Field("relu", description="Activation inside each block")
    prenorm: bool = Field(True, description="LayerNorm before each block (pre-LN) and before the readout")
    bias: bool = Field(True, description="Linear maps have a bias")
    init: InitScheme = Field("default", description="Weight initialisation scheme")
    init_scale: float = Field(1.0, ge=0.0, le=10.0, description="Multiplies the initial weights")
    layout: Literal["sequential", "parallel"] = Field(
        "sequential", description="sequential: h + F_l(h) block after block; parallel ('shallow'): x + Σ_l F_l(x), every block reads the input")


class ResidualBlock(nn.Module):
    """h -> h + W_out act(W_in norm(h)); taps resid_pre, hidden, mlp_out, resid_post."""

    def __init__(self, p: ResidualMLPParams, index: int):
        super().__init__()
        name = f"block{index}"
        self.resid_pre = Tap(f"{name}.resid_pre")
        self.norm = nn.LayerNorm(p.width) if p.prenorm else nn.Identity()
        self.fc_in = nn.Linear(p.width, p.hidden, bias=p.bias)
        self.act = make_activation(p.activation)
        self.hidden = Tap(f"{name}.hidden")
        self.fc_out = nn.Linear(p.hidden, p.width, bias=p.bias)
        self.mlp_out = Tap(f"{name}.mlp_out")
        self.resid_post = Tap(f"{name}.resid_post")
        self.activation_name = p.activation

    def branch(self, h: torch.Tensor) -> torch.Tensor:
        """F(h): what the block writes into the residual stream."""
        return self.mlp_out(self.fc_out(self.hidden(self.act(self.fc_in(self.norm(h))))))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.resid_pre(h)
        return self.resid_post(h + self.branch(h))


class ResidualMLP(Capable, nn.Module):
    """embed -> N residual blocks -> (norm) -> readout. `block_names` declares the blocks."""

    CAPABILITIES = frozenset({"residual"})

    def __init__(self, p: ResidualMLPParams, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.inp = Tap("in")
        self.embed = input_layer(spec, p.width, p.bias)
        self.blocks = nn.ModuleList(ResidualBlock(p, i + 1) for i in range(p.blocks))
        self.final_norm = nn.LayerNorm(p.width) if p.prenorm else nn.Identity()
        self.readout = nn.Linear(p.width, spec.n_outputs, bias=p.bias)
        self.logits = Tap("logits")
        self.parallel = p.layout == "parallel"
        for m in self.modules():
            if isinstance(m, nn.Linear):
                init_linear(m, p.init, p.init_scale)

    @property
    def block_names(self) -> list[str]:
        return [f"block{i + 1}" for i in range(len(self.blocks))]

    def readout_stream(self, h: torch.Tensor) -> torch.Tensor:
        """The logits the model would give if the residual stream ended as `h` (logit lens)."""
        return self.readout(self.final_norm(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(self.inp(x))
        if self.parallel:  # x + sum_l F_l(x): the stream accumulates, every branch reads the input
            x0 = h
            for block in self.blocks:
                h = block.resid_post(block.resid_pre(h) + block.branch(x0))
        else:
            for block in self.blocks:
                h = block(h)
        return self.logits(self.readout_stream(h))


@MODELS.register("residual-mlp", ResidualMLPParams, "MLP with declared residual blocks, pre-norm optional", tags=tuple(ResidualMLP.CAPABILITIES))
def make_residual_mlp(p: ResidualMLPParams, spec: ModelSpec) -> ResidualMLP:
    return ResidualMLP(p, spec)
