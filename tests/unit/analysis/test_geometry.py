"""Representational geometry: each test pins numbers that a wrong formula would miss."""

import itertools

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group

from netarium.analysis.geometry import (
    Matching,
    alignment,
    as_array,
    ccgp,
    cka_matrix,
    condition_means,
    effective_rank,
    hungarian_match,
    linear_cka,
    match_units,
    mds,
    one_hot,
    parallelism_score,
    participation_ratio,
    pca,
    rbf_cka,
    rdm,
    rsa,
    semi_match,
    unit_correlation,
)


def related(seed: int = 0, n: int = 300, dx: int = 10, dy: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """X and a noisy linear image Y of it: CKA well inside (0, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dx)) * np.linspace(0.5, 3.0, dx)
    Y = X @ rng.standard_normal((dx, dy)) + 2.0 * rng.standard_normal((n, dy))
    return X, Y


def upper(D: np.ndarray) -> np.ndarray:
    return D[np.triu_indices(D.shape[0], k=1)]


def song_hsic(K: np.ndarray, L: np.ndarray) -> float:
    """Song et al. 2012's unbiased HSIC, written out from the paper as an independent reference."""
    n = K.shape[0]
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0.0)
    np.fill_diagonal(Lt, 0.0)
    one = np.ones(n)
    return (np.trace(Kt @ Lt) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * one @ Kt @ Lt @ one) / (n * (n - 3))


# ----------------------------------------------------------------------------- inputs


def test_as_array_converts_tensors_and_columns() -> None:
    a = as_array(torch.arange(3, dtype=torch.float32))
    assert a.dtype == np.float64 and a.shape == (3, 1) and a[2, 0] == 2.0
    with pytest.raises(ValueError):
        as_array(np.zeros((2, 2, 2)))


def test_condition_means_are_per_sorted_id() -> None:
    X = np.array([[1.0, 0.0], [3.0, 2.0], [10.0, 10.0], [0.0, 4.0]])
    means, ids = condition_means(X, [7, 7, 2, 7])
    assert ids.tolist() == [2, 7]
    np.testing.assert_allclose(means, [[10.0, 10.0], [4.0 / 3.0, 2.0]])


# ----------------------------------------------------------------------------- CKA


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_of_a_layer_with_itself_is_one(debiased: bool) -> None:
    X, _ = related()
    wide = np.random.default_rng(1).standard_normal((40, 90))  # d > n: the Gram route
    assert linear_cka(X, X, debiased) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(wide, wide, debiased) == pytest.approx(1.0, abs=1e-12)
    assert rbf_cka(X, X, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    assert rbf_cka(X, X, sigma_frac=0.2, debiased=debiased) == pytest.approx(1.0, abs=1e-12)


def test_linear_cka_matches_the_gram_definition() -> None:
    X, Y = related(n=60)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    K, L = Xc @ Xc.T, Yc @ Yc.T
    biased = np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))
    unbiased = song_hsic(K, L) / np.sqrt(song_hsic(K, K) * song_hsic(L, L))
    assert 0.2 < biased < 0.95 and abs(biased - unbiased) > 1e-3
    assert linear_cka(X, Y) == pytest.approx(biased, abs=1e-12)
    assert linear_cka(X, Y, debiased=True) == pytest.approx(unbiased, abs=1e-12)
    # the same through the Gram route (widths above the sample count)
    Xw, Yw = np.hstack([X] * 7), np.hstack([Y] * 6)
    assert linear_cka(Xw, Yw) == pytest.approx(biased, abs=1e-10)
    assert linear_cka(Xw, Yw, debiased=True) == pytest.approx(unbiased, abs=1e-10)


