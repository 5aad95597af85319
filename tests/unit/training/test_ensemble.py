"""The batched engine: each member of a batch trains exactly as its Config alone (losses, metrics and
weights within 1e-5), divergence stays with its member, padded units stay zero, and the builder
groups what it can."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from netarium.models.masks import masked_modules
from netarium.training.config import Config
from netarium.training.ensemble import BatchedGroup, batch_signature, build_batched_groups
from netarium.training.run import Run
from netarium.training.sweep import Member, sweep_from_specs
from netarium.training.sweep_run import RunGroup, SweepRun, member_config, plan_groups

RTOL = 1e-5
CHUNKS = (7, 1, 12, 5)  # step calls of uneven sizes, 25 steps: checks and evaluations fall inside calls


def members_of(configs: list[Config]) -> list[Member]:
    return [Member(i, {}, 0, c) for i, c in enumerate(configs)]


def close(a: float, b: float, metric: str = "", rtol: float = RTOL) -> bool:
    """Within rtol; R^2 = 1 - SSE/SST is compared on SSE/SST (near R^2 = 0 the subtraction magnifies rounding)."""
    if metric.endswith("r2"):
        a, b = 1 - a, 1 - b
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-7)


def assert_member_is_its_run(group: BatchedGroup, i: int, run: Run, rtol: float = RTOL) -> None:
    """Member i of `group` and `run` (its Config alone): same history of every metric, same weights."""
    state = group.states()[i]
    assert (state.state, state.step) == (run.state, run.step_count)
    mine, theirs = group.histories()[i], run.history
    assert mine.metrics() == theirs.metrics()
    for metric in theirs.metrics():
        steps, values = mine.series(metric)
        steps_alone, values_alone = theirs.series(metric)
        assert steps == steps_alone, metric
        assert all(close(a, b, metric, rtol) for a, b in zip(values, values_alone, strict=True)), (metric, values, values_alone)
    params = group.parameters(i)
    for name, p in run.model.named_parameters():
        assert params[name].shape == p.shape, name
        diff = (params[name] - p.detach()).norm().item()
        assert diff <= rtol * max(p.detach().norm().item(), 1e-6), (name, diff)


def train_both(configs: list[Config], chunks: tuple[int, ...] = CHUNKS,
               group_class: type[BatchedGroup] = BatchedGroup) -> tuple[BatchedGroup, list[Run]]:
    """The configs as one group and each alone, stepped alike in calls of `chunks` steps."""
    group = group_class(members_of(configs))
    runs = [Run(member_config(c)) for c in configs]
    for n in chunks:
        group.step(n)
        for run in runs:
            run.step(n)
    return group, runs


def variants(base: Config, changes: list[dict[str, Any]]) -> list[Config]:
    return [base.with_overrides(c) for c in changes]


MLP = Config(task={"name": "spiral", "n_samples": 200}, model={"name": "mlp", "hidden": [8, 6], "activation": ["tanh", "relu"]},
             eval_every=5, device="cpu")
RESIDUAL = Config(task={"name": "reg-gauss", "n_samples": 200},
                  model={"name": "residual-mlp", "width": 8, "blocks": 2, "hidden": 12, "activation": "gelu"},
                  eval_every=5, device="cpu")

SGD = [{"optimizer.lr": 0.1}, {"optimizer.lr": 0.03, "seed": 3}, {"optimizer.momentum": 0.9, "optimizer.lr": 0.05},
       {"optimizer.momentum": 0.8, "optimizer.nesterov": True, "optimizer.weight_decay": 0.01, "seed": 1},
       {"l1": 1e-3, "l2": 1e-2, "trainer.grad_clip": 0.5, "optimizer.momentum": 0.5}]
ADAM = [{"optimizer.lr": 0.01}, {"optimizer.lr": 0.003, "seed": 2, "optimizer.beta1": 0.8},
        {"optimizer.weight_decay": 0.01, "optimizer.beta2": 0.99, "optimizer.eps": 1e-6},
        {"l2": 1e-3, "trainer.grad_clip": 0.2, "seed": 4}]


@pytest.mark.parametrize("base", [MLP, RESIDUAL], ids=["mlp", "residual-mlp"])
@pytest.mark.parametrize("batch_size", [0, 32], ids=["full-batch", "minibatch"])
@pytest.mark.parametrize(("optimizer", "changes"), [("sgd", SGD), ("adam", ADAM), ("adamw", ADAM)])
def test_every_member_trains_exactly_as_its_config_alone(base, batch_size, optimizer, changes):
    base = base.with_overrides({"optimizer": optimizer, "batch_size": batch_size})
    group, runs = train_both(variants(base, changes))
    assert group.K == len(changes)
    for i, run in enumerate(runs):
        assert run.step_count == 25 and len(run.history.series("test_loss")[0]) == 5
        assert_member_is_its_run(group, i, run)
    finals, alone = group.final_metrics(), [r.final_metrics() for r in runs]
    for mine, theirs in zip(finals, alone, strict=True):
        assert mine.keys() == theirs.keys()
        assert all(close(mine[k], theirs[k], k) for k in theirs), (mine, theirs)


def test_other_activations_and_losses_match_too():
    base = Config(task={"name": "blobs", "n_samples": 150}, model={"name": "mlp", "hidden": [6, 5, 4], "activation": ["sigmoid", "silu", "square"]},
                  optimizer={"name": "sgd", "lr": 0.05}, loss="mse", eval_every=5, device="cpu", batch_size=16)
    group, runs = train_both(variants(base, [{"seed": 0}, {"seed": 1, "optimizer.lr": 0.1}]))
    for i, run in enumerate(runs):
        assert_member_is_its_run(group, i, run)
    bce = Config(task={"name": "xor", "n_samples": 120}, model={"name": "residual-mlp", "width": 6, "blocks": 2, "hidden": 5,
                 "activation": "tanh", "prenorm": False, "layout": "parallel", "bias": False},
                 optimizer={"name": "adam"}, loss="bce", eval_every=5, device="cpu")
    group, runs = train_both(variants(bce, [{"seed": 0}, {"seed": 5}]))
    for i, run in enumerate(runs):
        assert_member_is_its_run(group, i, run)


def test_a_diverging_member_is_frozen_and_the_others_train_as_alone(monkeypatch):
    # a blow-up magnifies any rounding: the lone Runs take autograd's path (the NumPy fast path rounds apart)
    monkeypatch.setenv("NETARIUM_FASTPATH", "0")
    base = Config(task={"name": "reg-plane", "n_samples": 100}, model={"name": "mlp", "hidden": [8]},
                  optimizer={"name": "sgd"}, eval_every=10, device="cpu")
    configs = variants(base, [{"optimizer.lr": 0.01}, {"optimizer.lr": 10.0}, {"optimizer.lr": 0.05, "seed": 2}])
    group = BatchedGroup(members_of(configs))
    runs = [Run(member_config(c)) for c in configs]
    for n in (15, 10):
        group.step(n)
        for run in runs:
            run.step(n)
    diverged, alone = group.states()[1], runs[1]
    assert alone.state == diverged.state == "diverged"
    assert diverged.reason == alone.reason and diverged.step == alone.step_count == 15  # found at the end of the call
    assert diverged.reason.startswith("the training loss became nan between steps 11 and 15 (learning rate 10)")
    assert diverged.metrics.keys() == alone.metrics.keys()
    # its last evaluation (step 10), already at 1e32: growth this fast magnifies rounding, so 1e-4 here
    assert all(math.isclose(diverged.metrics[k], alone.metrics[k], rel_tol=1e-4) for k in alone.metrics)
    frozen = group.parameters(1)
    group.step(5)
    kept = group.parameters(1)
    assert all(torch.allclose(frozen[n], t, rtol=0, atol=0, equal_nan=True) for n, t in kept.items())  # it moves no more
    assert group.live[1] is False and bool(group.P[1].eq(0).all())  # its row is idle and finite
    for i in (0, 2):
        runs[i].step(5)
        assert group.states()[i].state == "running" and runs[i].step_count == 30
        assert_member_is_its_run(group, i, runs[i])
    assert group.final_metrics()[1] == diverged.metrics  # a diverged member answers its last metrics


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_padded_units_stay_zero_and_real_ones_train_as_the_unpadded_member(activation):
    base = Config(task={"name": "circle", "n_samples": 120}, model={"name": "mlp", "activation": [activation]},
                  optimizer={"name": "adam", "lr": 0.02, "weight_decay": 0.01}, l1=1e-3, batch_size=20, eval_every=5, device="cpu")
    configs = variants(base, [{"model.hidden": [3, 7]}, {"model.hidden": [9, 2], "seed": 1}, {"model.hidden": [9, 7], "seed": 2}])
    group, runs = train_both(configs)
    V = group.net.views(group.P)
    for i, (run, hidden) in enumerate(zip(runs, ([3, 7], [9, 2], [9, 7]), strict=True)):
        assert_member_is_its_run(group, i, run)
        w0, w1, w2 = V["layers.0.linear.weight"][i], V["layers.1.linear.weight"][i], V["readout.weight"][i]
        assert w0.shape == (9, 2) and w1.shape == (7, 9) and w2.shape == (2, 7)
        assert bool((w0[hidden[0]:] == 0).all() and (V["layers.0.linear.bias"][i][hidden[0]:] == 0).all())
        assert bool((w1[hidden[1]:] == 0).all() and (w1[:, hidden[0]:] == 0).all() and (w2[:, hidden[1]:] == 0).all())
        assert bool((group.moments("exp_avg")[i] != 0).sum() <= sum(p.numel() for p in run.model.parameters()))


def test_a_residual_hidden_width_is_padded_but_a_normalised_stream_is_not():
    base = RESIDUAL.with_overrides({"optimizer": "sgd", "model.activation": "sigmoid"})
    configs = variants(base, [{"model.hidden": 4}, {"model.hidden": 9, "seed": 1}])
    assert batch_signature(configs[0]) == batch_signature(configs[1])
    assert batch_signature(base.with_overrides({"model.width": 6})) != batch_signature(base)
    unnormed = base.with_overrides({"model.prenorm": False})
    assert batch_signature(unnormed.with_overrides({"model.width": 6})) == batch_signature(unnormed)
    group, runs = train_both(configs)
    for i, run in enumerate(runs):
        assert_member_is_its_run(group, i, run)
    fc_out = group.net.views(group.P)["blocks.1.fc_out.weight"][0]
    assert fc_out.shape == (8, 9) and bool((fc_out[:, 4:] == 0).all())
    group, runs = train_both(variants(unnormed, [{"model.width": 6}, {"model.width": 8, "seed": 1}]))
    for i, run in enumerate(runs):
        assert_member_is_its_run(group, i, run)


def test_the_builder_batches_what_it_can_and_leaves_the_rest():
    base = Config(steps=4, eval_every=2, device="cpu", task={"name": "circle", "n_samples": 100})
    configs = [
        base,  # 0: mlp adam
        base.with_overrides({"optimizer.lr": 0.1, "model.hidden": [3, 4]}),  # 1: with 0 (widths pad)
        base.with_overrides({"model.activation": "relu"}),  # 2: its own group (another graph)
        base.with_overrides({"optimizer": "rmsprop"}),  # 3: left
        base.with_overrides({"model": "sparse-mlp"}),  # 4: left
        base.with_overrides({"model.hidden": [4]}),  # 5: its own group (another depth)
        base.with_overrides({"task.n_samples": 80}),  # 6: its own group (other data shapes)
        base.with_overrides({"trainer": "dst", "model": "sparse-mlp"}),  # 7: left
        base.with_overrides({"model.readout": "fixed-signs"}),  # 8: left (a frozen readout)
        base.with_overrides({"seed": 9}),  # 9: with 0 (other data, same shapes)
    ]
    members = members_of(configs)
    groups, left = build_batched_groups(members)
    assert sorted(sorted(m.index for m in g.members) for g in groups) == [[0, 1, 9], [2], [5], [6]]
    assert [m.index for m in left] == [3, 4, 7, 8]
    assert all(isinstance(g, BatchedGroup) for g in groups)
    planned = plan_groups(members)  # what the hand-written nets leave, torch.func takes where it can (func_ensemble.py)
    assert [type(g).__name__ for g in planned] == ["BatchedGroup"] * 4 + ["RunGroup"]  # 4 and 8 alone: Runs
    assert isinstance(planned[-1], RunGroup) and [m.index for m in planned[-1].members] == [3, 4, 7, 8]
    same = next(g for g in groups if len(g.members) == 3)
    assert not same.shared and same.Xtr.shape[0] == 2  # seeds 0 and 9: two data sets, members 0 and 1 share one


def test_a_sweep_trains_batched_by_default_and_answers_as_the_run_group():
    sweep = sweep_from_specs(Config(steps=20, batch_size=16, eval_every=5, device="cpu", task={"name": "moons", "n_samples": 100}),
                             ["optimizer.lr=0.01,0.05", "model.hidden=[4],[7]"], seeds=2)
    batched, reference = SweepRun(sweep), SweepRun(sweep, builders=[])
    assert [g.kind for g in batched.groups] == ["batched"] and batched.groups[0].shared is False
    for run in (batched, reference):
        while run.state != "done":
            run.step(6)
    a, b = batched.result(), reference.result()
    for x, y in zip(a.members, b.members, strict=True):
        assert (x.index, x.state, x.step) == (y.index, y.state, y.step) == (x.index, "running", 20)
        assert x.final.keys() == y.final.keys() and all(close(x.final[k], y.final[k], k) for k in y.final)
        assert x.history.steps == y.history.steps


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_a_frozen_member_leaves_the_fused_adam_update_and_the_others_as_alone(optimizer):
    base = Config(task={"name": "circle", "n_samples": 100}, model={"name": "mlp", "hidden": [6]},
                  optimizer={"name": optimizer, "weight_decay": 0.01}, batch_size=10, eval_every=5, device="cpu")
    configs = variants(base, [{"optimizer.lr": 0.01}, {"optimizer.lr": 0.03, "seed": 1}, {"optimizer.lr": 0.01, "seed": 2}])
    group = BatchedGroup(members_of(configs))
    assert group.fused is not None and len(group.fused.param_groups) == 2  # one group per distinct lr
    runs = [Run(member_config(c)) for c in configs]
    group.step(7)
    group.live[1] = False
    group._freeze(1)
    group.step(8)
    for i in (0, 2):
        runs[i].step(15)
        assert_member_is_its_run(group, i, runs[i])
    assert bool(group.P[1].eq(0).all()) and bool(group.moments("exp_avg")[1].abs().sum() > 0)  # state kept, row idle


# ---------------------------------------------------------------- TensorFlow Playground's options

TFP = Config(task={"name": "circle", "n_samples": 113}, model={"name": "mlp", "hidden": [5, 3], "activation": ["tanh"], "init": "tfp"},
             optimizer={"name": "sgd", "lr": 0.1}, loss="tfp", order="fixed", regularization="tfp", batch_size=10,
             eval_every=5, device="cpu")
TFP_MEMBERS = [{"l1": 0.3}, {"l2": 0.5, "seed": 2, "model.hidden": [4, 2]}, {"l1": 0.03, "l2": 0.1, "seed": 3},
               {"seed": 4, "optimizer.lr": 0.03}]


def assert_links_are_its_runs(group: BatchedGroup, i: int, run: Run) -> None:
    """Member i's dead links are exactly its Run's masked-out weights (none when its Run has no masks)."""
    links = group.links(i)
    masks = {f"{name}.weight": m.mask for name, m in masked_modules(run.model)}
    for name, mask in masks.items():
        assert torch.equal(links[name], mask), name
    if not masks:
        assert all(bool(v.all()) for v in links.values())


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_tfp_loss_order_and_regularization_train_exactly_as_alone(optimizer):
    """113 points, 56 to train, batches of 10: every 5th step is TFP's carried-over batch of 16; L1 kills links."""
    configs = variants(TFP.with_overrides({"optimizer": optimizer, "optimizer.lr": 0.1}), TFP_MEMBERS)
    group, runs = train_both(configs)
    assert group.fixed and group.tfp_reg and group.alive is not None
    for i, run in enumerate(runs):
        assert_member_is_its_run(group, i, run)
        assert_links_are_its_runs(group, i, run)
    dead = [int((m.mask == 0).sum()) for _, m in masked_modules(runs[0].model)]
    assert sum(dead) > 0  # the L1 member lost links, and the batched copy lost the same
    rebuilt = group.runs()
    assert rebuilt[0].samples_seen == runs[0].samples_seen == 25 * 10 + 6 * 4
    for run, alone in zip(rebuilt, runs, strict=True):
        assert [m.mask.tolist() for _, m in masked_modules(run.model)] == [m.mask.tolist() for _, m in masked_modules(alone.model)]


