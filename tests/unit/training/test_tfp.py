"""TensorFlow Playground's rules as options (nn.ts, playground.ts): the tfp loss, the tfp and zero
initialisations, the fixed batch order with its carried-over partial batch, and the tfp
regularization update whose L1 kills a weight it pushes across 0 (a masked-out link)."""

from __future__ import annotations

import math

import pytest
import torch

from netarium.models import ModelSpec, build_model
from netarium.models.masks import masked_modules
from netarium.schema import SchemaError
from netarium.training import Config, Run
from netarium.training.optim import resolve_loss
from netarium.training.run import fixed_batch_ranges, fixed_samples_seen

TFP = Config(task={"name": "circle", "n_samples": 60}, model={"name": "mlp", "hidden": [3], "activation": ["tanh"], "init": "tfp"},
             optimizer={"name": "sgd", "lr": 0.1}, loss="tfp", order="fixed", regularization="tfp", batch_size=10,
             eval_every=5, device="cpu")


# ---------------------------------------------------------------- the loss

def test_tfp_loss_is_half_the_squared_error_of_tanh_to_plus_minus_one_and_its_gradient():
    loss = resolve_loss("tfp", "classification", 2, 2)
    assert (loss.n_outputs, loss.squash, loss.score_name) == (1, True, "acc")
    z = torch.tensor([[0.3], [-1.2], [2.0], [0.0]], requires_grad=True)
    y = torch.tensor([1, 0, 0, 1])
    value = loss(z, y)
    t = [1.0, -1.0, -1.0, 1.0]
    zs = [0.3, -1.2, 2.0, 0.0]
    expected = sum(0.5 * (math.tanh(a) - b) ** 2 for a, b in zip(zs, t, strict=True)) / 4
    assert value.item() == pytest.approx(expected, rel=1e-6)
    value.backward()
    # d/dz of the mean: (tanh z - t)(1 - tanh^2 z) / n, TFP's Errors.SQUARE.der times the tanh output's der
    grads = [(math.tanh(a) - b) * (1 - math.tanh(a) ** 2) / 4 for a, b in zip(zs, t, strict=True)]
    assert z.grad[:, 0].tolist() == pytest.approx(grads, rel=1e-6)
    assert loss.accuracy(z.detach(), y).item() == 0.5  # signs: + (1 ok), - (0 ok), + (0 wrong), 0 (1 wrong)


def test_tfp_loss_on_regression_is_half_the_squared_error_of_the_linear_output():
    loss = resolve_loss("tfp", "regression", 0, 1)
    assert (loss.n_outputs, loss.squash, loss.score_name) == (1, False, "r2")
    out, y = torch.tensor([[0.5], [-1.0], [2.0]]), torch.tensor([[1.0], [-1.0], [0.0]])
    assert loss(out, y).item() == pytest.approx(0.5 * (0.25 + 0 + 4) / 3)
    assert loss(out, y).item() == pytest.approx(0.5 * resolve_loss("mse", "regression", 0, 1)(out, y).item())


def test_tfp_loss_refuses_more_than_two_classes():
    with pytest.raises(SchemaError, match="tfp needs a task with 2 classes or a regression task"):
        Run(TFP.with_overrides(["task.name=blobs"]))
    with pytest.raises(SchemaError, match="loss"):
        resolve_loss("tfp", "classification", 3, 3)


def test_a_tfp_run_reads_its_loss_like_tfp():
    run = Run(TFP)
    assert run.model.readout.out_features == 1
    with torch.no_grad():
        o = torch.tanh(run.model(run.task.X_test)[:, 0])
        t = run.task.y_test.float() * 2 - 1
    assert run.evaluate()["test_loss"] == pytest.approx(float((0.5 * (o - t) ** 2).mean()), rel=1e-6)


# ---------------------------------------------------------------- initialisation

