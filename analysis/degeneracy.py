"""Degeneracy of a network's layers (Bushnaq et al. 2024): dead units, linearly dependent units,
co-firing ReLUs, effective rank, and the interaction basis in which interactions between layers
are meant to be sparser.

Activations are (n samples, d units) matrices taken at taps. Jacobians come from substituting a
tap's output with a leaf tensor (`tap_hooks`); the model's parameters are never written
(no `.backward()`, only `torch.autograd.grad` with respect to that leaf).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from torch import nn

from netarium.analysis.common import as_matrix, as_numpy, eval_mode
from netarium.analysis.dead_units import dynamic_dead_units
from netarium.analysis.geometry import effective_rank
from netarium.models.taps import hidden_taps, record, tap_hooks

PlantKind = Literal["dead", "duplicate"]


# --- activation degeneracies ------------------------------------------------------------------


def _groups_from_pairs(n: int, rows: np.ndarray, cols: np.ndarray, members: np.ndarray) -> list[list[int]]:
    """Connected components (size >= 2) of the graph on `members` with edges (rows[k], cols[k]),
    where rows/cols index into `members`; each group sorted, groups sorted by their first unit."""
    if len(rows) == 0:
        return []
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for idx, label in enumerate(labels):
        groups.setdefault(int(label), []).append(int(members[idx]))
    return sorted(sorted(g) for g in groups.values() if len(g) >= 2)


def duplicate_groups(A: np.ndarray | torch.Tensor, threshold: float = 0.999) -> list[list[int]]:
    """Groups of non-constant units that are pairwise linearly dependent: |Pearson r| >= threshold
    (connected components of that relation). Such units are one direction of activation space
    spread over several neurons: the first degeneracy of Bushnaq et al. 2024 in its simplest form.

    A unit is constant when its standard deviation is <= 1e-8 of its largest |a| (or zero).
    """
    M = as_matrix(A)
    std = M.std(axis=0)
    members = np.flatnonzero(std > 1e-8 * np.abs(M).max(axis=0, initial=0.0))
    if len(members) < 2:
        return []
    r = np.corrcoef(M[:, members], rowvar=False)
    rows, cols = np.nonzero(np.triu(np.abs(r) >= threshold, k=1))
    return _groups_from_pairs(len(members), rows, cols, members)


def cofiring_groups(
    A: np.ndarray | torch.Tensor, threshold: float = 0.95, atol: float = 1e-6
) -> list[list[int]]:
    """Groups of ReLU-like units that fire (a > atol) on the same inputs: the Jaccard similarity
    |F_i & F_j| / |F_i | F_j| of their firing sets is >= threshold (connected components). Units
    that never fire are dead, not co-firing, and are left out. Bushnaq et al. 2024: ReLUs firing on
    the same subset of data points act as one linear map there, a third source of degeneracy.
    """
    F = as_matrix(A) > atol
    members = np.flatnonzero(F.any(axis=0))
    if len(members) < 2:
        return []
    Fm = F[:, members].astype(np.float64)
    inter = Fm.T @ Fm
    counts = np.diag(inter)
    jaccard = inter / (counts[:, None] + counts[None, :] - inter)
    rows, cols = np.nonzero(np.triu(jaccard >= threshold, k=1))
    return _groups_from_pairs(len(members), rows, cols, members)


# --- Jacobians through taps -------------------------------------------------------------------


def _jacobian(model: nn.Module, x: torch.Tensor, tap_from: str, tap_to: str | None = None) -> torch.Tensor:
    """d y / d a_from per sample, (n, n_y, d_from): a_from is the activation at `tap_from` and y the
    model output (tap_to None) or the activation at `tap_to`, trailing dimensions flattened.

    The tap's output is replaced by a leaf tensor (`tap_hooks`); each output coordinate
    summed over the batch is differentiated with respect to that leaf. That gives every sample's
    own row because samples do not interact in the forward pass (eval mode: no batch statistics).
    """
    captured: dict[str, torch.Tensor] = {}

    def substitute(output: torch.Tensor) -> torch.Tensor:
        leaf = output.detach().requires_grad_(True)
        captured["from"] = leaf
        return leaf

    def capture(output: torch.Tensor) -> None:
        if "from" not in captured:
            raise ValueError(f"tap {tap_to!r} runs before tap {tap_from!r}: it cannot depend on it")
        captured["to"] = output

    read = {tap_to: capture} if tap_to is not None else {}
    with tap_hooks(model, read=read, replace={tap_from: substitute}, detach=False), eval_mode(model), \
            torch.enable_grad():
        out = model(x)
        y = captured["to"] if tap_to is not None else out
        leaf = captured["from"]
        n = leaf.shape[0]
        y = y.reshape(n, -1)
        rows = []
        for k in range(y.shape[1]):
            g = None
            if y.requires_grad:  # else nothing in the graph links y to the leaf: a zero row
                (g,) = torch.autograd.grad(y[:, k].sum(), leaf, retain_graph=True, allow_unused=True)
            rows.append(torch.zeros_like(leaf) if g is None else g)
    return torch.stack([r.reshape(n, -1) for r in rows], dim=1).detach()


def tap_jacobian(model: nn.Module, x: torch.Tensor, tap: str) -> torch.Tensor:
    """J[i] = d f(x_i) / d a(x_i), shape (n, n_out, d): the Jacobian of the model output with
    respect to the activation at `tap` (trailing dims flattened), for every sample.

    Computed with one backward pass per output coordinate k of sum_i f_k(x_i), which is valid
    because samples do not interact: d sum_i f_k(x_i) / d a(x_j) = d f_k(x_j) / d a(x_j). The model
    runs in eval mode (its flags are restored afterwards); parameters and their .grad are untouched.
    """
    return _jacobian(model, x, tap)


# --- interaction basis ------------------------------------------------------------------------


def interaction_basis(
    A: np.ndarray | torch.Tensor, J: np.ndarray | torch.Tensor, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Bushnaq et al. 2024's interaction basis of one layer, from activations A (n, d) and the
    Jacobians J (n, n_out, d) of a later output with respect to them.

    1. Center and whiten: C = E[(a - mu)(a - mu)^T] = U diag(lam) U^T; keep the r directions with
       lam_i >= eps * max(lam) (the others are linearly dependent, degenerate directions) and set
       z = (a - mu) U_r lam_r^{-1/2}, so E[z z^T] = I_r.
    2. Rotate: in z-coordinates the Jacobian is J_w = J U_r lam_r^{1/2}; diagonalize
       G = E[J_w^T J_w] = V diag(g) V^T with g descending.
    Returns (basis = U_r lam_r^{-1/2} V of shape (d, r), g of shape (r,)): the interaction
    coordinates are c = (a - mu) @ basis, white (E[c c^T] = I_r) and ordered by how much the output
    moves along them (directions with g ~ 0 are the second degeneracy: the output ignores them).
    """
    M = as_matrix(A)
    Jm = as_numpy(J).reshape(M.shape[0], -1, M.shape[1])
    centered = M - M.mean(axis=0)
    lam, U = np.linalg.eigh(centered.T @ centered / M.shape[0])
    keep = lam >= eps * lam.max() if lam.max() > 0 else np.zeros_like(lam, dtype=bool)
    lam_r, U_r = lam[keep], U[:, keep]
    if lam_r.size == 0:
        return np.zeros((M.shape[1], 0)), np.zeros(0)
    Jw = Jm @ (U_r * np.sqrt(lam_r))  # (n, n_out, r)
    G = np.einsum("nor,nos->rs", Jw, Jw) / M.shape[0]
    g, V = np.linalg.eigh((G + G.T) / 2)
    order = np.argsort(g)[::-1]
    g, V = np.clip(g[order], 0.0, None), V[:, order]
    return (U_r / np.sqrt(lam_r)) @ V, g


