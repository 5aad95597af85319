"""The NumPy fast path for plain MLPs computes what autograd computes: same losses, outputs and
gradients, so the same trajectories (to float rounding); it refuses what it cannot compute."""

from __future__ import annotations

import pytest
import torch

from netarium.models.masks import add_masks
from netarium.models.taps import tap_hooks
from netarium.training.config import Config
from netarium.training.fastpath import FastMLP, plain_sgd
from netarium.training.run import Run


def circle(**over) -> Config:
    base = Config(task={"name": "circle", "n_samples": 200}, model={"name": "mlp", "hidden": [5, 3], "activation": ["tanh"]},
                  optimizer={"name": "sgd", "lr": 0.05}, batch_size=10, seed=3, eval_every=100_000, device="cpu")
    return base.with_overrides(over)


def params(run: Run) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in run.model.parameters()])


def assert_same_trajectory(config: Config, steps: int = 150, numpy_sgd: bool = False) -> None:
    slow, fast = Run(config), Run(config)
    path = FastMLP.for_run(fast)
    assert path is not None
    for _ in range(steps):
        x, y = slow.next_batch()
        ls, outs = slow.trainer.step(slow, x, y)
        x, y = fast.next_batch()
        fast.optimizer.zero_grad(set_to_none=True)
        lf, outf = path.grads(x, y)
        grads = {n: p.grad.clone() for n, p in fast.model.named_parameters()}
        if numpy_sgd:
            path.sgd_step(fast.lr)
        else:
            fast.optimizer.step()
        assert torch.allclose(lf, ls, rtol=1e-5, atol=1e-7)
        assert torch.allclose(outf, outs.detach(), rtol=1e-4, atol=1e-5)
    for name, p in slow.model.named_parameters():
        assert p.grad is not None and torch.allclose(grads[name], p.grad, rtol=1e-4, atol=1e-5), name
    a, b = params(slow), params(fast)
    assert float((a - b).abs().max() / a.abs().max()) < 1e-5


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", "mse"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_fast_path_trains_as_autograd_on_every_loss(loss, optimizer):
    assert_same_trajectory(circle(loss=loss, **{"optimizer": optimizer}))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "linear"])
def test_other_activations_and_regression(activation):
    assert_same_trajectory(circle(**{"model.activation": activation}))
    assert_same_trajectory(circle(**{"task": {"name": "reg-plane", "n_samples": 200}, "model.activation": activation}))


def test_numpy_sgd_is_torch_sgd_and_masks_are_honoured():
    config = circle()
    assert plain_sgd(Run(config).optimizer)
    assert not plain_sgd(Run(circle(**{"optimizer.momentum": 0.9})).optimizer)
    assert not plain_sgd(Run(circle(optimizer="adam")).optimizer)
    assert_same_trajectory(config, numpy_sgd=True)
    slow, fast = Run(config), Run(config)
    for run in (slow, fast):
        add_masks(run.model)
        run.rescan_masks()
        with torch.no_grad():
            run.model.layers[1].linear.mask[0, :3] = 0.0
        run.apply_masks()
    path = FastMLP.for_run(fast)
    assert path is not None
    for _ in range(60):
        x, y = slow.next_batch()
        slow.trainer.step(slow, x, y)
        x, y = fast.next_batch()
        fast.optimizer.zero_grad(set_to_none=True)
        path.grads(x, y)
        fast.optimizer.step()
        fast.apply_masks()
    assert torch.allclose(params(slow), params(fast), rtol=1e-5, atol=1e-7)
    assert bool((fast.model.layers[1].linear.weight[0, :3] == 0).all())


def test_it_refuses_what_it_cannot_compute():
    assert FastMLP.for_run(Run(circle(**{"model.activation": "gelu"}))) is None
    assert FastMLP.for_run(Run(circle(model="residual-mlp"))) is None
    assert FastMLP.for_run(Run(circle(**{"model.readout": "fixed-signs"}))) is None
    run = Run(circle())
    path = FastMLP.for_run(run)
    assert path is not None and path.usable()
    with tap_hooks(run.model, read=["layer1.post"]):  # a view tapping the live model
        assert not path.usable() and FastMLP.for_run(run) is None
    assert path.usable()


