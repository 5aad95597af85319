"""The torch.func batched path: a KAN, a quadratic net (its slower quadratic terms), an hourglass (its
frozen lift) and a transformer on modular arithmetic (tokens) train as one program per architecture,
each member as its Config alone (losses, metrics and weights within 1e-4: vmapped products sum in
another order than one model's); the builders split
the work between the hand-written nets, torch.func and Runs."""

from __future__ import annotations

import pytest
import torch

from netarium.training.config import Config
from netarium.training.ensemble import BatchedGroup, build_batched_groups
from netarium.training.func_ensemble import FuncGroup, build_func_groups, func_signature
from netarium.training.run import Run
from netarium.training.sweep import sweep_from_specs
from netarium.training.sweep_run import RunGroup, SweepRun, member_config, plan_groups
from tests.unit.training.test_ensemble import CHUNKS, members_of, variants
from tests.unit.training.test_ensemble import assert_member_is_its_run as _same
from tests.unit.training.test_ensemble import close as _close
from tests.unit.training.test_ensemble import train_both as _train_both

RTOL = 1e-4


def close(a: float, b: float, metric: str = "") -> bool:
    return _close(a, b, metric, RTOL)


def assert_member_is_its_run(group, i: int, run: Run) -> None:
    _same(group, i, run, RTOL)

KAN = Config(task={"name": "spiral", "n_samples": 120}, model={"name": "kan", "hidden": [3]}, eval_every=5, device="cpu")
QUADRATIC = Config(task={"name": "circle", "n_samples": 120}, model={"name": "quadratic", "hidden": [3], "quadratic_lr": 0.1},
                   eval_every=5, device="cpu")
HOURGLASS = Config(task={"name": "xor", "n_samples": 120}, model={"name": "hourglass", "wide": 16, "bottleneck": 4, "blocks": 2},
                   eval_every=5, device="cpu")
SPARSE = Config(task={"name": "spiral", "n_samples": 120}, model={"name": "sparse-mlp", "hidden": [8, 8], "groups": 4, "k": 2},
                 eval_every=5, device="cpu")
FINAL = Config(task={"name": "spiral", "n_samples": 120}, model={"name": "finalmlp"}, eval_every=5, device="cpu")
MODULAR = Config(task={"name": "modular", "M": 7}, model={"name": "transformer", "layers": 1, "d_model": 16, "heads": 2,
                 "d_mlp": 32}, eval_every=5, device="cpu")

SGD = [{"optimizer.lr": 0.1}, {"optimizer.lr": 0.03, "seed": 3, "optimizer.momentum": 0.9},
       {"optimizer.weight_decay": 0.01, "l2": 1e-3, "trainer.grad_clip": 0.5, "seed": 1}]
ADAM = [{"optimizer.lr": 0.01}, {"optimizer.lr": 0.003, "seed": 2, "optimizer.beta1": 0.8},
        {"optimizer.weight_decay": 0.01, "l1": 1e-4, "trainer.grad_clip": 0.2, "seed": 4}]


def train_both(configs: list[Config], chunks: tuple[int, ...] = CHUNKS) -> tuple[FuncGroup, list[Run]]:
    return _train_both(configs, chunks, FuncGroup)  # type: ignore[return-value]


@pytest.mark.parametrize("base", [KAN, QUADRATIC, HOURGLASS, SPARSE, FINAL],
                         ids=["kan", "quadratic", "hourglass", "sparse-mlp", "finalmlp"])
@pytest.mark.parametrize(("optimizer", "changes", "batch_size"), [("sgd", SGD, 32), ("adam", ADAM, 0), ("adamw", ADAM, 32)])
def test_every_member_trains_exactly_as_its_config_alone(base, optimizer, changes, batch_size):
    check_against_runs(variants(base.with_overrides({"optimizer": optimizer, "batch_size": batch_size}), changes))


def test_a_transformer_on_tokens_trains_as_alone_too():
    # 10 SGD steps: training this transformer is chaotic (two lone Runs 1e-7 apart are 3e-2 apart after 25
    # steps), and under Adam the key bias, whose gradient is 0 in exact arithmetic (softmax ignores a shift
    # shared by a query's scores), takes full-size steps on rounding noise alone
    check_against_runs(variants(MODULAR.with_overrides({"optimizer": "sgd", "batch_size": 8, "eval_every": 2}),
                                [{"optimizer.lr": 0.03}, {"optimizer.lr": 0.01, "seed": 3, "optimizer.momentum": 0.9},
                                 {"optimizer.weight_decay": 0.01, "l2": 1e-3, "trainer.grad_clip": 0.5, "seed": 1}]), (3, 7))


def check_against_runs(configs: list[Config], chunks: tuple[int, ...] = CHUNKS) -> None:
    group, runs = train_both(configs, chunks)
    assert group.K == len(configs) and group.kind == "batched"
    for i, run in enumerate(runs):
        assert run.step_count == sum(chunks) and run.state == "running"
        assert_member_is_its_run(group, i, run)
    for mine, theirs in zip(group.final_metrics(), [r.final_metrics() for r in runs], strict=True):
        assert mine.keys() == theirs.keys() and all(close(mine[k], theirs[k], k) for k in theirs), (mine, theirs)


