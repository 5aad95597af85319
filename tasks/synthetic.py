"""Synthetic tasks from the papers: XOR clusters, modular arithmetic, cube-corner conditions, 8x8 digits."""

from __future__ import annotations

import functools
import itertools
from typing import Literal

import numpy as np
import torch
from pydantic import Field, ValidationInfo, field_validator

from netarium.schema import Params
from netarium.tasks.base import TASKS, Task, as_tensors, split_indices

# ---------------------------------------------------------------------------------------------------
# XOR clusters (xor-grokking)


class XorClustersParams(Params):
    d: int = Field(3000, ge=2, le=5000, description="Input dimension d.")
    n_train: int = Field(200, ge=10, le=5000, description="Number of training samples.")
    n_test: int = Field(1000, ge=10, le=20000, description="Number of test samples (clean labels).")
    eta: float = Field(0.1, ge=0.0, le=0.5, description="Probability that a training label is flipped.")
    mu_norm: float = Field(10.0, ge=0.1, le=100.0, description="Norm of the cluster means mu1 and mu2.")


def xor_cluster_samples(rng: np.random.Generator, n: int, d: int, mu_norm: float) -> tuple[np.ndarray, np.ndarray]:
    """n points x = s * mu_k + N(0, I_d), s = +-1, k in {1, 2} uniform; label 1 for k = 1 (mu1 = |mu| e1), 0 for mu2 = |mu| e2."""
    k = rng.integers(0, 2, n)  # 0 -> mu1, 1 -> mu2
    s = rng.choice([-1.0, 1.0], n)
    X = rng.standard_normal((n, d))
    X[np.arange(n), k] += s * mu_norm
    return X, (k == 0).astype(np.int64)


@TASKS.register("xor-clusters", XorClustersParams, "XOR of four Gaussian clusters in high dimension, noisy train labels.",
                tags=("paper", "xor-grokking", "xor-clusters", "classification"))
def make_xor_clusters(p: XorClustersParams, seed: int) -> Task:
    """The xor-grokking data: label 1 for +-mu1, 0 for +-mu2; training labels flipped with probability eta."""
    rng = np.random.default_rng(seed)
    Xtr, clean = xor_cluster_samples(rng, p.n_train, p.d, p.mu_norm)
    flipped = rng.random(p.n_train) < p.eta
    ytr = np.where(flipped, 1 - clean, clean)
    Xte, yte = xor_cluster_samples(rng, p.n_test, p.d, p.mu_norm)
    mu1, mu2 = np.zeros(p.d, np.float32), np.zeros(p.d, np.float32)
    mu1[0], mu2[1] = p.mu_norm, p.mu_norm
    X_train, y_train = as_tensors(Xtr, ytr, "classification")
    X_test, y_test = as_tensors(Xte, yte, "classification")
    return Task(
        name="xor-clusters", kind="classification", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        n_classes=2, input_names=[f"x{i + 1}" for i in range(p.d)],
        meta={
            "flipped_train": torch.as_tensor(flipped), "mu1": torch.as_tensor(mu1), "mu2": torch.as_tensor(mu2),
            "clean_train_labels": torch.as_tensor(clean),
        },
    )


# ---------------------------------------------------------------------------------------------------
# Modular arithmetic


def is_prime(m: int) -> bool:
    """True when m is a prime number (trial division)."""
    return m >= 2 and all(m % q for q in range(2, int(m**0.5) + 1))


def _check_division_modulus(op: str | None, m: int | None) -> None:
    """Raise ValueError when op is '/' and the modulus m is not prime."""
    if op == "/" and m is not None and not is_prime(m):
        raise ValueError(f"op '/' needs a prime modulus M so that every b != 0 has an inverse; {m} is not prime")


class ModularParams(Params):
    op: Literal["+", "-", "*", "/"] = Field("+", description="Operation: (a op b) mod M; '/' is a * b^-1 mod M (b != 0).")
    M: int = Field(97, ge=2, le=257, description="Modulus M (must be prime for '/').")
    train_fraction: float = Field(0.4, ge=0.05, le=0.95, description="Fraction of all (a, b) pairs used for training.")
    encoding: Literal["tokens", "onehot"] = Field(
        "tokens", description="Inputs as two integer tokens a, b or as concatenated one-hot vectors (2M wide)."
    )

    @field_validator("op")
    @classmethod
    def _op_needs_prime(cls, v: str, info: ValidationInfo) -> str:
        """The op, after checking '/' against an already-set modulus."""
        _check_division_modulus(v, info.data.get("M"))
        return v

    @field_validator("M")
    @classmethod
    def _modulus_prime_for_division(cls, v: int, info: ValidationInfo) -> int:
        """The modulus, after checking it is prime when op is '/'."""
        _check_division_modulus(info.data.get("op"), v)
        return v


