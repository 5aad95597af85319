"""NoProp (Li, Teh, Pascanu 2025), discrete time: T blocks, each a denoiser of a noised class-label embedding
given the input, chained at inference from noise to a label embedding that a linear head classifies.

The forward process noises the embedding u_y of class y: q(z_t | y) = N(sqrt(ᾱ_t) u_y, (1 - ᾱ_t) I), with
ᾱ_0 = 0 (z_0 is the prior N(0, I)) rising to ᾱ_T close to 1. Block t sees the input x and z_{t-1} and predicts
the clean embedding û_t = softmax(f_t(x, z_{t-1})) E (a mixture of the class embeddings, the rows of E).
Inference runs the chain z_t = a_t û_t + b_t z_{t-1} (+ sqrt(c_t) ε_t), the Gaussian posterior
q(z_t | z_{t-1}, u_y) with u_y replaced by the block's guess (the paper's eq. 3; DDPM's posterior with the
time index reversed), and the head reads z_T. The blocks are trained one by one (training/noprop.py:
trainer `noprop`), or end to end through this forward by the `supervised` trainer (backprop through the
same blocks: the comparison of experiment `noprop`).

Taps: "in", "z0", "block{t}.hidden" (a block's hidden layer), "block{t}.logits" (its class scores),
"block{t}.post" (z_t, the chain's state after block t), "logits" (the head's).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, ModelSpec, make_activation
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError

ALPHA_MAX = 0.999  # ᾱ_T: the last state keeps a little noise, so SNR(T) = 999 stays finite (DDPM clips β at 0.999 too)
COSINE_OFFSET = 0.008  # Nichol & Dhariwal's s in the cosine schedule
LABEL_AXIS = ("label", "z", "features")  # the diagram's name for the label-embedding axis (analysis/diagram)
CLASS_AXIS = ("classes", "c", "classes")
HEAD_SCALE = 5.0  # the head starts as logits_c = 5 u_c · z (see NoPropNet)


class NoPropParams(Params):
    blocks: int = Field(10, ge=1, le=50, description="T: denoising blocks in the chain (the paper uses 10)")
    hidden: int = Field(16, ge=1, le=1024, description="Width of each block's hidden layer (16: the Dynamics page's exact Hessian of a 10-block chain on a 2-D task stays ~3 s)")
    activation: Activation = Field("relu", description="Activation of each block's hidden layer")
    schedule: Literal["cosine", "linear"] = Field(
        "cosine", description="Noise schedule ᾱ_t from 0 (noise) to 0.999 (the label): cosine (Nichol & Dhariwal, the "
        "paper's), or linear in t")
    embed_dim: int = Field(0, ge=0, le=256, description="Width d of the label embedding; 0 = the number of classes")
    embedding: Literal["fixed", "learned"] = Field(
        "fixed", description="Class embeddings E: fixed (one-hot rows when d = classes, else random unit vectors), "
        "or learned from that start")
    chain: Literal["mean", "sample"] = Field(
        "mean", description="Inference: mean starts at z_0 = 0 (the prior's mean) and takes each step's mean "
        "(deterministic); sample draws z_0 ~ N(0, I) and adds each step's noise sqrt(c_t) ε, as the paper does")


def alpha_bars(schedule: str, T: int) -> list[float]:
    """ᾱ_0..ᾱ_T: 0 at t = 0 (pure noise), ALPHA_MAX at t = T. cosine: ᾱ_t = cos²(π/2 (1 - t/T + s)/(1 + s)) /
    cos²(π/2 s/(1 + s)) with s = 0.008 (Nichol & Dhariwal 2021, time reversed); linear: t/T."""
    if schedule == "cosine":
        f = [math.cos(math.pi / 2 * ((1 - t / T) + COSINE_OFFSET) / (1 + COSINE_OFFSET)) ** 2 for t in range(T + 1)]
        raw = [v / f[T] for v in f]
    elif schedule == "linear":
        raw = [t / T for t in range(T + 1)]
    else:
        raise ValueError(f"unknown noise schedule {schedule!r}; choose cosine or linear")
    return [0.0] + [min(max(v, 0.0), ALPHA_MAX) for v in raw[1:-1]] + [ALPHA_MAX]


def chain_coefficients(abar: list[float]) -> tuple[list[float], list[float], list[float]]:
    """(a, b, c) for t = 1..T (index t - 1): the mean a_t u + b_t z_{t-1} and variance c_t of q(z_t | z_{t-1}, u):
    a_t = sqrt(ᾱ_t) (1 - α) / (1 - ᾱ_{t-1}), b_t = sqrt(α) (1 - ᾱ_t) / (1 - ᾱ_{t-1}),
    c_t = (1 - ᾱ_t)(1 - α) / (1 - ᾱ_{t-1}), with α = ᾱ_{t-1} / ᾱ_t (NoProp eq. 3)."""
    a, b, c = [], [], []
    for t in range(1, len(abar)):
        prev, now = abar[t - 1], abar[t]
        alpha = prev / now
        a.append(math.sqrt(now) * (1 - alpha) / (1 - prev))
        b.append(math.sqrt(alpha) * (1 - now) / (1 - prev))
        c.append((1 - now) * (1 - alpha) / (1 - prev))
    return a, b, c


def snr(abar: float) -> float:
    """Signal-to-noise ratio ᾱ / (1 - ᾱ) of q(z_t | y)."""
    return abar / (1 - abar)


class Prior(nn.Module):
    """z_0 for a batch: zeros (the prior's mean) or a draw from N(0, I); drawn as z₀ in the diagram."""

    def __init__(self, dim: int, sample: bool):
        super().__init__()
        self.dim, self.sample = dim, sample
        self.diagram_label = "z₀ ~ N(0, I)" if sample else "z₀ = 0"
        self.ncd_axis = LABEL_AXIS
        self.ncd_kind = "constant"  # drawn as a value made here (a dashed box), not an activation of x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[0], self.dim)
        return torch.randn(shape, device=x.device) if self.sample else torch.zeros(shape, device=x.device)


class NoPropBlock(nn.Module):
    """f_t(x, z) = W_out act(W_in [x; z]): class scores for the label that z is a noised embedding of."""

    def __init__(self, spec: ModelSpec, d: int, n_classes: int, p: NoPropParams, index: int):
        super().__init__()
        name = f"block{index}"
        self.inp = nn.Linear(spec.n_inputs + d, p.hidden)
        self.act = make_activation(p.activation)
        self.hidden = Tap(f"{name}.hidden")
        self.out = nn.Linear(p.hidden, n_classes)
        self.out.ncd_axis = CLASS_AXIS  # class scores, drawn as c
        self.logits = Tap(f"{name}.logits")

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.logits(self.out(self.hidden(self.act(self.inp(torch.cat([x, z], dim=-1))))))


def initial_embedding(n_classes: int, d: int, seed: int = 0) -> torch.Tensor:
    """(n_classes, d): the identity when d = n_classes (one-hot labels), else unit vectors from a seeded Gaussian."""
    if d == n_classes:
        return torch.eye(n_classes)
    g = torch.Generator().manual_seed(seed)
    E = torch.randn(n_classes, d, generator=g)
    return E / E.norm(dim=1, keepdim=True)


class NoPropNet(Capable, nn.Module):
    """T denoising blocks, the class embeddings E and a linear head on z_T (see the module docstring).
    `denoise(t, x, z)` is block t's guess û_t alone: what the noprop trainer trains, block by block.

    With one output (a two-class task under loss tfp or bce) the chain still runs over two classes and the output is
    the head's logit difference, class 1 over class 0. The head starts as the nearest-embedding read-out, logits_c = 5 u_c · z, rather than at random: with a
    random head, back-propagation through the blocks' softmax often parks two classes on one corner of the
    simplex and stays there (measured on digits: 0.57 test accuracy after 400 Adam steps, 0.97 with this start)."""

    CAPABILITIES = frozenset({"noprop"})
    CAPABILITY_WORDS = {"noprop": "a NoProp chain of denoising blocks (model noprop)"}
    ncd_tensor_axes = {"embedding": (CLASS_AXIS, LABEL_AXIS)}  # E: one row u_c per class

    def __init__(self, p: NoPropParams, spec: ModelSpec):
        super().__init__()
        if spec.vocab_size is not None:
            raise SchemaError("model.name", "noprop reads real-valued inputs, this task gives tokens", "a task with features")
        self.spec = spec
        self.n_classes = max(spec.n_outputs, 2)
        self.binary = spec.n_outputs == 1  # a two-class task scored by one output (loss tfp or bce)
        self.d = p.embed_dim or self.n_classes
        self.T = p.blocks
        self.schedule = p.schedule
        self.sample = p.chain == "sample"
        self.abar = alpha_bars(p.schedule, p.blocks)
        self.a, self.b, self.c = chain_coefficients(self.abar)
        self.inp = Tap("in")
        self.prior = Prior(self.d, self.sample)
        self.z0 = Tap("z0")
        self.embedding = nn.Parameter(initial_embedding(self.n_classes, self.d), requires_grad=p.embedding == "learned")
        self.blocks = nn.ModuleList(NoPropBlock(spec, self.d, self.n_classes, p, t + 1) for t in range(p.blocks))
        self.states = nn.ModuleList(Tap(f"block{t + 1}.post") for t in range(p.blocks))
        self.head = nn.Linear(self.d, self.n_classes)
        with torch.no_grad():  # the nearest-embedding read-out: z_T near u_c reads as class c from the first step
            self.head.weight.copy_(HEAD_SCALE * self.embedding)
            self.head.bias.zero_()
        self.logits = Tap("logits")

    def set_chain(self, chain: str) -> None:
        """Run inference as the chain of means ("mean") or sampled from z_0 ~ N(0, I) ("sample") from now on."""
        if chain not in ("mean", "sample"):
            raise ValueError(f"chain must be mean or sample, not {chain!r}")
        self.sample = self.prior.sample = chain == "sample"
        self.prior.diagram_label = "z₀ ~ N(0, I)" if self.sample else "z₀ = 0"

    @property
    def block_names(self) -> list[str]:
        return [f"block{t + 1}" for t in range(self.T)]

    def guess(self, scores: torch.Tensor) -> torch.Tensor:
        """û = softmax(scores) E: the blocks' guess of the clean label embedding, a mixture of the class embeddings."""
        return torch.softmax(scores, dim=-1) @ self.embedding

    def denoise(self, t: int, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Block t's (1..T) guess û_t(x, z_{t-1}) of the clean embedding."""
        return self.guess(self.blocks[t - 1](x, z))

    def noised(self, t: int, y: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """A draw of z_t ~ q(z_t | y) = N(sqrt(ᾱ_t) u_y, (1 - ᾱ_t) I) with the given standard normal noise."""
        return math.sqrt(self.abar[t]) * self.embedding[y] + math.sqrt(1 - self.abar[t]) * noise

    def denoising_loss(self, t: int, x: torch.Tensor, y: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Block t's (1..T) denoising loss on a batch, unweighted: the mean over rows of ||û_t(x, z_{t-1}) - u_y||²,
        with z_{t-1} = sqrt(ᾱ_{t-1}) u_y + sqrt(1 - ᾱ_{t-1}) noise drawn from the label, never from block t - 1."""
        guess = self.denoise(t, x, self.noised(t - 1, y, noise))
        return (guess - self.embedding[y]).pow(2).sum(-1).mean()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        z = self.z0(self.prior(x))
        for t, (block, state) in enumerate(zip(self.blocks, self.states, strict=True)):
            u = self.guess(block(x, z))
            z = self.a[t] * u + self.b[t] * z if self.b[t] else self.a[t] * u
            if self.sample and self.c[t] > 0:
                z = z + math.sqrt(self.c[t]) * torch.randn_like(z)
            z = state(z)
        scores = self.head(z)
        if self.binary:  # one output: the logit difference of class 1 over class 0
            scores = scores[:, 1:] - scores[:, :1]
        return self.logits(scores)


@MODELS.register("noprop", NoPropParams, "NoProp: a chain of denoising blocks from noise to a class-label embedding "
                 "(train with trainer noprop: each block on its own)", tags=tuple(sorted(NoPropNet.CAPABILITIES)))
def make_noprop(p: NoPropParams, spec: ModelSpec) -> NoPropNet:
    return NoPropNet(p, spec)
