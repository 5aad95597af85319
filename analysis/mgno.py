"""What a grid model (mgno, cnn1d) does on an operator-learning task: predicted against true solutions on test
problems, the error along x, and, for MgNO, what each level of each layer's V-cycle adds to its output.

A V-cycle is linear in its right-hand side, so stopping it at level d (`VCycle(f, depth=d)`) and taking
differences splits its output exactly: contribution_d = V_d(f) - V_{d-1}(f), V_0 = 0, summing to V_L(f)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from netarium.analysis.common import eval_mode
from netarium.models.taps import record
from netarium.tasks.elliptic import relative_l2


@dataclass(frozen=True)
class Solutions:
    """Test problems' true and predicted solutions in the task's units (u, not the normalised target)."""

    x: np.ndarray  # (N,) grid points
    true: np.ndarray  # (k, N) the first k test problems' solutions
    pred: np.ndarray  # (k, N) the model's
    rel_l2: np.ndarray  # (k,) |pred - true| / |true| of each shown problem
    abs_error: np.ndarray  # (N,) mean |pred - true| over the test problems used, per grid point
    rms_true: np.ndarray  # (N,) root mean square of the true solutions per grid point (the error's scale)
    test_rel_l2: float  # mean relative L2 error over the test problems used
    n_test: int


def solutions(model: nn.Module, task, k: int = 4, cap: int = 512) -> Solutions:
    """The first `k` test problems' solutions and the model's, and the error along x over the first `cap`."""
    if "x" not in task.meta or "u_scale" not in task.meta:
        raise ValueError(f"task {task.name} is not a grid task with solutions (elliptic-1d)")
    X, y = task.X_test[:cap], task.y_test[:cap]
    with eval_mode(model), torch.no_grad():
        pred = model(X).reshape(y.shape).float()
    scale = float(task.meta["u_scale"])
    true_u, pred_u = (y.float() * scale).cpu().numpy(), (pred * scale).cpu().numpy()
    per = np.linalg.norm(pred_u - true_u, axis=1) / np.maximum(np.linalg.norm(true_u, axis=1), 1e-12)
    return Solutions(np.asarray(task.meta["x"], dtype=float), true_u[:k], pred_u[:k], per[:k],
                     np.abs(pred_u - true_u).mean(0), np.sqrt((true_u**2).mean(0)), float(relative_l2(pred, y)), len(X))


@dataclass(frozen=True)
class LevelContributions:
    """Per MgNO layer and V-cycle level, what that level adds to the V-cycle's output."""

    layers: list[str]  # "layer1", ...
    sizes: list[int]  # grid points on each level, finest first
    rel_norm: np.ndarray  # (layers, levels): mean over samples of |contribution| / |V-cycle output|
    x: np.ndarray  # (N,) the fine grid
    curves: np.ndarray  # (layers, levels, N): one sample's contributions in the channel with the largest output
    channel: list[int]  # that channel, per layer


def _require_mgno(model: nn.Module) -> None:
    if not hasattr(model, "layers") or not all(hasattr(layer, "vcycle") for layer in model.layers):
        raise ValueError(f"{type(model).__name__} has no V-cycles (the level contributions need model mgno)")


def level_contributions(model: nn.Module, x: torch.Tensor, grid: np.ndarray | None = None, sample: int = 0) -> LevelContributions:
    """Each layer's V-cycle input recorded on `x`, then its output split by level (see the module doc)."""
    _require_mgno(model)
    names = [f"layer{i + 1}" for i in range(len(model.layers))]
    inputs = ["lift"] + [f"{n}.post" for n in names[:-1]]
    with eval_mode(model), torch.no_grad():
        acts = record(model, x, inputs)
        rel, curves, channels = [], [], []
        for layer, tap in zip(model.layers, inputs, strict=True):
            v = acts[tap]
            levels = len(layer.vcycle.levels)
            outs = [torch.zeros_like(v)] + [layer.vcycle(v, depth=d) for d in range(1, levels + 1)]
            parts = torch.stack([outs[d] - outs[d - 1] for d in range(1, levels + 1)])  # (levels, B, C, N)
            total = outs[-1].flatten(1).norm(dim=1).clamp_min(1e-12)  # (B,)
            rel.append((parts.flatten(2).norm(dim=2) / total).mean(1).cpu().numpy())
            ch = int(outs[-1][sample].norm(dim=-1).argmax())
            channels.append(ch)
            curves.append(parts[:, sample, ch].cpu().numpy())
    n = model.n
    return LevelContributions(names, list(model.sizes), np.asarray(rel), np.asarray(grid if grid is not None else np.arange(1, n + 1) / (n + 1)),
                              np.asarray(curves), channels)
