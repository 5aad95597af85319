"""A small pre-LN transformer (nanoGPT-like, readable single-purpose modules) with the residual-stream
taps of DESIGN.md: blockN.resid_pre, blockN.attn_out, blockN.resid_mid, blockN.mlp_out,
blockN.resid_post, and blockN.attn.pattern (the attention weights, batch x heads x query x key).

Written so torch.fx can trace it (unflatten / flatten, no shape unpacking): its neural circuit
diagram is drawn from the live module like every other model's.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, ModelSpec, make_activation
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError


class TransformerParams(Params):
    layers: int = Field(2, ge=1, le=12, description="Transformer blocks")
    d_model: int = Field(64, ge=4, le=512, description="Width of the residual stream")
    heads: int = Field(4, ge=1, le=16, description="Attention heads (d_model must divide by it)")
    d_mlp: int = Field(0, ge=0, le=4096, description="Hidden width of each MLP (0 = 4 × d_model)")
    mlp: bool = Field(True, description="Each block has an MLP after its attention (off: attention only)")
    layernorm: bool = Field(True, description="Pre-LN: LayerNorm before each sublayer and before the unembedding")
    positions: Literal["learned", "sinusoidal"] = Field("learned", description="Learned position embeddings or fixed sinusoids")
    causal: bool = Field(True, description="Each position attends only to itself and earlier positions")
    activation: Activation = Field("relu", description="Activation inside the MLPs")

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerParams:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        return self


def sinusoids(length: int, d: int) -> torch.Tensor:
    """Vaswani et al. (2017): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(same)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(length, d)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: d // 2])
    return pe


class Attention(nn.Module):
    """Multi-head self-attention: softmax(Q K^T / sqrt(k) [+ causal mask]) V, heads joined by W_O."""

    def __init__(self, d: int, heads: int, length: int, causal: bool, name: str):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.pattern = Tap(f"{name}.attn.pattern")
        self.register_buffer("mask", torch.ones(length, length, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.q(x).unflatten(-1, (self.heads, -1)).transpose(1, 2)  # b, heads, s, k
        k = self.k(x).unflatten(-1, (self.heads, -1)).transpose(1, 2)
        v = self.v(x).unflatten(-1, (self.heads, -1)).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5)
        if self.causal:
            scores = scores.masked_fill(self.mask, float("-inf"))  # inputs always have the task's length
        weights = self.pattern(scores.softmax(dim=-1))
        return self.o((weights @ v).transpose(1, 2).flatten(-2))


class Block(nn.Module):
    """h + attn(LN h), then + MLP(LN h): a pre-LN transformer block with its residual taps."""

    def __init__(self, p: TransformerParams, length: int, index: int):
        super().__init__()
        name = f"block{index}"
        norm = (lambda: nn.LayerNorm(p.d_model)) if p.layernorm else nn.Identity
        self.resid_pre = Tap(f"{name}.resid_pre")
        self.ln1 = norm()
        self.attn = Attention(p.d_model, p.heads, length, p.causal, name)
        self.attn_out = Tap(f"{name}.attn_out")
        self.resid_mid = Tap(f"{name}.resid_mid")
        self.has_mlp = p.mlp
        if p.mlp:
            width = p.d_mlp or 4 * p.d_model
            self.ln2 = norm()
            self.fc_in = nn.Linear(p.d_model, width)
            self.act = make_activation(p.activation)
            self.hidden = Tap(f"{name}.hidden")
            self.fc_out = nn.Linear(width, p.d_model)
        self.mlp_out = Tap(f"{name}.mlp_out")
        self.resid_post = Tap(f"{name}.resid_post")

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.resid_pre(h)
        h = self.resid_mid(h + self.attn_out(self.attn(self.ln1(h))))
        if self.has_mlp:
            h = h + self.mlp_out(self.fc_out(self.hidden(self.act(self.fc_in(self.ln2(h))))))
        return self.resid_post(h)


class Transformer(Capable, nn.Module):
    """tokens -> embedding + positions -> blocks -> LN -> unembedding: logits at every position for a
    sequence task, or at the last position for a token classification task (e.g. modular arithmetic)."""

    CAPABILITIES = frozenset({"residual", "attention", "sequence", "tokens"})

    def __init__(self, p: TransformerParams, spec: ModelSpec):
        super().__init__()
        if spec.vocab_size is None:
            raise SchemaError("model.name", "the transformer reads tokens; this task gives real-valued features",
                              "a token task (modular with encoding=tokens, sort, reverse, copy, running-sum, chars)")
        self.spec = spec
        length = spec.n_inputs
        self.per_position = spec.per_position
        self.inp = Tap("in")
        self.embed = nn.Embedding(spec.vocab_size, p.d_model)
        if p.positions == "learned":
            self.pos = nn.Parameter(torch.randn(length, p.d_model) * 0.02)
        else:
            self.register_buffer("pos", sinusoids(length, p.d_model), persistent=False)
        self.blocks = nn.ModuleList(Block(p, length, i + 1) for i in range(p.layers))
        self.ln_f = nn.LayerNorm(p.d_model) if p.layernorm else nn.Identity()
        self.unembed = nn.Linear(p.d_model, spec.n_outputs)
        self.logits = Tap("logits")
        self.axis_names = {"per_head": "k", "heads": "H"}
        self.has_mlp = p.mlp
        nn.init.normal_(self.embed.weight, std=0.02)

    @property
    def block_names(self) -> list[str]:
        return [f"block{i + 1}" for i in range(len(self.blocks))]

    @property
    def branch_names(self) -> list[str]:
        """One name per residual branch, in order (the diagram labels its shaded regions with them)."""
        parts = ("attention", "MLP") if self.has_mlp else ("attention",)
        return [f"{part} · block{i + 1}" for i in range(len(self.blocks)) for part in parts]

    def readout_stream(self, h: torch.Tensor) -> torch.Tensor:
        """The logits the model would give if the residual stream ended as `h` (logit lens)."""
        out = self.unembed(self.ln_f(h))
        return out if self.per_position else out[:, -1]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(self.inp(tokens)) + self.pos
        for block in self.blocks:
            h = block(h)
        return self.logits(self.readout_stream(h))


@MODELS.register("transformer", TransformerParams, "A small pre-LN transformer (attention + MLP blocks) on token inputs",
                 tags=tuple(Transformer.CAPABILITIES))
def make_transformer(p: TransformerParams, spec: ModelSpec) -> Transformer:
    return Transformer(p, spec)
