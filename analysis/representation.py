"""Representations of a probe set at every layer, over training: what the geometry views draw.

Pure functions of (model, probe) built on analysis.geometry: the held probe set, per-layer
activations, PCA embeddings aligned across training snapshots, RDM sets with RSA, layer x layer
CKA, alignment with input and labels over training, unit matching between two nets, and the input
grid warped through each hidden layer (for 2-D tasks, as ConvNetJS showed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import orthogonal_procrustes
from torch import nn

from netarium.analysis import geometry as geo
from netarium.analysis.common import as_matrix, eval_mode
from netarium.models.taps import hidden_taps, record, tap_names

MAX_PROBE = 400


@dataclass(frozen=True)
class Probe:
    """The fixed inputs the geometry views look at, with their labels and (when the task has them)
    conditions: int condition id per point, names per condition, binary target per condition."""

    x: torch.Tensor
    y: np.ndarray
    n_classes: int
    conditions: np.ndarray | None = None
    condition_names: list[str] | None = None
    condition_targets: np.ndarray | None = None
    points: np.ndarray | None = None  # raw 2-D points of a 2-D task

    @property
    def colour(self) -> tuple[np.ndarray, list[str]]:
        """What to colour points by: the condition when there are conditions, else the class."""
        if self.conditions is not None and self.condition_names is not None:
            return self.conditions, list(self.condition_names)
        return self.y.astype(int), [f"class {c}" for c in range(max(self.n_classes, int(self.y.max()) + 1))]


def interleaved(groups: np.ndarray) -> np.ndarray:
    """Indices taking one member of each group in turn (0, 1, 2, 0, 1, 2, ...), each group in order."""
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    longest = max((len(m) for m in members), default=0)
    return np.array([m[k] for k in range(longest) for m in members if k < len(m)], dtype=np.int64)


def probe_set(task, n: int = MAX_PROBE, split: str = "test") -> Probe:
    """The first `n` points of the test (or train) split, taking each condition (or class) in turn,
    so every one is present however small n is."""
    X = task.X_test if split == "test" else task.X_train
    y = (task.y_test if split == "test" else task.y_train).detach().cpu().numpy()
    if task.kind != "classification" or y.ndim != 1:
        raise ValueError("the geometry views need a classification task with one label per input")
    conds = task.meta.get(f"conditions_{split}")
    groups = conds.cpu().numpy() if conds is not None else y
    order = interleaved(groups)
    keep = order[:n]
    targets = task.meta.get("condition_targets")
    pts = task.meta.get(f"points_{split}")
    return Probe(
        x=X[torch.as_tensor(keep, device=X.device)], y=y[keep], n_classes=task.n_classes,
        conditions=conds.cpu().numpy()[keep] if conds is not None else None,
        condition_names=list(task.meta.get("condition_labels", [])) or None,
        condition_targets=targets.cpu().numpy() if targets is not None else None,
        points=np.asarray(pts)[keep] if pts is not None else None,
    )


def representation_taps(model: nn.Module) -> list[str]:
    """The taps the geometry views compare: the input, each hidden representation, the logits."""
    names = tap_names(model)
    return [t for t in ("in",) if t in names] + hidden_taps(model) + [t for t in ("logits",) if t in names]


def layer_title(tap: str) -> str:
    """'in' -> 'input', 'layer2.post' -> 'layer 2', 'block3.resid_post' -> 'block 3'."""
    if tap == "in":
        return "input"
    head = tap.split(".")[0]
    for word in ("layer", "block"):
        if head.startswith(word) and head[len(word):].isdigit():
            return f"{word} {head[len(word):]}"
    return head


def representations(model: nn.Module, probe: Probe, taps: list[str] | None = None) -> dict[str, np.ndarray]:
    """Activations (n, features) in float64 at each tap for the probe inputs (token inputs give
    their one-hot-free embedding taps; extra axes are flattened)."""
    taps = taps or representation_taps(model)
    with eval_mode(model):
        acts = record(model, probe.x, taps)
    return {t: as_matrix(acts[t]) for t in taps}


# ---- embeddings over training ---------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingFrames:
    """PCA coordinates of every layer at every snapshot: coords[s, l] is (n_points, k) at steps[s]
    for layer taps[l]; each frame is rotated onto the previous one (orthogonal Procrustes), so the
    animation shows representations moving, not PCA axes flipping."""

    steps: list[int]
    taps: list[str]
    titles: list[str]
    coords: np.ndarray  # (n_steps, n_layers, n_points, k)
    explained: np.ndarray  # (n_steps, n_layers, k) explained variance ratio per component
    colour: np.ndarray  # (n_points,) int
    colour_names: list[str]


def _aligned(prev: np.ndarray | None, cur: np.ndarray) -> np.ndarray:
    if prev is None:
        return cur
    r, _ = orthogonal_procrustes(cur, prev)
    return cur @ r


def embedding_frames(models: list[tuple[int, nn.Module]], probe: Probe, k: int = 2) -> EmbeddingFrames:
    """PCA (k components) of each layer's probe representation at each (step, model)."""
    if not models:
        raise ValueError("no snapshots to embed")
    taps = representation_taps(models[0][1])
    coords = np.zeros((len(models), len(taps), len(probe.y), k))
    explained = np.zeros((len(models), len(taps), k))
    for s, (_, model) in enumerate(models):
        reps = representations(model, probe, taps)
        for li, t in enumerate(taps):
            c, ratio = geo.pca(reps[t], k)
            coords[s, li] = _aligned(coords[s - 1, li] if s else None, c)
            explained[s, li] = ratio
    colour, names = probe.colour
    return EmbeddingFrames([s for s, _ in models], taps, [layer_title(t) for t in taps], coords, explained, colour, names)


