"""Sparsity and connectivity of masked layers: how sparse each layer is, which units are dead,
how edges are spread over units, how modular the wiring is and how much DST rewired it.

A masked layer is any module with a `.weight` of shape (out, in) and a 0/1 `mask` buffer of the same
shape (mask[i, j] = 1: input j feeds output i). Activations are (batch, units) matrices.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import torch
from networkx.algorithms.community import greedy_modularity_communities
from networkx.algorithms.community import modularity as nx_modularity
from torch import nn

from netarium.training.dst import edge_turnover, masked_modules

__all__ = [
    "degree_distribution",
    "dnr",
    "dynamic_dead_units",
    "edge_turnover",
    "layer_sparsity",
    "mask_graph",
    "masked_modules",
    "modularity",
    "sparsity_report",
    "static_dead_units",
]


def _np(a: np.ndarray | torch.Tensor) -> np.ndarray:
    """float64 numpy copy of a tensor or array."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _matrix(a: np.ndarray | torch.Tensor) -> np.ndarray:
    """(batch, units) float64; trailing dimensions are flattened into units."""
    m = _np(a)
    return m.reshape(m.shape[0], -1) if m.ndim != 2 else m


def layer_sparsity(module: nn.Module) -> float:
    """Fraction of the layer's mask entries that are 0: 1 - edges / (out * in)."""
    mask = module.mask
    return 1.0 - float((mask != 0).sum()) / mask.numel() if mask.numel() else 0.0


def sparsity_report(model: nn.Module) -> list[dict]:
    """One row per module with a `mask` buffer: name, shape, edges (active), total, density, sparsity."""
    rows = []
    for name, module in masked_modules(model):
        edges = int((module.mask != 0).sum())
        total = module.mask.numel()
        rows.append({
            "name": name,
            "shape": tuple(module.mask.shape),
            "edges": edges,
            "total": total,
            "density": edges / total if total else 0.0,
            "sparsity": layer_sparsity(module),
        })
    return rows


# --- dead units --------------------------------------------------------------------------------


def static_dead_units(W_in_masked: np.ndarray | torch.Tensor, atol: float = 0.0) -> list[int]:
    """Structurally dead units: output units (rows of the masked weight W * M, shape (out, in)) with no
    active incoming weight, |W_ij| <= atol for every j; such a unit outputs act(bias) on every input
    whatever it is fed (the static dead neurons of pruning, e.g. AP 2022)."""
    W = _np(W_in_masked)
    return [int(i) for i in np.flatnonzero(np.all(np.abs(W) <= atol, axis=1))]


def dynamic_dead_units(acts: np.ndarray | torch.Tensor, atol: float = 1e-6) -> list[int]:
    """Dynamically dead units: columns of post-activation `acts` (batch, units) with |a| <= atol on every
    input of the batch (ReLU never fires, so no gradient flows through it)."""
    A = _matrix(acts)
    return [int(i) for i in np.flatnonzero(np.all(np.abs(A) <= atol, axis=0))]


def dnr(acts: np.ndarray | torch.Tensor, atol: float = 1e-6, *, per: str = "unit") -> float:
    """Dynamic dead-neuron rate of post-activation `acts` (batch, units). per="unit" (default):
    |dynamic_dead_units| / units, the fraction of units silent on the whole batch. per="pair": the
    fraction of (input, unit) pairs with |a| <= atol, the per-sample inactivity rate that AP 2022
    tracks during pruning."""
    A = _matrix(acts)
    if A.size == 0:
        return 0.0
    if per == "unit":
        return len(dynamic_dead_units(A, atol)) / A.shape[1]
    if per == "pair":
        return float(np.mean(np.abs(A) <= atol))
    raise ValueError(f'per must be "unit" or "pair", got {per!r}')


# --- degrees and modularity ---------------------------------------------------------------------


def _summary(d: np.ndarray) -> dict[str, float]:
    if d.size == 0:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0, "zero": 0}
    return {"mean": float(d.mean()), "std": float(d.std()), "min": float(d.min()), "max": float(d.max()),
            "zero": int((d == 0).sum())}


def degree_distribution(mask: np.ndarray | torch.Tensor) -> dict:
    """Degrees of a layer's bipartite graph: "in"[i] = sum_j M_ij (active incoming edges of output i),
    "out"[j] = sum_i M_ij (active outgoing edges of input j), with "in_stats"/"out_stats"
    (mean, std, min, max, zero = units with degree 0) and "edges"."""
    M = _np(mask) != 0
    din, dout = M.sum(axis=1).astype(int), M.sum(axis=0).astype(int)
    return {
        "in": din.tolist(),
        "out": dout.tolist(),
        "in_stats": _summary(din),
        "out_stats": _summary(dout),
        "edges": int(M.sum()),
    }


def mask_graph(mask: np.ndarray | torch.Tensor) -> nx.Graph:
    """Undirected graph of a layer's active edges: nodes ("in", j) for every input and ("out", i) for
    every output (isolated units included), an edge ("in", j) - ("out", i) where M_ij != 0."""
    M = _np(mask) != 0
    G = nx.Graph()
    G.add_nodes_from(("in", j) for j in range(M.shape[1]))
    G.add_nodes_from(("out", i) for i in range(M.shape[0]))
    G.add_edges_from((("in", int(j)), ("out", int(i))) for i, j in zip(*np.nonzero(M), strict=True))
    return G


def modularity(
    mask: np.ndarray | torch.Tensor,
    communities: tuple[Sequence[int], Sequence[int]] | None = None,
) -> float:
    """Newman modularity Q = sum_c [L_c / m - (d_c / 2m)^2] of the layer's graph (mask_graph), for the
    given communities or those found by greedy modularity maximization (Clauset-Newman-Moore 2004).
    `communities` = (labels of the inputs, labels of the outputs), e.g. ensemble ids; 0 without edges."""
    G = mask_graph(mask)
    if G.number_of_edges() == 0:
        return 0.0
    if communities is None:
        parts = greedy_modularity_communities(G)
    else:
        in_labels, out_labels = (list(c) for c in communities)
        n_out, n_in = _np(mask).shape
        if len(in_labels) != n_in or len(out_labels) != n_out:
            raise ValueError(f"need {n_in} input and {n_out} output labels, got {len(in_labels)} and {len(out_labels)}")
        groups: dict = {}
        for j, c in enumerate(in_labels):
            groups.setdefault(c, set()).add(("in", j))
        for i, c in enumerate(out_labels):
            groups.setdefault(c, set()).add(("out", i))
        parts = list(groups.values())
    return float(nx_modularity(G, parts))
