"""Operator learning on a 1-D grid: MgNO (He, Liu, Xu 2023), whose linear operators are multigrid V-cycles,
and a plain 1-D CNN as its baseline.

MgNO layer (the paper's eq. for a layer): v <- act(MgConv(v) + W v + b), W a 1x1 convolution. MgConv is one
V-cycle of a multigrid solver whose operators are learned convolutions (MgNet's smoothing u += S(f - A u),
He & Xu 2019), with f = v as the right-hand side and u = 0 as the initial guess, on levels l = 1 (the grid) ..
L (coarsest), in the classical correction scheme (the coarse grid solves for the error from zero; the authors'
code can also restrict f itself and start the coarse grid from a restricted u, MgNet's form):

    pre-smoothing   u <- u + S_l,i * (f - A_l * u),  i = 1..pre      (first step from u = 0: u = S * f)
    restriction     f_{l+1} = R_l * (f - A_l * u)                    (a stride-2 convolution of the residual)
    recursion       e = V-cycle on level l + 1 from 0
    prolongation    u <- u + P_l * e                                 (a stride-2 transposed convolution)
    post-smoothing  u <- u + S'_l,i * (f - A_l * u),  i = 1..post

A_l, S, R_l, P_l are C -> C convolutions without bias (kernel 3, zero padding: the problem's zero boundary
values; R and P without padding, so that on N = 2^k - 1 points they can hold full weighting [1/4, 1/2, 1/4]
and linear interpolation [1/2, 1, 1/2]: a classical geometric multigrid is one setting of the weights).
With zero smoothing a V-cycle returns its initial guess unchanged (the coarse grids only see what the
smoothers put there). The V-cycle is linear in f: `vcycle(f, depth=d)` stops at level d, so level l's
contribution to the output is vcycle(depth=l) - vcycle(depth=l-1), and they sum to the whole.

Inputs follow the grid-task convention (`ModelSpec.grid_channels`): (batch, C_in * N), channel-major; the
output is (batch, N), one value per grid point. Taps: "in" (batch, C_in, N), "lift", "layerK.mg" (the
V-cycle's output), "layerK.pre", "layerK.post", "logits".
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, ModelSpec, make_activation
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError

GRID_TASKS = "a task on a 1-D grid (elliptic-1d)"


def grid_shape(spec: ModelSpec, model: str) -> tuple[int, int]:
    """(channels in, grid points) of a grid task's inputs; a SchemaError naming what fits for any other task."""
    c, n = spec.grid_channels, spec.n_outputs
    if spec.vocab_size is not None or c < 1 or spec.n_inputs != c * n:
        raise SchemaError("model.name", f"the {model} model reads functions on a 1-D grid (channels x points) and "
                          "gives one value per point; this task gives other inputs", GRID_TASKS)
    return c, n


