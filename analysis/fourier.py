"""Fourier analysis of modular arithmetic nets (grokking): the spectrum of the token embeddings, the
key frequencies, and the restricted / excluded loss of Nanda et al. (2023, "Progress measures for
grokking via mechanistic interpretability").

A net that has grokked (a + b) mod M represents tokens by a few frequencies w_k = 2πk/M: the first
layer's weights, read along the token axis, concentrate their power on those k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from netarium.analysis.common import as_matrix, eval_mode, eval_outputs
from netarium.models.mlp import TokenLinear


def token_matrices(model: nn.Module, M: int) -> list[np.ndarray]:
    """The first layer's weights per input token as (M, units) matrices: one per operand for an MLP
    on two tokens (TokenLinear) or one-hot inputs (Linear on 2M), the embedding for a transformer."""
    for m in model.modules():
        if isinstance(m, TokenLinear):
            w = m.weight.detach().cpu().double().numpy()  # (units, T*V)
            return [w[:, t * m.vocab_size : t * m.vocab_size + M].T for t in range(m.n_tokens)]
        if isinstance(m, nn.Embedding):
            return [m.weight.detach().cpu().double().numpy()[:M]]
        if isinstance(m, nn.Linear) and m.in_features == 2 * M:
            w = m.weight.detach().cpu().double().numpy()
            return [w[:, :M].T, w[:, M:].T]
    raise ValueError("no token-indexed first layer (TokenLinear, Embedding or a Linear on 2M one-hots) in this model")


def spectrum(matrices: list[np.ndarray]) -> np.ndarray:
    """Power per frequency k = 0..M//2 of the token matrices along the token axis: sum over units and
    operands of |DFT_k|², normalised to sum to 1 (k and M-k are the same real frequency)."""
    power = sum((np.abs(np.fft.rfft(w, axis=0)) ** 2).sum(axis=1) for w in matrices)
    total = power.sum()
    return power / total if total > 0 else power


def neuron_spectra(matrices: list[np.ndarray]) -> np.ndarray:
    """Per unit (rows) the normalised power per frequency (columns) of its first-layer weights."""
    power = sum(np.abs(np.fft.rfft(w, axis=0)).T ** 2 for w in matrices)
    return power / np.maximum(power.sum(axis=1, keepdims=True), 1e-30)


def key_frequencies(power: np.ndarray, n: int = 5) -> list[int]:
    """The n strongest non-zero frequencies, strongest first."""
    order = [int(k) for k in np.argsort(-power) if k != 0]
    return order[:n]


def concentration(power: np.ndarray, n: int = 5) -> float:
    """Share of the (non-constant) power in the n strongest frequencies: 1 / n_freq for white weights,
    near 1 once a few key frequencies dominate."""
    p = power[1:]
    return float(np.sort(p)[::-1][:n].sum() / max(p.sum(), 1e-30))


@dataclass(frozen=True)
class ProgressMeasures:
    """Nanda et al.'s progress measures at one model state."""

    keys: list[int]
    restricted_loss: float  # the logits projected onto the key frequencies of (a op b): low once the algorithm is there
    excluded_loss: float  # on the training pairs, with the key directions removed: high once the net relies on them
    full_loss: float


def all_pair_logits(model: nn.Module, task) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray]:
    """(logits, targets, pairs, train mask) over every pair (a, b) of a modular task: train then test."""
    pairs = np.concatenate([np.asarray(task.meta["pairs_train"]), np.asarray(task.meta["pairs_test"])])
    targets = torch.cat([task.y_train.cpu(), task.y_test.cpu()])
    train = np.arange(len(pairs)) < len(task.meta["pairs_train"])
    logits = eval_outputs(model, torch.cat([task.X_train, task.X_test]))
    return logits.double().cpu(), targets, pairs, train


@dataclass(frozen=True)
class PairLogits:
    """What the progress measures need of one model state, for any key frequencies: the logits over every
    pair summarised by s = a ± b (their mean per s and how many pairs have it), the training pairs' logits,
    and the full loss. The restricted basis depends on s alone, so its least squares over the pairs is a
    least squares over the M values of s weighted by their counts (the same minimizer): measuring a new set
    of key frequencies costs one pass over the training logits, not a forward pass over every pair."""

    modulus: int
    s: torch.Tensor  # (pairs,) int64, the training pairs first
    targets: torch.Tensor  # (pairs,) int64
    mean: torch.Tensor  # (M, classes) float64: mean logits of the pairs with each s
    count: torch.Tensor  # (M,) float64
    train_logits: torch.Tensor  # (training pairs, classes) float32, as the model gave them
    full_loss: float


