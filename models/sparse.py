"""Sparse layers: a masked linear map, mask generators (random, G2G ensembles, random graphs), and
the "sparse-mlp" model (G2GNet, 2025: ensemble-to-ensemble connectivity between hidden layers)."""

from __future__ import annotations

from typing import Literal

import networkx as nx
import numpy as np
import torch
from pydantic import Field, ValidationInfo, field_validator
from torch import nn

from netarium.models.base import MODELS, Activation, Capable, InitScheme, ModelSpec, init_linear
from netarium.models.mlp import Layer, check_widths, input_layer
from netarium.models.taps import Tap
from netarium.schema import Params, as_list

Seed = int | np.random.Generator | torch.Generator


class Masked:
    """What masked modules share: a float 0/1 `mask` buffer shaped like `weight`, kept so that the weights
    outside it are zero (training/dst.py and models/pruning.py rewrite both; analysis reads them)."""

    mask: torch.Tensor
    weight: torch.Tensor

    def _store_mask(self, mask: torch.Tensor) -> None:
        """Copy a mask of the right shape in after checking its values, and zero the weights it removes."""
        if mask.device.type != "meta" and not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask values must be 0 or 1")
        with torch.no_grad():
            self.mask.copy_(mask.to(self.mask))
        self.apply_mask_()

    def apply_mask_(self) -> None:
        """Zero the weights outside the mask, in place (after an init or an outside write)."""
        with torch.no_grad():
            self.weight.mul_(self.mask)

    @property
    def density(self) -> float:
        """Fraction of connections kept (1 - sparsity)."""
        return float(self.mask.mean())


class MaskedLinear(Masked, nn.Linear):
    """y = (W * M) x + b with a fixed 0/1 mask M (a buffer, saved in the state dict).

    Masked entries of W are also set to zero (at construction and on `set_mask`), so weight norms and
    checkpoints see the sparsity; the product keeps their gradients exactly zero.
    """

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor | None = None, bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.register_buffer("mask", torch.ones_like(self.weight))
        if mask is not None:
            self.set_mask(mask)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Replace the mask (shape (out, in), values 0 or 1) and zero the weights it removes."""
        mask = torch.as_tensor(mask)
        if tuple(mask.shape) != tuple(self.weight.shape):
            raise ValueError(f"mask shape {tuple(mask.shape)} does not match weight shape {tuple(self.weight.shape)}")
        self._store_mask(mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, density={self.density:.3f}"


def _rng(seed: Seed) -> np.random.Generator:
    """A NumPy generator from a seed int, a NumPy generator (used as is) or a torch generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, torch.Generator):
        return np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=seed, device="cpu")))
    return np.random.default_rng(int(seed))


def random_mask(out_f: int, in_f: int, density: float, seed: Seed = 0) -> torch.Tensor:
    """A (out, in) 0/1 mask with exactly round(density * out * in) ones, at least one per row.

    Rule: every output unit first gets one input at random (so no unit is cut off), then the rest of
    the ones are spread uniformly over the remaining entries. The count is raised to `out_f` when
    round(density * out * in) is smaller (one per row is the least possible), and capped at out * in.
    """
    if out_f < 1 or in_f < 1:
        raise ValueError("out_f and in_f must be positive")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density}")
    rng = _rng(seed)
    total = out_f * in_f
    count = min(max(round(density * total), out_f), total)
    mask = np.zeros((out_f, in_f), dtype=np.float32)
    mask[np.arange(out_f), rng.integers(0, in_f, size=out_f)] = 1.0
    free = np.flatnonzero(mask.ravel() == 0)
    mask.ravel()[rng.choice(free, size=count - out_f, replace=False)] = 1.0
    return torch.from_numpy(mask)


def ensemble_ids(n: int, groups: int) -> torch.Tensor:
    """Ensemble id of each of `n` units split into `groups` contiguous, as even as possible blocks
    (sizes differ by at most one; some are empty when n < groups)."""
    return torch.arange(n, device="cpu") * groups // n


