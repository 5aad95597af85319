"""`netarium run --save` streams: a real subprocess killed (SIGKILL) mid-run leaves its run 'interrupted'
with the history and a loadable checkpoint up to its last flush."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from netarium.training.runs_io import load_run
from netarium.training.store import RunStore

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _flushed(db: Path) -> tuple[int, int] | None:
    """(run id, steps) once the run has history, a checkpoint and steps from a flush."""
    if not db.exists():
        return None
    with RunStore(db) as store:
        runs = store.list_runs()
        if runs and runs[0].steps > 0 and store.history(runs[0].id) and store.checkpoints(runs[0].id):
            return runs[0].id, runs[0].steps
    return None


def test_killed_save_is_interrupted_with_history_and_checkpoint(tmp_path: Path) -> None:
    env = {**os.environ, "NETARIUM_HOME": str(tmp_path), "NETARIUM_SAVE_EVERY": "0.2", "NETARIUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "netarium.cli", "run", "geometry-tanh-relu", "--steps", "400000",
                             "--save", "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = tmp_path / "netarium.db"
    seen: list[tuple[int, int]] = []  # (run id, steps) at each flush observed
    try:
        deadline = time.monotonic() + 120
        while len({steps for _, steps in seen}) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if (now := _flushed(db)) is not None:
                seen.append(now)
        assert len({steps for _, steps in seen}) >= 2, (
            proc.stderr.read().decode() if proc.poll() is not None else f"fewer than 2 flushes in 120 s: {seen}")
        rid = seen[-1][0]
        with RunStore(db) as store:
            assert store.get_run(rid).status == "running"  # its writer is alive
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        rc = proc.wait(timeout=30)
    assert rc == -signal.SIGKILL

    with RunStore(db) as store:
        assert store.integrity_ok()
        rec = store.get_run(rid)
        assert (rec.status, rec.experiment, rec.config["steps"]) == ("interrupted", "geometry-tanh-relu", 400000)
        assert seen[-1][1] <= rec.steps < 400000  # everything up to the last flush seen, at least
        history = store.history(rid)
        steps = [s for s, _ in history["test_loss"]]
        assert steps and steps == sorted(steps) and steps[-1] <= rec.steps
        (ckpt_step, _), = store.checkpoints(rid)  # only the latest streamed checkpoint is kept
        assert steps[-1] <= ckpt_step <= rec.steps
        run = load_run(store, rid)
        weights = store.load_checkpoint(rid)
        assert set(weights) == set(run.model.state_dict())
        assert all(torch.isfinite(v).all() for v in weights.values())
        assert run.evaluate()["test_loss"] < 10


def test_a_diverged_save_keeps_its_history_up_to_the_last_finite_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Evaluated every step, lr 10 blows up at step 3: the stored run keeps steps 1-2 (finite, already huge),
    its final numbers are those last finite ones (not NaN), and it reads back diverged at step 3."""
    from netarium.cli import main
    from netarium.viz.curves import curves_figure

    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    code = main(["run", "playground", "--steps", "300", "--set", "eval_every=1", "--set", "optimizer.name=sgd",
                 "--set", "optimizer.lr=10", "--set", "task.name=reg-plane", "--set", "model.activation=relu",
                 "--set", "model.hidden=64,64", "--quiet", "--save"])
    assert code == 1 and "diverged" in capsys.readouterr().err
    with RunStore(tmp_path / "netarium.db") as store:
        (rec,) = store.list_runs()
        assert (rec.status, rec.steps) == ("diverged", 3) and "at step 3" in rec.reason
        history = store.history(rec.id)
        assert [s for s, _ in history["test_loss"]] == [1] and [s for s, _ in history["train_loss"]] == [1]
        assert all(math.isfinite(v) for pts in history.values() for _, v in pts)
        assert rec.final["test_loss"] == history["test_loss"][-1][1] > 1e6  # the blow-up, kept
        assert all(math.isfinite(v) for v in rec.final.values())
        from netarium.training.runs_io import history_series

        fig = curves_figure(history_series(store, rec.id), diverged_at=rec.steps)
        assert {t.name for t in fig.data} == {"train loss", "test loss", "train R²", "test R²"}
        assert fig.layout.shapes[0].x0 == 3
