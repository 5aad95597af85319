"""What a task is: train/test tensors plus the metadata the views need, and the task registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from netarium.schema import Params, Registry

TaskKind = Literal["classification", "regression", "sequence"]

TASKS = Registry("task")

# What a task can offer the views, in the words a view that needs it uses ("needs a 2-D task"). Kinds
# and "2d" are read off the built task (a CSV file or a parameter decides them); the rest are tags.
TASK_CAPABILITIES: dict[str, str] = {
    "2d": "a 2-D task",
    "classification": "a classification task",
    "regression": "a regression task",
    "sequence": "a sequence task",
    "modular": "the modular arithmetic task",
    "xor-clusters": "the xor-clusters task",
    "timeseries": "a time-series task (inputs of length x channels: adding, activity)",
}
RUNTIME_CAPABILITIES = frozenset({"2d", "classification", "regression", "sequence"})


@dataclass
class Task:
    """A generated data set, deterministic by seed.

    X: float32 features (N, d), or int64 tokens (N, T) for token inputs (`vocab_size` set).
    y: int64 class indices (N,) for classification and sequence tasks, float32 (N, 1) for regression
    (sequence-to-sequence tasks use int64 (N, T)).
    """

    name: str
    kind: TaskKind
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int  # 0 for regression
    input_names: list[str]
    vocab_size: int | None = None  # set when X holds integer tokens
    # Metadata the views need: "box" (x1min, x1max, x2min, x2max) for 2-D tasks, "points_train" and
    # "points_test" raw 2-D points, "features" the selected 2-D features, "conditions_train"/"_test"
    # (int condition id per sample) and "condition_labels", "flipped_train" (bool mask), ...
    meta: dict[str, Any] = field(default_factory=dict)
    # For 2-D tasks: maps raw (n, 2) points to model inputs (the selected features).
    featurize: Callable[[torch.Tensor], torch.Tensor] | None = None

    @property
    def n_inputs(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Width of the model output: classes for classification/sequence, 1 for regression."""
        if self.kind == "regression":
            return int(self.y_train.shape[1]) if self.y_train.ndim > 1 else 1
        return self.n_classes

    @property
    def is_2d(self) -> bool:
        return "box" in self.meta

    @property
    def capabilities(self) -> frozenset[str]:
        """What this task offers the views: its registry tags, with its kind and "2d" as built (see
        TASK_CAPABILITIES)."""
        tags = TASKS.get(self.name).tags if self.name in TASKS else frozenset()
        return (tags - RUNTIME_CAPABILITIES) | {self.kind} | ({"2d"} if self.is_2d else set())

    def to(self, device: torch.device | str) -> Task:
        """The same task with its tensors on `device` (metadata stays on the CPU)."""
        moved = {k: getattr(self, k).to(device) for k in ("X_train", "y_train", "X_test", "y_test")}
        return Task(**{**self.__dict__, **moved})


def make_task(name: str, params: Params | dict[str, Any] | None = None, seed: int = 0) -> Task:
    """Build task `name` from its (validated) parameters and a seed."""
    entry = TASKS.get(name)
    params = TASKS.params_for(name, params)
    return entry.factory(params, seed)


def split_indices(n: int, train_ratio: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random permutation cut into train and test index arrays (both non-empty)."""
    perm = rng.permutation(n)
    n_train = int(round(n * train_ratio))
    n_train = min(max(n_train, 1), n - 1)
    return perm[:n_train], perm[n_train:]


def as_tensors(X: np.ndarray, y: np.ndarray, kind: TaskKind) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 features; int64 labels for classification, float32 (N, 1) targets for regression."""
    Xt = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)
    if kind == "regression":
        yt = torch.as_tensor(np.asarray(y, dtype=np.float32).reshape(len(y), -1))
    else:
        yt = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    return Xt, yt