def test_frozen_parameters_and_lr_factors_are_kept_out_of_the_update():
    group = FuncGroup(members_of(variants(HOURGLASS, [{"seed": 0}, {"seed": 1}])))
    assert "lift.weight" not in {s.name for s in group.net.slots} and "lift.weight" in group.net.consts
    lift = group.net.consts["lift.weight"].clone()
    assert not torch.equal(lift[0], lift[1])  # each member's own random lift, from its seed
    group.step(10)
    assert torch.equal(group.net.consts["lift.weight"], lift)
    assert torch.equal(group.member_run(1).model.lift.weight, lift[1])
    quad = FuncGroup(members_of(variants(QUADRATIC, [{"seed": 0}])))
    assert quad.lr_scale is not None and quad.fused is None  # torch's fused Adam takes one lr per row
    model = quad.member_run(0).model
    declared = {id(p): f for p, f in model.lr_factors().items()}
    expected = {n: declared.get(id(p), 1.0) for n, p in model.named_parameters()}
    scales = {s.name: set(quad.lr_scale[0, s.offset : s.offset + s.size].tolist()) for s in quad.net.slots}
    assert scales == {n: {torch.tensor(f).item()} for n, f in expected.items()}  # as float32
    assert sorted(set(expected.values())) == [0.1, 1.0]


def test_a_diverging_member_is_frozen_and_the_other_trains_as_alone():
    base = Config(task={"name": "reg-plane", "n_samples": 100}, model={"name": "kan", "hidden": [3]},
                  optimizer={"name": "sgd"}, eval_every=10, device="cpu")
    configs = variants(base, [{"optimizer.lr": 10.0}, {"optimizer.lr": 0.05}])
    group = FuncGroup(members_of(configs))
    runs = [Run(member_config(c)) for c in configs]
    for n in (15, 10):
        group.step(n)
        for run in runs:
            run.step(n)
    diverged, alone = group.states()[0], runs[0]
    assert alone.state == diverged.state == "diverged" and diverged.reason == alone.reason
    assert diverged.step == alone.step_count and group.live[0] is False and bool(group.P[0].eq(0).all())
    assert_member_is_its_run(group, 1, runs[1])


def test_the_builders_split_members_between_the_nets_torch_func_and_runs():
    base = Config(steps=4, eval_every=2, device="cpu", task={"name": "circle", "n_samples": 100})
    configs = [
        base,  # 0: hand-written mlp
        base.with_overrides({"model": "kan"}),  # 1: func
        base.with_overrides({"model": "kan", "optimizer.lr": 0.1, "seed": 2}),  # 2: with 1
        base.with_overrides({"model": "kan", "model.grid": 7}),  # 3: left (alone in its shapes: a Run is faster)
        base.with_overrides({"model.readout": "fixed-signs"}),  # 4: func (the hand-written nets refuse a frozen readout)
        base.with_overrides({"model.readout": "fixed-signs", "seed": 4}),  # 5: with 4
        base.with_overrides({"model": "kan", "optimizer": "rmsprop"}),  # 6: left
        base.with_overrides({"model": "transformer", "task": "reverse"}),  # 7: left (a sequence task)
        base.with_overrides({"model": "transformer", "task": "reverse", "seed": 1}),  # 8: left (a sequence task)
    ]
    assert func_signature(configs[0]) is None and func_signature(configs[6]) is None
    members = members_of(configs)
    hand, rest = build_batched_groups(members)
    assert [sorted(m.index for m in g.members) for g in hand] == [[0]]
    funcs, left = build_func_groups(rest)
    assert sorted(sorted(m.index for m in g.members) for g in funcs) == [[1, 2], [4, 5]]
    assert all(isinstance(g, FuncGroup) for g in funcs) and [m.index for m in left] == [3, 6, 7, 8]
    planned = plan_groups(members)
    assert [type(g).__name__ for g in planned] == ["BatchedGroup", "FuncGroup", "FuncGroup", "RunGroup"]
    assert isinstance(planned[0], BatchedGroup) and isinstance(planned[-1], RunGroup)


def test_a_sweep_over_a_kan_trains_batched_and_answers_as_the_run_group():
    sweep = sweep_from_specs(Config(steps=20, batch_size=16, eval_every=5, device="cpu", task={"name": "moons", "n_samples": 100},
                                    model={"name": "kan", "hidden": [3]}), ["optimizer.lr=0.01,0.05"], seeds=2)
    batched, reference = SweepRun(sweep), SweepRun(sweep, builders=[])
    assert [g.kind for g in batched.groups] == ["batched"] and isinstance(batched.groups[0], FuncGroup)
    for run in (batched, reference):
        while run.state != "done":
            run.step(6)
    for x, y in zip(batched.result().members, reference.result().members, strict=True):
        assert (x.index, x.state, x.step) == (y.index, y.state, y.step) == (x.index, "running", 20)
        assert x.final.keys() == y.final.keys() and all(close(x.final[k], y.final[k], k) for k in y.final)
        assert x.history.steps == y.history.steps


def test_members_of_a_task_scored_by_auc_train_as_runs():
    base = Config(steps=4, eval_every=2, device="cpu", task={"name": "ctr", "n_samples": 400}, model={"name": "finalmlp"})
    funcs, left = build_func_groups(members_of(variants(base, [{"seed": 0}, {"seed": 1}])))
    assert funcs == [] and [m.index for m in left] == [0, 1]