def test_tfp_loss_and_rules_and_a_whole_run_match_autograd(monkeypatch):
    tfp = circle(loss="tfp", **{"model.init": "tfp"}, order="fixed")
    assert_same_trajectory(tfp, numpy_sgd=True)
    assert_same_trajectory(circle(loss="tfp", task={"name": "reg-gauss", "n_samples": 200}))
    for over in ({}, {"l1": 0.01, "regularization": "tfp"}, {"l2": 0.05}, {"l1": 0.001, "optimizer": "adam"}):
        config = tfp.with_overrides(over)
        fast = Run(config).train(200)
        assert fast.fast_path() is not None
        monkeypatch.setenv("NETARIUM_FASTPATH", "0")
        slow = Run(config)
        assert slow.fast_path() is None
        slow.train(200)
        monkeypatch.delenv("NETARIUM_FASTPATH")
        a, b = params(slow), params(fast)
        assert float((a - b).abs().max() / a.abs().max()) < 1e-5, over
        assert fast.history.series("train_loss")[1] == pytest.approx(slow.history.series("train_loss")[1], rel=1e-4)


# ---- bursts: many steps in one NumPy call (FastMLP.burst, Run._step) ----

def autograd_run(config: Config, monkeypatch) -> Run:
    """The same run on the autograd path (NETARIUM_FASTPATH=0 while the fast path is looked for)."""
    with monkeypatch.context() as m:
        m.setenv("NETARIUM_FASTPATH", "0")
        run = Run(config)
        assert run.fast_path() is None
    return run


def count_bursts(monkeypatch) -> list[int]:
    """The k of every FastMLP.burst call from now on."""
    sizes: list[int] = []
    original = FastMLP.burst

    def counted(self, run, k):
        sizes.append(k)
        return original(self, run, k)

    monkeypatch.setattr(FastMLP, "burst", counted)
    return sizes


def assert_same_runs(slow: Run, fast: Run) -> None:
    """Same steps, examples, weights, gradients, masks, history (every metric at the same steps) and snapshots."""
    assert (fast.step_count, fast.samples_seen, fast.state) == (slow.step_count, slow.samples_seen, slow.state)
    a, b = params(slow), params(fast)
    assert float((a - b).abs().max() / a.abs().max()) < 1e-5
    for (name, ps), pf in zip(slow.model.named_parameters(), fast.model.parameters(), strict=True):
        assert torch.allclose(ps.grad, pf.grad, rtol=1e-4, atol=1e-6), name
    for (name, bs), bf in zip(slow.model.named_buffers(), fast.model.buffers(), strict=True):
        assert torch.equal(bs, bf), name
    assert sorted(fast.history.metrics()) == sorted(slow.history.metrics())
    for metric in slow.history.metrics():
        (ss, vs), (sf, vf) = slow.history.series(metric), fast.history.series(metric)
        assert sf == ss, metric
        assert vf == pytest.approx(vs, rel=1e-4, abs=1e-6), metric
    assert fast.snapshots.steps() == slow.snapshots.steps()
    for step in slow.snapshots.steps():
        s, f = slow.snapshots.state_at(step), fast.snapshots.state_at(step)
        assert list(f) == list(s)
        for key in s:
            assert torch.allclose(f[key], s[key], rtol=1e-5, atol=1e-6), (step, key)


PRESET = Config(task={"name": "circle", "noise": 0.0, "train_ratio": 0.5, "features": ["x1", "x2"]},
                model={"name": "mlp", "hidden": [4, 2], "activation": ["tanh"], "init": "tfp"},
                optimizer={"name": "sgd", "lr": 0.03}, loss="tfp", order="fixed", regularization="tfp",
                batch_size=10, eval_every=25, device="cpu")


