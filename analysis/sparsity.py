"""Sparsity and connectivity of masked layers: how sparse each layer is, how edges are spread over
units, how modular the wiring is and how much DST rewired it (dead units: analysis/dead_units.py).

A masked layer is any module with a `.weight` of shape (out, in) and a 0/1 `mask` buffer of the same
shape (mask[i, j] = 1: input j feeds output i). Activations are (batch, units) matrices.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import torch
from networkx.algorithms.community import greedy_modularity_communities
from networkx.algorithms.community import modularity as nx_modularity
from torch import nn

from netarium.analysis.common import as_numpy, eval_outputs
from netarium.analysis.dead_units import relu_dead_rate
from netarium.models.masks import add_masks, edge_counts, edge_turnover, masked_modules, sparsity
from netarium.models.pruning import magnitude_prune

__all__ = [
    "ABSENT",
    "GROWN",
    "KEPT",
    "PRUNED",
    "Link",
    "Wiring",
    "block_graph",
    "block_sums",
    "degree_distribution",
    "edge_turnover",
    "ensemble_order",
    "layer_sparsity",
    "mask_graph",
    "mask_groups",
    "masked_modules",
    "modularity",
    "pruning_curve",
    "recurrent_digraph",
    "recurrent_modules",
    "rewiring_cells",
    "sparsity_report",
    "unit_graph",
    "wiring",
]


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
    M = as_numpy(mask) != 0
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
    M = as_numpy(mask) != 0
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
        n_out, n_in = as_numpy(mask).shape
        if len(in_labels) != n_in or len(out_labels) != n_out:
            raise ValueError(f"need {n_in} input and {n_out} output labels, got {len(in_labels)} and {len(out_labels)}")
        groups: dict = {}
        for j, c in enumerate(in_labels):
            groups.setdefault(c, set()).add(("in", j))
        for i, c in enumerate(out_labels):
            groups.setdefault(c, set()).add(("out", i))
        parts = list(groups.values())
    return float(nx_modularity(G, parts))


# --- the wiring of an MLP-like model: unit graphs, ensemble blocks ------------------------------------

BLOCK_SIZE = 32  # a layer without ensembles is cut into contiguous blocks of this many units in block graphs,
MAX_BLOCKS = 16  # or into at most this many blocks when it is wider than BLOCK_SIZE * MAX_BLOCKS


@dataclass
class Link:
    """The linear map from unit layer `src` to `src + 1`: effective weight W * M (out, in) and the bool
    mask (None for a dense layer)."""

    name: str
    src: int
    weight: np.ndarray
    mask: np.ndarray | None

    @property
    def active(self) -> np.ndarray:
        """Bool (out, in): the mask, or every nonzero weight of a dense layer."""
        return self.mask if self.mask is not None else self.weight != 0


@dataclass
class Wiring:
    """An MLP-like model as layers of units ("input", "layer1", ..., "output") joined by links;
    groups[l] holds the ensemble id of each unit of layer l (None without ensembles)."""

    labels: list[str]
    widths: list[int]
    groups: list[list[int] | None]
    links: list[Link]

    @property
    def edges(self) -> int:
        """Active edges of the masked links."""
        return sum(int(k.mask.sum()) for k in self.links if k.mask is not None)

    def degrees(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """(in-degree, out-degree) of every unit of `layer` over the active edges (dense links: nonzero weights)."""
        n = self.widths[layer]
        din = self.links[layer - 1].active.sum(axis=1) if layer > 0 else np.zeros(n, dtype=int)
        dout = self.links[layer].active.sum(axis=0) if layer < len(self.links) else np.zeros(n, dtype=int)
        return din.astype(int), dout.astype(int)

    def block_ids(self, layer: int) -> np.ndarray:
        """Block of every unit of `layer`: its ensemble, or without ensembles contiguous blocks of BLOCK_SIZE
        units (fewer, larger blocks when that would make more than MAX_BLOCKS)."""
        g, n = self.groups[layer], self.widths[layer]
        return np.asarray(g, dtype=int) if g is not None else np.arange(n) // max(BLOCK_SIZE, -(-n // MAX_BLOCKS))


def _module_names(model: nn.Module) -> dict[int, str]:
    return {id(m): name for name, m in model.named_modules()}


def wiring(model: nn.Module) -> Wiring:
    """The wiring of a model with `.layers` (each with `.linear`) and `.readout`: the MLP and the sparse
    MLP (whose `.ensembles[l]` gives the ensembles of hidden layer l + 1)."""
    names = _module_names(model)
    linears = [layer.linear for layer in model.layers] + [model.readout]
    widths = [int(linears[0].in_features)] + [int(lin.out_features) for lin in linears]
    ensembles = list(getattr(model, "ensembles", None) or [None] * len(model.layers))
    groups: list[list[int] | None] = [None, *(list(e) if e is not None else None for e in ensembles), None]
    links = []
    for i, lin in enumerate(linears):
        w = as_numpy(lin.weight)
        mask = getattr(lin, "mask", None)
        m = as_numpy(mask) != 0 if isinstance(mask, torch.Tensor) else None
        links.append(Link(names.get(id(lin), str(i)), i, w * m if m is not None else w, m))
    labels = ["input", *(f"layer{i + 1}" for i in range(len(model.layers))), "output"]
    return Wiring(labels, widths, groups, links)


def mask_groups(model: nn.Module) -> dict[str, tuple[list[int] | None, list[int] | None]]:
    """{masked module name: (ensemble ids of its inputs, of its outputs)} of an MLP-like model (None where
    a layer has no ensembles); {} for any other model. Reads only the structure, never the weights."""
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(model, "readout") or not all(hasattr(x, "linear") for x in layers):
        return {}
    names = _module_names(model)
    ensembles = list(getattr(model, "ensembles", None) or [None] * len(layers))
    groups: list[list[int] | None] = [None, *(list(e) if e is not None else None for e in ensembles), None]
    linears = [layer.linear for layer in layers] + [model.readout]
    return {names[id(lin)]: (groups[i], groups[i + 1]) for i, lin in enumerate(linears)
            if isinstance(getattr(lin, "mask", None), torch.Tensor)}


def _top(values: np.ndarray, candidates: np.ndarray, fraction: float) -> np.ndarray:
    """Bool mask of the ceil(fraction * n) candidates with the largest values (ties to the lower flat index)."""
    keep = np.zeros_like(candidates, dtype=bool)
    idx = np.flatnonzero(candidates)
    n = int(np.ceil(fraction * idx.size))
    if n:
        order = np.argsort(-values.ravel()[idx], kind="stable")[:n]
        keep.ravel()[idx[order]] = True
    return keep


def unit_graph(w: Wiring, *, dense_fraction: float = 0.25, focus: tuple[int, int] | None = None,
               max_edges: int | None = None) -> nx.DiGraph:
    """Units as nodes (layer, unit) with their layer, ensemble ("group", None without) and in/out degree
    over all active edges; an edge per active mask entry of the masked links (weight w), and for dense
    links the top `dense_fraction` of their edges by |w| (0: none). With `focus` = (layer, block id) only
    the edges touching that block's units, and only the units they reach. With `max_edges` the
    strongest |w| edges are kept; G.graph["dropped"] says how many were left out."""
    G = nx.DiGraph(dropped=0, dense_fraction=dense_fraction, focus=focus)
    chosen: dict[int, set[int]] | None = None
    if focus is not None:
        fl, fb = focus
        chosen = {fl: set(np.flatnonzero(w.block_ids(fl) == fb).tolist())}
    rows = []  # (src layer, j, i, w)
    for k in w.links:
        cand = k.active.copy()
        if chosen is not None:
            lim = np.zeros_like(cand)
            if k.src + 1 in chosen:
                lim[sorted(chosen[k.src + 1]), :] = True
            if k.src in chosen:
                lim[:, sorted(chosen[k.src])] = True
            cand &= lim
        if k.mask is None:
            cand = _top(np.abs(k.weight), cand, dense_fraction) if dense_fraction > 0 else np.zeros_like(cand)
        i, j = np.nonzero(cand)
        rows.extend(zip([k.src] * i.size, j.tolist(), i.tolist(), k.weight[i, j].tolist(), strict=True))
    if max_edges is not None and len(rows) > max_edges:
        G.graph["dropped"] = len(rows) - max_edges
        rows = sorted(rows, key=lambda r: -abs(r[3]))[:max_edges]
    if chosen is None:
        units = {layer: range(n) for layer, n in enumerate(w.widths)}
    else:
        units = {layer: set(s) for layer, s in chosen.items()}
        for src, j, i, _ in rows:
            units.setdefault(src, set()).add(j)
            units.setdefault(src + 1, set()).add(i)
    for layer in sorted(units):
        din, dout = w.degrees(layer)
        g = w.groups[layer]
        for u in sorted(units[layer]):
            G.add_node((layer, u), layer=layer, unit=u, group=None if g is None else int(g[u]),
                       label=w.labels[layer], deg_in=int(din[u]), deg_out=int(dout[u]))
    for src, j, i, wt in rows:
        G.add_edge((src, j), (src + 1, i), weight=float(wt), masked=w.links[src].mask is not None)
    return G


def block_sums(mask: np.ndarray | torch.Tensor, in_ids: Sequence[int], out_ids: Sequence[int],
               weight: np.ndarray | torch.Tensor | None = None) -> dict[str, np.ndarray]:
    """Sums over ensemble blocks of a (out, in) layer: "edges"[a, b] = active edges from input block b to
    output block a, "abs_w" the sum of their |w|, "w" the sum of their w (blocks of size 0 give 0)."""
    M = (as_numpy(mask) != 0).astype(np.float64)
    W = as_numpy(weight) * M if weight is not None else M
    oi, ii = np.asarray(out_ids, dtype=int), np.asarray(in_ids, dtype=int)
    rows = np.zeros((oi.max() + 1 if oi.size else 0, oi.size))  # one-hot: block a <- output unit i
    rows[oi, np.arange(oi.size)] = 1.0
    cols = np.zeros((ii.size, ii.max() + 1 if ii.size else 0))  # one-hot: input unit j -> block b
    cols[np.arange(ii.size), ii] = 1.0
    return {"edges": np.rint(rows @ M @ cols).astype(int), "abs_w": rows @ np.abs(W) @ cols, "w": rows @ W @ cols}


def block_graph(w: Wiring) -> nx.DiGraph:
    """Ensembles as nodes (layer, block) with their unit count; an edge per pair of blocks joined by at
    least one active edge, with "edges" (count), "density" (edges / possible), "abs_w" and "w" (sums)."""
    G = nx.DiGraph()
    for layer, n in enumerate(w.widths):
        ids = w.block_ids(layer)
        sizes = np.bincount(ids, minlength=ids.max() + 1 if n else 0)
        for b, size in enumerate(sizes.tolist()):
            if size:
                G.add_node((layer, b), layer=layer, group=b if w.groups[layer] is not None else None, block=b,
                           units=int(size), label=w.labels[layer], ensembles=w.groups[layer] is not None)
    for k in w.links:
        s_ids, d_ids = w.block_ids(k.src), w.block_ids(k.src + 1)
        sums = block_sums(k.active, s_ids, d_ids, k.weight)
        s_size, d_size = np.bincount(s_ids), np.bincount(d_ids)
        for a, b in zip(*np.nonzero(sums["edges"]), strict=True):
            G.add_edge((k.src, int(b)), (k.src + 1, int(a)), edges=int(sums["edges"][a, b]),
                       density=float(sums["edges"][a, b] / (d_size[a] * s_size[b])),
                       abs_w=float(sums["abs_w"][a, b]), w=float(sums["w"][a, b]), masked=k.mask is not None)
    return G


def ensemble_order(ids: Sequence[int] | None, n: int) -> np.ndarray:
    """Unit indices sorted by ensemble id (stable: units keep their order within an ensemble); 0..n-1 without ids."""
    return np.arange(n) if ids is None else np.argsort(np.asarray(ids), kind="stable")


# --- dynamic sparse training replay -------------------------------------------------------------------

ABSENT, KEPT, GROWN, PRUNED = 0, 1, 2, 3


def rewiring_cells(mask_after: np.ndarray | torch.Tensor, pruned_idx: Sequence[int], grown_idx: Sequence[int]) -> np.ndarray:
    """Each entry of a layer after a DST round: ABSENT (0), KEPT (1, active and not new), GROWN (2, switched
    on this round) or PRUNED (3, switched off this round); indices are flat (row-major (out, in))."""
    M = as_numpy(mask_after) != 0
    cells = np.where(M, KEPT, ABSENT).astype(np.int8)
    cells.ravel()[np.asarray(list(grown_idx), dtype=int)] = GROWN
    cells.ravel()[np.asarray(list(pruned_idx), dtype=int)] = PRUNED
    return cells


# --- recurrent masks ----------------------------------------------------------------------------------


def recurrent_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every submodule with a `recurrent_graph()` (a sparse recurrent mask)."""
    return [(name, m) for name, m in model.named_modules() if callable(getattr(m, "recurrent_graph", None))]


