"""NoProp's chain seen from inside: the label-embedding trajectory z_0..z_T of a few inputs, projected to 2-D,
and each block's denoising loss now (models/noprop.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from netarium.analysis.common import eval_mode
from netarium.models.noprop import NoPropNet
from netarium.models.taps import record


@dataclass(frozen=True)
class ChainTrajectory:
    """z_0..z_T of n inputs through the inference chain, and the class embeddings, in d dimensions and
    projected onto the two principal axes of the points drawn (embeddings and states together)."""

    states: np.ndarray  # (n, T + 1, d)
    coords: np.ndarray  # (n, T + 1, 2)
    embeddings: np.ndarray  # (C, d)
    class_coords: np.ndarray  # (C, 2)
    labels: np.ndarray  # (n,) true classes
    predicted: np.ndarray  # (n,) the head's argmax on z_T
    rows: np.ndarray  # (n,) the inputs' rows in the set they came from
    explained: float  # share of the points' variance the two axes keep

    @property
    def distances(self) -> np.ndarray:
        """(n, T + 1): ||z_t - u_y|| for each input's own class y."""
        return np.linalg.norm(self.states - self.embeddings[self.labels][:, None, :], axis=-1)


def pick_rows(y: np.ndarray, classes: list[int], per_class: int) -> np.ndarray:
    """The first `per_class` rows of each class in `classes`, in class order."""
    out = [np.flatnonzero(y == c)[:per_class] for c in classes]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def project_2d(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, (d, 2) principal axes, share of variance kept) of `points` (k, d); a second axis of zeros where
    d = 1. The axes' signs are fixed (the largest-magnitude entry positive), so a redraw does not flip."""
    mean = points.mean(0)
    centred = points - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2].T
    signs = np.sign(axes[np.abs(axes).argmax(0), np.arange(axes.shape[1])])
    axes = axes * np.where(signs == 0, 1.0, signs)
    if axes.shape[1] < 2:
        axes = np.concatenate([axes, np.zeros((axes.shape[0], 2 - axes.shape[1]))], axis=1)
    total = float((s ** 2).sum())
    kept = float((s[:2] ** 2).sum() / total) if total > 0 else 1.0
    return mean, axes, kept


def chain_trajectory(model: NoPropNet, X: torch.Tensor, y: torch.Tensor, rows: np.ndarray) -> ChainTrajectory:
    """The chain's states z_0..z_T (taps "z0", "block{t}.post") for X[rows], with the class embeddings, in 2-D."""
    taps = ["z0", *[f"block{t + 1}.post" for t in range(model.T)], "logits"]
    with eval_mode(model):
        acts = record(model, X[torch.as_tensor(rows, dtype=torch.long)], taps)
    states = torch.stack([acts[t] for t in taps[:-1]], dim=1).double().cpu().numpy()
    E = model.embedding.detach().double().cpu().numpy()
    mean, axes, kept = project_2d(np.concatenate([E, states.reshape(-1, states.shape[-1])]))
    return ChainTrajectory(
        states=states, coords=(states - mean) @ axes, embeddings=E, class_coords=(E - mean) @ axes,
        labels=y[torch.as_tensor(rows, dtype=torch.long)].cpu().numpy(), predicted=acts["logits"].argmax(-1).cpu().numpy(),
        rows=np.asarray(rows), explained=kept)


def block_losses(model: NoPropNet, X: torch.Tensor, y: torch.Tensor, seed: int = 0) -> np.ndarray:
    """(T,): each block's denoising loss ||û_t - u_y||² on (X, y) now, every block given z_{t-1} ~ q(z_{t-1} | y)
    with the same seeded noise: what the noprop trainer minimises, measured for a model trained any way."""
    g = torch.Generator(device=X.device).manual_seed(seed)
    noise = torch.randn(X.shape[0], model.d, generator=g, device=X.device, dtype=model.embedding.dtype)
    with eval_mode(model), torch.no_grad():
        return np.array([float(model.denoising_loss(t, X, y, noise)) for t in range(1, model.T + 1)])
