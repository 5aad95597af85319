"""TensorFlow-Playground style 2-D tasks: points in about [-6, 6]^2, selectable input features.

Classification: circle, xor, gauss, spiral (two classes, as in the Playground), moons, blobs and
spirals (k classes). Regression: reg-plane (target (x1 + x2) / 10, in [-1.2, 1.2] without noise,
unclipped), reg-gauss (six signed cones, in [-1, 1]) and reg-compose (exp(sin(pi x) + y^2) at
(x, y) = (x1, x2) / 6, the KAN paper's compositional function, in [1/e, e^2]; not TensorFlow Playground's).

circle, xor, gauss, spiral, reg-plane and reg-gauss follow TensorFlow Playground's src/dataset.ts
(formulas, radii, noise scales; 500 points for classification, 1,200 for regression as in its
playground.ts). As there, circle, xor and the regression sets draw each point where it is and
noise moves only a copy of it from which the label or target is computed: noise mislabels points,
it never moves them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from netarium.schema import Params, as_list
from netarium.tasks.base import TASKS, Task, TaskKind, split_indices

FeatureName = Literal["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]

FEATURES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: torch.sin(a),
    "sin(x2)": lambda a, b: torch.sin(b),
}

RADIUS = 5.0  # the Playground's data radius for classification sets
REG_RADIUS = 6.0  # and for regression sets
XOR_PADDING = 0.3  # xor's points keep this far from the axes
PLANE_SCALE = 10.0  # reg-plane's target: x1 + x2 in [-10, 10] mapped linearly to [-1, 1], unclamped
CONE_RADIUS = 2.0  # a reg-gauss cone falls from 1 at its centre to 0 at this distance
REG_GAUSSIANS = [(-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0), (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0)]


def feature_map(points: torch.Tensor | np.ndarray, features: Sequence[str]) -> torch.Tensor:
    """(n, len(features)) float32 tensor whose column j is features[j](x1, x2) of the raw (n, 2) points."""
    p = torch.as_tensor(points, dtype=torch.float32)
    x1, x2 = p[:, 0], p[:, 1]
    return torch.stack([FEATURES[f](x1, x2) for f in features], dim=1)


class Points2DParams(Params):
    """Parameters shared by every 2-D task (the classification sets' defaults)."""

    n_samples: int = Field(500, ge=20, le=5000,
                           description="Number of points, train and test together (500, the Playground's classification sets).")
    noise: float = Field(0.0, ge=0.0, le=0.5, json_schema_extra={"unit": "percent"},
                         description="Noise level, 0 to 0.5 (the Playground's 0-50%).")
    train_ratio: float = Field(0.5, ge=0.1, le=0.9, json_schema_extra={"unit": "percent"},
                               description="Fraction of the points used for training.")
    features: list[FeatureName] = Field(
        ["x1", "x2"], description="Input features computed from the raw point (x1, x2); at least one, no repeats."
    )

    _lists = field_validator("features", mode="before")(classmethod(lambda cls, v: as_list(v)))

    @field_validator("features")
    @classmethod
    def _check_features(cls, v: list[str]) -> list[str]:
        """The feature list, unchanged, after checking it is non-empty and has no duplicates."""
        if not v:
            raise ValueError("choose at least one feature")
        dups = sorted({f for f in v if v.count(f) > 1})
        if dups:
            raise ValueError(f"feature(s) listed twice: {', '.join(dups)}")
        return v


class RegressionParams(Points2DParams):
    """The Playground's regression sets: 1,200 points by default, as TensorFlow Playground makes them."""

    n_samples: int = Field(1200, ge=20, le=5000,
                           description="Number of points, train and test together (1,200, the Playground's regression sets).")


class MoonsParams(Points2DParams):
    noise: float = Field(0.1, ge=0.0, le=0.5, description="Gaussian noise std in units of the moon radius.")


class BlobsParams(Points2DParams):
    n_classes: int = Field(3, ge=2, le=8, description="Number of Gaussian blobs (classes).")
    noise: float = Field(0.1, ge=0.0, le=0.5, description="Blob spread: standard deviation = 0.5 + 5 * noise.")


class SpiralsParams(Points2DParams):
    n_classes: int = Field(3, ge=2, le=8, description="Number of spiral arms (classes).")


def class_counts(n: int, k: int) -> np.ndarray:
    """Sizes of k nearly equal classes summing to n: n // k, plus one for the first n % k."""
    return np.array([n // k + (j < n % k) for j in range(k)])


def _labels(counts: np.ndarray) -> np.ndarray:
    """int64 labels 0..K-1 repeated counts[j] times."""
    return np.repeat(np.arange(len(counts)), counts).astype(np.int64)


def gen_circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Half the points at radius U(0, 0.5R), half at U(0.7R, R); label 1 iff |p + noise * U(-R, R)^2| < 0.5R.

    Noise moves the copy that decides the label, not the point (TFP's classifyCircleData).
    """
    inside = _labels(class_counts(n, 2)) == 1
    r = np.where(inside, rng.uniform(0, 0.5 * RADIUS, n), rng.uniform(0.7 * RADIUS, RADIUS, n))
    t = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([r * np.sin(t), r * np.cos(t)], 1)
    q = pts + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    return pts, (np.linalg.norm(q, axis=1) < 0.5 * RADIUS).astype(np.int64)


def gen_xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-5, 5]^2 pushed 0.3 off the axes; label 1 iff q1 q2 >= 0 at q = p + noise * U(-5, 5)^2.

    Noise moves the copy that decides the label, not the point (TFP's classifyXORData).
    """
    pts = rng.uniform(-RADIUS, RADIUS, (n, 2))
    pts += np.where(pts > 0, XOR_PADDING, -XOR_PADDING)
    q = pts + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    return pts, (q[:, 0] * q[:, 1] >= 0).astype(np.int64)


def gen_gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 ~ N((2, 2), v I), class 0 ~ N((-2, -2), v I), variance v = 0.5 + 7 * noise (0.5 to 4),
    as TFP's classifyTwoGaussData."""
    y = _labels(class_counts(n, 2))
    std = np.sqrt(0.5 + 7.0 * noise)
    centers = np.where(y[:, None] == 1, 2.0, -2.0)
    return centers + rng.normal(0, std, (n, 2)), y


def gen_spirals(rng: np.random.Generator, n: int, noise: float, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Arm j: r = 5 s, angle = 3.5 pi s + 2 pi j / k for s = i / n_j; plus U(-1, 1) * noise (j=0 is class 1 for k=2)."""
    counts = class_counts(n, k)
    pts = []
    for j, nj in enumerate(counts):
        s = np.arange(nj) / nj
        t = 1.75 * 2 * np.pi * s + 2 * np.pi * j / k
        r = RADIUS * s
        pts.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
    y = _labels(counts)
    if k == 2:
        y = 1 - y  # the Playground's positive (blue) arm starts at angle 0
    return np.concatenate(pts) + rng.uniform(-1, 1, (n, 2)) * noise, y


def gen_spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The Playground's two-arm spiral (TFP's classifySpiralData): gen_spirals with k = 2."""
    return gen_spirals(rng, n, noise, 2)


def gen_moons(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: (cos t, sin t), class 1: (1 - cos t, 1/2 - sin t), t ~ U(0, pi), + N(0, noise^2); centred, times 4."""
    y = _labels(class_counts(n, 2))
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    pts = np.where(y[:, None] == 0, upper, lower) + rng.normal(0, noise, (n, 2))
    return 4.0 * (pts - np.array([0.5, 0.25])), y


def gen_blobs(rng: np.random.Generator, n: int, noise: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k blobs N(c_j, s^2 I), centres on a circle of radius 4 at a random phase, s = 0.5 + 5 * noise."""
    y = _labels(class_counts(n, k))
    phase = rng.uniform(0, 2 * np.pi)
    angles = phase + 2 * np.pi * np.arange(k) / k
    centers = 4.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
    return centers[y] + rng.normal(0, 0.5 + 5.0 * noise, (n, 2)), y


def _reg_points(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """(points uniform in [-6, 6]^2, the copies q = points + noise * U(-6, 6)^2 that the target is read at)."""
    pts = rng.uniform(-REG_RADIUS, REG_RADIUS, (n, 2))
    return pts, pts + rng.uniform(-REG_RADIUS, REG_RADIUS, (n, 2)) * noise


def plane_target(q: np.ndarray) -> np.ndarray:
    """reg-plane's target (q1 + q2) / 10, not clipped: up to ±1.2 in the [-6, 6]^2 box (TFP's regressPlane)."""
    return q.sum(1) / PLANE_SCALE


def cones_target(q: np.ndarray) -> np.ndarray:
    """reg-gauss's target: of the six s_k max(0, 1 - |q - c_k| / 2), the one largest in magnitude
    (the first on a tie), as TFP's regressGaussian labels its signed 'Gaussians'."""
    target = np.zeros(len(q))
    for cx, cy, sign in REG_GAUSSIANS:
        cone = sign * np.clip(1 - np.hypot(q[:, 0] - cx, q[:, 1] - cy) / CONE_RADIUS, 0, 1)
        target = np.where(np.abs(cone) > np.abs(target), cone, target)
    return target


def compose_target(q: np.ndarray) -> np.ndarray:
    """reg-compose's target exp(sin(pi x) + y^2) at (x, y) = q / 6 in [-1, 1]^2, in [1/e, e^2] (the
    compositional example of Liu et al. 2024, KAN, eq. 2.5's f(x, y) = exp(sin(pi x) + y^2))."""
    x, y = q[:, 0] / REG_RADIUS, q[:, 1] / REG_RADIUS
    return np.exp(np.sin(np.pi * x) + y * y)


def gen_reg_compose(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-6, 6]^2; target compose_target at the point's noised copy (the point stays put)."""
    pts, q = _reg_points(rng, n, noise)
    return pts, compose_target(q)


def gen_reg_plane(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-6, 6]^2; target plane_target at the point's noised copy (the point stays put)."""
    pts, q = _reg_points(rng, n, noise)
    return pts, plane_target(q)


def gen_reg_gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-6, 6]^2; target cones_target at the point's noised copy (the point stays put)."""
    pts, q = _reg_points(rng, n, noise)
    return pts, cones_target(q)


def plot_box(points: np.ndarray, margin: float = 0.5) -> tuple[float, float, float, float]:
    """(x1min, x1max, x2min, x2max): [-6, 6]^2 grown to hold every point with `margin` to spare."""
    lo, hi = points.min(0) - margin, points.max(0) + margin
    return (min(-6.0, float(lo[0])), max(6.0, float(hi[0])), min(-6.0, float(lo[1])), max(6.0, float(hi[1])))


def build_2d_task(
    name: str, kind: TaskKind, points: np.ndarray, y: np.ndarray, n_classes: int, p: Points2DParams,
    rng: np.random.Generator,
) -> Task:
    """A Task from raw points and labels: seeded split, X = feature_map(points), meta with box and raw points."""
    tr, te = split_indices(len(points), p.train_ratio, rng)
    pts = torch.as_tensor(points, dtype=torch.float32)
    features = list(p.features)
    if kind == "regression":
        yt = torch.as_tensor(np.asarray(y, dtype=np.float32).reshape(-1, 1))
    else:
        yt = torch.as_tensor(y, dtype=torch.int64)
    X = feature_map(pts, features)
    tr_t, te_t = torch.as_tensor(tr), torch.as_tensor(te)
    return Task(
        name=name, kind=kind,
        X_train=X[tr_t], y_train=yt[tr_t], X_test=X[te_t], y_test=yt[te_t],
        n_classes=n_classes, input_names=features,
        meta={"box": plot_box(points), "points_train": pts[tr_t], "points_test": pts[te_t], "features": features},
        featurize=functools.partial(feature_map, features=features),  # picklable, unlike a lambda
    )


def _register_binary(
    name: str, gen: Callable[..., tuple[np.ndarray, np.ndarray]], description: str,
    schema: type[Points2DParams] = Points2DParams,
) -> None:
    """Register a two-class Playground task `name` whose points come from `gen(rng, n, noise)`."""

    @TASKS.register(name, schema, description, tags=("2d", "playground", "classification"))
    def factory(p: Points2DParams, seed: int) -> Task:
        rng = np.random.default_rng(seed)
        pts, y = gen(rng, p.n_samples, p.noise)
        return build_2d_task(name, "classification", pts, y, 2, p, rng)


def _register_regression(name: str, gen: Callable[..., tuple[np.ndarray, np.ndarray]], description: str) -> None:
    """Register a Playground regression task `name` whose points and targets come from `gen(rng, n, noise)`."""

    @TASKS.register(name, RegressionParams, description, tags=("2d", "playground", "regression"))
    def factory(p: RegressionParams, seed: int) -> Task:
        rng = np.random.default_rng(seed)
        pts, y = gen(rng, p.n_samples, p.noise)
        return build_2d_task(name, "regression", pts, y, 0, p, rng)


_register_binary("circle", gen_circle, "A disc (class 1) inside a ring (class 0); noise mislabels points near the gap.")
_register_binary("xor", gen_xor, "Four quadrants; class 1 where x1 and x2 have the same sign; noise mislabels points near the axes.")
_register_binary("gauss", gen_gauss, "Two Gaussian clusters; noise widens them.")
_register_binary("spiral", gen_spiral, "Two interleaved spirals.")
_register_binary("moons", gen_moons, "Two interleaving half circles.", MoonsParams)
_register_regression("reg-plane", gen_reg_plane, "Regression on a tilted plane, target (x1 + x2) / 10.")
_register_regression("reg-gauss", gen_reg_gauss, "Regression on six signed cones (the Playground's 'Gaussians'), radius 2.")
_register_regression("reg-compose", gen_reg_compose, "Regression on exp(sin(pi x) + y^2) at (x, y) = (x1, x2) / 6 (KAN's example).")


@TASKS.register("blobs", BlobsParams, "k Gaussian blobs, one class each.", tags=("2d", "classification"))
def make_blobs(p: BlobsParams, seed: int) -> Task:
    """The blobs task: k Gaussian blobs on a circle of radius 4."""
    rng = np.random.default_rng(seed)
    pts, y = gen_blobs(rng, p.n_samples, p.noise, p.n_classes)
    return build_2d_task("blobs", "classification", pts, y, p.n_classes, p, rng)


@TASKS.register("spirals", SpiralsParams, "k interleaved spiral arms, one class each.", tags=("2d", "classification"))
def make_spirals(p: SpiralsParams, seed: int) -> Task:
    """The spirals task: k spiral arms rotated by 2 pi / k from one another."""
    rng = np.random.default_rng(seed)
    pts, y = gen_spirals(rng, p.n_samples, p.noise, p.n_classes)
    return build_2d_task("spirals", "classification", pts, y, p.n_classes, p, rng)