def test_rbf_cka_matches_its_definition() -> None:
    X, Y = related(n=50)

    def gram(A: np.ndarray, frac: float) -> np.ndarray:
        sq = cdist(A, A, "sqeuclidean")
        return np.exp(-sq / (2 * frac**2 * np.median(upper(sq))))

    H = np.eye(50) - 1.0 / 50
    K, L = H @ gram(X, 0.8) @ H, H @ gram(Y, 0.8) @ H
    expected = np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))
    assert rbf_cka(X, Y) == pytest.approx(expected, abs=1e-12)
    Ku, Lu = gram(X, 0.8), gram(Y, 0.8)
    expected_u = song_hsic(Ku, Lu) / np.sqrt(song_hsic(Ku, Ku) * song_hsic(Lu, Lu))
    assert rbf_cka(X, Y, debiased=True) == pytest.approx(expected_u, abs=1e-10)
    assert rbf_cka(X, Y, sigma_frac=0.3) != pytest.approx(expected, abs=1e-3)


def test_linear_cka_invariances() -> None:
    X, Y = related()
    base = linear_cka(X, Y)
    Qx, Qy = ortho_group.rvs(X.shape[1], random_state=2), ortho_group.rvs(Y.shape[1], random_state=3)
    assert linear_cka(X @ Qx, Y) == pytest.approx(base, abs=1e-10)
    assert linear_cka(X, Y @ Qy) == pytest.approx(base, abs=1e-10)
    assert linear_cka(3.7 * X, Y) == pytest.approx(base, abs=1e-10)
    assert linear_cka(X, 0.01 * Y + 5.0) == pytest.approx(base, abs=1e-10)  # and a translation
    assert linear_cka(X @ Qx, Y @ Qy, debiased=True) == pytest.approx(linear_cka(X, Y, debiased=True), abs=1e-10)
    # a generic invertible map is not an invariance
    G = np.diag(np.geomspace(0.1, 10.0, X.shape[1])) @ ortho_group.rvs(X.shape[1], random_state=4)
    assert abs(np.linalg.det(G)) > 1e-6
    assert abs(linear_cka(X @ G, Y) - base) > 0.05


def test_cka_of_independent_features_is_small() -> None:
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((3000, 8)), rng.standard_normal((3000, 8))
    biased = linear_cka(X, Y)
    assert 0.0 < biased < 0.02  # ~ sqrt(dx dy) / n: positive bias, shrinking with n
    assert abs(linear_cka(X, Y, debiased=True)) < 0.2 * biased
    small = rng.standard_normal((60, 8)), rng.standard_normal((60, 8))
    assert linear_cka(*small) > 0.08  # the bias the debiased estimator removes
    assert abs(linear_cka(*small, debiased=True)) < 0.05
    assert rbf_cka(X[:500], Y[:500]) < 0.05


def test_cka_of_constant_input_is_zero_not_nan() -> None:
    X, _ = related()
    assert linear_cka(X, np.ones((X.shape[0], 3))) == 0.0
    assert rbf_cka(X, np.ones((X.shape[0], 3))) == 0.0


def test_cka_rejects_different_sample_counts() -> None:
    with pytest.raises(ValueError, match="same samples"):
        linear_cka(np.zeros((5, 2)), np.zeros((6, 2)))


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("width", [7, 90])  # features route (d < n) and Gram route (d > n)
def test_cka_matrix_matches_pairwise_cka(debiased: bool, width: int) -> None:
    rng = np.random.default_rng(6)
    shared = rng.standard_normal((50, 4))
    layers = [shared @ rng.standard_normal((4, width)) * k + rng.standard_normal((50, width)) + 3.0
              for k in (0.5, 1.0, 2.0, 4.0)]
    M = cka_matrix(layers, debiased=debiased)
    expected = np.array([[linear_cka(a, b, debiased) for b in layers] for a in layers])
    assert M.shape == (4, 4)
    np.testing.assert_array_equal(M, M.T)
    np.testing.assert_array_equal(np.diag(M), np.ones(4))
    np.testing.assert_allclose(M, expected, atol=2e-5)
    assert np.ptp(upper(M)) > 0.05  # the values differ: the test can see a mixed-up pair
    R = cka_matrix(layers, [torch.as_tensor(x, dtype=torch.float32) for x in layers[1:3]], debiased=debiased)
    assert R.shape == (4, 2)
    np.testing.assert_allclose(R, expected[:, 1:3], atol=2e-5)


