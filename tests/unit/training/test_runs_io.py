"""Saving a live run into the store, exporting runs as CSV and JSON, and the runs table's rows."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from netarium.models.masks import masked_modules
from netarium.models.sparse import MaskedLinear
from netarium.training import Config
from netarium.training.config import parse_config
from netarium.training.live import LiveRun
from netarium.training.run import Run
from netarium.training.runs_io import (
    CSV_COLUMNS,
    export_csv,
    export_json,
    headline_metric,
    history_series,
    human_time,
    load_run,
    load_weights,
    member_status,
    ranked_members,
    run_label,
    run_rows,
    save_live_run,
)
from netarium.training.store import CheckpointError, RunStore

CFG = Config(task={"name": "circle", "n_samples": 200}, model={"name": "mlp", "hidden": [4]}, eval_every=5, device="cpu")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "netarium.db") as s:
        yield s


@pytest.fixture
def live() -> Iterator[LiveRun]:
    lr = LiveRun(CFG)
    yield lr
    lr.close()


def trained(live: LiveRun, n: int) -> LiveRun:
    live.step(n)
    live.worker.wait_for(lambda s: s.step == n)
    return live


def stored(store: RunStore, name: str, final: dict[str, float], points: list[tuple[str, int, float]],
           experiment: str | None = "playground") -> int:
    rid = store.create_run(CFG.model_dump(mode="json"), experiment=experiment, name=name)
    store.append_history(rid, points)
    store.finish(rid, final, steps=max((p[1] for p in points), default=0), seconds=1.25)
    return rid


def test_save_live_run_stores_config_history_checkpoint_and_final(store: RunStore, live: LiveRun) -> None:
    trained(live, 20)
    rid = save_live_run(store, live, "  circle  ", "first try")
    final_then = dict(live.run.metrics)
    rec = store.get_run(rid)
    assert (rec.name, rec.notes, rec.experiment, rec.status, rec.steps) == ("circle", "first try", None, "running", 20)
    assert rec.config == CFG.model_dump(mode="json")
    assert rec.seconds == pytest.approx(live.run.seconds) and rec.seconds > 0
    assert rec.final == pytest.approx(live.run.metrics) and {"train_loss", "test_loss", "test_acc"} <= set(rec.final)
    history = history_series(store, rid)
    for metric in live.run.history.metrics():
        steps, values = live.run.history.series(metric)
        assert history[metric][0] == steps and history[metric][1] == pytest.approx(values)
    assert history["test_loss"][0][-1] == 20  # evaluated every 5 steps: 5, 10, 15, 20
    ((step, _path),) = store.checkpoints(rid)
    assert step == 20
    weights = store.load_checkpoint(rid)
    state = live.run.model.state_dict()
    assert set(weights) == set(state) and all(torch.equal(weights[k], state[k]) for k in state)
    live.restart()  # the session's run is replaced: the saved one ends, done at its last step
    rec = store.get_run(rid)
    assert (rec.status, rec.steps) == ("done", 20) and rec.final == pytest.approx(final_then)
    assert history_series(store, rid)["test_loss"][0] == [5, 10, 15, 20]


def test_a_saved_live_run_streams_as_it_plays_and_ends_done(store: RunStore, live: LiveRun,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETARIUM_SAVE_EVERY", "0.1")
    trained(live, 10)
    rid = save_live_run(store, live, "follows")
    assert store.get_run(rid).status == "running"
    live.play()
    live.worker.wait_for(lambda s: s.step >= 400)
    deadline = time.monotonic() + 30
    while store.get_run(rid).steps < 200 and time.monotonic() < deadline:  # a flush every 0.1 s of playing
        time.sleep(0.05)
    live.pause()
    mid = store.get_run(rid)
    assert mid.status == "running" and mid.steps >= 200
    (ckpt_step, _), = store.checkpoints(rid)  # only the latest
    assert ckpt_step == mid.steps
    assert max(history_series(store, rid)["test_loss"][0]) >= 200
    again = save_live_run(store, live, "second")  # a new save: the first saved run ends at this step
    first = store.get_run(rid)
    assert first.status == "done" and first.steps == live.run.step_count
    steps, _ = live.run.history.series("test_loss")
    assert set(steps) <= set(history_series(store, rid)["test_loss"][0])
    live.close()
    assert store.get_run(again).status == "done"


def test_a_saved_live_run_deleted_while_it_follows_ends_quietly(store: RunStore, live: LiveRun) -> None:
    rid = save_live_run(store, trained(live, 10))
    store.delete_run(rid)
    live.step(5)
    live.restart()  # its end cannot be recorded: logged, no error, the session goes on
    assert [r.id for r in store.list_runs()] == [] and live.run.step_count == 0


def test_save_while_playing_is_consistent(store: RunStore, live: LiveRun) -> None:
    live.play()
    live.worker.wait_for(lambda s: s.step >= 10)
    rid = save_live_run(store, live)
    live.pause()
    rec = store.get_run(rid)
    ((step, _),) = store.checkpoints(rid)
    assert step == rec.steps >= 10
    assert max(history_series(store, rid)["test_loss"][0]) <= rec.steps
    assert rec.name == "" and rec.notes == ""


def test_diverged_live_run_is_saved_as_diverged(store: RunStore) -> None:
    live = LiveRun(CFG)
    try:
        trained(live, 5)
        with live.worker.lock:
            live.run.state, live.run.reason = "diverged", "loss became nan at step 5"
        rid = save_live_run(store, live)
    finally:
        live.close()
    rec = store.get_run(rid)
    assert rec.status == "diverged" and rec.reason == "loss became nan at step 5"


def test_export_csv_has_one_row_per_point(store: RunStore) -> None:
    a = stored(store, "alpha", {"test_acc": 0.9}, [("test_loss", 10, 0.5), ("test_loss", 20, 0.25), ("test_acc", 20, 0.9)])
    b = stored(store, "beta, with comma", {"test_loss": math.nan}, [("test_loss", 5, math.nan)], experiment=None)
    stored(store, "gamma", {}, [("test_loss", 1, 1.0)])  # not exported
    rows = list(csv.reader(io.StringIO(export_csv(store, [a, b]))))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [(int(r[0]), r[1], r[2], r[3], int(r[4]), float(r[5])) for r in rows[1:]]
    assert len(body) == 4
    assert (a, "alpha", "playground", "test_loss", 20, 0.25) in body
    assert (a, "alpha", "playground", "test_acc", 20, 0.9) in body
    (nan_row,) = [r for r in body if r[0] == b]
    assert nan_row[1:5] == ("beta, with comma", "", "test_loss", 5) and math.isnan(nan_row[5])
    assert {r[0] for r in body} == {a, b}


def test_export_json_round_trips(store: RunStore) -> None:
    a = stored(store, "alpha", {"test_acc": 0.9, "test_loss": math.inf}, [("test_loss", 10, 0.5), ("test_loss", 20, math.nan)])
    store.set_notes(a, "note")
    b = stored(store, "beta", {"test_loss": 0.1}, [("train_loss", 3, 0.3)])
    items = json.loads(export_json(store, [b, a]))  # strict JSON: no NaN tokens
    assert [i["id"] for i in items] == [b, a]
    first = items[1]
    assert first["name"] == "alpha" and first["experiment"] == "playground" and first["notes"] == "note"
    assert Config.model_validate(first["config"]) == CFG
    assert first["final"] == {"test_acc": 0.9, "test_loss": "inf"}
    assert first["history"] == {"test_loss": [[10, 0.5], [20, "nan"]]}
    assert items[0]["history"] == {"train_loss": [[3, 0.3]]} and items[0]["status"] == "done"
    assert export_json(store, []) == "[]"


def test_rows_labels_and_headline_metric(store: RunStore) -> None:
    a = stored(store, "alpha", {"test_acc": 0.9, "test_loss": 0.3}, [("test_loss", 10, 0.3)])
    b = stored(store, "", {"test_r2": 0.5}, [], experiment=None)
    store.set_notes(b, "regression")
    rows = run_rows(store.list_runs())
    assert [r["id"] for r in rows] == [b, a]
    assert rows[1]["name"] == "alpha" and rows[1]["test metric"] == "test_acc" and rows[1]["final"] == 0.9
    assert rows[1]["steps"] == 10 and rows[1]["seconds"] == 1.25 and rows[1]["created"].startswith("today ")
    assert rows[0]["test metric"] == "test_r2" and rows[0]["notes"] == "regression" and rows[0]["experiment"] == ""
    assert headline_metric({"train_loss": 1.0}) == ("", pytest.approx(math.nan, nan_ok=True))
    assert headline_metric({"test_acc": 0.7, "test_auc": 0.85}) == ("test_auc", 0.85)  # a ctr run ranks by AUC
    assert run_label(store.get_run(a)) == f"#{a} alpha" and run_label(store.get_run(b)) == f"#{b}"


def test_sweep_members_rank_best_first_and_end_as_done_stopped_or_diverged() -> None:
    from netarium.training.history import History
    from netarium.training.sweep_run import MemberResult

    def member(i: int, final: dict[str, float], state: str = "running", step: int = 100) -> MemberResult:
        return MemberResult(i, {}, CFG, state, "", step, History(), final)

    accs = [member(0, {"test_acc": 0.7}), member(1, {}, "diverged", 12), member(2, {"test_acc": 0.9}),
            member(3, {"test_acc": 0.7}), member(4, {"test_acc": math.nan}), member(5, {"test_acc": 0.8}, "failed")]
    assert [m.index for m in ranked_members(accs)] == [2, 0, 3, 1, 4, 5]  # ties in member order
    losses = [member(0, {"test_loss": 0.5}), member(1, {"test_loss": 0.1}), member(2, {"test_loss": 0.3})]
    assert [m.index for m in ranked_members(losses)] == [1, 2, 0]  # a loss ranks low first
    r2 = [member(0, {"test_r2": 0.5, "test_loss": 0.1}), member(1, {"test_r2": 0.8, "test_loss": 0.2})]
    assert [m.index for m in ranked_members(r2)] == [1, 0]  # R² before loss, high first
    assert [member_status(m, 100) for m in accs[:2]] == ["done", "diverged"]
    assert member_status(member(6, {}, step=40), 100) == "stopped" and member_status(accs[5], 100) == "failed"


def test_human_time() -> None:
    now = time.mktime((2025, 3, 10, 12, 0, 0, 0, 0, -1))
    assert human_time(now - 3600, now) == "today 11:00"
    assert human_time(now - 86400, now) == "yesterday 12:00"
    assert human_time(time.mktime((2024, 12, 31, 9, 5, 0, 0, 0, -1)), now) == "2024-12-31 09:05"


def test_saving_between_evaluations_evaluates_without_touching_the_live_history(store: RunStore, live: LiveRun) -> None:
    trained(live, 7)  # evaluated at 5, not at 7
    before = live.run.history.copy()
    rid = save_live_run(store, live)
    assert live.run.history.steps == before.steps and live.run.history.values == before.values
    history = history_series(store, rid)
    assert history["test_loss"][0] == [5, 7] and history["test_acc"][0] == [5, 7]
    assert store.get_run(rid).final["test_loss"] == pytest.approx(history["test_loss"][1][-1])


@pytest.mark.parametrize("include_readout", [True, False])
def test_a_run_pruned_live_reloads_pruned_from_the_store(store: RunStore, include_readout: bool) -> None:
    cfg = Config(task={"name": "spiral", "n_samples": 200}, model={"name": "mlp", "hidden": [8, 8], "activation": "relu"},
                 eval_every=5, seed=1, device="cpu")
    live = LiveRun(cfg, idle_pause_seconds=None)
    try:
        trained(live, 20)
        stats = live.prune(0.5, "global", include_readout)
        assert stats["added"] == ["layers.0.linear", "layers.1.linear", *(["readout"] if include_readout else [])]
        live.step(30)  # training goes on from the pruned weights before the save
        live.worker.wait_for(lambda s: s.step == 50)
        rid = save_live_run(store, live, name="pruned")
        pruned = live.run.model
        x = live.run.task.X_test
        with torch.no_grad():
            expected = pruned(x)
    finally:
        live.close()
    saved = store.get_run(rid)
    assert saved.config == cfg.model_dump(mode="json")  # the Config stays the dense description
    with pytest.raises(RuntimeError, match="mask"):  # the dense model it builds cannot take the masks by itself
        Run(parse_config(saved.config)).model.load_state_dict(store.load_checkpoint(rid))

    run = load_run(store, rid)
    masks = {n: m.mask for n, m in masked_modules(pruned)}
    reloaded = dict(masked_modules(run.model))
    assert sorted(reloaded) == sorted(masks) and all(isinstance(m, MaskedLinear) for m in reloaded.values())
    assert ("readout" in reloaded) == include_readout
    for name, mask in masks.items():
        assert torch.equal(reloaded[name].mask, mask)
        assert 0.2 < float(mask.mean()) < 1.0  # really pruned, not an all-ones mask
    assert {k: v.shape for k, v in run.model.state_dict().items()} == {k: v.shape for k, v in pruned.state_dict().items()}
    for key, value in pruned.state_dict().items():
        assert torch.equal(run.model.state_dict()[key], value), key
    with torch.no_grad():
        assert torch.equal(run.model(x), expected)
    assert run.masked == list(reloaded.values())  # the Run keeps the reloaded masks while it trains on
    run.step(10)
    for name, m in reloaded.items():
        assert bool((m.weight[masks[name] == 0] == 0).all()), name


def test_load_weights_leaves_a_dense_checkpoint_dense(store: RunStore, live: LiveRun) -> None:
    rid = save_live_run(store, trained(live, 10))
    run = load_run(store, rid)
    assert list(masked_modules(run.model)) == []
    for key, value in live.run.model.state_dict().items():
        assert torch.equal(run.model.state_dict()[key], value), key
    with pytest.raises(CheckpointError, match=r"^the checkpoint does not fit the model: layers.0.linear.weight has shape \(4, 2\), the model's \(5, 2\); "):
        load_weights(Run(CFG.with_overrides(["model.hidden=5"])).model, store.load_checkpoint(rid))  # another architecture