def _gini(values: np.ndarray) -> float:
    """Gini coefficient of nonnegative entries: sum_i (2i - m - 1) x_(i) / (m sum x), x sorted
    ascending, i = 1..m; 0 when all are equal, (m - 1) / m when one entry holds everything."""
    x = np.sort(np.abs(np.asarray(values, dtype=np.float64)).ravel())
    m, total = x.size, x.sum()
    if m == 0 or total <= 0.0:
        return 0.0
    i = np.arange(1, m + 1)
    return float(((2 * i - m - 1) * x).sum() / (m * total))


def _top_mass(values: np.ndarray, fraction: float = 0.1) -> float:
    """Share of the total |mass| held by the largest ceil(fraction * m) entries."""
    x = np.sort(np.abs(np.asarray(values, dtype=np.float64)).ravel())[::-1]
    total = x.sum()
    if x.size == 0 or total <= 0.0:
        return 0.0
    return float(x[: max(1, math.ceil(fraction * x.size))].sum() / total)


def interaction_sparsity(model: nn.Module, x: torch.Tensor, tap_from: str, tap_to: str) -> dict[str, float]:
    """How sparse the interactions between two layers are in the neuron basis versus the
    interaction basis (Bushnaq et al. 2024 argue the latter should be sparser).

    M = E_x |d a_to / d a_from| in neuron coordinates, and E_x |B_to^T (d a_to / d a_from) B_from^+T|
    in interaction coordinates (c = (a - mu) B per layer, a - mu = c B^+ on the kept subspace; each
    B from the Jacobian of the model output at that layer). Returns the Gini coefficient of M's
    entries ("standard", "interaction") and the share of |M| mass in its top 10% entries
    ("standard_top10", "interaction_top10").
    """
    with eval_mode(model):
        acts = record(model, x, [tap_from, tap_to])
    a_from, a_to = as_matrix(acts[tap_from]), as_matrix(acts[tap_to])
    between = as_numpy(_jacobian(model, x, tap_from, tap_to))  # (n, d_to, d_from)
    B_from, _ = interaction_basis(a_from, tap_jacobian(model, x, tap_from))
    B_to, _ = interaction_basis(a_to, tap_jacobian(model, x, tap_to))
    in_int = B_to.T @ between @ np.linalg.pinv(B_from).T  # (n, r_to, r_from)
    M_std, M_int = np.abs(between).mean(axis=0), np.abs(in_int).mean(axis=0)
    return {
        "standard": _gini(M_std),
        "interaction": _gini(M_int),
        "standard_top10": _top_mass(M_std),
        "interaction_top10": _top_mass(M_int),
    }