def test_cka_matrix_is_float32_accurate_on_a_large_mean() -> None:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((500, 30)) + 1e4  # centering happens in float64
    R = cka_matrix([X], [X.copy()])
    assert R[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_cka_matrix_rejects_mismatched_samples() -> None:
    with pytest.raises(ValueError, match="same samples"):
        cka_matrix([np.zeros((5, 2)), np.zeros((6, 2))])


def test_one_hot_and_alignment() -> None:
    y = np.array([0, 2, 1, 2, 0, 1] * 10)
    Y = one_hot(y, 3)
    assert Y.shape == (60, 3) and Y.sum(axis=1).tolist() == [1.0] * 60 and Y[1, 2] == 1.0
    with pytest.raises(ValueError):
        one_hot([0, 3], 3)
    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 5))
    Q = ortho_group.rvs(4, random_state=8)[:3]  # orthonormal rows: Y Q has the Gram of Y
    H = np.hstack([Y @ Q, 1e-3 * X])  # a layer that codes the labels only
    a = alignment(H, X, y, 3)
    assert set(a) == {"input", "labels"}
    assert a["labels"] == pytest.approx(1.0, abs=1e-3)
    assert a["input"] < 0.2
    assert alignment(X, X, y, 3)["input"] == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------------------- RDM / RSA


@pytest.mark.parametrize("metric", ["euclidean", "correlation", "cosine"])
def test_rdm_is_symmetric_with_zero_diagonal(metric: str) -> None:
    X = np.random.default_rng(9).standard_normal((25, 6))
    D = rdm(torch.as_tensor(X), metric)
    assert D.shape == (25, 25)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), np.zeros(25))
    expected = cdist(X, X, metric)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(D, expected, atol=1e-12)


def test_rdm_edge_cases() -> None:
    X = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])  # a constant row
    D = rdm(X, "correlation")
    assert np.all(np.isfinite(D)) and D[0, 1] == pytest.approx(1.0) and D[1, 2] == pytest.approx(2.0)
    assert rdm(np.zeros((2, 3)), "cosine")[0, 1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="euclidean, correlation, cosine"):
        rdm(X, "manhattan")


def test_rsa_is_rank_based() -> None:
    rng = np.random.default_rng(10)
    D = rdm(rng.standard_normal((20, 4)))
    assert rsa(D, np.exp(D) ** 3) == pytest.approx(1.0)
    assert rsa(D, -D) == pytest.approx(-1.0)
    other = rdm(rng.standard_normal((20, 4)))
    assert abs(rsa(D, other)) < 0.3
    assert rsa(D, np.ones_like(D)) == 0.0


# ----------------------------------------------------------------------------- abstraction


