"""Unit tests for the run store: round trips, ordering, checkpoints, deletion, threads, NaN."""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from netarium.tasks import CSVError, load_csv_task, make_task
from netarium.tasks.csv import MAX_UPLOAD_BYTES
from netarium.training.store import SCHEMA_VERSION, RunRecord, RunStore, default_store_path, save_upload


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    """A fresh store in a temporary folder."""
    with RunStore(tmp_path / "netarium.db") as s:
        yield s


def test_round_trip_of_config_history_final_check_and_notes(store: RunStore) -> None:
    config = {"task": {"name": "spirals", "noise": 0.1}, "seed": 3, "steps": 500, "layers": [8, 8]}
    rid = store.create_run(config, experiment="grokking", name="first")
    store.append_history(rid, [("loss", 2, 0.5), ("loss", 1, 0.9), ("acc", 1, 0.25)])
    store.append_history(rid, [("loss", 3, 0.25), ("loss", 2, 0.4)])  # step 2 replaced
    store.finish(rid, {"loss": 0.25, "acc": 0.75}, steps=3, seconds=1.5, check={"passed": True, "why": "ok"})
    store.set_notes(rid, "looks fine")
    store.rename(rid, "renamed")

    run = store.get_run(rid)
    assert isinstance(run, RunRecord)
    assert (run.id, run.name, run.experiment, run.status) == (rid, "renamed", "grokking", "done")
    assert run.config == config
    assert run.final == {"loss": 0.25, "acc": 0.75}
    assert run.check == {"passed": True, "why": "ok"}
    assert (run.steps, run.seconds, run.notes, run.reason) == (3, 1.5, "looks fine", "")
    assert run.updated >= run.created
    assert store.history(rid) == {"acc": [(1, 0.25)], "loss": [(1, 0.9), (2, 0.4), (3, 0.25)]}


def test_update_run_changes_only_given_fields(store: RunStore) -> None:
    rid = store.create_run({"a": 1})
    assert store.get_run(rid).check is None and store.get_run(rid).final == {}
    store.update_run(rid, steps=10, seconds=0.5)
    store.update_run(rid, status="diverged", reason="loss is NaN at step 11")
    run = store.get_run(rid)
    assert (run.status, run.steps, run.seconds, run.reason) == ("diverged", 10, 0.5, "loss is NaN at step 11")
    with pytest.raises(ValueError):
        store.update_run(rid, status="exploded")
    with pytest.raises(KeyError):
        store.update_run(rid + 100, steps=1)
    with pytest.raises(KeyError):
        store.get_run(rid + 100)


def test_list_runs_newest_first_with_experiment_filter_and_limit(store: RunStore) -> None:
    ids = [store.create_run({"i": i}, experiment="a" if i % 2 == 0 else "b") for i in range(6)]
    assert [r.id for r in store.list_runs()] == ids[::-1]
    assert [r.id for r in store.list_runs(experiment="a")] == [ids[4], ids[2], ids[0]]
    assert [r.id for r in store.list_runs(experiment="b", limit=2)] == [ids[5], ids[3]]
    assert store.list_runs(experiment="none") == []


def test_checkpoint_round_trip_is_exact_and_atomic(store: RunStore) -> None:
    rid = store.create_run({})
    torch.manual_seed(0)
    w = torch.randn(4, 6).t()  # non-contiguous on purpose
    tensors = {"layer.weight": w, "layer.bias": torch.randn(4), "steps": torch.arange(5)}
    path = store.save_checkpoint(rid, tensors, step=10, metadata={"note": "first"})
    assert path == store.home / "checkpoints" / f"run-{rid}" / "step-10.safetensors"
    assert path.is_file()
    loaded = store.load_checkpoint(rid)
    assert set(loaded) == set(tensors)
    for key, value in tensors.items():
        assert torch.equal(loaded[key], value) and loaded[key].dtype == value.dtype

    # Saving the same step again replaces the file atomically; a later step becomes "latest".
    store.save_checkpoint(rid, {"layer.weight": torch.zeros(2)}, step=10)
    store.save_checkpoint(rid, {"layer.weight": torch.ones(3)}, step=20)
    assert [s for s, _ in store.checkpoints(rid)] == [10, 20]
    assert torch.equal(store.load_checkpoint(rid)["layer.weight"], torch.ones(3))
    assert torch.equal(store.load_checkpoint(rid, step=10)["layer.weight"], torch.zeros(2))
    folder = path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["step-10.safetensors", "step-20.safetensors"]
    assert not list(store.home.rglob("*.tmp"))


