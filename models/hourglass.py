"""Hourglass MLP: a fixed random lift of the input to a wide residual stream, then residual blocks that
squeeze the stream through a narrow bottleneck and write back, z + W_up s(W_down z), then a readout
(Hourglass MLP, "wide-narrow-wide" instead of the usual narrow-wide-narrow residual MLP, 2025).

The lift is a frozen Linear (requires_grad False, drawn as frozen in the diagram): only the blocks and the
readout learn. Taps follow the residual MLP's convention, so the Residual stream page works unchanged."""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, ModelSpec, make_activation
from netarium.models.mlp import input_layer
from netarium.models.taps import Tap
from netarium.schema import Params


class HourglassParams(Params):
    wide: int = Field(64, ge=1, le=1024, description="Width of the residual stream the input is lifted to (the wide part)")
    bottleneck: int = Field(8, ge=1, le=1024, description="Width inside each block (the narrow waist: W_down wide→bottleneck, W_up back)")
    blocks: int = Field(3, ge=1, le=32, description="Number of residual bottleneck blocks")
    activation: Activation = Field("relu", description="Activation at the bottleneck")
    frozen_lift: bool = Field(True, description="The input lift is a fixed random map, never trained (off: it learns too)")
    prenorm: bool = Field(False, description="LayerNorm before each block and before the readout")
    bias: bool = Field(True, description="The blocks' and the readout's linear maps have a bias (the lift has none)")


class HourglassBlock(nn.Module):
    """z -> z + W_up act(W_down norm(z)); taps resid_pre, hidden (the bottleneck), mlp_out, resid_post."""

    def __init__(self, p: HourglassParams, index: int):
        super().__init__()
        name = f"block{index}"
        self.resid_pre = Tap(f"{name}.resid_pre")
        self.norm = nn.LayerNorm(p.wide) if p.prenorm else nn.Identity()
        self.down = nn.Linear(p.wide, p.bottleneck, bias=p.bias)
        self.act = make_activation(p.activation)
        self.hidden = Tap(f"{name}.hidden")
        self.up = nn.Linear(p.bottleneck, p.wide, bias=p.bias)
        self.mlp_out = Tap(f"{name}.mlp_out")
        self.resid_post = Tap(f"{name}.resid_post")
        self.activation_name = p.activation

    def branch(self, z: torch.Tensor) -> torch.Tensor:
        """W_up act(W_down z): what the block writes into the wide stream."""
        return self.mlp_out(self.up(self.hidden(self.act(self.down(self.norm(z))))))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = self.resid_pre(z)
        return self.resid_post(z + self.branch(z))


class HourglassMLP(Capable, nn.Module):
    """lift (frozen random) -> N bottleneck blocks -> (norm) -> readout. `block_names` declares the blocks;
    taps "in", "lift", "blockN.resid_pre", "blockN.hidden", "blockN.mlp_out", "blockN.resid_post", "logits"."""

    CAPABILITIES = frozenset({"residual", "hourglass"})
    CAPABILITY_WORDS = {"hourglass": "an hourglass MLP (model hourglass)"}

    def __init__(self, p: HourglassParams, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.widths = (p.wide, p.bottleneck)
        self.inp = Tap("in")
        self.lift = input_layer(spec, p.wide, bias=False)
        with torch.no_grad():  # a random Gaussian lift, N(0, 1/fan_in): norms are kept on average
            nn.init.normal_(self.lift.weight, std=1.0 / math.sqrt(self.lift.in_features))
        if p.frozen_lift:
            self.lift.requires_grad_(False)
        self.lifted = Tap("lift")
        self.blocks = nn.ModuleList(HourglassBlock(p, i + 1) for i in range(p.blocks))
        self.final_norm = nn.LayerNorm(p.wide) if p.prenorm else nn.Identity()
        self.readout = nn.Linear(p.wide, spec.n_outputs, bias=p.bias)
        self.logits = Tap("logits")

    @property
    def block_names(self) -> list[str]:
        return [f"block{i + 1}" for i in range(len(self.blocks))]

    def readout_stream(self, z: torch.Tensor) -> torch.Tensor:
        """The logits the model would give if the stream ended as `z` (logit lens)."""
        return self.readout(self.final_norm(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.lifted(self.lift(self.inp(x)))
        for block in self.blocks:
            z = block(z)
        return self.logits(self.readout_stream(z))


@MODELS.register("hourglass", HourglassParams, "Hourglass MLP: frozen random lift to a wide stream, residual bottleneck blocks",
                 tags=tuple(sorted(HourglassMLP.CAPABILITIES)))
def make_hourglass(p: HourglassParams, spec: ModelSpec) -> HourglassMLP:
    return HourglassMLP(p, spec)