def g2g_mask(out_f: int, in_f: int, groups: int, k: int, seed: Seed = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """G2G ensemble connectivity (G2GNet, 2025): (mask (out, in), input ensemble ids, output ensemble ids).

    Inputs and outputs are split into `groups` ensembles; output ensemble i connects densely to k
    distinct input ensembles: its own i plus k - 1 others drawn at random. Density is k/groups when
    the sizes divide. Needs groups <= in_f (no input ensemble is empty, so every output unit has
    inputs); output ensembles may be empty when out_f < groups (a small readout).
    """
    if not 1 <= k <= groups:
        raise ValueError(f"need 1 <= k <= groups, got k={k}, groups={groups}")
    if groups > in_f or out_f < 1:
        raise ValueError(f"groups ({groups}) must be at most the input width ({in_f}), and out_f positive")
    rng = _rng(seed)
    in_ids, out_ids = ensemble_ids(in_f, groups), ensemble_ids(out_f, groups)
    blocks = torch.zeros(groups, groups, device="cpu")  # blocks[i, j] = 1: output ensemble i reads input ensemble j
    for i in range(groups):
        others = [j for j in range(groups) if j != i]
        chosen = [i, *rng.choice(others, size=k - 1, replace=False).tolist()]
        blocks[i, chosen] = 1.0
    mask = blocks[out_ids][:, in_ids].contiguous()
    return mask, in_ids, out_ids


GraphKind = Literal["watts-strogatz", "barabasi-albert", "erdos-renyi"]


def graph_mask(n: int, kind: GraphKind, seed: Seed = 0, self_loops: bool = False, **params: float) -> torch.Tensor:
    """A square (n, n) recurrent mask: the symmetric 0/1 adjacency of an undirected random graph.

    kind "watts-strogatz" takes k (even ring degree) and p (rewiring probability), "barabasi-albert"
    takes m (edges per new node), "erdos-renyi" takes p (edge probability). The diagonal is zero,
    or all ones with self_loops=True (every unit also keeps its own recurrence).
    """
    s = int(_rng(seed).integers(0, 2**31 - 1))
    if kind == "watts-strogatz":
        g = nx.watts_strogatz_graph(n, int(params.get("k", 4)), float(params.get("p", 0.1)), seed=s)
    elif kind == "barabasi-albert":
        g = nx.barabasi_albert_graph(n, int(params.get("m", 2)), seed=s)
    elif kind == "erdos-renyi":
        g = nx.gnp_random_graph(n, float(params.get("p", 0.1)), seed=s)
    else:
        raise ValueError(f"unknown graph kind {kind!r} (allowed: watts-strogatz, barabasi-albert, erdos-renyi)")
    adj = torch.from_numpy(nx.to_numpy_array(g, nodelist=range(n), dtype=np.float32))
    adj = ((adj + adj.T) > 0).float()
    adj.fill_diagonal_(1.0 if self_loops else 0.0)
    return adj


class SparseMLPParams(Params):
    hidden: list[int] = Field([32, 32], min_length=0, max_length=8, description="Neurons per hidden layer (0-8 layers, 1-1024 each)")
    activation: Activation = Field("relu", description="Activation of every hidden layer")
    connectivity: Literal["random", "g2g", "dense"] = Field(
        "g2g", description="Mask between hidden layers: g2g ensembles (density k/groups), random (density), or dense (all ones)")
    density: float = Field(0.25, gt=0.0, le=1.0, description="Fraction of connections kept (random connectivity)")
    groups: int = Field(4, ge=1, le=64, description="Ensembles per layer (g2g); at most the smallest hidden width")
    k: int = Field(1, ge=1, le=64, description="Input ensembles each ensemble reads (g2g), at most groups: density k/groups")
    sparse_readout: bool = Field(False, description="Mask the readout too (the input layer stays dense)")
    bias: bool = Field(True, description="Linear maps have a bias")
    init: InitScheme = Field("default", description="Weight initialisation scheme")
    init_scale: float = Field(1.0, ge=0.0, le=10.0, description="Multiplies the initial weights")

    _lists = field_validator("hidden", mode="before")(classmethod(lambda cls, v: as_list(v)))

    _widths = field_validator("hidden")(classmethod(lambda cls, v: check_widths(v)))

    @field_validator("groups")
    @classmethod
    def _groups_fit(cls, v: int, info: ValidationInfo) -> int:
        hidden = info.data.get("hidden") or []
        if info.data.get("connectivity") == "g2g" and hidden and v > min(hidden):
            raise ValueError(f"groups ({v}) must be at most the smallest hidden width ({min(hidden)})")
        return v

    @field_validator("k")
    @classmethod
    def _k_fits(cls, v: int, info: ValidationInfo) -> int:
        groups = info.data.get("groups")
        if groups is not None and v > groups:
            raise ValueError(f"k ({v}) must be at most groups ({groups})")
        return v


def _mask_for(p: SparseMLPParams, out_f: int, in_f: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The mask of one (out, in) layer under the chosen connectivity, and the output ensemble ids."""
    if p.connectivity == "g2g":
        mask, _, out_ids = g2g_mask(out_f, in_f, p.groups, p.k, seed)
        return mask, out_ids
    if p.connectivity == "random":
        return random_mask(out_f, in_f, p.density, seed), None
    return torch.ones(out_f, in_f, device="cpu"), None


class SparseMLP(Capable, nn.Module):
    """An MLP whose hidden-to-hidden linears (and optionally the readout) are MaskedLinear.

    Same layout and taps as the MLP ("in", "layerN.pre", "layerN.post", "logits"); `ensembles[l]`
    holds the ensemble id of each unit of hidden layer l+1 (None unless g2g). It has masks (a runtime
    capability) when it has a hidden-to-hidden layer or a sparse readout.
    """

    CAPABILITIES = frozenset({"mlp", "sparse", "links"})

    def __init__(self, p: SparseMLPParams, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.inp = Tap("in")
        widths = list(p.hidden)
        seeds = torch.randint(0, 2**31 - 1, (len(widths) + 1,), device="cpu").tolist()  # from the global RNG: seeded runs repeat
        layers: list[Layer] = []
        for i, w in enumerate(widths):
            if i == 0:
                lin: nn.Linear = input_layer(spec, w, p.bias)
            else:
                mask, _ = _mask_for(p, w, widths[i - 1], seeds[i])
                lin = MaskedLinear(widths[i - 1], w, mask, bias=p.bias)
            layers.append(Layer(lin, p.activation, i + 1))
        self.layers = nn.ModuleList(layers)
        self.ensembles: list[list[int] | None] = [
            ensemble_ids(w, p.groups).tolist() if p.connectivity == "g2g" else None for w in widths]
        if not widths:
            self.readout: nn.Linear = input_layer(spec, spec.n_outputs, p.bias)
        elif p.sparse_readout:
            mask, _ = _mask_for(p, spec.n_outputs, widths[-1], seeds[-1])
            self.readout = MaskedLinear(widths[-1], spec.n_outputs, mask, bias=p.bias)
        else:
            self.readout = nn.Linear(widths[-1], spec.n_outputs, bias=p.bias)
        self.logits = Tap("logits")
        for m in self.modules():
            if isinstance(m, nn.Linear):
                init_linear(m, p.init, p.init_scale)
            if isinstance(m, MaskedLinear):
                m.apply_mask_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for layer in self.layers:
            h = layer(h)
        return self.logits(self.readout(h))


@MODELS.register("sparse-mlp", SparseMLPParams, "MLP with masked (G2G ensemble, random or dense) hidden connections", tags=tuple(SparseMLP.CAPABILITIES))
def make_sparse_mlp(p: SparseMLPParams, spec: ModelSpec) -> SparseMLP:
    return SparseMLP(p, spec)


def masked_layers(model: nn.Module) -> list[tuple[str, MaskedLinear]]:
    """Every MaskedLinear of a model with its qualified name, in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, MaskedLinear)]
