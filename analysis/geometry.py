"""Representational geometry: RDMs and RSA, CKA, abstraction (CCGP, parallelism), low-dimensional
embeddings, dimensionality and unit matching between two layers or networks.

Pure functions. Inputs are torch tensors or numpy arrays with one sample per row; results are numpy
arrays, floats or frozen dataclasses. Degenerate inputs (a constant layer, a constant RDM) give 0.0
rather than NaN, so that a live view never has to special-case them.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

ArrayLike = Any  # np.ndarray | torch.Tensor | nested sequences
RDM_METRICS = ("euclidean", "correlation", "cosine")


# --------------------------------------------------------------------------------------------------
# inputs


def as_array(X: ArrayLike) -> np.ndarray:
    """X as a float64 2-D numpy array (rows = samples); a 1-D input becomes one column."""
    if isinstance(X, torch.Tensor):
        X = X.detach().to("cpu", torch.float64).numpy()
    a = np.asarray(X, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"expected a 1-D or 2-D array (rows = samples), got shape {a.shape}")
    return a


def _centered(X: np.ndarray) -> np.ndarray:
    return X - X.mean(axis=0, keepdims=True)


def condition_means(X: ArrayLike, conditions: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(C, d) mean activity per condition, and the sorted condition ids (row i of the means is ids[i])."""
    a = as_array(X)
    cond = np.asarray(conditions).reshape(-1)
    if cond.shape[0] != a.shape[0]:
        raise ValueError(f"{cond.shape[0]} condition labels for {a.shape[0]} samples")
    ids, inverse = np.unique(cond, return_inverse=True)
    sums = np.zeros((len(ids), a.shape[1]))
    np.add.at(sums, inverse, a)
    counts = np.bincount(inverse, minlength=len(ids)).astype(np.float64)
    return sums / counts[:, None], ids


# --------------------------------------------------------------------------------------------------
# RDMs and RSA (Kriegeskorte et al. 2008)


def rdm(X: ArrayLike, metric: str = "euclidean") -> np.ndarray:
    """(n, n) representational dissimilarity matrix between the rows of X; symmetric, zero diagonal.

    euclidean: ||x_i - x_j||; correlation: 1 - Pearson r(x_i, x_j); cosine: 1 - cos(x_i, x_j). A
    constant row (correlation) or a zero row (cosine) has similarity 0 to every other row.
    """
    if metric not in RDM_METRICS:
        raise ValueError(f"unknown RDM metric {metric!r} (allowed: {', '.join(RDM_METRICS)})")
    a = as_array(X)
    if metric == "euclidean":
        return squareform(pdist(a, "euclidean")) if a.shape[0] > 1 else np.zeros((a.shape[0],) * 2)
    if metric == "correlation":
        a = a - a.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    u = np.divide(a, norms, out=np.zeros_like(a), where=norms > 0)
    d = np.clip(1.0 - u @ u.T, 0.0, 2.0)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    return d


def _upper(D: np.ndarray) -> np.ndarray:
    return D[np.triu_indices(D.shape[0], k=1)]


def rsa(rdm_a: ArrayLike, rdm_b: ArrayLike) -> float:
    """Spearman rank correlation of the strict upper triangles of two RDMs; 0.0 when either is constant."""
    a, b = _upper(as_array(rdm_a)), _upper(as_array(rdm_b))
    if a.shape != b.shape:
        raise ValueError(f"RDMs of different sizes: {as_array(rdm_a).shape} vs {as_array(rdm_b).shape}")
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    r = float(spearmanr(a, b).statistic)
    return r if np.isfinite(r) else 0.0


# --------------------------------------------------------------------------------------------------
# CKA (Kornblith et al. 2019), debiased HSIC (Song et al. 2012)


