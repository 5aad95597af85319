"""Task families whose examples are whole tasks: a 2-D data set transformed by a parameter gamma in [0, 1],
each example (gamma, x1, x2) -> label with its own gamma drawn uniformly (the hypernetwork setting of
Ortiz, Guttag & Dalca 2023, where gamma ~ U(0, 1) conditions the weights a hypernetwork predicts).

rotated-2d: a Playground data set (moons, spiral, xor, gauss) rotated about the origin by gamma * max_angle.
wave-2d: points uniform in [-5, 5]^2, class 1 above the wave x2 = A sin(w x1), w = w_min + gamma (w_max - w_min).

The 2-D views draw the plane at one gamma (`view_gamma`): `featurize` prepends that gamma to the raw points,
and meta "points_train" / "points_test" hold the raw points of the examples within VIEW_WINDOW of it (NaN for
the others, which plotly leaves out), so the points drawn are those the boundary drawn applies to. The
Hypernetwork view (ui/views/hypernet.py) moves gamma live with a slider.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from netarium.schema import Params
from netarium.tasks.base import TASK_CAPABILITIES, TASKS, Task, split_indices
from netarium.tasks.playground import gen_gauss, gen_moons, gen_spiral, gen_xor, plot_box

TASK_CAPABILITIES.setdefault("conditioned", "a task family with a parameter gamma per example (rotated-2d, wave-2d)")

VIEW_WINDOW = 0.05  # the 2-D views show the examples whose gamma is within this of the gamma drawn
WAVE_RADIUS = 5.0
BASES: dict[str, Callable[[np.random.Generator, int, float], tuple[np.ndarray, np.ndarray]]] = {
    "moons": gen_moons, "spiral": gen_spiral, "xor": gen_xor, "gauss": gen_gauss,
}


class ConditionedParams(Params):
    """What every task family shares: how many examples, the split, and the gamma the 2-D views draw at."""

    n_samples: int = Field(1000, ge=20, le=20000, description="Examples, train and test together; each has its own gamma ~ U(0, 1)")
    noise: float = Field(0.0, ge=0.0, le=0.5, description="Noise of the base data set (as on the Playground)")
    train_ratio: float = Field(0.5, ge=0.1, le=0.9, description="Fraction of the examples used for training")
    view_gamma: float = Field(0.5, ge=0.0, le=1.0, description="The gamma at which the Playground's 2-D views draw "
                              f"the plane (the points shown: examples within ±{VIEW_WINDOW} of it); a data setting, so "
                              "changing it re-initialises the network: the Hypernetwork view's slider moves gamma live")


class RotatedParams(ConditionedParams):
    base: Literal["moons", "spiral", "xor", "gauss"] = Field("moons", description="The 2-D data set that gamma rotates")
    max_angle: float = Field(180.0, ge=0.0, le=360.0, description="Rotation at gamma = 1, in degrees (gamma * max_angle)")


class WaveParams(ConditionedParams):
    amplitude: float = Field(2.0, ge=0.1, le=5.0, description="A: the wave x2 = A sin(w x1) between the classes")
    freq_min: float = Field(0.3, ge=0.0, le=5.0, description="w at gamma = 0 (radians per unit of x1)")
    freq_max: float = Field(1.5, ge=0.0, le=5.0, description="w at gamma = 1 (radians per unit of x1)")


def conditioned_features(points: torch.Tensor, gamma: float | torch.Tensor) -> torch.Tensor:
    """(n, 1 + 2) model inputs [gamma, x1, x2] for raw (n, 2) points at one gamma (or one per point)."""
    p = torch.as_tensor(points, dtype=torch.float32)
    g = torch.as_tensor(gamma, dtype=torch.float32)
    col = g.reshape(-1, 1).expand(len(p), 1) if g.numel() == 1 else g.reshape(len(p), 1)
    return torch.cat([col, p], dim=1)


def rotate(points: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Each point rotated about the origin by its own angle (radians), counter-clockwise."""
    c, s = np.cos(angles), np.sin(angles)
    x, y = points[:, 0], points[:, 1]
    return np.stack([c * x - s * y, s * x + c * y], 1)


