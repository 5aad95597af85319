"""Streamed saves: a run's writer and heartbeat, the 'interrupted' state, appends and RunWriter's flushes."""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from netarium.training.config import Config
from netarium.training.history import History
from netarium.training.run import Run
from netarium.training.runs_io import (
    RunWriter,
    history_points,
    kept_history,
    last_values,
    load_run,
    save_every,
)
from netarium.training.store import (
    SCHEMA_VERSION,
    STALE_AFTER_S,
    RunStore,
    run_status,
    writer_gone,
    writer_id,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "netarium.db") as s:
        yield s


def _dead_pid() -> int:
    """The id of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _set_writer(store: RunStore, rid: int, writer: str | None, heartbeat: float | None) -> None:
    with sqlite3.connect(store.path) as raw:
        raw.execute("UPDATE runs SET writer = ?, heartbeat = ? WHERE id = ?", (writer, heartbeat, rid))


def test_writer_gone_rules() -> None:
    host, now = socket.gethostname(), 1_000_000.0
    assert not writer_gone(None, None, now)  # saved in one go: no writer, never interrupted
    assert not writer_gone(writer_id(), now - 1, now)  # this process, fresh heartbeat
    assert not writer_gone(writer_id(), now - 10 * STALE_AFTER_S, now)  # alive here (a paused session): not gone
    assert writer_gone(f"{_dead_pid()}@{host}", now, now)  # dead pid on this host, heartbeat fresh
    assert not writer_gone(f"{_dead_pid()}@another-host", now, now)  # another host: only the heartbeat says
    assert writer_gone("123@another-host", now - STALE_AFTER_S - 1, now)
    assert writer_gone("123@another-host", None, now)
    assert run_status("running", f"{_dead_pid()}@{host}", now, now) == "interrupted"
    assert run_status("done", f"{_dead_pid()}@{host}", now, now) == "done"
    assert run_status("running", None, None, now) == "running"


def test_streamed_run_states(store: RunStore) -> None:
    rid = store.create_run({"seed": 1}, experiment="x", stream=True)
    rec = store.get_run(rid)
    assert (rec.status, rec.writer) == ("running", writer_id())
    assert rec.heartbeat is not None and abs(rec.heartbeat - rec.created) < 1e-6
    store.beat(rid, steps=40, seconds=2.5)
    rec = store.get_run(rid)
    assert (rec.status, rec.steps, rec.seconds) == ("running", 40, 2.5)
    # the writer died: read back as interrupted, in get_run and list_runs, and in another store object
    _set_writer(store, rid, f"{_dead_pid()}@{socket.gethostname()}", rec.heartbeat)
    assert store.get_run(rid).status == "interrupted"
    with RunStore(store.path) as other:
        assert [r.status for r in other.list_runs()] == ["interrupted"]
    # a stale heartbeat from another machine too
    _set_writer(store, rid, "1@elsewhere", rec.heartbeat - STALE_AFTER_S - 5)
    assert store.get_run(rid).status == "interrupted"
    # finished: done, whatever the writer
    store.finish(rid, {"loss": 0.5}, steps=50, seconds=3.0)
    assert store.get_run(rid).status == "done"
    with pytest.raises(ValueError, match="status must be one of"):
        store.update_run(rid, status="interrupted")  # a read state, never written
    # a plain (not streamed) run left running stays running: nothing says its writer is gone
    plain = store.create_run({"seed": 2})
    assert (store.get_run(plain).status, store.get_run(plain).writer) == ("running", None)


def test_replace_history_and_checkpoint_replace(store: RunStore) -> None:
    rid = store.create_run({}, stream=True)
    store.append_history(rid, [("loss", 1, 0.9), ("loss", 2, 0.5)])
    store.append_history(rid, [("loss", 3, 0.4), ("acc", 3, 0.6)])
    assert store.history(rid) == {"acc": [(3, 0.6)], "loss": [(1, 0.9), (2, 0.5), (3, 0.4)]}
    store.replace_history(rid, [("loss", 10, 0.1)])
    assert store.history(rid) == {"loss": [(10, 0.1)]}
    first = store.save_checkpoint(rid, {"w": torch.ones(2)}, 5)
    store.save_checkpoint(rid, {"w": torch.full((2,), 2.0)}, 9)
    assert [s for s, _ in store.checkpoints(rid)] == [5, 9]  # plain saves keep every checkpoint
    store.save_checkpoint(rid, {"w": torch.full((2,), 3.0)}, 12, replace=True)
    assert [s for s, _ in store.checkpoints(rid)] == [12]
    assert not first.exists()
    assert torch.equal(store.load_checkpoint(rid)["w"], torch.full((2,), 3.0))


def test_migration_adds_writer_columns_to_an_old_store(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with RunStore(db) as s:
        rid = s.create_run({"seed": 4}, name="old")
        s.finish(rid, {"loss": 1.0}, steps=3, seconds=0.1)
    with sqlite3.connect(db) as raw:  # back to schema 2: without the writer columns
        raw.execute("ALTER TABLE runs DROP COLUMN writer")
        raw.execute("ALTER TABLE runs DROP COLUMN heartbeat")
        raw.execute("PRAGMA user_version = 2")
    with RunStore(db) as s:
        assert s.schema_version == SCHEMA_VERSION == 3
        rec = s.get_run(rid)
        assert (rec.name, rec.status, rec.writer, rec.heartbeat) == ("old", "done", None, None)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_run_writer_appends_new_points_and_finishes(store: RunStore) -> None:
    clock = FakeClock()
    calls: list[tuple[int, int]] = []
    w = RunWriter(store, {"seed": 0}, experiment="e", every=5.0, progress=lambda d, t: calls.append((d, t)), clock=clock)
    w(3, 10)
    assert calls == [(3, 10)]
    assert store.get_run(w.run_id).status == "running"
    assert not w.due()
    clock.t = 5.0
    assert w.due()
    h = History()
    h.record(10, {"loss": 1.0, "acc": 0.5})
    h.record(20, {"loss": 0.5, "acc": 0.75})
    source = object()
    w.flush(source, h, 20, lambda: {"w": torch.zeros(3)})
    assert not w.due() and w.flushes == 1
    assert store.history(w.run_id) == {"acc": [(10, 0.5), (20, 0.75)], "loss": [(10, 1.0), (20, 0.5)]}
    assert store.get_run(w.run_id).steps == 20
    h.record(30, {"loss": 0.25, "acc": 1.0})
    clock.t = 10.0
    w.flush(source, h, 30, lambda: {"w": torch.ones(3)})
    assert store.history(w.run_id)["loss"] == [(10, 1.0), (20, 0.5), (30, 0.25)]
    assert [s for s, _ in store.checkpoints(w.run_id)] == [30]
    # another loop (a second training phase) starts over: its history replaces the stored one
    h2 = History()
    h2.record(5, {"loss": 2.0})
    w.flush(object(), h2, 5)
    assert store.history(w.run_id) == {"loss": [(5, 2.0)]}
    w.finish([("loss", 40, 0.125)], {"loss": 0.125}, 40, 12.0, weights={"w": torch.full((3,), 7.0)}, reason="")
    rec = store.get_run(w.run_id)
    assert (rec.status, rec.steps, rec.seconds, rec.final) == ("done", 40, 12.0, {"loss": 0.125})
    assert store.history(w.run_id) == {"loss": [(40, 0.125)]}
    assert [s for s, _ in store.checkpoints(w.run_id)] == [40]


def test_run_train_hands_history_and_weights_to_a_writer(store: RunStore) -> None:
    config = Config().with_overrides(["steps=60", "eval_every=10", "seed=3"])
    w = RunWriter(store, config.model_dump(mode="json"), every=0.0)  # due at every chunk
    run = Run(config).train(progress=w, chunk=10)
    assert w.flushes == 6
    stored = store.history(w.run_id)
    steps, values = run.history.series("test_loss")
    assert [s for s, _ in stored["test_loss"]] == steps == [10, 20, 30, 40, 50, 60]
    assert [v for _, v in stored["test_loss"]] == pytest.approx(values)
    loaded = load_run(store, w.run_id)  # the streamed checkpoint is the run's weights
    for (k, a), (_, b) in zip(run.model.state_dict().items(), loaded.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_save_every_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETARIUM_SAVE_EVERY", raising=False)
    assert save_every() == 5.0
    for text, expected in (("2", 2.0), ("0", 0.1), ("1e9", 3600.0), ("soon", 5.0), ("nan", 5.0)):
        monkeypatch.setenv("NETARIUM_SAVE_EVERY", text)
        assert save_every() == expected
    assert math.isfinite(save_every()) and os.environ["NETARIUM_SAVE_EVERY"] == "nan"


def test_kept_history_of_a_diverged_run_is_its_finite_points_and_last_loss() -> None:
    h = History()
    h.record(10, {"train_loss": 0.5, "test_loss": 0.6, "lr": 1.0})
    h.record(20, {"train_loss": 7e9, "test_loss": math.inf, "lr": 1.0})
    h.record(25, {"train_loss": math.nan, "test_loss": math.nan, "lr": 1.0})
    assert kept_history(h, diverged=False) == history_points(h)
    kept = kept_history(h, diverged=True, last_loss=(22, 9e12))
    assert sorted(kept) == sorted([("train_loss", 10, 0.5), ("train_loss", 20, 7e9), ("train_loss", 22, 9e12),
                                   ("test_loss", 10, 0.6), ("lr", 10, 1.0), ("lr", 20, 1.0), ("lr", 25, 1.0)])
    assert last_values(kept) == {"train_loss": 9e12, "test_loss": 0.6, "lr": 1.0}
    assert kept_history(h, diverged=True, last_loss=(20, 7e9)).count(("train_loss", 20, 7e9)) == 1


def test_run_knows_its_last_finite_loss() -> None:
    c = Config(task={"name": "reg-plane"}, model={"name": "mlp", "hidden": [32, 32], "activation": ["relu"]},
               optimizer={"name": "sgd", "lr": 10.0}, steps=50, eval_every=1000, device="cpu")
    run = Run(c)
    assert run.last_finite_loss() is None
    run.step(1)
    step, loss = run.last_finite_loss()
    assert step == 1 and math.isfinite(loss) and loss > 0
    run.step(49)
    assert run.state == "diverged"
    step, loss = run.last_finite_loss()
    assert 1 <= step < run.step_count and math.isfinite(loss)
