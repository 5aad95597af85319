"""Sweeps: axis parsing and validation, grid and random member counts, members that reproduce alone,
and the store round trip."""

from __future__ import annotations

import math

import pytest
import torch

from netarium.schema import SchemaError
from netarium.training.config import Config
from netarium.training.run import Run
from netarium.training.runs_io import load_sweep_result, save_sweep_result
from netarium.training.store import RunStore
from netarium.training.sweep import MAX_MEMBERS, Axis, Sweep, parse_axis, sweep_from_specs
from netarium.training.sweep_run import RunGroup, SweepRun, run_sweep


def test_ranges_expand_to_evenly_spaced_readable_values():
    assert parse_axis("optimizer.lr=log:1e-4:1:5").grid() == [1e-4, 1e-3, 1e-2, 0.1, 1.0]
    assert parse_axis("task.noise=lin:0:0.5:6").grid() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert parse_axis("model.hidden=int:2:16:4").kind == "int"
    assert parse_axis("batch_size=int:2:16:4").grid() == [2, 7, 11, 16]
    assert parse_axis("batch_size=int:1:3:9").grid() == [1, 2, 3]  # whole numbers, no repeats
    assert parse_axis("model.activation=tanh,relu").grid() == ["tanh", "relu"]
    assert parse_axis("model.hidden=[8],[8,8],[16, 16]").grid() == [[8], [8, 8], [16, 16]]
    assert parse_axis("l2=0,1e-3").grid() == [0, 0.001]


@pytest.mark.parametrize(("text", "match"), [
    ("optimizer.lr", "key=VALUES"),
    ("optimizer.lr=log:0:1:3", "positive bounds"),
    ("optimizer.lr=lin:a:1:3", "'a' is not a number"),
    ("optimizer.lr=lin:0:1:0", "from 1 to"),
    ("optimizer.lr=lin:0:1:2.5", "from 1 to"),
    ("batch_size=int:1.5:3:2", "whole bounds"),
    ("optimizer.lr=", "no values"),
])
def test_bad_axes_say_which_and_why(text, match):
    with pytest.raises(SchemaError, match=match):
        parse_axis(text)


def test_bad_values_name_the_axis_and_the_value_before_anything_trains():
    with pytest.raises(SchemaError, match=r"axis optimizer\.lr: value '20'.*optimizer\.lr"):
        sweep_from_specs(Config(), ["optimizer.lr=1,20"]).members()
    with pytest.raises(SchemaError, match=r"axis model\.widths: value '3'.*unknown key"):
        sweep_from_specs(Config(), ["model.widths=3"]).members()
    with pytest.raises(SchemaError, match="appears twice"):
        sweep_from_specs(Config(), ["l2=0,1", "l2=1"])
    with pytest.raises(SchemaError, match=f"at most {MAX_MEMBERS:,}"):
        sweep_from_specs(Config(), ["optimizer.lr=log:1e-4:1:100", "l2=lin:0:1:11"]).members()


def test_grid_and_random_member_counts_and_seeds():
    base = Config(seed=5)
    grid = sweep_from_specs(base, ["optimizer.lr=log:1e-3:1e-1:3", "model.activation=tanh,relu"], seeds=2)
    members = grid.members()
    assert grid.size() == len(members) == 3 * 2 * 2
    assert [m.config.seed for m in members[:4]] == [5, 6, 5, 6]  # seeds 0..S-1 on top of the base seed
    assert [(m.point["optimizer.lr"], m.point["model.activation"]) for m in members[::2]] == [
        (0.001, "tanh"), (0.001, "relu"), (0.01, "tanh"), (0.01, "relu"), (0.1, "tanh"), (0.1, "relu")]
    assert all(m.config.optimizer.lr == m.point["optimizer.lr"] for m in members)
    assert [m.index for m in members] == list(range(12))
    rnd = sweep_from_specs(base, ["optimizer.lr=log:1e-4:1:2", "model.activation=tanh,relu"], samples=7, seeds=3)
    drawn = rnd.members()
    assert rnd.size() == len(drawn) == 21
    lrs = [m.point["optimizer.lr"] for m in drawn[::3]]
    assert all(1e-4 <= lr <= 1 for lr in lrs) and len(set(lrs)) == 7  # log-uniform draws, not the 2 grid points
    assert [m.point for m in rnd.members()] == [m.point for m in drawn]  # the draws are seeded
    assert Sweep.from_json(rnd.to_json()) == rnd


