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
