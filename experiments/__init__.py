"""Experiments: one module per phenomenon; importing this package registers them all."""

from netarium.experiments import geometry, playground  # noqa: F401  (registration)
from netarium.experiments.base import EXPERIMENTS, CheckResult, Experiment, Result, train_once

__all__ = ["EXPERIMENTS", "CheckResult", "Experiment", "Result", "train_once"]