def test_tfp_init_is_uniform_in_plus_minus_half_with_biases_0_1():
    model = build_model("mlp", {"hidden": [64, 64], "init": "tfp"}, ModelSpec(2, 1))
    w = torch.cat([m.weight.detach().flatten() for m in model.modules() if isinstance(m, torch.nn.Linear)])
    assert w.numel() == 2 * 64 + 64 * 64 + 64
    assert -0.5 <= w.min().item() < -0.45 and 0.45 < w.max().item() <= 0.5
    assert abs(w.mean().item()) < 0.02 and w.var().item() == pytest.approx(1 / 12, rel=0.08)  # U(-0.5, 0.5): variance 1/12
    biases = [m.bias for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert all(torch.all(b == 0.1) for b in biases)


def test_zero_init_is_all_zero():
    model = build_model("mlp", {"hidden": [4, 2], "init": "zero"}, ModelSpec(2, 1))
    assert all(torch.all(p == 0) for p in model.parameters())


# ---------------------------------------------------------------- the fixed order

def test_fixed_batches_walk_the_stored_order_and_carry_the_partial_batch_over():
    # 23 examples, batches of 5: 4 updates an epoch; the 3 left over join the next epoch's first batch
    assert [fixed_batch_ranges(s, 23, 5) for s in range(10)] == [
        [(0, 5)], [(5, 10)], [(10, 15)], [(15, 20)],
        [(20, 23), (0, 5)], [(5, 10)], [(10, 15)], [(15, 20)],
        [(20, 23), (0, 5)], [(5, 10)]]
    assert [fixed_batch_ranges(s, 20, 5) for s in (3, 4)] == [[(15, 20)], [(0, 5)]]  # no remainder: plain cycles
    assert fixed_samples_seen(9, 23, 5) == 5 * 9 + 3 * 2 and fixed_samples_seen(4, 23, 5) == 20 and fixed_samples_seen(0, 23, 5) == 0


def test_a_run_draws_the_fixed_batches_from_its_training_set():
    run = Run(TFP.with_overrides(["batch_size=8"]))  # 30 training points: 3 steps an epoch, 6 left over
    X = run.task.X_train
    assert X.shape[0] == 30 and run.steps_per_epoch == 3
    got = []
    for _ in range(5):
        x, _ = run.next_batch()
        got.append(x)
        run.step_count += 1
    assert [g.shape[0] for g in got] == [8, 8, 8, 14, 8]
    assert torch.equal(got[0], X[:8]) and torch.equal(got[2], X[16:24])
    assert torch.equal(got[3], torch.cat([X[24:], X[:8]])) and torch.equal(got[4], X[8:16])


def test_fixed_order_trains_as_tfps_accumulated_batches():
    """Two steps by hand: mean gradient of the batch, then w - lr g (no momentum, no regularization)."""
    c = TFP.with_overrides(["batch_size=20"])  # 30 training points: step 2 is the 10 left + the first 20
    run, ref = Run(c), Run(c)
    X, y = ref.task.X_train, ref.task.y_train
    for xb, yb in ((X[:20], y[:20]), (torch.cat([X[20:], X[:20]]), torch.cat([y[20:], y[:20]]))):
        ref.model.zero_grad()
        ref.loss(ref.model(xb), yb).backward()
        with torch.no_grad():
            for p in ref.model.parameters():
                p -= 0.1 * p.grad
    run.step(2)
    for a, b in zip(run.model.parameters(), ref.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-7)
    assert run.samples_seen == 50


# ---------------------------------------------------------------- regularization

def one_sgd_step_by_hand(run: Run) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(weights before, data gradients) of the run's next step, computed on a copy."""
    x, y = run.task.X_train[:10], run.task.y_train[:10]
    before = {n: p.detach().clone() for n, p in run.model.named_parameters()}
    run.model.zero_grad()
    run.loss(run.model(x), y).backward()
    grads = {n: p.grad.detach().clone() for n, p in run.model.named_parameters()}
    run.model.zero_grad()
    return before, grads


def test_one_tfp_l1_step_is_w_minus_lr_g_minus_lr_rate_sign_w():
    run = Run(TFP.with_overrides(["l1=0.01"]))
    before, grads = one_sgd_step_by_hand(run)
    run.step(1)
    lr, rate = 0.1, 0.01
    for name, p in run.model.named_parameters():
        if p.ndim == 2:
            w1 = before[name] - lr * grads[name]
            expected = w1 - lr * rate * torch.sign(before[name])
            expected[w1 * expected < 0] = 0.0  # crossed 0 by the regularization: dead
            assert torch.allclose(p, expected, atol=1e-7), name
        else:  # biases: no regularization
            assert torch.allclose(p, before[name] - lr * grads[name], atol=1e-7), name


def test_one_tfp_l2_step_is_w_minus_lr_g_minus_lr_rate_w():
    run = Run(TFP.with_overrides(["l2=0.3"]))
    assert not list(masked_modules(run.model))  # L2 kills nothing: no masks
    before, grads = one_sgd_step_by_hand(run)
    run.step(1)
    for name, p in run.model.named_parameters():
        expected = before[name] - 0.1 * grads[name] - (0.1 * 0.3 * before[name] if p.ndim == 2 else 0)
        assert torch.allclose(p, expected, atol=1e-7), name


def test_a_weight_l1_pushes_across_zero_dies_and_stays_dead():
    run = Run(TFP.with_overrides(["l1=1.0"]))
    layer = run.model.layers[0].linear
    with torch.no_grad():
        layer.weight[0, 0] = 0.05  # lr * rate = 0.1 > 0.05: the L1 step crosses 0 unless the gradient is large
        layer.weight[1, 0] = 3.0  # far from 0: lives
    run.step(1)
    assert layer.weight[0, 0].item() == 0.0 and layer.mask[0, 0].item() == 0.0
    assert layer.mask[1, 0].item() == 1.0 and layer.weight[1, 0].item() != 0.0
    dead = {n: (m.mask == 0).clone() for n, m in masked_modules(run.model)}
    run.step(30)
    for name, m in masked_modules(run.model):
        assert torch.all(m.weight[dead[name]] == 0) and torch.all(m.mask[dead[name]] == 0), name  # dead stays dead
    assert "masks" in run.model.runtime_capabilities()  # the Connectivity views read the dead links


def test_penalty_mode_adds_the_penalty_to_the_loss_gradient():
    """The default mode is the additive penalty (l1 sign(w) in the gradient, no dead links)."""
    run = Run(TFP.with_overrides(["l1=0.01", "regularization=penalty"]))
    assert not list(masked_modules(run.model))
    before, grads = one_sgd_step_by_hand(run)
    run.step(1)
    w = run.model.layers[0].linear.weight
    name = "layers.0.linear.weight"
    assert torch.allclose(w, before[name] - 0.1 * (grads[name] + 0.01 * torch.sign(before[name])), atol=1e-7)


def test_rates_go_up_to_ten_and_say_what_they_mean():
    assert Config(l1=10, l2=10).l1 == 10
    with pytest.raises(SchemaError, match="l1"):
        Config(l1=10.5)
    assert "tfp" in Config.model_fields["l1"].description and "penalty" in Config.model_fields["l2"].description


# ---------------------------------------------------------------- data seed

def test_the_data_seed_seeds_the_data_and_the_seed_the_weights():
    a, b = Run(TFP), Run(TFP.with_overrides(["seed=1", "data_seed=0"]))
    assert torch.equal(a.task.X_train, b.task.X_train)
    assert not torch.equal(a.model.layers[0].linear.weight, b.model.layers[0].linear.weight)
    c = Run(TFP.with_overrides(["data_seed=1"]))
    assert not torch.equal(a.task.X_train, c.task.X_train)
    assert torch.equal(a.model.layers[0].linear.weight, c.model.layers[0].linear.weight)
    assert TFP.task_seed == 0 and TFP.with_overrides(["seed=4"]).task_seed == 4 and TFP.with_overrides(["data_seed=7"]).task_seed == 7
