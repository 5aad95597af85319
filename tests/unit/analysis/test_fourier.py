"""Fourier analysis of modular-arithmetic nets: spectra, key frequencies, progress measures."""

import numpy as np
import pytest
import torch

from netarium.analysis.fourier import (
    concentration,
    key_frequencies,
    neuron_spectra,
    progress_measures,
    spectrum,
    token_matrices,
)
from netarium.models.base import ModelSpec, build_model
from netarium.tasks import make_task

M = 13


def test_spectrum_of_planted_frequencies():
    a = np.arange(M)
    w = np.stack([np.cos(2 * np.pi * 3 * a / M), np.sin(2 * np.pi * 5 * a / M), 0.5 * np.cos(2 * np.pi * 3 * a / M + 1)], axis=1)
    p = spectrum([w])
    assert p.shape == (M // 2 + 1,) and p.sum() == pytest.approx(1.0)
    assert set(key_frequencies(p, 2)) == {3, 5} and key_frequencies(p, 1) == [3]
    assert concentration(p, 2) == pytest.approx(1.0)
    per_unit = neuron_spectra([w])
    assert per_unit.shape == (3, M // 2 + 1) and np.argmax(per_unit[1]) == 5
    assert concentration(spectrum([np.random.default_rng(0).standard_normal((M, 200))]), 2) < 0.5


def test_token_matrices_of_each_first_layer_kind():
    tokens = make_task("modular", {"M": M}, seed=0)
    mlp = build_model("mlp", {"hidden": [8]}, ModelSpec.for_task(tokens))
    wa, wb = token_matrices(mlp, M)
    assert wa.shape == wb.shape == (M, 8)
    assert np.allclose(wa[4], mlp.layers[0].linear.weight.detach().numpy()[:, 4])
    onehot = build_model("mlp", {"hidden": [8]}, ModelSpec(2 * M, M))
    assert np.allclose(token_matrices(onehot, M)[1][2], onehot.layers[0].linear.weight.detach().numpy()[:, M + 2])
    tr = build_model("transformer", {"d_model": 16}, ModelSpec.for_task(tokens))
    (emb,) = token_matrices(tr, M)
    assert emb.shape == (M, 16)
    with pytest.raises(ValueError, match="token-indexed"):
        token_matrices(build_model("mlp", {}, ModelSpec(2, 2)), M)


class Planted(torch.nn.Module):
    """Logits exactly cos(w_k (a + b - c)) summed over keys: the grokked algorithm, built by hand."""

    def __init__(self, keys):
        super().__init__()
        self.keys = keys
        self.first = torch.nn.Embedding(M, 4)  # a token-indexed first layer for the spectrum

    def forward(self, x):
        s = (x[:, 0] + x[:, 1]).double()[:, None]
        c = torch.arange(M, dtype=torch.float64)[None]
        return 5 * sum(torch.cos(2 * np.pi * k * (s - c) / M) for k in self.keys)


def test_progress_measures_on_the_planted_algorithm():
    task = make_task("modular", {"M": M, "train_fraction": 0.5}, seed=0)
    pm = progress_measures(Planted([2, 5]), task, keys=[2, 5])
    assert pm.restricted_loss == pytest.approx(pm.full_loss, rel=1e-6)  # all of it lives on the key frequencies
    assert pm.excluded_loss == pytest.approx(np.log(M), rel=1e-6)  # without them: uniform logits
    assert pm.full_loss < 0.5
    other = progress_measures(Planted([2, 5]), task, keys=[3])
    assert other.restricted_loss == pytest.approx(np.log(M), rel=1e-6) and other.excluded_loss == pytest.approx(other.full_loss)
    with pytest.raises(ValueError, match="Fourier structure"):
        progress_measures(Planted([2]), make_task("modular", {"M": M, "op": "*"}, seed=0), keys=[2])


@pytest.mark.parametrize("op", ["+", "-"])
def test_measures_from_kept_logits_equal_the_least_squares_over_every_pair(op):
    """The summary by s = a ± b gives the same restricted / excluded / full loss as Nanda et al.'s projection of
    the logits of every pair onto the key frequencies (written out here the direct way)."""
    import torch.nn.functional as F

    from netarium.analysis.fourier import all_pair_logits, measures_from, pair_logits

    task = make_task("modular", {"M": M, "op": op, "train_fraction": 0.4}, seed=3)
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": [24], "activation": ["square"]}, ModelSpec.for_task(task))
    summary = pair_logits(model, task)
    for keys in ([1], [2, 5], [6, 3, 4]):
        logits, targets, pairs, train = all_pair_logits(model, task)
        s = (pairs[:, 0] + pairs[:, 1]) % M if op == "+" else (pairs[:, 0] - pairs[:, 1]) % M
        B = torch.as_tensor(np.stack([np.ones(len(s))] + [f(2 * np.pi * k * s / M) for k in keys for f in (np.cos, np.sin)], 1))
        coef = torch.linalg.lstsq(B, logits).solution
        excluded = (logits - B[:, 1:] @ coef[1:])[torch.as_tensor(train)]
        want = [F.cross_entropy(B @ coef, targets), F.cross_entropy(excluded, targets[torch.as_tensor(train)]),
                F.cross_entropy(logits, targets)]
        got = measures_from(summary, keys)
        assert got.keys == keys
        np.testing.assert_allclose([got.restricted_loss, got.excluded_loss, got.full_loss], [float(w) for w in want], rtol=1e-10)
    assert summary.count.sum() == M * M and summary.train_logits.shape == (len(task.y_train), M)


class CosineUnits(torch.nn.Module):
    """A hidden layer whose units are cos(w_3 a) + cos(w_3 b): all its power sits at k = 3."""

    def __init__(self):
        super().__init__()
        from netarium.models.taps import Tap

        self.post = Tap("layer1.post")

    def forward(self, x):
        w = 2 * np.pi * 3 / M
        h = torch.stack([torch.cos(w * x[:, 0].double()) + torch.cos(w * x[:, 1].double())] * 4, dim=1)
        return self.post(h)


def test_activation_spectrum_finds_the_frequency_units_oscillate_at():
    from netarium.analysis.fourier import activation_spectrum

    task = make_task("modular", {"M": M, "train_fraction": 0.5}, seed=0)
    p = activation_spectrum(CosineUnits(), task)
    assert p.shape == (M // 2 + 1,) and p[3] == pytest.approx(1.0)