def test_a_sweep_member_trains_exactly_as_its_config_alone():
    sweep = sweep_from_specs(Config(steps=30, batch_size=32), ["optimizer.lr=0.01,0.1"], seeds=2)
    result = run_sweep(sweep, builders=[])
    for m in result.members:
        alone = Run(m.config)
        alone.train()
        assert m.step == 30 and alone.step_count == 30
        assert m.final["train_loss"] == pytest.approx(alone.final_metrics()["train_loss"], rel=1e-6)


def test_divergence_of_one_member_leaves_the_others_training():
    sweep = sweep_from_specs(Config(steps=40, optimizer={"name": "sgd"}, task={"name": "reg-plane"}),
                             ["optimizer.lr=0.01,10"])
    run = SweepRun(sweep, builders=[])
    run.step(40)
    states = {m.point["optimizer.lr"]: m for m in run.member_snapshots()}
    assert states[10.0].state == "diverged" and "learning rate 10" in states[10.0].reason
    assert states[0.01].state == "running" and states[0.01].step == 40 and run.state == "done"
    finals = {m.point["optimizer.lr"]: m.final for m in run.result().members}
    assert math.isfinite(finals[0.01]["train_loss"]) and finals[0.01]["train_loss"] < 1.0


def test_a_sweep_and_its_members_survive_the_store(tmp_path):
    sweep = sweep_from_specs(Config(steps=20), ["model.hidden=[4],[6]"], seeds=2)
    result = run_sweep(sweep, builders=[])
    with RunStore(tmp_path / "s.db") as store:
        sweep_id = save_sweep_result(store, result, name="widths")
        back = load_sweep_result(store, sweep_id)
        assert store.list_runs() == []  # members are not listed as plain runs
        assert [s.name for s in store.list_sweeps()] == ["widths"]
        assert back.sweep == sweep and len(back.members) == 4
        for a, b in zip(result.members, back.members, strict=True):
            assert (a.index, a.point, a.config, a.step) == (b.index, b.point, b.config, b.step)
            assert b.state == "done" and a.final == b.final and a.history.as_dict() == b.history.as_dict()
        store.delete_sweep(sweep_id)
        assert store.list_sweeps() == [] and store._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0


def test_a_run_group_member_keeps_a_small_history():
    sweep = Sweep(base=Config(steps=5, history_points=5000), axes=[Axis(key="seed", values=[1])])
    group = RunGroup(sweep.members())
    assert group.runs()[0].history.max_points == 400 and torch.equal(
        group.runs()[0].task.X_train, Run(Config(seed=1)).task.X_train)


def test_train_configs_gives_back_runs_equal_to_each_config_trained_alone_on_a_shared_task():
    from netarium.tasks import make_task
    from netarium.training.sweep_run import train_configs

    base = Config(steps=25, batch_size=16, model={"name": "mlp", "hidden": [6]}, optimizer={"name": "adam"})
    configs = [base.with_overrides({"seed": 3}), base.with_overrides({"seed": 4, "model.hidden": [9]}),
               base.with_overrides({"model.name": "sparse-mlp", "steps": 10})]  # the last is not batched
    task = make_task("spiral", base.task, seed=7)
    seen: list[int] = []
    runs = train_configs(configs, lambda done, total: seen.append(done), task=task)
    assert seen[-1] == 25 + 25 + 10 and seen == sorted(seen)
    for config, run in zip(configs, runs, strict=True):
        alone = Run(config, task=task).train()
        assert torch.equal(run.task.X_train, task.X_train) and run.step_count == alone.step_count == config.steps
        for (name, p), q in zip(run.model.named_parameters(), alone.model.parameters(), strict=True):
            assert torch.allclose(p, q, rtol=1e-5, atol=1e-6), name
        assert run.final_metrics()["test_loss"] == pytest.approx(alone.final_metrics()["test_loss"], rel=1e-5)