def modular_table(op: str, m: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (a, b) in [0, M)^2 (b != 0 for '/') as an int64 (N, 2) array, and (a op b) mod M for each."""
    b_values = range(1, m) if op == "/" else range(m)
    pairs = np.array([(a, b) for a in range(m) for b in b_values], dtype=np.int64)
    a, b = pairs[:, 0], pairs[:, 1]
    if op == "+":
        c = (a + b) % m
    elif op == "-":
        c = (a - b) % m
    elif op == "*":
        c = (a * b) % m
    else:
        inverse = np.array([0] + [pow(int(v), -1, m) for v in range(1, m)], dtype=np.int64)
        c = (a * inverse[b]) % m
    return pairs, c.astype(np.int64)


def one_hot_pairs(pairs: np.ndarray, m: int) -> np.ndarray:
    """float32 (N, 2M): one-hot of a in columns [0, M), one-hot of b in columns [M, 2M)."""
    out = np.zeros((len(pairs), 2 * m), np.float32)
    out[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    out[np.arange(len(pairs)), m + pairs[:, 1]] = 1.0
    return out


@TASKS.register("modular", ModularParams, "Modular arithmetic (a op b) mod M over all pairs.",
                tags=("paper", "grokking", "modular", "classification"))
def make_modular(p: ModularParams, seed: int) -> Task:
    """All pairs with their result (a op b) mod M, split at random into train and test; M classes."""
    rng = np.random.default_rng(seed)
    pairs, c = modular_table(p.op, p.M)
    tr, te = split_indices(len(pairs), p.train_fraction, rng)
    if p.encoding == "tokens":
        X = torch.as_tensor(pairs)
        names, vocab = ["a", "b"], p.M
    else:
        X = torch.as_tensor(one_hot_pairs(pairs, p.M))
        names = [f"a={i}" for i in range(p.M)] + [f"b={i}" for i in range(p.M)]
        vocab = None
    y = torch.as_tensor(c)
    tr_t, te_t = torch.as_tensor(tr), torch.as_tensor(te)
    return Task(
        name="modular", kind="classification", X_train=X[tr_t], y_train=y[tr_t], X_test=X[te_t], y_test=y[te_t],
        n_classes=p.M, input_names=names, vocab_size=vocab,
        meta={"pairs_train": pairs[tr], "pairs_test": pairs[te], "modulus": p.M, "op": p.op},
    )


# ---------------------------------------------------------------------------------------------------
# Cube-corner conditions (geometry-tanh-relu)


class CubeParams(Params):
    cube_dim: int = Field(3, ge=2, le=5, description="k: the conditions are the 2^k corners of {-1, +1}^k.")
    n_dims: int = Field(100, ge=4, le=512, description="Ambient dimension N of the embedding (N >= k).")
    noise: float = Field(0.1, ge=0.0, le=2.0, description="Noise norm relative to a corner's norm sqrt(k).")
    samples_per_condition: int = Field(50, ge=2, le=2000, description="Samples drawn per condition (corner).")
    labels: Literal["aligned", "rotated", "random"] = Field(
        "aligned", description="Label: sign of cube axis 0, sign along an axis rotated by angle_deg, or a random dichotomy."
    )
    angle_deg: float = Field(45.0, ge=0.0, le=90.0, description="For 'rotated': angle from axis 0 towards axis 1.")
    train_ratio: float = Field(0.5, ge=0.1, le=0.9, description="Fraction of each condition's samples used for training.")

    @field_validator("n_dims")
    @classmethod
    def _at_least_cube_dim(cls, v: int, info: ValidationInfo) -> int:
        """n_dims, after checking it is at least cube_dim."""
        k = info.data.get("cube_dim")
        if k is not None and v < k:
            raise ValueError(f"n_dims must be at least cube_dim ({k})")
        return v


def cube_corners(k: int) -> np.ndarray:
    """The 2^k corners of {-1, +1}^k as a float (2^k, k) array, row i = binary digits of i with 0 -> +1, 1 -> -1."""
    return np.array(list(itertools.product([1.0, -1.0], repeat=k)))


def corner_labels(corners: np.ndarray, mode: str, angle_deg: float, rng: np.random.Generator) -> np.ndarray:
    """Binary label per corner: [c0 > 0] (aligned); [c . u > 0] with u = cos a e0 + sin a e1, ties -> [c0 > 0] (rotated); or a random half."""
    if mode == "aligned":
        return (corners[:, 0] > 0).astype(np.int64)
    if mode == "rotated":
        a = np.deg2rad(angle_deg)
        proj = np.cos(a) * corners[:, 0] + np.sin(a) * corners[:, 1]
        tie = np.abs(proj) < 1e-9
        return np.where(tie, corners[:, 0] > 0, proj > 0).astype(np.int64)
    labels = np.zeros(len(corners), np.int64)
    labels[rng.permutation(len(corners))[: len(corners) // 2]] = 1
    return labels


def random_embedding(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """An (n, k) matrix with orthonormal columns (E^T E = I_k): Q of the QR of a Gaussian, signs fixed by R's diagonal."""
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


@TASKS.register("cube", CubeParams, "Conditions at the corners of a cube embedded in N dims, with aligned or misaligned labels.",
                tags=("paper", "geometry-tanh-relu", "classification"))
def make_cube(p: CubeParams, seed: int) -> Task:
    """x = E c + noise * sqrt(k / N) * N(0, I_N) for corner c, so |noise part| ~ noise * |c|; split within each condition."""
    rng = np.random.default_rng(seed)
    k, n, spc = p.cube_dim, p.n_dims, p.samples_per_condition
    corners = cube_corners(k)
    emb = random_embedding(rng, n, k)
    cond_y = corner_labels(corners, p.labels, p.angle_deg, rng)
    cond = np.repeat(np.arange(len(corners)), spc)
    X = corners[cond] @ emb.T + rng.standard_normal((len(cond), n)) * p.noise * np.sqrt(k / n)
    n_tr = min(max(int(round(spc * p.train_ratio)), 1), spc - 1)
    tr, te = [], []
    for c in range(len(corners)):
        perm = c * spc + rng.permutation(spc)
        tr.append(perm[:n_tr])
        te.append(perm[n_tr:])
    tr_i, te_i = rng.permutation(np.concatenate(tr)), np.concatenate(te)
    X_train, y_train = as_tensors(X[tr_i], cond_y[cond[tr_i]], "classification")
    X_test, y_test = as_tensors(X[te_i], cond_y[cond[te_i]], "classification")
    return Task(
        name="cube", kind="classification", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        n_classes=2, input_names=[f"x{i + 1}" for i in range(n)],
        meta={
            "conditions_train": torch.as_tensor(cond[tr_i], dtype=torch.int64),
            "conditions_test": torch.as_tensor(cond[te_i], dtype=torch.int64),
            "condition_labels": ["".join("+" if v > 0 else "-" for v in row) for row in corners],
            "condition_targets": torch.as_tensor(cond_y),
            "corners": torch.as_tensor(corners, dtype=torch.float32),
            "embedding": torch.as_tensor(emb, dtype=torch.float32),
        },
    )


# ---------------------------------------------------------------------------------------------------
# scikit-learn 8x8 digits


class DigitsParams(Params):
    train_ratio: float = Field(0.8, ge=0.1, le=0.9, description="Fraction of the images used for training.")
    standardize: bool = Field(False, description="Standardize each pixel with the training mean and std.")
    n_samples: int = Field(0, ge=0, le=1797, description="Use at most this many images (0 = all 1797).")

    @field_validator("n_samples")
    @classmethod
    def _two_at_least(cls, n: int) -> int:
        """One image cannot be split into a training and a test set (the training set would be empty)."""
        if n == 1:
            raise ValueError("n_samples must be 0 (all 1797) or at least 2 (one to train on, one to test)")
        return n


@functools.lru_cache(maxsize=1)
def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 64) float64 in [0, 1] = pixels / 16, labels (1797,) int64) from sklearn, loaded once."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X, y = data.data.astype(np.float64) / 16.0, data.target.astype(np.int64)
    X.flags.writeable = y.flags.writeable = False
    return X, y


@TASKS.register("digits", DigitsParams, "scikit-learn's 8x8 handwritten digits, 10 classes.", tags=("images", "classification"))
def make_digits(p: DigitsParams, seed: int) -> Task:
    """The 8x8 digits with pixels / 16 in [0, 1] (or (x - mean_train) / std_train when standardize)."""
    rng = np.random.default_rng(seed)
    X, y = load_digits_arrays()
    if 0 < p.n_samples < len(X):
        keep = np.sort(rng.choice(len(X), p.n_samples, replace=False))
        X, y = X[keep], y[keep]
    tr, te = split_indices(len(X), p.train_ratio, rng)
    Xtr, Xte = X[tr], X[te]
    if p.standardize:
        mean, std = Xtr.mean(0), Xtr.std(0)
        std[std == 0] = 1.0
        Xtr, Xte = (Xtr - mean) / std, (Xte - mean) / std
    X_train, y_train = as_tensors(Xtr, y[tr], "classification")
    X_test, y_test = as_tensors(Xte, y[te], "classification")
    return Task(
        name="digits", kind="classification", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        n_classes=10, input_names=[f"px{r}_{c}" for r in range(8) for c in range(8)],
        meta={"image_shape": (8, 8)},
    )