# --- per-layer report -------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerDegeneracy:
    """The degeneracies of one hidden representation (a tap): dead units, linearly dependent
    groups, co-firing groups, effective rank and the interaction-basis eigenvalues (descending)."""

    tap: str
    n_units: int
    effective_rank: float
    dead: list[int]
    duplicates: list[list[int]]
    cofiring: list[list[int]]
    interaction_eigenvalues: np.ndarray = field(compare=False)

    @property
    def redundant_units(self) -> int:
        """How many units could be removed: the dead ones, plus size - 1 for each connected group
        of live units once duplicate and co-firing groups are merged (no unit counted twice)."""
        dead = set(self.dead)
        alive = sorted({u for g in (*self.duplicates, *self.cofiring) for u in g} - dead)
        index = {u: i for i, u in enumerate(alive)}
        rows, cols = [], []
        for group in (*self.duplicates, *self.cofiring):
            live = [index[u] for u in group if u not in dead]
            rows += live[:-1]
            cols += live[1:]
        merged = _groups_from_pairs(len(alive), np.array(rows, dtype=int), np.array(cols, dtype=int), np.array(alive))
        return len(dead) + sum(len(g) - 1 for g in merged)


def degeneracy_report(
    model: nn.Module, x: torch.Tensor, taps: Iterable[str] | None = None
) -> list[LayerDegeneracy]:
    """LayerDegeneracy for each tap (default: `hidden_taps(model)`) on the batch x, the interaction
    eigenvalues taken from the Jacobian of the model output at that tap. Runs in eval mode."""
    names = hidden_taps(model) if taps is None else list(taps)
    with eval_mode(model):
        acts = record(model, x, names)
    report = []
    for name in names:
        A = as_matrix(acts[name])
        _, eigenvalues = interaction_basis(A, tap_jacobian(model, x, name))
        report.append(
            LayerDegeneracy(
                tap=name,
                n_units=A.shape[1],
                effective_rank=effective_rank(A),
                dead=dynamic_dead_units(A),
                duplicates=duplicate_groups(A),
                cofiring=cofiring_groups(A),
                interaction_eigenvalues=eigenvalues,
            )
        )
    return report


# --- planting redundancy ----------------------------------------------------------------------


def _linear_pair(model: nn.Module, layer: int) -> tuple[nn.Linear, nn.Linear]:
    """(incoming, outgoing) linear maps of hidden layer `layer` (0-based) of an `mlp` model."""
    layers: Sequence[nn.Module] | None = getattr(model, "layers", None)
    if layers is None or not hasattr(model, "readout"):
        raise TypeError("plant_redundancy needs an `mlp` model (with .layers[i].linear and .readout)")
    if not 0 <= layer < len(layers):
        raise IndexError(f"layer {layer} out of range: the model has {len(layers)} hidden layers")
    outgoing = layers[layer + 1].linear if layer + 1 < len(layers) else model.readout
    return layers[layer].linear, outgoing


def plant_redundancy(
    model: nn.Module, kind: PlantKind, layer: int = 0, unit: int = 0, source: int = 1
) -> nn.Module:
    """A deep copy of an `mlp` model with one redundant unit planted in hidden layer `layer`
    (0-based, tap f"layer{layer + 1}.post"); the argument is never modified.

    "dead": unit's incoming weights := 0 and bias := -1 (when the layer has biases), so its pre-activation is -1 on every input
    and a ReLU unit never fires (other activations give a constant unit instead).
    "duplicate": unit's incoming weights and bias := source's, so both compute h_source; the next
    linear map gets W_out[:, source] := W_out[:, source] / 2 and W_out[:, unit] := W_out[:, source] / 2.
    The network function changes exactly by dropping unit's original contribution W_out[:, unit] h_unit.
    """
    if kind not in ("dead", "duplicate"):
        raise ValueError(f"kind must be 'dead' or 'duplicate', got {kind!r}")
    planted = copy.deepcopy(model)
    incoming, outgoing = _linear_pair(planted, layer)
    width = incoming.out_features
    for name, idx in (("unit", unit), ("source", source)):
        if not 0 <= idx < width:
            raise IndexError(f"{name} {idx} out of range: layer {layer} has {width} units")
    with torch.no_grad():
        if kind == "dead":
            incoming.weight[unit] = 0.0
            if incoming.bias is not None:
                incoming.bias[unit] = -1.0
        else:
            if unit == source:
                raise ValueError("a duplicate needs unit != source")
            incoming.weight[unit] = incoming.weight[source]
            if incoming.bias is not None:
                incoming.bias[unit] = incoming.bias[source]
            half = outgoing.weight[:, source] / 2
            outgoing.weight[:, source] = half
            outgoing.weight[:, unit] = half
    return planted
