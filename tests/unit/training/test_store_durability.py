"""Durability: SIGKILL a real training process mid-write; every committed run must survive intact."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import IO

import pytest
import torch

from netarium.training.store import RunStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"),
]

CHUNKS = 40  # history transactions per run
STEPS_PER_CHUNK = 5  # SGD steps per transaction, two metrics each
POINTS_PER_CHUNK = 2 * STEPS_PER_CHUNK
RUNS_BEFORE_KILL = 3
DEADLINE_S = 60.0
# Kill the next run right after its 10th transaction, when the child starts writing a checkpoint.
KILL_AT_POINTS = 10 * POINTS_PER_CHUNK

# The child trains tiny models forever, one run after another. Before finishing a run it waits for a
# "go" line on stdin: the parent grants it for the first runs and never for the next one, so the run
# in flight at the kill can never reach 'done', whatever the timing (the kill normally lands long
# before, in the middle of its checkpoint and history writes).
CHILD = textwrap.dedent(
    f"""
    import sys, time
    import torch
    from torch import nn
    from netarium.training.store import RunStore

    store = RunStore(sys.argv[1])
    torch.manual_seed(0)
    x, y = torch.randn(64, 8), torch.randn(64, 1)
    index = 0
    while True:
        model = nn.Linear(8, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        rid = store.create_run({{"index": index, "lr": 0.05}}, experiment="durability", name=f"run {{index}}")
        start, n, step = time.time(), 0, 0
        for chunk in range({CHUNKS}):
            points = []
            for _ in range({STEPS_PER_CHUNK}):
                opt.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                grad = float(sum(p.grad.norm() ** 2 for p in model.parameters()) ** 0.5)
                opt.step()
                points += [("loss", step, float(loss)), ("grad_norm", step, grad)]
                step += 1
            store.append_history(rid, points)
            n += len(points)
            print(f"progress {{rid}} {{n}}", flush=True)
            if chunk % 10 == 9:
                store.save_checkpoint(rid, model.state_dict(), step=step)
        state = {{k: v.detach().clone() for k, v in model.state_dict().items()}}
        store.save_checkpoint(rid, state, step=step, metadata={{"kind": "final"}})
        checksum = sum(state[k].double().sum().item() for k in sorted(state))
        if sys.stdin.readline().strip() != "go":
            time.sleep(3600)
        store.finish(rid, {{"loss": float(loss)}}, steps=step, seconds=time.time() - start)
        print(f"committed {{rid}} {{n}} {{checksum!r}}", flush=True)
        index += 1
    """
)


def _read_lines(stream: IO[str], out: queue.Queue[str | None]) -> None:
    """Forward a child's stdout lines to a queue; None marks the end."""
    for line in stream:
        out.put(line.strip())
    out.put(None)


def _checksum(tensors: dict[str, torch.Tensor]) -> float:
    """The same float64 checksum the child prints for its final weights."""
    return sum(tensors[k].double().sum().item() for k in sorted(tensors))


def test_sigkill_mid_write_keeps_every_committed_run(tmp_path: Path) -> None:
    db = tmp_path / "store" / "netarium.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    stderr_path = tmp_path / "child.err"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}

    committed: dict[int, tuple[int, float]] = {}  # run id -> (history points, checksum)
    in_flight: tuple[int, int] | None = None  # (run id, history points reported) at the kill
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        deadline = time.monotonic() + DEADLINE_S
        try:
            while in_flight is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(
                        f"child made too little progress in {DEADLINE_S} s: {stderr_path.read_text()}"
                    )
                try:
                    line = lines.get(timeout=remaining)
                except queue.Empty:
                    continue
                if line is None:
                    pytest.fail(f"child exited early (rc={proc.wait()}): {stderr_path.read_text()}")
                kind, rid_text, n_text, *rest = line.split()
                rid, n = int(rid_text), int(n_text)
                if kind == "committed":
                    committed[rid] = (n, float(rest[0]))
                elif (
                    kind == "progress"
                    and n == CHUNKS * POINTS_PER_CHUNK
                    and len(committed) < RUNS_BEFORE_KILL
                ):
                    assert proc.stdin is not None
                    proc.stdin.write("go\n")  # let this run finish
                    proc.stdin.flush()
                elif kind == "progress" and len(committed) >= RUNS_BEFORE_KILL and n >= KILL_AT_POINTS:
                    in_flight = (rid, n)
                    os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            rc = proc.wait(timeout=30)
            reader.join(timeout=30)
    assert rc == -signal.SIGKILL

    assert len(committed) == RUNS_BEFORE_KILL
    assert in_flight is not None and in_flight[0] not in committed

    with RunStore(db) as store:
        assert store.integrity_ok()
        runs = {r.id: r for r in store.list_runs(experiment="durability")}
        assert set(runs) == {*committed, in_flight[0]}

        for rid, (n_points, checksum) in committed.items():
            run = store.get_run(rid)
            assert run.status == "done"
            assert run.steps == CHUNKS * STEPS_PER_CHUNK
            assert set(run.final) == {"loss"}
            history = store.history(rid)
            assert sum(len(v) for v in history.values()) == n_points == CHUNKS * POINTS_PER_CHUNK
            assert [s for s, _ in history["loss"]] == list(range(CHUNKS * STEPS_PER_CHUNK))
            weights = store.load_checkpoint(rid)
            assert {k: tuple(v.shape) for k, v in weights.items()} == {"weight": (1, 8), "bias": (1,)}
            assert _checksum(weights) == checksum

        rid, reported = in_flight
        half = store.get_run(rid)
        assert half.status == "running"
        assert half.config["index"] == RUNS_BEFORE_KILL
        n_half = sum(len(v) for v in store.history(rid).values())
        # Everything reported is there; only whole transactions are (the kill may land after more).
        assert reported <= n_half <= CHUNKS * POINTS_PER_CHUNK
        assert n_half % POINTS_PER_CHUNK == 0
        for step, _ in store.checkpoints(rid):  # any indexed checkpoint of the killed run is whole
            assert {k: tuple(v.shape) for k, v in store.load_checkpoint(rid, step).items()} == {
                "weight": (1, 8),
                "bias": (1,),
            }