def _ratio(hsic_xy: float, hsic_xx: float, hsic_yy: float) -> float:
    """HSIC(K,L) / sqrt(HSIC(K,K) HSIC(L,L)); 0.0 when a self-similarity is not positive (constant input)."""
    den = hsic_xx * hsic_yy
    if not (den > 0 and np.isfinite(den)):
        return 0.0
    return float(hsic_xy / np.sqrt(den))


def _debias(hsic: Any, rr: Any, ss: Any, n: int) -> Any:
    """Unbiased HSIC of linear kernels of centered features, up to the factor 1/(n(n-3)) (Song et al. 2012).

    With K~ = K - diag(K) and Xc^T 1 = 0: tr(K~L~) = ||Yc^T Xc||_F^2 - r_x.r_y, 1^T K~ 1 = -sum r_x and
    K~1 = -r_x, where r_x = diag(K) holds the squared row norms; the estimator becomes
    ||Yc^T Xc||_F^2 - n/(n-2) r_x.r_y + (sum r_x)(sum r_y) / ((n-1)(n-2)) (as in Kornblith's code).
    rr = r_x.r_y and ss = (sum r_x)(sum r_y); elementwise, so it works on matrices of layer pairs too.
    """
    return hsic - n / (n - 2.0) * rr + ss / ((n - 1.0) * (n - 2.0))


def _debias_pairs(hsic: Any, rx: np.ndarray, ry: np.ndarray, n: int) -> Any:
    """_debias for squared-row-norm vectors (n,) or stacks of them (L, n) -> (Lx, Ly)."""
    return _debias(hsic, rx @ ry.T, np.multiply.outer(rx.sum(axis=-1), ry.sum(axis=-1)), n)


def _center_gram(K: np.ndarray, unbiased: bool) -> np.ndarray:
    """H K H; or, unbiased, the U-centering whose inner products give Song et al.'s unbiased HSIC."""
    K = np.array(K, dtype=np.float64, copy=True)
    if not unbiased:
        K -= K.mean(axis=0, keepdims=True)
        K -= K.mean(axis=1, keepdims=True)
        return K
    n = K.shape[0]
    np.fill_diagonal(K, 0.0)
    means = K.sum(axis=0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    K -= means[:, None]
    K -= means[None, :]
    np.fill_diagonal(K, 0.0)
    return K


def _gram_cka(K: np.ndarray, L: np.ndarray, debiased: bool) -> float:
    """CKA of two Gram matrices: <Kc, Lc> / (||Kc|| ||Lc||) with (U-)centered Grams."""
    n = K.shape[0]
    if debiased and n < 4:
        raise ValueError(f"debiased CKA needs at least 4 samples, got {n}")
    Kc, Lc = _center_gram(K, debiased), _center_gram(L, debiased)
    return _ratio(float(np.vdot(Kc, Lc)), float(np.vdot(Kc, Kc)), float(np.vdot(Lc, Lc)))


def _check_pair(X: np.ndarray, Y: np.ndarray) -> None:
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"CKA needs the same samples in both: {X.shape[0]} vs {Y.shape[0]} rows")


def linear_cka(X: ArrayLike, Y: ArrayLike, debiased: bool = False) -> float:
    """Linear CKA (Kornblith et al. 2019): ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F).

    Computed in feature space when the widths are below the sample count, else through the n x n
    Grams. debiased: the unbiased HSIC estimator (Song et al. 2012), as in Kornblith / Nguyen et al.
    """
    a, b = as_array(X), as_array(Y)
    _check_pair(a, b)
    n = a.shape[0]
    if debiased and n < 4:
        raise ValueError(f"debiased CKA needs at least 4 samples, got {n}")
    a, b = _centered(a), _centered(b)
    if a.shape[1] + b.shape[1] >= 2 * n:
        return _gram_cka(a @ a.T, b @ b.T, debiased)
    xy = float(np.sum((b.T @ a) ** 2))
    xx = float(np.sum((a.T @ a) ** 2))
    yy = float(np.sum((b.T @ b) ** 2))
    if debiased:
        ra, rb = np.einsum("ij,ij->i", a, a), np.einsum("ij,ij->i", b, b)
        xy, xx, yy = (float(_debias_pairs(h, r1, r2, n)) for h, r1, r2 in ((xy, ra, rb), (xx, ra, ra), (yy, rb, rb)))
    return _ratio(xy, xx, yy)


