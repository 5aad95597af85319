"""Small helpers every analysis shares: run a model in eval mode without touching its own flags, and
turn activations into float64 numpy matrices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Every module in eval mode for the block, then each one's own training flag restored."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def eval_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """model(x) in eval mode, without autograd."""
    with eval_mode(model), torch.no_grad():
        return model(x)


def as_numpy(a: np.ndarray | torch.Tensor) -> np.ndarray:
    """A float64 numpy copy of a tensor (detached, on the CPU) or an array."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def as_matrix(a: np.ndarray | torch.Tensor) -> np.ndarray:
    """Samples x units as float64 numpy: trailing dimensions are flattened into units."""
    m = as_numpy(a)
    return m.reshape(m.shape[0], -1) if m.ndim != 2 else m
