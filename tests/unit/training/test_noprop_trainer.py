"""Trainer noprop: each block's gradient is its own loss's alone, no block sees another's output while training,
a clear error for a model or task it cannot train, its per-block log, and the activation memory it holds."""

import pytest
import torch

from netarium.models.noprop import NoPropNet
from netarium.schema import SchemaError
from netarium.training.config import Config
from netarium.training.memory import SavedTensorMeter
from netarium.training.noprop import block_weights
from netarium.training.run import Run

CONFIG = Config(task={"name": "circle", "n_samples": 200}, model={"name": "noprop", "blocks": 3, "hidden": 8},
                optimizer={"name": "sgd", "lr": 0.1}, trainer={"name": "noprop"}, batch_size=16, seed=3, steps=1)


def test_a_step_gives_each_block_the_gradient_of_its_own_loss_alone():
    run = Run(CONFIG)
    model: NoPropNet = run.model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    seen: dict[int, list[torch.Tensor]] = {t: [] for t in range(model.T)}
    hooks = [b.register_forward_hook(lambda _m, inp, _o, t=t: seen[t].append(inp[1]) if torch.is_grad_enabled() else None)
             for t, b in enumerate(model.blocks)]
    x, y = run.next_batch()
    run.trainer.step(run, x, y)
    for h in hooks:
        h.remove()
    # every block ran once with autograd on, on a z drawn from the label (nothing upstream to differentiate)
    assert all(len(v) == 1 and not v[0].requires_grad for v in seen.values())
    # replay: the same noise (the trainer's generator, seeded the same), each block's weighted loss alone
    twin = Run(CONFIG).model
    twin.load_state_dict({n: before[n] for n in before} | {k: v for k, v in twin.state_dict().items() if k not in before})
    g = torch.Generator().manual_seed(CONFIG.seed + 104_729)
    weights = block_weights(twin.abar, CONFIG.trainer.eta, CONFIG.trainer.weighting)
    lr = CONFIG.optimizer.lr
    for t in range(1, twin.T + 1):
        noise = torch.randn(x.shape[0], twin.d, generator=g)
        params = list(twin.blocks[t - 1].parameters())
        grads = torch.autograd.grad(weights[t - 1] * twin.denoising_loss(t, x, y, noise), params)
        for (name, p), gr in zip(twin.blocks[t - 1].named_parameters(), grads, strict=True):
            torch.testing.assert_close(dict(model.named_parameters())[f"blocks.{t - 1}.{name}"].detach(), p.detach() - lr * gr)


def test_the_log_has_every_block_and_the_head_and_training_learns_the_circle():
    run = Run(CONFIG.with_overrides({"steps": 300, "optimizer": {"name": "adam", "lr": 0.01}}))
    run.train()
    log = run.trainer.log
    assert log.metrics() == ["block1", "block2", "block3", "head"]
    steps, values = log.series("block3")
    assert steps[0] == 1 and steps[-1] == 300 and len(values) == 300
    assert sum(values[-30:]) < 0.5 * sum(values[:30])  # the last block learned to denoise
    assert run.final_metrics()["test_acc"] >= 0.9


def test_snr_weights_follow_the_paper_and_uniform_is_eta():
    abar = [0.0, 0.5, 0.8, 0.999]
    w = block_weights(abar, 0.1, "snr")
    assert w == pytest.approx([3 * 0.1 / 2 * d for d in (1.0, 4.0 - 1.0, 999.0 - 4.0)])
    assert block_weights(abar, 0.3, "uniform") == [0.3] * 3


@pytest.mark.parametrize("overrides,match", [
    ({"model": "mlp"}, "noprop trains the denoising blocks of a noprop model, not mlp"),
    ({"task": "reg-plane"}, "reg-plane is a regression task"),
    ({"regularization": "tfp", "l1": 0.01}, "applies L1/L2 as a penalty"),
])
def test_a_pairing_it_cannot_train_is_refused_with_a_clear_error(overrides, match):
    with pytest.raises(SchemaError, match=match):
        Run(CONFIG.with_overrides(overrides))


def test_the_supervised_trainer_trains_the_same_model_end_to_end():
    run = Run(CONFIG.with_overrides({"trainer": "supervised", "steps": 300, "optimizer": {"name": "adam", "lr": 0.01}}))
    run.train()
    assert run.final_metrics()["test_acc"] >= 0.9


def test_saved_tensor_meter_counts_what_autograd_holds_for_backward():
    lin = torch.nn.Linear(4, 3)
    x = torch.randn(5, 4)
    with SavedTensorMeter.for_model(lin) as meter:
        out = torch.relu(lin(x)).sum()  # linear saves its input x (5 x 4 floats), relu its output (5 x 3)
        assert meter.live_bytes == (20 + 15) * 4
        out.backward()
    assert meter.peak_bytes == (20 + 15) * 4 and meter.live_bytes == 0  # backward let them go


def test_noprop_holds_about_one_block_of_activations_and_backprop_the_whole_chain():
    def held(trainer: str, blocks: int) -> int:
        run = Run(CONFIG.with_overrides({"trainer": trainer, "model.blocks": blocks}))
        x, y = run.next_batch()
        with SavedTensorMeter.for_model(run.model) as meter:
            run.trainer.step(run, x, y)
        return meter.peak_bytes

    assert held("noprop", 3) == held("noprop", 6)  # one block at a time, whatever T
    assert held("supervised", 6) > 1.8 * held("supervised", 3)  # the whole chain at once
    assert held("supervised", 6) > 4 * held("noprop", 6)
