"""`netarium run --save` streams: a real subprocess killed (SIGKILL) mid-run leaves its run 'interrupted'
with the history and a loadable checkpoint up to its last flush."""

from __future__ import annotations

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