def test_tfp_loss_on_regression_and_the_residual_mlp_match_too():
    reg = TFP.with_overrides({"task": "reg-plane", "task.n_samples": 90, "batch_size": 0, "optimizer": "adam"})
    group, runs = train_both(variants(reg, [{"l1": 0.05}, {"seed": 1}]))
    assert group.loss.name == "tfp" and not group.loss.squash
    for i, run in enumerate(runs):
        assert_member_is_its_run(group, i, run)
        assert_links_are_its_runs(group, i, run)
    residual = TFP.with_overrides({"model": "residual-mlp", "model.width": 6, "model.blocks": 2, "model.hidden": 5,
                                   "model.activation": "tanh", "model.init": "tfp", "batch_size": 7})
    group, runs = train_both(variants(residual, [{"l1": 0.1}, {"seed": 1, "l2": 0.2}]))
    for i, run in enumerate(runs):
        assert_member_is_its_run(group, i, run)
        assert_links_are_its_runs(group, i, run)


def test_tfp_options_batch_and_split_groups_by_mode():
    assert batch_signature(TFP) is not None
    assert batch_signature(TFP) != batch_signature(TFP.with_overrides({"order": "shuffle"}))
    assert batch_signature(TFP) != batch_signature(TFP.with_overrides({"regularization": "penalty"}))
    assert batch_signature(TFP) == batch_signature(TFP.with_overrides({"l1": 0.1, "model.init": "zero"}))
