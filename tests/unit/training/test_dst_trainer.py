"""The "dst" trainer: dynamic sparse training wired into a Run."""

import copy

import pytest
import torch

from netarium.models.masks import masked_modules
from netarium.schema import SchemaError
from netarium.training.config import Config
from netarium.training.run import Run


def dst_run(rule: str, every: int = 10, steps: int = 60, **model) -> Run:
    return Run(Config(
        task={"name": "spiral", "n_samples": 200},
        model={"name": "sparse-mlp", "hidden": [12, 12, 12], "groups": 4, "k": 2, **model},
        trainer={"name": "dst", "rule": rule, "every": every, "fraction": 0.4},
        steps=steps, seed=3,
    ))


@pytest.mark.parametrize("rule", ["random", "gradient", "hebbian"])
def test_dst_run_keeps_edge_counts_rewires_and_logs_a_replayable_history(rule):
    run = dst_run(rule)
    named = dict(masked_modules(run.model))
    edges0 = {n: int(m.mask.sum()) for n, m in named.items()}
    masks0 = {n: m.mask.clone() for n, m in named.items()}
    run.train()
    log = run.trainer.log
    # every 10 steps while step < 0.75 * 60: steps 10..40, each layer once
    assert log.steps() == [10, 20, 30, 40]
    assert len(log.events) == 4 * len(named)
    for n, m in named.items():
        assert int(m.mask.sum()) == edges0[n]
        assert not torch.equal(m.mask, masks0[n]), "DST never moved an edge"
        assert torch.equal(log.mask_at(n, 10**6), m.mask.bool())
        assert torch.equal(log.mask_at(n, 0), masks0[n].bool())
        assert float((m.weight.detach() * (1 - m.mask)).abs().sum()) == 0.0
    for e in log.turnover():
        assert e["pruned"] == e["grown"] and "pruned_idx" not in e
        assert 0 < e["turnover"] <= 0.4


def test_changed_edges_lose_their_adam_state():
    run = dst_run("random", every=10, steps=40)
    run.step(10)
    for e in run.trainer.log.events:
        module = dict(run.model.named_modules())[e["name"]]
        state = run.optimizer.state[module.weight]
        for key in ("exp_avg", "exp_avg_sq"):
            flat = state[key].view(-1)
            assert float(flat[e["pruned_idx"]].abs().sum()) == 0.0
            assert float(flat[e["grown_idx"]].abs().sum()) == 0.0


def test_gradient_rule_grows_the_largest_dense_gradients_of_the_rewiring_batch():
    run = dst_run("gradient", every=10, steps=40)
    run.step(9)
    # the dense gradient w.r.t. the effective weights on the (full) batch of step 10, computed independently
    model = copy.deepcopy(run.model)
    x, y = run.task.X_train, run.task.y_train
    layers = dict(masked_modules(model))
    effective = {n: (m.weight * m.mask).detach().requires_grad_(True) for n, m in layers.items()}
    hooks = []
    for n, m in layers.items():
        hooks.append(m.register_forward_hook(
            lambda mod, inp, out, n=n: torch.nn.functional.linear(inp[0], effective[n], mod.bias)))
    loss = run.loss(model(x), y)
    grads = dict(zip(effective, torch.autograd.grad(loss, list(effective.values())), strict=True))
    for h in hooks:
        h.remove()
    before = {n: m.mask.clone() for n, m in dict(masked_modules(run.model)).items()}
    run.step(1)
    for e in run.trainer.log.events:
        n = e["name"]
        candidates = (before[n] == 0).view(-1)
        score = grads[n].abs().view(-1).clone()
        score[~candidates] = -1
        expected = set(torch.topk(score, len(e["grown_idx"])).indices.tolist())
        assert set(e["grown_idx"]) == expected


def test_dst_trainer_refuses_a_model_without_masks():
    with pytest.raises(SchemaError, match="masked layers"):
        Run(Config(task={"name": "spiral"}, model={"name": "mlp"}, trainer={"name": "dst"}))


def test_rewiring_stops_at_the_stop_fraction_and_follows_a_live_change_of_steps():
    run = dst_run("random", every=10, steps=40)  # 0.75 * 40 = 30: rounds at 10 and 20 only
    assert run.trainer.stops_at == 30
    run.step(40)
    assert run.trainer.log.steps() == [10, 20]
    run.config = run.config.with_overrides(["steps=100"])  # what the Worker does for a live change
    run.step(40)
    assert run.trainer.stops_at == 75 and run.trainer.log.steps() == [10, 20, 50, 60, 70]
