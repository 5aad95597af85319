"""Experiments: one module per phenomenon; importing this package registers them all."""

from netarium.experiments import playground  # noqa: F401  (registration; the gallery keeps this order)

# isort: split
from netarium.experiments import (  # noqa: F401
    convex,
    convex_adversarial,
    dynamics,
    finalmlp,
    geometry,
    hourglass,
    hypernet,
    kan,
    mgno,
    noprop,
    quadratic,
    residual,
    sequences,
    sparsity,
)
from netarium.experiments.base import (
    EXPERIMENTS,
    CheckResult,
    Experiment,
    Result,
    multi_result,
    train_all,
    train_once,
)

__all__ = ["EXPERIMENTS", "CheckResult", "Experiment", "Result", "multi_result", "train_all", "train_once"]