@pytest.mark.parametrize("over", [
    {},  # TensorFlow Playground's preset (the app's default): 25 steps an epoch, evaluated every epoch
    {"l1": 0.01},  # TFP's L1: weights die (set to 0, masked) in the middle of bursts
    {"l2": 0.03},
    {"l1": 0.003, "l2": 0.01, "regularization": "penalty"},  # the additive penalty's gradient
    {"task.n_samples": 230},  # fixed order, 115 points: the 5 left over join the next epoch's first batch
    {"order": "shuffle", "task.n_samples": 230},  # seeded permutations, the partial batch dropped
    {"batch_size": 0, "eval_every": 7},  # full batch: the last output is reused by the evaluation
    {"loss": "auto", "model.activation": "relu", "model.bias": False},
    {"loss": "bce", "model.activation": "sigmoid", "model.hidden": [6]},
    {"loss": "mse", "task": {"name": "spirals", "n_classes": 3}, "model.activation": "linear"},
    {"task": {"name": "reg-plane"}, "model.hidden": [5, 3], "eval_every": 40},
])
def test_bursts_follow_the_autograd_run_step_for_step(over, monkeypatch):
    config = PRESET.with_overrides(over)
    slow = autograd_run(config, monkeypatch)
    slow.early_loss_points = True
    sizes = count_bursts(monkeypatch)
    fast = Run(config)
    fast.early_loss_points = True
    for chunk in (1, 7, 40, 300, 3, 250):  # call sizes that split bursts at every kind of boundary
        assert slow.step(chunk) == fast.step(chunk) == chunk
    assert max(sizes) > 1 and sum(sizes) == 601  # whole bursts were taken, every step by them
    assert_same_runs(slow, fast)
    if over.get("l1") and "regularization" not in over:
        assert int((fast.model.layers[0].linear.mask == 0).sum()) > 0  # some links died in the bursts
        assert bool((fast.model.layers[0].linear.weight[fast.model.layers[0].linear.mask == 0] == 0).all())


def test_masks_edits_and_a_fast_path_lost_in_between_keep_the_trajectory(monkeypatch):
    config = PRESET.with_overrides({"task.n_samples": 230})
    slow = autograd_run(config, monkeypatch)
    fast = Run(config)
    sizes = count_bursts(monkeypatch)
    for run in (slow, fast):
        with monkeypatch.context() as m:
            if run is slow:
                m.setenv("NETARIUM_FASTPATH", "0")
            add_masks(run.model)
            run.rescan_masks()
            run.fast_path()
        with torch.no_grad():
            run.model.layers[1].linear.mask[0, :3] = 0.0
        run.apply_masks()
        run.step(60)
        with torch.no_grad():  # LiveRun.set_weight / set_bias between two calls
            run.model.layers[0].linear.weight[2, 1] = 0.7
            run.model.readout.bias[0] = -0.2
        run.step(45)
        with tap_hooks(run.model, read=["layer1.post"]):  # a view tapping the live model: autograd for these
            run.step(20)
        run.step(80)
    assert sizes and sum(sizes) == 60 + 45 + 80
    assert_same_runs(slow, fast)
    assert bool((fast.model.layers[1].linear.weight[0, :3] == 0).all())
    assert float(fast.model.readout.bias.detach()[0]) != -0.2  # trained on from the edit


def test_a_divergence_in_the_middle_of_a_burst_is_reported_as_autograd_reports_it(monkeypatch):
    config = PRESET.with_overrides({"loss": "mse", "task": {"name": "reg-plane"}, "model.activation": "linear",
                                    "eval_every": 1000})
    slow = autograd_run(config, monkeypatch)
    sizes = count_bursts(monkeypatch)
    fast = Run(config)
    for run in (slow, fast):
        assert run.step(50) == 50 and run.state == "running"
        run.set_lr(10.0)  # from here the loss blows up within a few steps, inside a burst
    assert slow.step(600) == fast.step(600) < 600
    assert slow.state == fast.state == "diverged"
    assert fast.step_count == slow.step_count and fast.reason == slow.reason
    assert "between steps 51 and" in fast.reason  # caught at the first check after it, as autograd's run is
    assert max(sizes) > 1
    assert fast.step(10) == 0


def test_numpy_evaluation_is_torch_evaluation(monkeypatch):
    for over in ({}, {"loss": "auto"}, {"loss": "bce"}, {"task": {"name": "reg-gauss"}, "loss": "mse"},
                 {"task": {"name": "spirals", "n_classes": 3}, "loss": "mse"}, {"batch_size": 0}):
        config = PRESET.with_overrides(over)
        fast = Run(config)
        fast.step(30)
        assert fast.fast_path() is not None
        numpy_metrics = fast.evaluate()
        with monkeypatch.context() as m:
            m.setenv("NETARIUM_FASTPATH", "0")
            fast.rescan_masks()
            torch_metrics = fast.evaluate()
        assert list(numpy_metrics) == list(torch_metrics), over
        assert numpy_metrics == pytest.approx(torch_metrics, rel=1e-5, abs=1e-7), over
        fast.rescan_masks()
    fresh = Run(PRESET)
    assert "grad_norm" not in fresh.evaluate()  # no gradient yet, as on the autograd path