def cube(seed: int, noise: float = 0.1, per: int = 20, dim: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8 conditions at the corners of a cube (3 binary factors) embedded in dim-D; label = factor 1."""
    rng = np.random.default_rng(seed)
    corners = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    means = corners @ ortho_group.rvs(dim, random_state=seed)[:3]
    cond = np.repeat(np.arange(8), per)
    H = means[cond] + noise * rng.standard_normal((8 * per, dim))
    return H, cond, (corners[:, 0] > 0).astype(int)


def scattered(seed: int, noise: float = 0.1, per: int = 20, dim: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8 conditions with random Gaussian means and random balanced labels: no abstract variable."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((8, dim))
    cond = np.repeat(np.arange(8), per)
    H = means[cond] + noise * rng.standard_normal((8 * per, dim))
    return H, cond, rng.permutation([0, 0, 0, 0, 1, 1, 1, 1])


def test_ccgp_is_high_for_a_disentangled_cube_and_chance_for_scattered_conditions() -> None:
    assert ccgp(*cube(0)) == 1.0
    H, cond, targets = cube(1)
    # targets as a mapping id -> class, and a subset of the 16 held-out pairs
    assert ccgp(H, cond, {c: int(t) for c, t in enumerate(targets)}, n_splits=5, seed=3) == 1.0
    scores = [ccgp(*scattered(s)) for s in range(8)]
    assert 0.3 < float(np.mean(scores)) < 0.7  # 0.49 for these seeds
    assert min(scores) < 0.5 < max(scores)


def test_ccgp_needs_two_conditions_per_class() -> None:
    H, cond, _ = cube(0)
    with pytest.raises(ValueError, match="two conditions"):
        ccgp(H, cond, np.array([1, 0, 0, 0, 0, 0, 0, 0]))


def test_parallelism_score_is_one_for_the_cube_and_low_for_scattered() -> None:
    corners = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    exact = parallelism_score(corners, np.arange(8), corners[:, 0].astype(int))
    assert exact == pytest.approx(1.0, abs=1e-12)
    assert parallelism_score(*cube(0)) > 0.99
    random = [parallelism_score(*scattered(s)) for s in range(8)]
    assert float(np.mean(random)) < 0.3  # 0.06 for these seeds


def test_parallelism_takes_the_best_pairing() -> None:
    # class 0 at (0,0),(0,1); class 1 at (1,1),(1,0): the listed order pairs them crosswise, the best
    # pairing is (0,0)-(1,0), (0,1)-(1,1) with parallel coding vectors
    H = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    assert parallelism_score(H, [0, 1, 2, 3], [0, 0, 1, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal numbers"):
        parallelism_score(H, [0, 1, 2, 3], [0, 1, 1, 1])


# ----------------------------------------------------------------------------- embeddings, dimension


def test_pca_shapes_ratios_and_padding() -> None:
    rng = np.random.default_rng(11)
    X = rng.standard_normal((80, 5)) * np.array([5.0, 2.0, 1.0, 0.5, 0.1])
    coords, ratio = pca(X, k=3)
    assert coords.shape == (80, 3) and ratio.shape == (3,)
    assert np.all(np.diff(ratio) <= 0) and ratio.sum() <= 1.0 and ratio[0] > 0.7
    var = coords.var(axis=0, ddof=1)
    np.testing.assert_allclose(var / X.var(axis=0, ddof=1).sum(), ratio, rtol=1e-10)
    c2, r2 = pca(X[:, :2], k=4)
    assert c2.shape == (80, 4) and np.all(c2[:, 2:] == 0) and np.all(r2[2:] == 0)
    assert r2.sum() == pytest.approx(1.0)


def test_mds_reproduces_planar_distances() -> None:
    P = np.random.default_rng(12).uniform(-1, 1, (30, 2))
    D = rdm(P)
    E = mds(D, k=2, seed=0)
    assert E.shape == (30, 2)
    assert np.corrcoef(upper(rdm(E)), upper(D))[0, 1] > 0.99
    assert np.max(np.abs(rdm(E) - D)) < 0.05


def test_effective_rank_and_participation_ratio() -> None:
    rng = np.random.default_rng(13)
    for r in (1, 3, 7):
        U = np.linalg.qr(rng.standard_normal((100, r)) - 0)[0]
        U = np.linalg.qr(U - U.mean(0))[0]  # columns orthonormal and centered: survives centering
        X = 4.0 * U @ ortho_group.rvs(12, random_state=r)[:r]  # rank r, r equal singular values
        assert effective_rank(X) == pytest.approx(r, abs=1e-6)
        assert participation_ratio(X) == pytest.approx(r, abs=1e-6)
    s = np.array([3.0, 1.0])
    X = np.linalg.qr(rng.standard_normal((50, 2)) - 0)[0]
    X = np.linalg.qr(X - X.mean(0))[0] * s
    p = s / s.sum()
    assert effective_rank(X) == pytest.approx(np.exp(-np.sum(p * np.log(p))), abs=1e-9)
    assert participation_ratio(X) == pytest.approx((9 + 1) ** 2 / (81 + 1), abs=1e-9)
    assert effective_rank(np.ones((5, 3))) == 0.0 and participation_ratio(np.ones((5, 3))) == 0.0


# ----------------------------------------------------------------------------- unit matching


def test_unit_correlation_matches_corrcoef_and_zeroes_constant_units() -> None:
    rng = np.random.default_rng(14)
    A, B = rng.standard_normal((40, 3)), rng.standard_normal((40, 4))
    B[:, 2] = 7.0
    C = unit_correlation(A, B)
    keep = [0, 1, 3]
    full = np.corrcoef(A.T, B[:, keep].T)[:3, 3:]
    assert C.shape == (3, 4) and np.all(C[:, 2] == 0.0)
    np.testing.assert_allclose(C[:, keep], full, atol=1e-12)


def test_hungarian_recovers_a_permutation_of_units() -> None:
    rng = np.random.default_rng(15)
    A = rng.standard_normal((500, 20))
    perm = rng.permutation(20)
    B = A[:, perm] + 0.05 * rng.standard_normal((500, 20))  # B's unit j is A's unit perm[j]
    m = match_units(A, B, seed=0)
    assert isinstance(m.hungarian, Matching) and m.hungarian.pairs.shape == (20, 2)
    assert dict(m.hungarian.pairs.tolist()) == {int(perm[j]): j for j in range(20)}
    assert np.all(m.hungarian.correlations > 0.99)
    assert np.all(np.diff(m.hungarian.correlations) <= 0)
    assert m.baseline.shape == (20,) and np.all(np.diff(m.baseline) <= 0)
    assert m.baseline.mean() < 0.15  # max-matched correlations of unrelated units over 500 samples
    assert m.mean_gain > 0.85
    np.testing.assert_array_equal(m.semi.pairs, m.hungarian.pairs)  # unambiguous: the same matching


def test_hungarian_is_one_to_one_where_semi_repeats() -> None:
    C = np.array([[0.9, 0.8, 0.0], [0.85, 0.1, 0.0], [0.2, 0.3, 0.4]])
    h = hungarian_match(C)
    assert h.pairs.tolist() == [[1, 0], [0, 1], [2, 2]]  # total 2.05 beats 0.9 + 0.1 + 0.4
    np.testing.assert_allclose(h.correlations, [0.85, 0.8, 0.4])
    s = semi_match(C)
    assert s.pairs.tolist() == [[0, 0], [1, 0], [2, 2]]  # column 0 twice
    np.testing.assert_allclose(s.correlations, [0.9, 0.85, 0.4])
    rect = hungarian_match(C[:, :2])
    assert len(rect.pairs) == 2 and sorted(rect.pairs[:, 1].tolist()) == [0, 1]


def test_cka_matrix_device_path_centers_like_the_cpu_path() -> None:
    """The torch preparation (used for tensors on a GPU) gives the block the numpy one does."""
    from netarium.analysis.geometry import _prepare_numpy, _prepare_torch

    rng = np.random.default_rng(16)
    layers = [rng.standard_normal((30, 4)) + 9.0, torch.as_tensor(rng.standard_normal((30, 6)), dtype=torch.float32)]
    a, b = _prepare_numpy(layers, True), _prepare_torch(layers, torch.device("cpu"), True)
    assert a.offsets == b.offsets == [0, 4, 10]
    np.testing.assert_allclose(a.Z.numpy(), b.Z.numpy(), atol=1e-6)
    np.testing.assert_allclose(a.sq_rows, b.sq_rows, rtol=1e-6)
    np.testing.assert_allclose(a.Z.numpy().mean(axis=0), 0.0, atol=1e-6)