def pair_logits(model: nn.Module, task) -> PairLogits:
    """The PairLogits of `model` on a modular task with op + or - (one forward pass over every pair)."""
    M = int(task.meta["modulus"])
    op = task.meta.get("op", "+")
    if op not in ("+", "-"):
        raise ValueError(f"progress measures need the Fourier structure of + or -, not {op!r}")
    logits, targets, pairs, train_mask = all_pair_logits(model, task)
    s = torch.as_tensor((pairs[:, 0] + pairs[:, 1]) % M if op == "+" else (pairs[:, 0] - pairs[:, 1]) % M)
    count = torch.bincount(s, minlength=M).double()
    mean = torch.zeros(M, logits.shape[1], dtype=torch.float64).index_add_(0, s, logits) / count.clamp(min=1)[:, None]
    n_train = int(train_mask.sum())
    return PairLogits(M, s, targets, mean, count, logits[:n_train].float(), float(F.cross_entropy(logits, targets)))


def measures_from(p: PairLogits, keys: list[int]) -> ProgressMeasures:
    """Nanda et al.'s restricted and excluded loss for these key frequencies (the logits of class c depend on
    s through cos(w_k s), sin(w_k s); each class's logits over all pairs are projected onto that span)."""
    M = p.modulus
    s_values = torch.arange(M, dtype=torch.float64)
    basis = [torch.ones(M, dtype=torch.float64)]
    for k in keys:
        w = 2 * torch.pi * k * s_values / M
        basis += [torch.cos(w), torch.sin(w)]
    B = torch.stack(basis, dim=1)  # (M, 1 + 2 keys): the basis at each s
    root = p.count.sqrt()[:, None]
    coef = torch.linalg.lstsq(root * B, root * p.mean).solution
    restricted = F.log_softmax(B @ coef, dim=1)  # (M, classes): the restricted logits depend on s alone
    key_part = B[:, 1:] @ coef[1:]
    n_train = p.train_logits.shape[0]
    excluded = p.train_logits.double() - key_part[p.s[:n_train]]
    return ProgressMeasures(
        keys=list(keys),
        restricted_loss=float(-restricted[p.s, p.targets].mean()),
        excluded_loss=float(F.cross_entropy(excluded, p.targets[:n_train])),
        full_loss=p.full_loss,
    )


def progress_measures(model: nn.Module, task, keys: list[int] | None = None, n_keys: int = 5) -> ProgressMeasures:
    """Restricted and excluded loss for + or - at the given key frequencies (default: the n_keys strongest of
    the first layer): see PairLogits and measures_from."""
    M = int(task.meta["modulus"])
    summary = pair_logits(model, task)
    keys = keys if keys is not None else key_frequencies(spectrum(token_matrices(model, M)), n_keys)
    return measures_from(summary, keys)


def _dft_power(x: torch.Tensor) -> torch.Tensor:
    """sum over columns of |DFT_k|^2 along the rows of x (M, n), k = 0..M//2 (float64), from two float32
    matrix products: M is often prime (97), where an FFT falls back to Bluestein's algorithm and took
    ~0.3 s for 256 units, redone at every refresh of the Dynamics page (this: a few tens of ms)."""
    M = x.shape[0]
    angle = 2 * torch.pi * torch.outer(torch.arange(M // 2 + 1, dtype=torch.float64), torch.arange(M, dtype=torch.float64)) / M
    x = x.float()
    return sum(torch.square(basis.float() @ x).sum(1, dtype=torch.float64) for basis in (torch.cos(angle), torch.sin(angle)))


def activation_spectrum(model: nn.Module, task, tap: str | None = None) -> np.ndarray:
    """Power per frequency k of a hidden layer's activations over all pairs (a, b), along a and along b
    (the DFT of each unit's activation table, normalised to sum to 1): a grokked net's hidden units
    oscillate in a and b at the key frequencies."""
    from netarium.models.taps import hidden_taps, record

    M = int(task.meta["modulus"])
    tap = tap or hidden_taps(model)[0]
    pairs = np.concatenate([np.asarray(task.meta["pairs_train"]), np.asarray(task.meta["pairs_test"])])
    x = torch.cat([task.X_train, task.X_test])
    with eval_mode(model):
        acts = record(model, x, [tap])[tap]
    a = torch.as_tensor(as_matrix(acts))
    pairs_t = torch.as_tensor(pairs, dtype=torch.long)
    table = torch.zeros(M, M, a.shape[1], dtype=torch.float64)  # centred in float64, transformed in float32
    table[pairs_t[:, 0], pairs_t[:, 1]] = a
    table -= table.mean(dim=(0, 1), keepdim=True)
    power = _dft_power(table.reshape(M, -1)) + _dft_power(table.transpose(0, 1).reshape(M, -1))
    power = power.numpy()
    power[0] = 0.0  # what is constant along a (or b) is not an oscillation
    total = power.sum()
    return power / total if total > 0 else power