def test_load_checkpoint_errors_are_key_errors(store: RunStore) -> None:
    rid = store.create_run({})
    with pytest.raises(KeyError, match="no checkpoints"):
        store.load_checkpoint(rid)
    store.save_checkpoint(rid, {"w": torch.zeros(1)}, step=1)
    with pytest.raises(KeyError, match="step 7"):
        store.load_checkpoint(rid, step=7)
    with pytest.raises(KeyError):
        store.save_checkpoint(rid + 1, {"w": torch.zeros(1)}, step=1)


def test_delete_cascades_history_checkpoints_and_files(store: RunStore) -> None:
    keep = store.create_run({"keep": True})
    gone = store.create_run({"keep": False})
    for rid in (keep, gone):
        store.append_history(rid, [("loss", s, 1.0 / (s + 1)) for s in range(10)])
        store.save_checkpoint(rid, {"w": torch.randn(3)}, step=5)
    folder = store.checkpoints(gone)[0][1].parent
    assert folder.is_dir()

    store.delete_run(gone)
    assert not folder.exists()
    with pytest.raises(KeyError):
        store.get_run(gone)
    assert store.history(gone) == {}
    assert store.checkpoints(gone) == []
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM history WHERE run_id = ?", (gone,)).fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM checkpoints WHERE run_id = ?", (gone,)).fetchone()[0] == 0
    # The other run is untouched.
    assert len(store.history(keep)["loss"]) == 10
    assert store.load_checkpoint(keep)["w"].shape == (3,)


def test_netarium_home_is_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("NETARIUM_HOME", str(home))
    assert default_store_path() == home / "netarium.db"
    with RunStore() as store:
        rid = store.create_run({"x": 1})
        path = store.save_checkpoint(rid, {"w": torch.zeros(2)}, step=0)
    assert (home / "netarium.db").is_file()
    assert path == home / "checkpoints" / f"run-{rid}" / "step-0.safetensors"

    monkeypatch.delenv("NETARIUM_HOME")
    monkeypatch.chdir(tmp_path)
    assert default_store_path() == Path("runs") / "netarium.db"


def test_schema_is_versioned_wal_and_reopenable(tmp_path: Path) -> None:
    path = tmp_path / "netarium.db"
    with RunStore(path) as store:
        rid = store.create_run({"x": 1})
        assert store.schema_version == SCHEMA_VERSION >= 1
        assert store.integrity_ok()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    with RunStore(path) as again:
        assert again.get_run(rid).config == {"x": 1}


def test_nan_and_inf_round_trip(store: RunStore) -> None:
    rid = store.create_run({"lr": math.inf, "clip": -math.inf, "beta": math.nan})
    store.append_history(
        rid, [("loss", 0, 1.0), ("loss", 1, math.nan), ("loss", 2, math.inf), ("loss", 3, -math.inf)]
    )
    final = {"loss": math.nan, "acc": math.inf, "neg": -math.inf, "ok": 0.5}
    store.finish(rid, final, steps=4, seconds=0.1, status="diverged", check={"gap": math.nan}, reason="NaN")
    run = store.get_run(rid)
    assert math.isnan(run.final["loss"]) and run.final["acc"] == math.inf and run.final["neg"] == -math.inf
    assert run.final["ok"] == 0.5
    assert math.isnan(run.check["gap"])
    assert run.config["lr"] == math.inf and run.config["clip"] == -math.inf and math.isnan(run.config["beta"])
    steps, values = zip(*store.history(rid)["loss"], strict=True)
    assert steps == (0, 1, 2, 3)
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == math.inf and values[3] == -math.inf


