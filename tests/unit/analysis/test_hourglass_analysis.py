"""analysis/hourglass.py: the widths profile, the relative block updates and the spectra."""

import numpy as np
import pytest
import torch

from netarium.analysis.hourglass import hourglass_profile, spectra
from netarium.models import ModelSpec, build_model


def hourglass(**params):
    torch.manual_seed(0)
    return build_model("hourglass", {"wide": 16, "bottleneck": 4, "blocks": 3, **params}, ModelSpec(2, 3))


def test_profile_widths_and_counts():
    p = hourglass_profile(hourglass(), torch.randn(30, 2))
    assert p.stages == ["in", "lift", "block1 waist", "block1 out", "block2 waist", "block2 out", "block3 waist", "block3 out", "out"]
    assert p.widths == [2, 16, 4, 16, 4, 16, 4, 16, 3]
    assert p.blocks == ["block1", "block2", "block3"] and p.update_rel.shape == (3,)
    assert (p.trainable, p.frozen, p.lift_frozen) == (3 * 148 + 16 * 3 + 3, 32, True)
    trained = hourglass_profile(hourglass(frozen_lift=False), torch.randn(30, 2))
    assert (trained.frozen, trained.lift_frozen) == (0, False)


def test_update_rel_is_the_norm_ratio_of_the_branch_to_the_stream():
    m = hourglass()
    x = torch.randn(30, 2)
    b = m.blocks[0]
    with torch.no_grad():
        z = m.lift(x)
        u = b.up(torch.relu(b.down(z)))
    expected = float((u.norm(dim=-1) / z.norm(dim=-1)).mean())
    assert hourglass_profile(m, x).update_rel[0] == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():  # a block whose W_up is zero writes nothing
        m.blocks[1].up.weight.zero_()
        m.blocks[1].up.bias.zero_()
    assert hourglass_profile(m, x).update_rel[1] == 0.0


def test_spectra_the_block_product_has_rank_at_most_the_bottleneck():
    s = spectra(hourglass())
    assert s.lift.shape == (2,)  # a 16 x 2 lift: two singular values
    assert list(s.blocks) == ["block1", "block2", "block3"]
    for v in s.blocks.values():
        assert v.shape == (16,) and np.all(np.diff(v) <= 1e-6)
        assert v[3] > 1e-3 and np.all(v[4:] < 1e-4 * v[0])  # rank 4 = the bottleneck


def test_not_an_hourglass_is_a_clear_error():
    with pytest.raises(ValueError, match="not an hourglass"):
        spectra(build_model("mlp", {"hidden": [4]}, ModelSpec(2, 2)))
