"""analysis/convex.py: on a tiny xor the program's optimum (every pattern) is <= every Adam run of the same
network on the same objective, certified by the dual; the mapped network's J equals the convex objective;
each run's final J from its weights equals the Run's own loss + (lam/2)|theta|^2; the dual bound is a lower
bound; the batched path trains the program's network (no readout bias, weight decay) exactly as a lone Run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netarium.analysis import convex as acx
from netarium.experiments import convex as ex
from netarium.tasks import make_task
from netarium.training import convex as cx
from netarium.training.config import Config
from tests.unit.training.test_ensemble import assert_member_is_its_run, train_both

LAM = 0.05


@pytest.fixture(scope="module")
def tiny() -> acx.ConvexComparison:
    torch.set_num_threads(1)
    config = ex.page_config("xor", LAM, 8, "adam", 0.02, 400, seed=3)
    return ex.compare_part(config, 12, exact=True, seeds=3, fista=True, fista_iter=500)


def test_the_optimum_is_below_every_run_and_certified(tiny):
    s = tiny.solve
    assert tiny.exact and s.patterns == 12 * 12 - 12 + 1  # every pattern of 12 points in general position
    assert len(tiny.runs) == 3
    assert tiny.below_every_run(1e-6), (s.upper, [r.final for r in tiny.runs])
    assert s.lower <= s.upper and s.gap < 1e-4, (s.lower, s.upper)
    # the optimum is a real network: J of the mapped net is the optimum, and it equals the convex objective
    net = s.network
    X, y = tiny.task.X_train.double(), tiny.task.y_train.double().reshape(-1)
    assert cx.network_objective(net["W1"], net["b1"], net["a"], X, y, LAM) == pytest.approx(s.upper, rel=1e-12)
    assert tiny.mapped_objective == pytest.approx(s.upper, rel=1e-4)
    assert s.active <= s.neurons == len(net["a"]) <= 8  # a pattern may carry a u and a v neuron
    # the gated relaxation (FISTA over the same patterns) is a lower bound of the constrained program
    assert tiny.fista.value <= s.upper * (1 + 1e-6)


def test_each_runs_final_objective_is_its_own_loss_plus_penalty(tiny):
    X, y = tiny.task.X_train.double(), tiny.task.y_train.double().reshape(-1)
    for trace, run in zip(tiny.runs, tiny.trained, strict=True):
        assert "readout.bias" not in dict(run.model.named_parameters())
        m = run.final_metrics()
        own = m["train_loss"] + 0.5 * LAM * m["weight_norm"] ** 2
        assert trace.final == pytest.approx(own, rel=1e-5)
        assert trace.final == pytest.approx(cx.network_objective(trace.net["W1"], trace.net["b1"], trace.net["a"], X, y, LAM), rel=1e-12)
        assert len(trace.steps) == len(trace.objective) == len(trace.seconds) == 100  # eval every steps / 100
        assert trace.steps[-1] == 400 and np.all(np.diff(trace.seconds) > 0)
        # recorded: the loss of the evaluated step's own forward pass (one step before) + the penalty after it
        assert trace.objective[-1] == pytest.approx(trace.final, rel=3e-3)


def test_dual_bound_is_a_lower_bound_and_tight_at_the_optimum(tiny):
    X, y = tiny.task.X_train.double(), tiny.task.y_train.double().reshape(-1)
    D = cx.enumerate_patterns_2d(X)
    for f in (np.zeros(len(y)), 0.3 * y.numpy(), cx.network_predict(tiny.runs[0].net, X).numpy()):
        lower, worst = acx.dual_bound(X, y, f, D, LAM)
        assert lower <= tiny.solve.upper * (1 + 1e-9)
    f = cx.network_predict(tiny.solve.network, X).numpy()
    lower, worst = acx.dual_bound(X, y, f, D, LAM)
    assert worst == pytest.approx(1.0, abs=1e-2) and lower == pytest.approx(tiny.solve.upper, rel=1e-4)


def test_signed_task_and_lam_of_a_run():
    t = make_task("xor", {"n_samples": 40}, seed=1)
    s = acx.signed_task(t, 5.0)
    assert s.kind == "regression" and set(s.y_train.reshape(-1).tolist()) == {-1.0, 1.0}
    assert torch.equal(s.y_train.reshape(-1), t.y_train.float() * 2 - 1)
    assert torch.allclose(s.X_train * 5.0, t.X_train)
    assert torch.allclose(s.featurize(t.meta["points_train"]), s.X_train)
    with pytest.raises(ValueError, match="two-class"):
        acx.signed_task(make_task("blobs", {"n_samples": 40}, seed=1))
    base = Config(task={"name": "xor"}, model={"name": "mlp", "hidden": [4], "activation": ["relu"]})
    assert acx.run_lam(base, 1e-3)[0] == 1e-3
    assert acx.run_lam(base.with_overrides({"l2": 0.01}), 1e-3)[0] == 0.02
    assert acx.run_lam(base.with_overrides({"l2": 0.01, "regularization": "tfp"}), 1e-3)[0] == 0.01
    assert acx.run_lam(base.with_overrides({"optimizer.weight_decay": 0.03}), 1e-3)[0] == 0.03


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_batched_member_without_readout_bias_is_its_lone_run(optimizer):
    base = Config(task={"name": "reg-plane", "n_samples": 120}, loss="tfp", eval_every=5, device="cpu",
                  model={"name": "mlp", "hidden": [6], "activation": ["relu"], "readout_bias": False},
                  optimizer={"name": optimizer, "lr": 0.05, "weight_decay": 0.05})
    group, runs = train_both([base, base.with_overrides({"seed": 2, "optimizer.weight_decay": 0.01})])
    for i, run in enumerate(runs):
        assert "readout.bias" not in dict(run.model.named_parameters())
        assert run.model.readout.bias is None
        assert_member_is_its_run(group, i, run)
    assert Config().model.readout_bias  # the default changes nothing
    assert Config(model={"name": "mlp"}).model_dump()["model"]["readout_bias"] is True


def test_solve_for_a_live_two_output_net():
    from netarium.training.run import Run

    run = Run(Config(task={"name": "xor", "n_samples": 80}, model={"name": "mlp", "hidden": [5], "activation": ["relu"]},
                     steps=50, device="cpu")).train()
    res = acx.solve_for_model(run.model, run.task.X_train, run.task.y_train, 0.05, deadline=2.0)
    assert res.exact and res.n == 40 and res.solve.patterns == 40 * 39 + 1
    w = run.model.readout.weight.detach().double()
    assert torch.allclose(res.live["a"], w[1] - w[0])
    # J of the live net counts its output bias in f: recompute by hand
    y = run.task.y_train.double() * 2 - 1
    out = run.model(run.task.X_train).detach().double()
    f = out[:, 1] - out[:, 0]
    reg = sum(p.detach().double().pow(2).sum() for n, p in run.model.named_parameters() if n.startswith("layers"))
    reg = reg + res.live["a"].pow(2).sum()
    assert res.live_objective == pytest.approx(float(0.5 * (f - y).pow(2).mean() + 0.025 * reg), rel=1e-5)
    assert res.optimum <= res.live_objective
    assert "two-layer-relu" in run.model.runtime_capabilities()


def test_robust_against_eps_measures_each_radius(tiny):
    """One entry per radius, sorted; at eps = 0 the attack moves nothing (PGD accuracy = clean accuracy, for the
    robust and the standard net) and the robust program is the standard one (same clean accuracy within a point);
    certified accuracy never exceeds what PGD leaves on the training points of a converged robust net."""
    r = acx.robust_against_eps(tiny.task, LAM, [0.05, 0.0], time_limit=5.0)
    assert r.eps == [0.0, 0.05]
    assert all(len(v) == 2 for v in (r.robust_clean, r.robust_pgd, r.certified, r.neurons, r.converged, r.standard_pgd))
    assert r.robust_pgd[0] == r.robust_clean[0] and r.standard_pgd[0] == r.standard_clean
    assert abs(r.robust_clean[0] - r.standard_clean) <= 1.0 / len(tiny.task.y_test) + 1e-12
    assert r.patterns > 0 and all(0.0 <= v <= 1.0 for v in r.robust_pgd + r.certified + r.standard_pgd)
    with pytest.raises(ValueError, match="radius"):
        acx.robust_against_eps(tiny.task, LAM, [])
