"""FinalMLP (Mao et al., "FinalMLP: An Enhanced Two-Stream MLP Model for CTR Prediction", AAAI 2023).

Every input field becomes an embedding e_f (a learned vector per value of a categorical field, token
inputs; x_f w_f + c_f for a numeric feature), concatenated to e (F * E wide). Two MLP streams read e,
each reweighted by its own feature gate (the paper's feature selection):
    g_k = 2 sigmoid(MLP_k(e_{S_k})),   o_k = MLP-stream_k(e ⊙ g_k),   k = 1, 2,
where S_k is the set of fields the gate of stream k reads (a schema choice; by default stream 1's gate
reads the first half of the fields and stream 2's the second half, as the paper conditions each stream
on a different field set). The gate starts near 1 (2 sigmoid(0) = 1): an ungated stream.
Multi-head bilinear fusion splits o_1 and o_2 into H heads o_1h, o_2h and adds, for every output c,
    logit_c = b_c + w1_c · o_1 + w2_c · o_2 + sum_h o_1h^T W3_hc o_2h
(the paper's sum over heads of b + w1·o1_h + w2·o2_h + o1_h^T W3 o2_h, with the heads' linear terms
and biases written as one map each: the same function, one bias per output instead of one per head).
Taps: "in", "embed" (e), "gate1"/"gate2" (g_k, F * E wide), "stream1.layerN.pre/post" and
"stream2.layerN.pre/post", each stream's share of the logits "stream1.out" (w1·o_1) and "stream2.out"
(w2·o_2), the bilinear term "fusion.bilinear", and "logits".
"""

from __future__ import annotations

import math

import torch
from pydantic import Field, field_validator, model_validator
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, ModelSpec
from netarium.models.mlp import Layer, check_widths
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError, as_list


class FinalMLPParams(Params):
    embed_dim: int = Field(4, ge=1, le=64, description="Embedding width E per field (a learned vector per categorical "
                           "value; a numeric feature x gives x w + c)")
    stream1: list[int] = Field([16, 16], min_length=1, max_length=6, description="Hidden widths of stream 1 (1-6 layers)")
    stream2: list[int] = Field([16], min_length=1, max_length=6, description="Hidden widths of stream 2 (1-6 layers)")
    activation: Activation = Field("relu", description="Activation of the streams' layers")
    heads: int = Field(2, ge=1, le=16, description="Heads H of the bilinear fusion: both streams' last widths must be "
                       "multiples of H")
    gate1_fields: list[int] = Field([], max_length=16, description="Fields (1-based) stream 1's gate reads; empty: the "
                                    "first half of the fields")
    gate2_fields: list[int] = Field([], max_length=16, description="Fields (1-based) stream 2's gate reads; empty: the "
                                    "second half of the fields")
    gate_hidden: int = Field(16, ge=0, le=256, description="Hidden width of each gate's MLP (0: one linear map)")

    _lists = field_validator("stream1", "stream2", "gate1_fields", "gate2_fields", mode="before")(
        classmethod(lambda cls, v: as_list(v)))
    _widths = field_validator("stream1", "stream2")(classmethod(lambda cls, v: check_widths(v)))

    @field_validator("gate1_fields", "gate2_fields")
    @classmethod
    def _fields_from_one(cls, v: list[int]) -> list[int]:
        if any(f < 1 for f in v):
            raise ValueError("fields are numbered from 1")
        if len(set(v)) != len(v):
            raise ValueError("a field is listed twice")
        return v

    @model_validator(mode="after")
    def _heads_divide(self) -> FinalMLPParams:
        for name, widths in (("stream1", self.stream1), ("stream2", self.stream2)):
            if widths[-1] % self.heads:
                raise ValueError(f"heads: {self.heads} heads need {name}'s last width ({widths[-1]}) to be a multiple of {self.heads}")
        return self


