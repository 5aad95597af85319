"""Small helpers every analysis shares: run a model in eval mode without touching its own flags."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
