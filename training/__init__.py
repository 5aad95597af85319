"""Training: Config, Run, Worker, optimizers, trainers, the run store."""

from netarium.training.config import Config, apply_overrides, parse_config
from netarium.training.run import Run, Snapshot, resolve_device
from netarium.training.worker import Worker

__all__ = ["Config", "apply_overrides", "parse_config", "Run", "Snapshot", "resolve_device", "Worker"]