def gate_fields(chosen: list[int], n_fields: int, stream: int) -> list[int]:
    """0-based fields of stream `stream`'s gate: the chosen ones (1-based), else the first (stream 1) or
    second (stream 2) half of the fields (a single field feeds both)."""
    if chosen:
        bad = [f for f in chosen if f > n_fields]
        if bad:
            raise SchemaError(f"model.gate{stream}_fields", f"field {bad[0]} does not exist: the task has {n_fields} "
                              f"field{'s' if n_fields > 1 else ''}", f"1 to {n_fields}")
        return [f - 1 for f in chosen]
    half = max(1, n_fields // 2)
    return list(range(half)) if stream == 1 or n_fields == 1 else list(range(half, n_fields))


class FieldEmbedding(nn.Module):
    """(B, F) -> (B, F * E): categorical codes (token inputs, vocabulary C per field) look up a learned vector
    per (field, value); numeric features give x_f w_f + c_f. No child modules: drawn as one embedding."""

    NCD_GLYPH = "embed"

    def __init__(self, spec: ModelSpec, dim: int):
        super().__init__()
        self.fields, self.dim, self.vocab = spec.n_inputs, dim, spec.vocab_size
        if self.vocab is not None:  # field f's code v is row f * C + v of one table (TokenLinear's offsets)
            self.weight = nn.Parameter(torch.randn(self.fields * self.vocab, dim) / math.sqrt(dim))
            self.register_buffer("offsets", torch.arange(self.fields) * self.vocab, persistent=False)
        else:
            self.weight = nn.Parameter(torch.randn(self.fields, dim) / math.sqrt(dim))
            self.bias = nn.Parameter(torch.zeros(self.fields, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.vocab is not None:
            return self.weight[x + self.offsets].flatten(1)
        return (x.unsqueeze(-1) * self.weight + self.bias).flatten(1)

    def ncd_detail(self) -> str:
        if self.vocab is not None:
            return f"{self.fields} categorical fields of {self.vocab} values to {self.dim} each (a learned vector per value)"
        return f"{self.fields} numeric features to {self.dim} each (x w + c per feature)"


class FeatureGate(nn.Module):
    """g = 2 sigmoid(MLP(e_S)) over all F * E embedding entries, from the embeddings of the fields S."""

    def __init__(self, fields: list[int], dim: int, n_fields: int, hidden: int, index: int):
        super().__init__()
        self.field_ids = list(fields)
        cols = torch.tensor([f * dim + j for f in fields for j in range(dim)])
        self.register_buffer("cols", cols, persistent=False)
        width, out = len(cols), n_fields * dim
        self.fc_in = nn.Linear(width, hidden) if hidden else nn.Linear(width, out)
        self.act = nn.ReLU() if hidden else nn.Identity()
        self.fc_out = nn.Linear(hidden, out) if hidden else nn.Identity()
        self.sigmoid = nn.Sigmoid()
        self.gate = Tap(f"gate{index}")
        with torch.no_grad():  # start at 2 sigmoid(0) = 1: the stream first sees the plain embeddings
            last = self.fc_out if hidden else self.fc_in
            last.weight.mul_(0.1)
            last.bias.zero_()

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.gate(2 * self.sigmoid(self.fc_out(self.act(self.fc_in(e[:, self.cols])))))


class Stream(nn.Module):
    """An MLP stream: layers with taps "streamK.layerN.pre" / "streamK.layerN.post"."""

    def __init__(self, widths: list[int], d_in: int, activation: str, index: int):
        super().__init__()
        layers = []
        for i, w in enumerate(widths):
            layer = Layer(nn.Linear(d_in if i == 0 else widths[i - 1], w), activation, i + 1)
            layer.pre, layer.post = Tap(f"stream{index}.layer{i + 1}.pre"), Tap(f"stream{index}.layer{i + 1}.post")
            layers.append(layer)
        self.layers = nn.ModuleList(layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h)
        return h


class FinalMLP(Capable, nn.Module):
    """Field embeddings -> two gated MLP streams -> multi-head bilinear fusion (see the module doc)."""

    CAPABILITIES = frozenset({"finalmlp"})
    CAPABILITY_WORDS = {"finalmlp": "a two-stream FinalMLP (model finalmlp)"}

    def __init__(self, p: FinalMLPParams, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        n_fields, dim, out = spec.n_inputs, p.embed_dim, spec.n_outputs
        self.n_fields, self.embed_dim, self.heads = n_fields, dim, p.heads
        self.inp = Tap("in")
        self.embedding = FieldEmbedding(spec, dim)
        self.embed = Tap("embed")
        self.gate1 = FeatureGate(gate_fields(p.gate1_fields, n_fields, 1), dim, n_fields, p.gate_hidden, 1)
        self.gate2 = FeatureGate(gate_fields(p.gate2_fields, n_fields, 2), dim, n_fields, p.gate_hidden, 2)
        self.stream1 = Stream(p.stream1, n_fields * dim, p.activation, 1)
        self.stream2 = Stream(p.stream2, n_fields * dim, p.activation, 2)
        d1, d2 = p.stream1[-1], p.stream2[-1]
        self.d1h, self.d2h = d1 // p.heads, d2 // p.heads
        self.w1 = nn.Linear(d1, out, bias=False)
        self.w2 = nn.Linear(d2, out, bias=False)
        self.w3 = nn.Parameter(torch.randn(p.heads, out, self.d1h, self.d2h) / math.sqrt(p.heads * self.d1h * self.d2h))
        self.bias = nn.Parameter(torch.zeros(out))
        self.out1 = Tap("stream1.out")
        self.out2 = Tap("stream2.out")
        self.bilinear = Tap("fusion.bilinear")
        self.logits = Tap("logits")

    def gate_field_ids(self) -> tuple[list[int], list[int]]:
        """The 0-based fields each gate reads."""
        return self.gate1.field_ids, self.gate2.field_ids

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embed(self.embedding(self.inp(x)))
        o1 = self.stream1(e * self.gate1(e))
        o2 = self.stream2(e * self.gate2(e))
        heads1 = o1.unflatten(-1, (self.heads, self.d1h))
        heads2 = o2.unflatten(-1, (self.heads, self.d2h))
        bilinear = self.bilinear(torch.einsum("bhi,hcij,bhj->bc", heads1, self.w3, heads2))
        return self.logits(self.out1(self.w1(o1)) + self.out2(self.w2(o2)) + bilinear + self.bias)


@MODELS.register("finalmlp", FinalMLPParams, "FinalMLP: two feature-gated MLP streams joined by multi-head bilinear fusion (CTR)",
                 tags=tuple(FinalMLP.CAPABILITIES))
def make_finalmlp(p: FinalMLPParams, spec: ModelSpec) -> FinalMLP:
    return FinalMLP(p, spec)
