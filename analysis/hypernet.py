"""What the hypernetwork views show: the target net's decision surface at a chosen gamma, the examples near
that gamma, and the hypernetwork's output norm |theta(gamma)| across gamma (models/hypernet.py).

Pure functions under torch.no_grad; they never switch the model between train and eval mode."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from netarium.analysis.playground import DENSITY, Surface, decision_surface
from netarium.tasks.conditioned import VIEW_WINDOW, conditioned_features


def task_at(task: Any, gamma: float) -> Any:
    """The task as the 2-D views see it at `gamma`: featurize prepends that gamma to the raw points."""
    if "gamma_train" not in task.meta:
        raise ValueError(f"task {task.name!r} has no parameter gamma per example (choose rotated-2d or wave-2d)")
    return dataclasses.replace(task, featurize=functools.partial(conditioned_features, gamma=float(gamma)))


def surface_at(model: nn.Module, task: Any, gamma: float, resolution: int = DENSITY, loss_name: str = "cross_entropy") -> Surface:
    """The target net's prediction over the task's box with every grid point at `gamma`."""
    return decision_surface(model, task_at(task, gamma), resolution=resolution, loss_name=loss_name)


@dataclass(frozen=True)
class NearPoints:
    """The raw points of one split whose gamma is within `window` of `gamma`, with their labels."""

    points: np.ndarray  # (n, 2)
    labels: np.ndarray  # (n,)
    gamma: float
    window: float


def points_near(task: Any, gamma: float, split: str = "train", window: float = VIEW_WINDOW) -> NearPoints:
    """The examples of `split` whose own gamma is within `window` of `gamma` (those a boundary at gamma is for)."""
    g = task.meta[f"gamma_{split}"].cpu()
    keep = (g - float(gamma)).abs() <= window + 1e-9
    pts = task.meta[f"raw_points_{split}"].cpu()[keep].numpy()
    y = (task.y_train if split == "train" else task.y_test).cpu()[keep].numpy()
    return NearPoints(pts, y, float(gamma), window)


@dataclass(frozen=True)
class ThetaProfile:
    """|theta(gamma)| on a grid of gamma, and |theta_0| (MIP's learned base; None for a plain hypernet)."""

    gammas: np.ndarray
    norms: np.ndarray
    base_norm: float | None
    mip: bool


@torch.no_grad()
def theta_profile(model: nn.Module, points: int = 41) -> ThetaProfile:
    """The hypernetwork's output norm |theta(gamma)| for gamma evenly spaced in [0, 1]."""
    gammas = np.linspace(0.0, 1.0, points)
    norms = model.theta_norms(gammas.tolist()).cpu().numpy()
    base = float(model.hyper.base.detach().norm()) if model.mip else None  # a plain hypernet's base is its head's bias
    return ThetaProfile(gammas, norms, base, bool(model.mip))


def norm_history(history: Any) -> dict[float, tuple[list[int], list[float]]]:
    """{gamma: (steps, |theta(gamma)|)} from a run's history (metrics "theta_norm_<gamma>")."""
    out = {}
    for name in history.metrics():
        if name.startswith("theta_norm_"):
            out[float(name.removeprefix("theta_norm_"))] = history.series(name)
    return dict(sorted(out.items()))
