"""MgNO (layers whose linear operator is a learned multigrid V-cycle) and the 1-D CNN baseline: shapes,
gradients, the V-cycle's algebra (zero smoothing is the identity; classical weights make it a converging
multigrid solver; its levels' parts sum to its output), taps, refusal of non-grid tasks, diagrams."""

import numpy as np
import pytest
import torch

from netarium.analysis.diagram import extract
from netarium.analysis.mgno import level_contributions, solutions
from netarium.cli import default_task
from netarium.models import MODELS, ModelSpec, build_model, parameter_count, tap_names
from netarium.models.base import capabilities
from netarium.models.mgno import VCycle, coarse_sizes
from netarium.schema import SchemaError
from netarium.tasks import make_task
from netarium.tasks.elliptic import stiffness

SPEC = ModelSpec(126, 63, grid_channels=2)


def mgno(seed: int = 0, **params):
    torch.manual_seed(seed)
    return build_model("mgno", {"channels": 4, "layers": 2, "levels": 4, **params}, SPEC)


def test_registered_with_its_capabilities_and_sizes():
    assert {"mgno", "cnn1d"} <= set(MODELS.names())
    m = mgno()
    assert capabilities(m) >= {"mgno", "grid-model"} and "mlp" not in capabilities(m)
    assert m.sizes == [63, 31, 15, 7]
    assert coarse_sizes(63, 8) == [63, 31, 15, 7, 3, 1] and coarse_sizes(64, 3) == [64, 31, 15]


def test_output_shapes_on_odd_and_even_grids():
    assert mgno()(torch.randn(5, 126)).shape == (5, 63)
    torch.manual_seed(0)
    even = build_model("mgno", {"channels": 3, "layers": 1, "levels": 4}, ModelSpec(192, 64, grid_channels=3))
    assert even.sizes == [64, 31, 15, 7] and even(torch.randn(2, 192)).shape == (2, 64)
    torch.manual_seed(0)
    cnn = build_model("cnn1d", {"channels": 5, "layers": 2, "kernel": 3}, SPEC)
    assert cnn(torch.randn(4, 126)).shape == (4, 63)


def test_parameter_count_follows_the_v_cycle():
    # per layer: levels 1-3 have A, one pre-smoother S, R and P (4 convs), level 4 only S (from u = 0 it never
    # computes A u); C = 4, kernel 3: 48 each, plus the 1x1 skip (16 + 4); lift 2*4 + 4, projection 4 + 1
    assert parameter_count(mgno()) == 2 * ((3 * 4 + 1) * 48 + 20) + 12 + 5
    assert parameter_count(mgno(post_smooth=1)) == 2 * ((3 * 5 + 3) * 48 + 20) + 12 + 5


@pytest.mark.parametrize(("pre", "post"), [(1, 0), (1, 1), (0, 1), (2, 0)])
def test_every_parameter_gets_a_gradient(pre, post):
    m = mgno(pre_smooth=pre, post_smooth=post)
    m(torch.randn(3, 126)).square().sum().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0]
    assert not missing


def test_a_v_cycle_with_zero_smoothing_is_the_identity_on_the_fine_grid():
    torch.manual_seed(1)
    f, u0 = torch.randn(4, 3, 63), torch.randn(4, 3, 63)
    none = VCycle(3, coarse_sizes(63, 5), pre=0, post=0)
    assert torch.equal(none(f, u0), u0)
    assert torch.equal(none(f), torch.zeros_like(f))
    zeroed = VCycle(3, coarse_sizes(63, 5), pre=2, post=1)
    with torch.no_grad():
        for level in zeroed.levels:
            for S in [*level.pre, *level.post]:
                S.weight.zero_()
    assert torch.allclose(zeroed(f, u0), u0, atol=0)  # A, R and P random: the coarse grids only see what smoothing gives


def classical(n: int = 63, levels: int = 6, omega: float = 2 / 3) -> VCycle:
    """A V(1,1)-cycle of geometric multigrid for -u'' = f: A the three-point Laplacian on each level (h doubles),
    damped Jacobi smoothing, full weighting and linear interpolation."""
    v = VCycle(1, coarse_sizes(n, levels), pre=1, post=1)
    h = 1.0 / (n + 1)
    with torch.no_grad():
        for k, level in enumerate(v.levels):
            hk = h * 2**k
            level.A.weight.copy_(torch.tensor([[[-1.0, 2.0, -1.0]]]) / hk**2)
            for S in [*level.pre, *level.post]:
                S.weight.copy_(torch.tensor([[[0.0, omega * hk**2 / 2, 0.0]]]))
            if hasattr(level, "restrict"):
                level.restrict.weight.copy_(torch.tensor([[[0.25, 0.5, 0.25]]]))
                level.prolong.weight.copy_(torch.tensor([[[0.5, 1.0, 0.5]]]))
    return v.double()