# ---- RDMs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RDMSet:
    """RDMs of the input, each hidden layer and the labels, over conditions (condition means) or over
    samples sorted by label; rsa_input / rsa_labels: each RDM's Spearman correlation with those two."""

    titles: list[str]
    rdms: list[np.ndarray]
    tick_labels: list[str]
    rsa_input: list[float]
    rsa_labels: list[float]
    metric: str
    over: str  # "conditions" or "samples"


MAX_RDM_SAMPLES = 120


def rdm_set(model: nn.Module, probe: Probe, metric: str = "euclidean") -> RDMSet:
    """The RDM of every representation, and of the labels (0 within a class, 1 across)."""
    taps = [t for t in representation_taps(model) if t != "logits"]
    reps = representations(model, probe, taps)
    if probe.conditions is not None:
        ids = np.unique(probe.conditions)
        mats = {t: geo.condition_means(reps[t], probe.conditions)[0] for t in taps}
        names = probe.condition_names or [str(c) for c in ids]
        ticks = [names[c] for c in ids]
        label_of = probe.condition_targets[ids] if probe.condition_targets is not None else \
            np.array([np.bincount(probe.y[probe.conditions == c]).argmax() for c in ids])
        over = "conditions"
    else:
        per_class = max(MAX_RDM_SAMPLES // max(probe.n_classes, 1), 1)
        keep = np.concatenate([np.flatnonzero(probe.y == c)[:per_class] for c in np.unique(probe.y)])
        mats = {t: reps[t][keep] for t in taps}
        label_of = probe.y[keep]
        ticks = [str(int(v)) for v in label_of]
        over = "samples"
    labels_rdm = (label_of[:, None] != label_of[None, :]).astype(float)
    rdms = [geo.rdm(mats[t], metric) for t in taps]
    titles = [layer_title(t) for t in taps] + ["labels"]
    rdms.append(labels_rdm)
    return RDMSet(titles, rdms, ticks, [geo.rsa(r, rdms[0]) for r in rdms], [geo.rsa(r, labels_rdm) for r in rdms], metric, over)


# ---- CKA, alignment over training, unit matching --------------------------------------------------


@dataclass(frozen=True)
class CKAResult:
    """Linear CKA between the layers of net A (rows) and net B (columns)."""

    matrix: np.ndarray
    rows: list[str]
    cols: list[str]
    title: str


def _cka_grid(As: list[np.ndarray], Bs: list[np.ndarray] | None, debiased: bool, kernel: str) -> np.ndarray:
    """Linear CKA of all pairs at once (geo.cka_matrix), or RBF CKA pair by pair."""
    if kernel == "linear":
        return geo.cka_matrix(As, Bs, debiased=debiased)
    if kernel != "rbf":
        raise ValueError(f"unknown CKA kernel {kernel!r}; one of linear, rbf")
    rows, cols = As, As if Bs is None else Bs
    return np.array([[geo.rbf_cka(a, b, debiased=debiased) for b in cols] for a in rows])


def cka_within(model: nn.Module, probe: Probe, debiased: bool = False, kernel: str = "linear") -> CKAResult:
    taps = representation_taps(model)
    reps = representations(model, probe, taps)
    titles = [layer_title(t) for t in taps]
    return CKAResult(_cka_grid([reps[t] for t in taps], None, debiased, kernel), titles, titles, f"CKA ({kernel}), layer × layer")


def cka_across(a: nn.Module, b: nn.Module, probe: Probe, debiased: bool = False, kernel: str = "linear") -> CKAResult:
    ta, tb = representation_taps(a), representation_taps(b)
    ra, rb = representations(a, probe, ta), representations(b, probe, tb)
    return CKAResult(_cka_grid([ra[t] for t in ta], [rb[t] for t in tb], debiased, kernel),
                     [layer_title(t) for t in ta], [layer_title(t) for t in tb], f"CKA ({kernel}), this net × second net")


@dataclass(frozen=True)
class AlignmentCurves:
    """Linear CKA of each hidden layer with the input and with the labels (one-hot), per snapshot."""

    steps: list[int]
    titles: list[str]
    input: np.ndarray  # (n_steps, n_layers)
    labels: np.ndarray


def alignment_over_training(models: list[tuple[int, nn.Module]], probe: Probe) -> AlignmentCurves:
    if not models:
        raise ValueError("no snapshots")
    taps = hidden_taps(models[0][1])
    inp = np.zeros((len(models), len(taps)))
    lab = np.zeros_like(inp)
    for s, (_, model) in enumerate(models):
        reps = representations(model, probe, ["in", *taps])
        for li, t in enumerate(taps):
            a = geo.alignment(reps[t], reps["in"], probe.y, probe.n_classes)
            inp[s, li], lab[s, li] = a["input"], a["labels"]
    return AlignmentCurves([s for s, _ in models], [layer_title(t) for t in taps], inp, lab)


def match_layers(a: nn.Module, b: nn.Module, probe: Probe, seed: int = 0) -> dict[str, geo.UnitMatch]:
    """Unit matching (Hungarian, semi-matching, shuffled baseline) of each hidden layer of a with b's."""
    taps = [t for t in hidden_taps(a) if t in hidden_taps(b)]
    ra, rb = representations(a, probe, taps), representations(b, probe, taps)
    return {layer_title(t): geo.match_units(ra[t], rb[t], seed=seed) for t in taps}


# ---- the input grid warped through each layer -----------------------------------------------------


@dataclass(frozen=True)
class WarpedGrid:
    """Grid lines of the 2-D input plane and the probe points, mapped through each hidden layer and
    projected to that layer's first two principal components (fitted on the probe points)."""

    titles: list[str]
    lines: list[np.ndarray]  # per layer: (n_lines, n_per_line, 2)
    points: list[np.ndarray]  # per layer: (n_points, 2)
    colour: np.ndarray
    colour_names: list[str]


def warped_grid(model: nn.Module, task, probe: Probe, n_lines: int = 13, per_line: int = 40) -> WarpedGrid:
    """The plane's grid (n_lines horizontal + n_lines vertical lines) through every hidden layer."""
    if task.featurize is None or probe.points is None or "box" not in task.meta:
        raise ValueError("the warped grid needs a 2-D task")
    x0, x1, y0, y1 = task.meta["box"]
    u = np.linspace(0, 1, per_line)
    ticks = np.linspace(0, 1, n_lines)
    lines = [np.stack([x0 + (x1 - x0) * u, np.full_like(u, y0 + (y1 - y0) * t)], 1) for t in ticks]
    lines += [np.stack([np.full_like(u, x0 + (x1 - x0) * t), y0 + (y1 - y0) * u], 1) for t in ticks]
    grid = np.concatenate(lines)
    device = probe.x.device
    grid_in = task.featurize(torch.as_tensor(grid, dtype=torch.float32)).to(device)
    taps = ["in", *hidden_taps(model)]
    grid_probe = Probe(x=grid_in, y=np.zeros(len(grid), int), n_classes=probe.n_classes)
    reps_grid = representations(model, grid_probe, taps)
    reps_pts = representations(model, probe, taps)
    titles, out_lines, out_pts = [], [], []
    for t in taps:
        if t == "in":
            proj_pts, proj_grid = probe.points, grid
        else:
            p = reps_pts[t]
            mean = p.mean(0)
            _, _, vt = np.linalg.svd(p - mean, full_matrices=False)
            basis = vt[:2].T if vt.shape[0] >= 2 else np.pad(vt.T, ((0, 0), (0, 2 - vt.shape[0])))
            proj_pts, proj_grid = (p - mean) @ basis, (reps_grid[t] - mean) @ basis
        titles.append(layer_title(t))
        out_pts.append(np.asarray(proj_pts))
        out_lines.append(np.asarray(proj_grid).reshape(2 * n_lines, per_line, 2))
    colour, names = probe.colour
    return WarpedGrid(titles, out_lines, out_pts, colour, names)