def test_writer_thread_and_reader_thread_share_one_store(store: RunStore) -> None:
    rid = store.create_run({"threads": 2})
    n_batches, per_batch = 200, 10
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for b in range(n_batches):
                store.append_history(rid, [("loss", b * per_batch + i, float(b)) for i in range(per_batch)])
                if b % 50 == 0:
                    store.save_checkpoint(rid, {"w": torch.full((4,), float(b))}, step=b)
            store.finish(rid, {"loss": 0.0}, steps=n_batches * per_batch, seconds=1.0)
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[int] = []
    # A second store object (its own connection) reads beside the shared one, as another session would.
    with RunStore(store.path) as other:
        deadline = time.monotonic() + 60
        while writer.is_alive() and time.monotonic() < deadline:
            seen.append(len(store.history(rid).get("loss", [])))
            store.list_runs()
            other.get_run(rid)
            assert len(other.history(rid).get("loss", [])) % per_batch == 0  # whole transactions only
        writer.join(timeout=60)
        assert not writer.is_alive()
        assert errors == []
        assert seen == sorted(seen)  # history only grows
        assert other.get_run(rid).status == "done"
    assert len(store.history(rid)["loss"]) == n_batches * per_batch
    assert [s for s, _ in store.checkpoints(rid)] == [0, 50, 100, 150]
    assert store.integrity_ok()


UPLOAD = b"a,b,label\n0.5,1,0\n1.5,-2,1\n2,0.3,2\n-1,0,1\n0,0,0\n"


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_uploads_are_kept_in_the_store_folder_only_under_their_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("NETARIUM_HOME", str(home))
    monkeypatch.chdir(cwd)
    key = save_upload(UPLOAD)
    assert key == hashlib.sha256(UPLOAD).hexdigest()
    assert files_under(tmp_path) == {f"home/uploads/{key}.csv"}  # nothing else written, nowhere else
    assert (home / "uploads" / f"{key}.csv").read_bytes() == UPLOAD
    assert save_upload(UPLOAD) == key and files_under(home) == {f"uploads/{key}.csv"}  # same bytes, one file
    other = save_upload(UPLOAD.replace(b"0.5", b"0.25"))
    assert other != key and files_under(home) == {f"uploads/{key}.csv", f"uploads/{other}.csv"}
    # the csv task reads the upload back by id: the same data as the same bytes given directly
    by_id = make_task("csv", {"upload": key}, seed=2)
    direct = load_csv_task(UPLOAD, seed=2)
    assert torch.equal(by_id.X_train, direct.X_train) and torch.equal(by_id.y_test, direct.y_test)
    with RunStore() as store:  # the store's own files sit beside the uploads
        assert store.home == home


def test_an_invalid_upload_is_refused_and_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    secret = "SECRET-" + "x" * 100
    for bad, message in (
        (f"a,b,y\n1,2,0\n3,{secret},1\n".encode(), "row 3, column 2 ('b'): 'SECRET-xxxxxxxxxxxxx'… is not a number"),
        (b"a,b,y\n1,2,0\n3,4\n", "row 3: 2 columns, but row 1 has 3"),
        (b"\xff\xfe1,2\n", "row 1, column 1: byte 0xff is not UTF-8 text"),
        (b"1,2,0\n3,4,1\n" * (MAX_UPLOAD_BYTES // 12 + 1), f"more than the limit of {MAX_UPLOAD_BYTES:,}"),
    ):
        with pytest.raises(CSVError) as err:
            save_upload(bad)
        assert message in str(err.value) and secret[:21] not in str(err.value)
    assert files_under(tmp_path) == set()
    assert save_upload(UPLOAD, home=tmp_path / "elsewhere") == hashlib.sha256(UPLOAD).hexdigest()
    assert files_under(tmp_path) == {f"elsewhere/uploads/{hashlib.sha256(UPLOAD).hexdigest()}.csv"}
