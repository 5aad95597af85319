"""XOR-cluster dynamics (Xu et al. 2024, "Benign overfitting and grokking in ReLU networks for XOR
cluster data"): how well the noisy training labels (and the flipped ones) are fitted, the clean test
accuracy, and where each hidden neuron points: cos(w_j, mu1), cos(w_j, mu2), and the cosine with its
own first gradient step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from netarium.analysis.common import eval_outputs


def first_layer_weights(model: nn.Module) -> np.ndarray:
    """The first hidden layer's weight matrix (units, inputs) of an MLP."""
    return model.layers[0].linear.weight.detach().cpu().double().numpy()


def _cos(W: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (W @ v) / np.maximum(np.linalg.norm(W, axis=1) * np.linalg.norm(v), 1e-30)


@dataclass(frozen=True)
class XorState:
    """One model state on XOR-cluster data."""

    train_acc: float  # against the noisy training labels
    flipped_acc: float  # on the flipped training points, against their flipped labels (1 = memorized)
    clean_train_acc: float  # on the training points, against their true labels
    test_acc: float  # fresh clean data
    cos_mu1: np.ndarray  # (units,)
    cos_mu2: np.ndarray
    cos_step: np.ndarray | None  # (units,) cosine with the neuron's first-step update, when given


def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = eval_outputs(model, x)
    return (out.squeeze(-1) > 0).long() if out.shape[-1] == 1 else out.argmax(-1)


def xor_state(model: nn.Module, task, step_direction: np.ndarray | None = None) -> XorState:
    """Accuracies and neuron cosines; `step_direction` (units, inputs) is W(1) - W(0)."""
    flipped = task.meta["flipped_train"].to(task.y_train.device)
    pred_tr, pred_te = _predict(model, task.X_train), _predict(model, task.X_test)
    clean = torch.where(flipped, 1 - task.y_train, task.y_train)
    W = first_layer_weights(model)
    mu1, mu2 = (task.meta[k].cpu().double().numpy() for k in ("mu1", "mu2"))
    cos_step = None
    if step_direction is not None:
        cos_step = np.sum(W * step_direction, axis=1) / np.maximum(
            np.linalg.norm(W, axis=1) * np.linalg.norm(step_direction, axis=1), 1e-30)
    return XorState(
        train_acc=float((pred_tr == task.y_train).float().mean()),
        flipped_acc=float((pred_tr[flipped] == task.y_train[flipped]).float().mean()) if bool(flipped.any()) else float("nan"),
        clean_train_acc=float((pred_tr == clean).float().mean()),
        test_acc=float((pred_te == task.y_test).float().mean()),
        cos_mu1=_cos(W, mu1), cos_mu2=_cos(W, mu2), cos_step=cos_step,
    )