def test_with_classical_weights_the_v_cycle_is_a_converging_multigrid_solver():
    n = 63
    h = 1.0 / (n + 1)
    rng = np.random.default_rng(0)
    f = rng.normal(size=n)
    exact = np.linalg.solve(stiffness(np.ones(n + 1), h).toarray(), f)
    v = classical(n)
    F = torch.tensor(f).reshape(1, 1, n)
    u = None
    errors = []
    with torch.no_grad():
        for _ in range(6):
            u = v(F, u)
            errors.append(float(np.linalg.norm(u.flatten().numpy() - exact) / np.linalg.norm(exact)))
    assert errors[0] < 0.2 and errors[-1] < 1e-4
    assert all(b < 0.25 * a for a, b in zip(errors, errors[1:], strict=False))  # each cycle cuts the error 4x or more


def test_the_levels_parts_sum_to_the_v_cycle_output_and_coarse_levels_are_smooth():
    v = classical()
    F = torch.randn(2, 1, 63, dtype=torch.float64)
    with torch.no_grad():
        outs = [torch.zeros_like(F)] + [v(F, depth=d) for d in range(1, 7)]
        parts = [outs[d] - outs[d - 1] for d in range(1, 7)]
        assert torch.allclose(sum(parts), v(F), atol=1e-12)
    m = mgno()
    t = make_task("elliptic-1d", {"n_samples": 40}, seed=0)
    lc = level_contributions(m, t.X_test[:8], t.meta["x"])
    assert lc.rel_norm.shape == (2, 4) and lc.curves.shape == (2, 4, 63) and lc.sizes == [63, 31, 15, 7]
    assert np.all(lc.rel_norm > 0) and np.all(np.isfinite(lc.curves))


def test_taps_and_the_solutions_analysis():
    m = mgno()
    assert tap_names(m) == ["in", "lift", "layer1.mg", "layer1.pre", "layer1.post", "layer2.mg", "layer2.pre", "layer2.post", "logits"]
    t = make_task("elliptic-1d", {"n_samples": 40}, seed=0)
    sol = solutions(m, t, k=3)
    assert sol.true.shape == sol.pred.shape == (3, 63) and sol.abs_error.shape == (63,) and sol.n_test == 8
    assert np.allclose(sol.true, t.y_test[:3].numpy() * t.meta["u_scale"], rtol=1e-5)
    with pytest.raises(ValueError, match="not a grid task"):
        solutions(m, make_task("spiral", {}, seed=0))
    with pytest.raises(ValueError, match="no V-cycles"):
        level_contributions(build_model("cnn1d", {}, SPEC), t.X_test[:2])


@pytest.mark.parametrize("name", ["mgno", "cnn1d"])
def test_a_task_that_is_no_grid_is_refused_by_name(name):
    with pytest.raises(SchemaError, match="1-D grid"):
        build_model(name, {}, ModelSpec(2, 2))
    with pytest.raises(SchemaError, match="1-D grid"):
        build_model(name, {}, ModelSpec(4, 2, vocab_size=5))
    with pytest.raises(SchemaError, match="odd"):
        build_model("cnn1d", {"kernel": 4}, SPEC)


def test_the_diagram_draws_the_v_cycle_levels_restriction_and_prolongation():
    m = mgno(layers=1, levels=3)
    d = extract(m, torch.randn(1, 126))
    labels = [op.label for op in d.ops if op.kind == "learned"]
    assert labels == ["1×1+", "S", "A", "R↓", "S", "A", "R↓", "S", "P↑", "P↑", "1×1+", "1×1+"]
    assert [r.label for r in d.regions] == ["layer 1 · level 1 (63 points)", "layer 1 · level 2 (31 points)", "layer 1 · level 3 (15 points)"]
    grids = {op.id: op.axes_out[-1] for op in d.ops if op.kind == "learned"}
    assert str(grids["layers_0_vcycle_levels_1_restrict"]) == "x/4 15" and str(grids["layers_0_vcycle_levels_0_prolong"]) == "x 63"
    assert str(d.ops[-1].axes_in[-1]) == "x 63"
    split = next(op for op in d.ops if op.kind == "reshape" and op.label == "reshape")
    assert [str(a) for a in split.axes_out[1:]] == ["ch 2", "x 63"]  # the input: channels (f, a) by grid points
    torch.manual_seed(0)
    cnn = extract(build_model("cnn1d", {"channels": 3, "layers": 2}, SPEC), torch.randn(1, 126))
    assert [op.label for op in cnn.ops if op.kind == "learned"] == ["Conv+", "Conv+", "1×1+"] and not cnn.regions
    assert default_task("mgno") == default_task("cnn1d") == "elliptic-1d" and default_task("mlp") == "spiral"