def recurrent_digraph(adj: np.ndarray | torch.Tensor) -> nx.DiGraph:
    """The directed graph of a (H, H) recurrent adjacency, adj[i, j] != 0: unit j feeds unit i (edge j -> i);
    nodes carry deg_in (row sums) and deg_out (column sums), self-loops included."""
    A = as_numpy(adj) != 0
    G = nx.DiGraph()
    din, dout = A.sum(axis=1), A.sum(axis=0)
    for u in range(A.shape[0]):
        G.add_node(u, deg_in=int(din[u]), deg_out=int(dout[u]))
    G.add_edges_from((int(j), int(i)) for i, j in zip(*np.nonzero(A), strict=True))
    return G


# --- one-shot magnitude pruning sweep -------------------------------------------------------------------

PRUNING_LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95)
DNR_PROBE = 512


def pruning_curve(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss, levels: Sequence[float] = PRUNING_LEVELS,
                  scope: str = "global", *, probe: int = DNR_PROBE) -> list[dict]:
    """One-shot magnitude pruning of a copy of `model` (the model itself is never touched): masks are added
    to every linear map (readout included), then for each level s (ascending) the copy is pruned from its
    current sparsity s0 to s by switching off (s - s0) / (1 - s0) of the active edges with the smallest |w|
    (models/pruning.py, `scope` "global" or "layer"). Levels at or below the starting sparsity give one row,
    the model as it is. Rows: level, sparsity (reached), edges, total, accuracy (loss.accuracy on X, y),
    dnr (fraction of (input, unit) pairs with ReLU output 0 over the first `probe` inputs, None without
    ReLU layers) and dead_units (ReLU units silent on all of them)."""
    m = copy.deepcopy(model)
    add_masks(m, include_readout=True)
    start = sparsity(m)
    rows = []
    for level in [start, *(float(s) for s in sorted(levels) if s > start + 1e-12)]:
        s0 = sparsity(m)
        if level > s0 and s0 < 1.0:
            magnitude_prune(m, (level - s0) / (1.0 - s0), scope=scope, include_readout=True)
        active, total = edge_counts(m)
        acc = float(loss.accuracy(eval_outputs(m, X), y))
        dead = relu_dead_rate(m, X[:probe])
        relu = dead["units"] > 0
        rows.append({"level": level, "sparsity": 1.0 - active / total if total else 0.0, "edges": active, "total": total,
                     "accuracy": acc, "dnr": dead["dnr"] if relu else None, "dead_units": dead["dead_units"] if relu else None})
    return rows