def _rbf_gram(X: np.ndarray, sigma_frac: float) -> np.ndarray | None:
    """exp(-||x_i - x_j||^2 / (2 sigma^2)), sigma = sigma_frac * median pairwise distance; None if all equal."""
    sq = squareform(pdist(X, "sqeuclidean"))
    med = float(np.median(_upper(sq))) if X.shape[0] > 1 else 0.0
    if med <= 0:
        return None
    return np.exp(-sq / (2.0 * sigma_frac**2 * med))


def rbf_cka(X: ArrayLike, Y: ArrayLike, sigma_frac: float = 0.8, debiased: bool = False) -> float:
    """CKA with RBF kernels (Kornblith et al. 2019): bandwidth sigma = sigma_frac * median pairwise distance.

    The median is over distinct pairs (Kornblith's code takes it over the full matrix, diagonal zeros included).
    """
    if sigma_frac <= 0:
        raise ValueError(f"sigma_frac must be positive, got {sigma_frac}")
    a, b = as_array(X), as_array(Y)
    _check_pair(a, b)
    K, L = _rbf_gram(a, sigma_frac), _rbf_gram(b, sigma_frac)
    if K is None or L is None:
        return 0.0
    return _gram_cka(K, L, debiased)


@dataclass(frozen=True)
class _Layers:
    """Centered float32 features of a list of layers side by side, with what the CKA matrix needs."""

    Z: torch.Tensor  # (n, sum d): layer i is columns offsets[i]:offsets[i+1], each column centered
    offsets: list[int]
    sq_rows: np.ndarray  # (L, n) float64 squared norms of each layer's samples (debiased only; else empty)

    def layer(self, i: int) -> torch.Tensor:
        """(n, d_i) centered features of layer i (a view)."""
        return self.Z[:, self.offsets[i] : self.offsets[i + 1]]

    def from_layer(self, i: int) -> torch.Tensor:
        """(n, d_i + ... + d_L) layers i..L side by side (a view)."""
        return self.Z[:, self.offsets[i] :]

    @property
    def count(self) -> int:
        return len(self.offsets) - 1

    @property
    def n(self) -> int:
        return int(self.Z.shape[0])


def _numpy_view(X: ArrayLike) -> np.ndarray:
    """A float32/float64 2-D numpy view of X without a copy where possible (CPU tensors share memory)."""
    a = X.detach().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return a[:, None] if a.ndim == 1 else a


def _prepare(layers: Sequence[ArrayLike], device: torch.device, debiased: bool) -> _Layers:
    """Center every layer once, in float64 arithmetic (a large mean costs no precision), into one float32 block.

    On the CPU in numpy, single-threaded and straight into the block; tensors on another device stay there.
    """
    return _prepare_numpy(layers, debiased) if device.type == "cpu" else _prepare_torch(layers, device, debiased)


def _offsets(layers: Sequence[ArrayLike]) -> list[int]:
    return np.cumsum([0, *(int(x.shape[1]) if len(x.shape) > 1 else 1 for x in layers)]).tolist()


def _prepare_numpy(layers: Sequence[ArrayLike], debiased: bool) -> _Layers:
    offsets, n = _offsets(layers), int(layers[0].shape[0])
    sq = np.zeros((len(layers), n if debiased else 0))
    Z = np.empty((n, offsets[-1]), dtype=np.float32)
    for i, x in enumerate(layers):
        a = _numpy_view(x)
        block = Z[:, offsets[i] : offsets[i + 1]]
        np.subtract(a, a.mean(axis=0, dtype=np.float64), out=block, casting="same_kind")
        if debiased:
            sq[i] = np.einsum("ij,ij->i", block, block, dtype=np.float64)
    return _Layers(torch.from_numpy(Z), offsets, sq)