def wave_labels(points: np.ndarray, gamma: np.ndarray, p: WaveParams) -> np.ndarray:
    """1 where x2 > A sin(w(gamma) x1), w = w_min + gamma (w_max - w_min)."""
    w = p.freq_min + gamma * (p.freq_max - p.freq_min)
    return (points[:, 1] > p.amplitude * np.sin(w * points[:, 0])).astype(np.int64)


def shown_points(points: torch.Tensor, gamma: torch.Tensor, at: float, window: float = VIEW_WINDOW) -> torch.Tensor:
    """The raw points of the examples with |gamma - at| <= window; NaN rows for the others (left out of plots)."""
    out = points.clone()
    out[(gamma - at).abs() > window + 1e-9] = math.nan
    return out


def build_conditioned_task(name: str, points: np.ndarray, gamma: np.ndarray, y: np.ndarray, p: ConditionedParams,
                           rng: np.random.Generator, meaning: str) -> Task:
    """A Task of examples [gamma, x1, x2] -> y: a seeded split, the 2-D views' meta at view_gamma."""
    tr, te = split_indices(len(points), p.train_ratio, rng)
    pts = torch.as_tensor(points, dtype=torch.float32)
    g = torch.as_tensor(gamma, dtype=torch.float32)
    X = conditioned_features(pts, g)
    yt = torch.as_tensor(y, dtype=torch.int64)
    tr_t, te_t = torch.as_tensor(tr), torch.as_tensor(te)
    return Task(
        name=name, kind="classification", X_train=X[tr_t], y_train=yt[tr_t], X_test=X[te_t], y_test=yt[te_t],
        n_classes=2, input_names=["γ", "x1", "x2"],
        meta={
            "box": plot_box(points), "features": ["x1", "x2"], "view_gamma": p.view_gamma, "gamma_meaning": meaning,
            "raw_points_train": pts[tr_t], "raw_points_test": pts[te_t], "gamma_train": g[tr_t], "gamma_test": g[te_t],
            "points_train": shown_points(pts[tr_t], g[tr_t], p.view_gamma),
            "points_test": shown_points(pts[te_t], g[te_t], p.view_gamma),
        },
        featurize=functools.partial(conditioned_features, gamma=p.view_gamma),  # picklable, unlike a lambda
    )


TAGS = ("classification", "conditioned")


@TASKS.register("rotated-2d", RotatedParams, "A Playground data set rotated by gamma * max_angle; gamma ~ U(0, 1) "
                "per example, an input of the example (for hypernetworks).", tags=TAGS)
def make_rotated(p: RotatedParams, seed: int) -> Task:
    rng = np.random.default_rng(seed)
    base, y = BASES[p.base](rng, p.n_samples, p.noise)
    order = rng.permutation(p.n_samples)  # the generators list the classes in blocks: gamma must not follow them
    base, y = base[order], y[order]
    gamma = rng.uniform(0.0, 1.0, p.n_samples)
    points = rotate(base, np.deg2rad(p.max_angle) * gamma)
    return build_conditioned_task("rotated-2d", points, gamma, y, p, rng, f"rotation by γ × {p.max_angle:g}° of {p.base}")


@TASKS.register("wave-2d", WaveParams, "Class 1 above the wave x2 = A sin(w x1) whose frequency w grows with gamma; "
                "gamma ~ U(0, 1) per example, an input of the example (for hypernetworks).", tags=TAGS)
def make_wave(p: WaveParams, seed: int) -> Task:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-WAVE_RADIUS, WAVE_RADIUS, (p.n_samples, 2))
    gamma = rng.uniform(0.0, 1.0, p.n_samples)
    noisy = points + rng.uniform(-WAVE_RADIUS, WAVE_RADIUS, (p.n_samples, 2)) * p.noise  # noise moves the copy read
    y = wave_labels(noisy, gamma, p)
    return build_conditioned_task("wave-2d", points, gamma, y, p, rng,
                                  f"wave x2 = {p.amplitude:g} sin(w x1), w = {p.freq_min:g} + γ × {p.freq_max - p.freq_min:g}")