def coarse_sizes(n: int, levels: int) -> list[int]:
    """Points on each level of the V-cycle: n, then (n - 1) // 2 (a stride-2 kernel-3 convolution without
    padding) while at least 1; at most `levels` of them."""
    sizes = [n]
    while len(sizes) < levels and (sizes[-1] - 1) // 2 >= 1:
        sizes.append((sizes[-1] - 1) // 2)
    return sizes


def uses_operator(coarser: bool, pre: int, post: int) -> bool:
    """Whether a level that starts from u = 0 ever computes A u (so needs A): after its first smoothing step
    (u nonzero from then on), for the residual it restricts when a coarser level follows, for a later
    smoothing step; and after a coarse correction (nonzero when any smoothing happens) for post-smoothing."""
    u = used = False
    for _ in range(pre):
        used, u = used or u, True
    if coarser:
        used = used or u
        u = u or (pre + post > 0)
    for _ in range(post):
        used, u = used or u, True
    return used


def conv(channels: int, kernel: int = 3) -> nn.Conv1d:
    """A C -> C convolution without bias, zero-padded to keep the grid (the problem's zero boundary values)."""
    return nn.Conv1d(channels, channels, kernel, padding=kernel // 2, bias=False)


class VCycle(nn.Module):
    """One multigrid V-cycle with learned operators (see the module doc): levels[l] holds A (the operator; only
    where that level ever computes A u, see `uses_operator`), pre[i] / post[i] (the smoothers), and, above the
    coarsest level, restrict (R) and prolong (P)."""

    def __init__(self, channels: int, sizes: list[int], pre: int, post: int, kernel: int = 3):
        super().__init__()
        self.sizes = list(sizes)
        self.levels = nn.ModuleList()
        for k, n in enumerate(sizes):
            level = nn.Module()
            if k == 0 or uses_operator(k + 1 < len(sizes), pre, post):  # the finest level: an initial guess may be given
                level.A = conv(channels, kernel)
            level.pre = nn.ModuleList(conv(channels, kernel) for _ in range(pre))
            level.post = nn.ModuleList(conv(channels, kernel) for _ in range(post))
            if hasattr(level, "A"):
                level.A.ncd_label = "A"  # the diagram's box names (analysis/diagram: _conv_label)
            for S in [*level.pre, *level.post]:
                S.ncd_label = "S"
            if k + 1 < len(sizes):
                level.restrict = nn.Conv1d(channels, channels, 3, stride=2, bias=False)
                out_pad = n - ((sizes[k + 1] - 1) * 2 + 3)  # the fine grid exactly again (even n: one more point)
                level.prolong = nn.ConvTranspose1d(channels, channels, 3, stride=2, output_padding=out_pad, bias=False)
            self.levels.append(level)

    def smooth(self, level: nn.Module, smoothers: nn.ModuleList, u: torch.Tensor | None, f: torch.Tensor) -> torch.Tensor | None:
        """u <- u + S (f - A u) for each smoother S; from u = None (zero) the first is u = S f."""
        for S in smoothers:
            u = S(f) if u is None else u + S(f - level.A(u))
        return u

    def cycle(self, f: torch.Tensor, u: torch.Tensor | None, k: int, depth: int) -> torch.Tensor | None:
        """The V-cycle from level k on: pre-smooth, correct from level k + 1 (if k + 1 < depth), post-smooth."""
        level = self.levels[k]
        u = self.smooth(level, level.pre, u, f)
        if k + 1 < depth:
            r = f if u is None else f - level.A(u)
            e = self.cycle(level.restrict(r), None, k + 1, depth)
            if e is not None:
                e = level.prolong(e)
                u = e if u is None else u + e
        return self.smooth(level, level.post, u, f)

    def forward(self, f: torch.Tensor, u0: torch.Tensor | None = None, depth: int | None = None) -> torch.Tensor:
        """u after one V-cycle for right-hand side f (batch, C, N) from the initial guess u0 (zero when None),
        using levels 1..depth (all by default)."""
        u = self.cycle(f, u0, 0, len(self.levels) if depth is None else depth)
        return torch.zeros_like(f) if u is None else u


class MgNOParams(Params):
    channels: int = Field(12, ge=1, le=64, description="Channels C of every layer's V-cycle")
    layers: int = Field(3, ge=1, le=8, description="MgNO layers act(V-cycle(v) + W v + b)")
    levels: int = Field(5, ge=1, le=8, description="Grids in each V-cycle, the finest included (fewer where the grid runs out)")
    pre_smooth: int = Field(1, ge=0, le=4, description="Smoothing steps u += S(f - A u) on each level before the coarse correction")
    post_smooth: int = Field(0, ge=0, le=4, description="Smoothing steps on each level after the coarse correction (0: the authors' code's default)")
    activation: Activation = Field("gelu", description="Nonlinearity between layers")


class MgNOLayer(nn.Module):
    """v -> act(VCycle(v) + W v + b); taps layerK.mg, layerK.pre, layerK.post."""

    def __init__(self, p: MgNOParams, sizes: list[int], index: int):
        super().__init__()
        name = f"layer{index}"
        self.vcycle = VCycle(p.channels, sizes, p.pre_smooth, p.post_smooth)
        self.mg = Tap(f"{name}.mg")
        self.skip = nn.Conv1d(p.channels, p.channels, 1)
        self.pre = Tap(f"{name}.pre")
        self.act = make_activation(p.activation)
        self.post = Tap(f"{name}.post")

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.post(self.act(self.pre(self.mg(self.vcycle(v)) + self.skip(v))))


class MgNO(Capable, nn.Module):
    """lift (1x1: C_in -> C) -> MgNO layers -> projection (1x1: C -> 1); one value per grid point."""

    CAPABILITIES = frozenset({"mgno", "grid-model"})
    CAPABILITY_WORDS = {"mgno": "a multigrid neural operator (model mgno)", "grid-model": "a model on a 1-D grid (mgno, cnn1d)"}
    axis_names = {"heads": "ch", "per_head": "x"}  # the diagram's input split: channels (f, a) by grid points x

    def __init__(self, p: MgNOParams, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.c_in, self.n = grid_shape(spec, "mgno")
        self.sizes = coarse_sizes(self.n, p.levels)
        self.inp = Tap("in")
        self.lift = nn.Conv1d(self.c_in, p.channels, 1)
        self.lifted = Tap("lift")
        self.layers = nn.ModuleList(MgNOLayer(p, self.sizes, i + 1) for i in range(p.layers))
        self.proj = nn.Conv1d(p.channels, 1, 1)
        self.logits = Tap("logits")

    def diagram_region(self, scope: str, shape: tuple[int, ...]) -> str | None:
        """The diagram's box around each V-cycle level of each layer: ops made inside layer K's V-cycle whose
        output lies on level d's grid (a restriction's output is on the coarser level already)."""
        parts = scope.split(".")
        if len(parts) < 3 or parts[0] != "layers" or parts[2] != "vcycle" or not shape or shape[-1] not in self.sizes:
            return None
        d = self.sizes.index(shape[-1])
        return f"layer {int(parts[1]) + 1} · level {d + 1} ({shape[-1]} points)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.lifted(self.lift(self.inp(x.reshape(x.shape[0], self.c_in, self.n))))
        for layer in self.layers:
            v = layer(v)
        return self.logits(self.proj(v).flatten(1))


@MODELS.register("mgno", MgNOParams, "MgNO: layers whose linear operator is a learned multigrid V-cycle, on a 1-D grid",
                 tags=tuple(sorted(MgNO.CAPABILITIES)))
def make_mgno(p: MgNOParams, spec: ModelSpec) -> MgNO:
    return MgNO(p, spec)


class CNN1dParams(Params):
    channels: int = Field(16, ge=1, le=128, description="Channels of every hidden convolution")
    layers: int = Field(4, ge=1, le=16, description="Hidden convolutions (each followed by the activation)")
    kernel: int = Field(5, ge=1, le=15, description="Kernel width (odd; zero padding keeps the grid)")
    activation: Activation = Field("gelu", description="Activation after each hidden convolution")


class CNN1d(Capable, nn.Module):
    """conv (C_in -> C) -> act -> ... -> 1x1 conv (C -> 1): a local operator whose receptive field grows by
    kernel - 1 points a layer; taps "in", "layerK.pre", "layerK.post", "logits"."""

    CAPABILITIES = frozenset({"grid-model"})
    axis_names = MgNO.axis_names

    def __init__(self, p: CNN1dParams, spec: ModelSpec):
        super().__init__()
        if p.kernel % 2 == 0:
            raise SchemaError("model.kernel", f"{p.kernel} is even: an odd kernel keeps the grid centred", "an odd number 1-15")
        self.spec = spec
        self.c_in, self.n = grid_shape(spec, "cnn1d")
        self.inp = Tap("in")
        self.convs = nn.ModuleList()
        self.pres, self.acts, self.posts = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i in range(p.layers):
            self.convs.append(nn.Conv1d(self.c_in if i == 0 else p.channels, p.channels, p.kernel, padding=p.kernel // 2))
            self.pres.append(Tap(f"layer{i + 1}.pre"))
            self.acts.append(make_activation(p.activation))
            self.posts.append(Tap(f"layer{i + 1}.post"))
        self.proj = nn.Conv1d(p.channels, 1, 1)
        self.logits = Tap("logits")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.inp(x.reshape(x.shape[0], self.c_in, self.n))
        for conv_, pre, act, post in zip(self.convs, self.pres, self.acts, self.posts, strict=True):
            v = post(act(pre(conv_(v))))
        return self.logits(self.proj(v).flatten(1))


@MODELS.register("cnn1d", CNN1dParams, "A 1-D CNN on a grid (a local operator): the MgNO experiment's baseline",
                 tags=tuple(sorted(CNN1d.CAPABILITIES)))
def make_cnn1d(p: CNN1dParams, spec: ModelSpec) -> CNN1d:
    return CNN1d(p, spec)