def _prepare_torch(layers: Sequence[ArrayLike], device: torch.device, debiased: bool) -> _Layers:
    offsets, n = _offsets(layers), int(layers[0].shape[0])
    sq = np.zeros((len(layers), n if debiased else 0))
    blocks = []
    for i, x in enumerate(layers):
        t = _as_tensor64(x, device)
        c = (t - t.mean(dim=0, keepdim=True)).to(torch.float32)
        blocks.append(c)
        if debiased:
            sq[i] = (c.double() ** 2).sum(dim=1).cpu().numpy()
    return _Layers(torch.cat(blocks, dim=1), offsets, sq)


def _as_tensor64(X: ArrayLike, device: torch.device) -> torch.Tensor:
    t = X.detach().to(device=device, dtype=torch.float64) if isinstance(X, torch.Tensor) else (
        torch.as_tensor(as_array(X), device=device))
    return t[:, None] if t.ndim == 1 else t


def _column_dots(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """sum_i x[i, j] y[i, j] per column, accumulated in float64.

    On the CPU in numpy: these reductions are tiny, and torch's multithreaded ones stall on a busy
    machine (measured: 128 ms for what numpy does in 1 ms when two torch threads share two cores).
    """
    if x.device.type == "cpu":
        return np.einsum("ij,ij->j", x.numpy(), y.numpy(), dtype=np.float64)
    return _column_dots_torch(x, y)


def _column_dots_torch(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    return (x.double() * y.double()).sum(dim=0).cpu().numpy()


def _block_sq_norms(M: torch.Tensor, offsets: Sequence[int], start: int) -> np.ndarray:
    """Squared Frobenius norms of the column blocks of M; block k spans columns offsets[k]-offsets[start]..."""
    col = _column_dots(M, M)
    edges = np.asarray(offsets[start:]) - offsets[start]
    return np.add.reduceat(col, edges[:-1]) if col.size else np.zeros(len(edges) - 1)


def _sq_norm(M: torch.Tensor) -> float:
    return float(_column_dots(M, M).sum())


def _feature_hsic(A: _Layers, B: _Layers | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Biased HSIC terms ||Z_j^T Z_i||_F^2 from feature products: (cross (La, Lb), self_a, self_b).

    Against itself: for every layer i, one matmul Z_i^T [Z_i ... Z_L] gives the pairs (i, j >= i).
    """
    La = A.count
    if B is None:
        H = np.zeros((La, La))
        for i in range(La):
            H[i, i:] = _block_sq_norms(A.layer(i).T @ A.from_layer(i), A.offsets, i)
        H = np.triu(H) + np.triu(H, 1).T
        return H, np.diag(H).copy(), np.diag(H).copy()

    def self_terms(S: _Layers) -> np.ndarray:
        return np.array([_sq_norm(S.layer(i).T @ S.layer(i)) for i in range(S.count)])

    H = np.stack([_block_sq_norms(A.layer(i).T @ B.Z, B.offsets, 0) for i in range(La)])
    return H, self_terms(A), self_terms(B)


def _gram_hsic(A: _Layers, B: _Layers | None, debiased: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HSIC terms as inner products of (U-)centered n x n Grams; cheaper than features when n < width."""

    def grams(S: _Layers) -> list[torch.Tensor]:
        out = []
        for i in range(S.count):
            z = S.layer(i)
            K = z @ z.T  # centered features -> centered Gram (biased case)
            if debiased:
                K = torch.as_tensor(_center_gram(K.double().cpu().numpy(), True), device=z.device).float()
            out.append(K)
        return out

    Ka = grams(A)
    Kb = Ka if B is None else grams(B)

    def dot(x: torch.Tensor, y: torch.Tensor) -> float:
        return float(_column_dots(x, y).sum())

    if B is None:
        L = len(Ka)
        H = np.zeros((L, L))
        for i in range(L):
            for j in range(i, L):
                H[i, j] = H[j, i] = dot(Ka[i], Ka[j])
        return H, np.diag(H).copy(), np.diag(H).copy()
    H = np.array([[dot(x, y) for y in Kb] for x in Ka])
    return H, np.array([dot(x, x) for x in Ka]), np.array([dot(y, y) for y in Kb])


def _features_cheaper(n: int, wa: np.ndarray, wb: np.ndarray | None) -> bool:
    """Whether feature products cost fewer multiply-adds than Grams, for layer widths wa (and wb).

    Features: n d_i d_j per pair (plus n d^2 per layer for the self terms between two lists);
    Grams: n^2 d per layer plus n^2 per inner product.
    """
    if wb is None:
        features = n * (np.sum(np.outer(wa, wa)) + np.sum(wa**2)) / 2
        grams = n * n * (np.sum(wa) + len(wa) * (len(wa) + 1) / 2)
    else:
        features = n * (np.sum(np.outer(wa, wb)) + np.sum(wa**2) + np.sum(wb**2))
        grams = n * n * (np.sum(wa) + np.sum(wb) + len(wa) * len(wb) + len(wa) + len(wb))
    return bool(features <= grams)


def _cka_matrix(
    As: Sequence[ArrayLike], Bs: Sequence[ArrayLike] | None, debiased: bool, route: str = "auto"
) -> np.ndarray:
    """cka_matrix with the route forced ("features", "gram") or chosen by operation count ("auto")."""
    if len(As) == 0 or (Bs is not None and len(Bs) == 0):
        raise ValueError("cka_matrix needs at least one layer on each side")
    As = [_array_or_tensor(x) for x in As]
    Bs = None if Bs is None else [_array_or_tensor(x) for x in Bs]
    sizes = {int(x.shape[0]) for x in [*As, *(Bs or [])]}
    if len(sizes) != 1:
        raise ValueError(f"all layers must hold the same samples, got row counts {sorted(sizes)}")
    first = As[0]
    device = first.device if isinstance(first, torch.Tensor) else torch.device("cpu")
    A = _prepare(As, device, debiased)
    B = None if Bs is None else _prepare(Bs, device, debiased)
    n = A.n
    if debiased and n < 4:
        raise ValueError(f"debiased CKA needs at least 4 samples, got {n}")
    if route == "auto":
        wa = np.diff(A.offsets)
        route = "features" if _features_cheaper(n, wa, None if B is None else np.diff(B.offsets)) else "gram"
    if route == "features":
        H, sa, sb = _feature_hsic(A, B)
        if debiased:
            ra, rb = A.sq_rows, (A if B is None else B).sq_rows
            self_a = np.einsum("in,in->i", ra, ra), np.sum(ra, axis=1) ** 2
            self_b = np.einsum("in,in->i", rb, rb), np.sum(rb, axis=1) ** 2
            H, sa, sb = _debias_pairs(H, ra, rb, n), _debias(sa, *self_a, n), _debias(sb, *self_b, n)
    elif route == "gram":
        H, sa, sb = _gram_hsic(A, B, debiased)
    else:
        raise ValueError(f"unknown route {route!r} (allowed: auto, features, gram)")
    den = np.multiply.outer(sa, sb)
    ok = (den > 0) & np.isfinite(den)
    out = np.divide(H, np.sqrt(np.where(ok, den, 1.0)), out=np.zeros_like(H), where=ok)
    if B is None:
        out = (out + out.T) / 2
        np.fill_diagonal(out, np.where(sa > 0, 1.0, 0.0))
    return out


def _array_or_tensor(X: ArrayLike) -> np.ndarray | torch.Tensor:
    """Tensors and arrays as they are; anything else (nested lists) as a float64 array, 2-D."""
    a = X if isinstance(X, torch.Tensor | np.ndarray) else np.asarray(X, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"expected a 1-D or 2-D array (rows = samples), got shape {tuple(a.shape)}")
    return a


def cka_matrix(As: Sequence[ArrayLike], Bs: Sequence[ArrayLike] | None = None, debiased: bool = False) -> np.ndarray:
    """(len(As), len(Bs)) linear CKA of every pair of layers (As[i], Bs[j]); Bs None: As against itself.

    Each layer is centered once (float64) and multiplied in float32 with torch on the first input's
    device; each pair is computed once, through feature products ||Z_j^T Z_i||_F^2 or through Grams,
    whichever costs fewer operations. Against itself the result is symmetric with a unit diagonal
    (0 for a constant layer).
    """
    return _cka_matrix(As, Bs, debiased)


def one_hot(y: ArrayLike, n_classes: int) -> np.ndarray:
    """(n, n_classes) float64 indicator matrix of integer labels y."""
    yy = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y).reshape(-1)
    if yy.size and (not np.all(np.equal(np.mod(yy, 1), 0)) or yy.min() < 0 or yy.max() >= n_classes):
        raise ValueError(f"labels must be whole numbers in [0, {n_classes}), got range [{yy.min()}, {yy.max()}]")
    out = np.zeros((yy.shape[0], n_classes))
    out[np.arange(yy.shape[0]), yy.astype(np.int64)] = 1.0
    return out


def alignment(H: ArrayLike, X: ArrayLike, y: ArrayLike, n_classes: int) -> dict[str, float]:
    """Centered kernel alignment of a layer with its input and with the one-hot labels (linear CKA)."""
    return {"input": linear_cka(H, X), "labels": linear_cka(H, one_hot(y, n_classes))}


# --------------------------------------------------------------------------------------------------
# abstraction (Bernardi et al. 2020)


def _condition_classes(ids: np.ndarray, condition_targets: Mapping[Any, Any] | ArrayLike) -> np.ndarray:
    """The binary class (0/1) of each condition id; targets are a mapping id -> class or indexed by id."""
    if isinstance(condition_targets, Mapping):
        t = np.array([condition_targets[c.item() if hasattr(c, "item") else c] for c in ids])
    else:
        arr = np.asarray(condition_targets).reshape(-1)
        t = arr[ids.astype(np.int64)]
    values = np.unique(t)
    if len(values) != 2:
        raise ValueError(f"condition targets must take exactly two values, got {values.tolist()}")
    return (t == values[1]).astype(np.int64)


def _linear_decoder() -> Any:
    """Standardized linear SVM, as Bernardi et al.; ~15x faster here than lbfgs logistic regression."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    return make_pipeline(StandardScaler(), LinearSVC(C=1.0, max_iter=5000))


def ccgp(
    H: ArrayLike,
    conditions: ArrayLike,
    condition_targets: Mapping[Any, Any] | ArrayLike,
    n_splits: int | None = None,
    seed: int = 0,
) -> float:
    """Cross-condition generalization performance (Bernardi et al. 2020).

    A linear decoder (standardized linear SVM) of the binary class is trained on the samples
    of all conditions but one held-out condition of each class, and tested on the held-out two; the
    score is the mean test accuracy over all (or n_splits random) held-out pairs. condition_targets[c]
    is the class of condition c (a mapping, or a sequence indexed by the condition id).
    """
    a = as_array(H)
    cond = np.asarray(conditions).reshape(-1)
    ids, inverse = np.unique(cond, return_inverse=True)
    cls = _condition_classes(ids, condition_targets)
    c0, c1 = np.flatnonzero(cls == 0), np.flatnonzero(cls == 1)
    if len(c0) < 2 or len(c1) < 2:
        raise ValueError("CCGP needs at least two conditions of each class")
    pairs = [(i, j) for i in c0 for j in c1]
    if n_splits is not None and n_splits < len(pairs):
        rng = np.random.default_rng(seed)
        pairs = [pairs[k] for k in rng.choice(len(pairs), size=n_splits, replace=False)]
    y = cls[inverse]
    scores = []
    for i, j in pairs:
        test = (inverse == i) | (inverse == j)
        model = _linear_decoder().fit(a[~test], y[~test])
        scores.append(float(np.mean(model.predict(a[test]) == y[test])))
    return float(np.mean(scores))


def parallelism_score(
    H: ArrayLike, conditions: ArrayLike, condition_targets: Mapping[Any, Any] | ArrayLike
) -> float:
    """Parallelism score (Bernardi et al. 2020): max over one-to-one pairings of class-0 with class-1
    conditions of the mean pairwise cosine between the coding vectors mean_1 - mean_0 of the pairs.

    Brute force over the m! pairings (m conditions per class; m <= 8 is instant).
    """
    means, ids = condition_means(H, conditions)
    cls = _condition_classes(ids, condition_targets)
    m0, m1 = means[cls == 0], means[cls == 1]
    m = len(m0)
    if m != len(m1):
        raise ValueError(f"parallelism needs equal numbers of conditions per class, got {m} and {len(m1)}")
    if m < 2:
        raise ValueError("parallelism needs at least two conditions of each class")
    if m > 9:
        raise ValueError(f"parallelism brute force is limited to 9 conditions per class, got {m}")
    diff = m1[None, :, :] - m0[:, None, :]  # [i, j] = mean1[j] - mean0[i]
    norms = np.linalg.norm(diff, axis=-1, keepdims=True)
    unit = np.divide(diff, norms, out=np.zeros_like(diff), where=norms > 0)
    cos = np.einsum("ijd,kld->ijkl", unit, unit)  # cosine between pair (i, j) and pair (k, l)
    perms = np.array(list(itertools.permutations(range(m))))  # (P, m): class-0 i pairs with class-1 perm[i]
    ks, ls = np.triu_indices(m, k=1)
    vals = cos[ks[None, :], perms[:, ks], ls[None, :], perms[:, ls]]  # (P, pairs)
    return float(vals.mean(axis=1).max())


# --------------------------------------------------------------------------------------------------
# embeddings and dimensionality


def pca(X: ArrayLike, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) principal-component coordinates and the (k,) explained-variance ratios; zero-padded past
    min(n, d) components."""
    from sklearn.decomposition import PCA

    a = as_array(X)
    n, d = a.shape
    coords, ratio = np.zeros((n, k)), np.zeros(k)
    q = min(k, n, d)
    if q == 0 or n < 2:
        return coords, ratio
    p = PCA(n_components=q, svd_solver="full").fit(a)
    coords[:, :q] = p.transform(a)
    r = p.explained_variance_ratio_
    ratio[:q] = np.nan_to_num(r)  # constant data: 0/0
    return coords, ratio


def _mds_estimator(k: int, seed: int) -> Any:
    """sklearn MDS on a precomputed dissimilarity, with the argument names of the installed version."""
    from sklearn.manifold import MDS

    params = inspect.signature(MDS.__init__).parameters
    kw: dict[str, Any] = {"n_components": k, "random_state": seed, "normalized_stress": "auto"}
    if "metric_mds" in params:  # >= 1.8: `metric` names the dissimilarity, `metric_mds` the MDS kind
        kw.update(metric_mds=True, metric="precomputed")
    else:
        kw.update(metric=True, dissimilarity="precomputed")
    if "init" in params:
        kw["init"] = "classical_mds"  # deterministic start, and the default from 1.10
    else:
        kw["n_init"] = 4
    return MDS(**kw)


def mds(D: ArrayLike, k: int = 2, seed: int = 0) -> np.ndarray:
    """(n, k) metric MDS embedding (SMACOF) of a precomputed symmetric dissimilarity matrix D."""
    d = as_array(D)
    if d.shape[0] != d.shape[1]:
        raise ValueError(f"MDS needs a square dissimilarity matrix, got {d.shape}")
    if d.shape[0] < 2:
        return np.zeros((d.shape[0], k))
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    return np.asarray(_mds_estimator(k, seed).fit_transform(d))


def _singular_values(X: ArrayLike) -> np.ndarray:
    return np.linalg.svd(_centered(as_array(X)), compute_uv=False)


def effective_rank(X: ArrayLike) -> float:
    """exp(H(p)), p_i = s_i / sum s, s the singular values of the centered X (Roy & Vetterli 2007)."""
    s = _singular_values(X)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def participation_ratio(X: ArrayLike) -> float:
    """(sum lambda)^2 / sum lambda^2 over the covariance eigenvalues lambda (Gao et al. 2017)."""
    lam = _singular_values(X) ** 2
    den = float(np.sum(lam**2))
    return float(np.sum(lam) ** 2 / den) if den > 0 else 0.0


# --------------------------------------------------------------------------------------------------
# unit matching (Li et al. 2015, "Convergent learning")


def unit_correlation(A: ArrayLike, B: ArrayLike) -> np.ndarray:
    """(units_A, units_B) Pearson correlations over samples; a constant unit correlates 0 with everything."""
    a, b = as_array(A), as_array(B)
    _check_pair(a, b)

    def z(x: np.ndarray) -> np.ndarray:
        c = _centered(x)
        s = np.linalg.norm(c, axis=0, keepdims=True)
        return np.divide(c, s, out=np.zeros_like(c), where=s > 0)

    return np.clip(z(a).T @ z(b), -1.0, 1.0)


@dataclass(frozen=True)
class Matching:
    """Matched unit pairs (row unit, column unit), sorted by their correlation, descending."""

    pairs: np.ndarray  # (k, 2) int
    correlations: np.ndarray  # (k,)


def _sorted_matching(rows: np.ndarray, cols: np.ndarray, C: np.ndarray) -> Matching:
    corr = C[rows, cols]
    order = np.argsort(-corr, kind="stable")
    pairs = np.stack([rows[order], cols[order]], axis=1).astype(np.int64)
    return Matching(pairs=pairs, correlations=corr[order].astype(np.float64))


def hungarian_match(C: ArrayLike) -> Matching:
    """One-to-one matching of row to column units maximizing the total correlation (Hungarian algorithm)."""
    c = as_array(C)
    rows, cols = linear_sum_assignment(c, maximize=True)
    return _sorted_matching(rows, cols, c)


def semi_match(C: ArrayLike) -> Matching:
    """Every row unit with its best-correlated column unit (columns may repeat)."""
    c = as_array(C)
    if c.shape[1] == 0:
        return Matching(np.zeros((0, 2), np.int64), np.zeros(0))
    rows = np.arange(c.shape[0])
    return _sorted_matching(rows, np.argmax(c, axis=1), c)


@dataclass(frozen=True)
class UnitMatch:
    """Matchings of A's units to B's, and the Hungarian correlations against B with its samples shuffled."""

    hungarian: Matching
    semi: Matching
    baseline: np.ndarray  # (k,) sorted descending

    @property
    def mean_gain(self) -> float:
        """How much the matched correlations exceed those of the correspondence-free baseline."""
        if self.hungarian.correlations.size == 0:
            return 0.0
        return float(np.mean(self.hungarian.correlations) - np.mean(self.baseline))


def match_units(A: ArrayLike, B: ArrayLike, seed: int = 0) -> UnitMatch:
    """Unit correlations of A and B, their Hungarian and semi matchings, and the baseline: B's samples
    randomly permuted (seeded), which keeps each unit's distribution but destroys the correspondence."""
    a, b = as_array(A), as_array(B)
    C = unit_correlation(a, b)
    perm = np.random.default_rng(seed).permutation(b.shape[0])
    base = hungarian_match(unit_correlation(a, b[perm])).correlations
    return UnitMatch(hungarian=hungarian_match(C), semi=semi_match(C), baseline=base)
