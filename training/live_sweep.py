"""`LiveSweep`: the sweep of a browser session: a Sweep, its SweepRun and the Worker stepping it.

Like LiveRun for one network, without Streamlit: pages keep a LiveSweep beside the session's LiveRun and
poll `progress()` and `current()`. A `StoredSweep` is a finished sweep read back from the run store; it
answers the same reading calls, so a page draws either the same way.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from netarium.training import sessions
from netarium.training.budget import LEDGER, Cost, estimate_all
from netarium.training.run import Run
from netarium.training.sessions import SESSIONS
from netarium.training.sweep import Sweep
from netarium.training.sweep_run import (
    GroupBuilder,
    MemberResult,
    SweepResult,
    SweepRun,
    SweepSnapshot,
    member_config,
)
from netarium.training.worker import Worker

FINISHED = ("done", "diverged", "failed")


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands: members finished (done or diverged) of all, the lockstep step of the
    sweep's steps, the measured sweep steps per second and the seconds left at that rate (None until
    measured), and its state ("ready", "playing", "paused", "done", "stopped", ...)."""

    members: int
    finished: int
    diverged: int
    step: int
    steps: int
    steps_per_sec: float
    seconds: float
    seconds_left: float | None
    state: str

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.steps) if self.steps else 1.0


RAY_ADDRESS_ENV = "NETARIUM_RAY_ADDRESS"  # the app's --ray-address


FROM_ENV = -1.0  # idle_pause_seconds / free_seconds: read NETARIUM_SESSION_PAUSE_SECONDS / _FREE_SECONDS
FREED = "this sweep was freed (no page asked for it for a while)"


def _shut(worker: Worker, run: SweepRun) -> None:
    """End a sweep's thread and pool (a LiveSweep collected without close())."""
    worker.stop(0.0)
    run.close()


class LiveSweep(sessions.SessionLife):
    """Sweep + SweepRun + Worker (play, pause, step, stop). Thread-safe for one UI session.

    The worker stops playing at the sweep's steps. `stop()` ends training for good; what was trained
    stays readable (`current()`, `result()`), so a stopped sweep can still be saved. Like a LiveRun, it
    pauses when no page touched it for `idle_pause_seconds` and the server's reaper frees it after
    `free_seconds` (training/sessions.py): closed, its members let go; the session then drops it.
    """

    kind = "sweep"

    def __init__(self, sweep: Sweep, builders: Sequence[GroupBuilder] | None = None, *,
                 idle_pause_seconds: float | None = FROM_ENV, free_seconds: float | None = FROM_ENV,
                 owner: Any = None):
        if idle_pause_seconds == FROM_ENV:
            idle_pause_seconds = sessions.pause_seconds()
        self.free_seconds = sessions.free_seconds() if free_seconds == FROM_ENV else free_seconds
        self.sweep = sweep
        # its members' estimated cost is reserved for `owner` (the session's LiveRun in the app) before
        # anything is built: over a budget, BudgetError (training/budget.py)
        self.owner = self if owner is None else owner
        self.cost = estimate_all(m.config for m in sweep.members())
        LEDGER.reserve(self.owner, "sweep", self.cost)
        try:  # validates every member first (SchemaError); $NETARIUM_RAY_ADDRESS sends the app's sweeps to a cluster
            self.run = SweepRun(sweep, builders, ray_address=os.environ.get(RAY_ADDRESS_ENV, "").strip() or None)
        except BaseException:
            LEDGER.release(self.owner, "sweep")
            raise
        self.worker = Worker(self.run, until=self.run.steps)
        self._watch = sessions.Watch()
        self.worker.watch = self._watch
        self.worker.idle_pause_seconds = idle_pause_seconds  # as a live run: nobody watching, nothing trains
        self.worker.start()
        self._stopper = weakref.finalize(self, _shut, self.worker, self.run)
        self.stopped = False
        self.closed = False
        self.freed = False
        self.freed_after = 0.0
        self.last_touch = time.monotonic()
        self._life_lock = threading.RLock()
        self._cache_lock = threading.Lock()
        self._current: tuple[tuple[int, bool], SweepResult] | None = None
        SESSIONS.track(self)

    @property
    def size(self) -> int:
        return len(self.sweep.members()) if self.freed else len(self.run.members)

    # ---- transport (a freed sweep ignores a page left open) ----
    def play(self) -> None:
        if not self.stopped:
            self.touch()
            self.worker.play()

    def pause(self) -> None:
        """Pause; returns once the worker has published the paused state (at most ACK_SECONDS)."""
        if not self.freed:
            self.worker.acked(self.worker.pause)

    def step(self, n: int = 1) -> None:
        """Train n lockstep steps and pause; returns once they are published (at most ACK_SECONDS)."""
        if not self.stopped:
            self.worker.acked(self.worker.step_once, n)

    def stop(self) -> None:
        """End training for good (the members keep what they learned and can be read and saved)."""
        self.stopped = True
        if not self.freed:
            self.worker.pause()
            self.worker.stop()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.stop()
        if not self.freed:
            self._stopper.detach()
            self.run.close()
        LEDGER.release(self.owner, "sweep")

    def free(self) -> None:
        """Close it and let go of its members (models, data), its worker and its cached result."""
        with self._life_lock:
            if self.freed:
                return
            self.freed_after = self.idle_seconds()
            self.close()
            with self._cache_lock:
                self._current = None
            self.run = None  # type: ignore[assignment]
            self.worker = None  # type: ignore[assignment]
            self.freed = True

    @property
    def playing(self) -> bool:
        return not self.stopped and not self.freed and self.worker.playing

    # ---- reading ----
    def snapshot(self) -> SweepSnapshot:
        """The latest published snapshot (every member's state, step and latest metrics); counts as the
        session still watching."""
        self.touch()
        if self.freed:
            raise RuntimeError(FREED)
        return self.worker.latest()  # type: ignore[return-value]

    def progress(self) -> SweepProgress:
        if self.freed:
            self.touch()
            return SweepProgress(self.size, 0, 0, 0, self.sweep.base.steps, 0.0, 0.0, None, "freed")
        snap = self.snapshot()
        steps = self.run.steps
        finished = sum(m.state in FINISHED or m.step >= steps for m in snap.members)
        diverged = sum(m.state == "diverged" for m in snap.members)
        rate = snap.step / snap.seconds if snap.seconds > 0 else 0.0  # the mean so far: steadier than the last chunk
        left = (steps - snap.step) / rate if rate > 0 else None
        state = snap.state
        if snap.step >= steps or snap.state == "diverged":
            state = "done" if snap.state != "diverged" else "diverged"
        elif self.stopped:
            state = "stopped"
        elif state == "paused" and self.worker.paused_because:
            state = f"paused: {self.worker.paused_because}"
        return SweepProgress(len(snap.members), finished, diverged, snap.step, steps, rate, snap.seconds,
                             0.0 if state in ("done", "diverged") else left, state)

    def current(self) -> SweepResult:
        """The sweep as of now. While it trains, without evaluating: each member's latest recorded metrics
        as its final numbers; once it is paused, finished or stopped, every member evaluated at its step.
        Cached per step, so redrawing a paused sweep costs nothing."""
        if self.freed:
            raise RuntimeError(FREED)
        key = (self.worker.latest().step, not self.playing)
        with self._cache_lock:
            if self._current is not None and self._current[0] == key:
                return self._current[1]
            if key[1]:
                result = self.result()
            else:
                with self.worker.lock:
                    run = self.run
                    states, histories, seconds = run.member_snapshots(), run.histories(), run.seconds
                members = [MemberResult(m.index, m.point, m.config, s.state, s.reason, s.step, h, dict(s.metrics))
                           for m, s, h in zip(run.members, states, histories, strict=True)]
                result = SweepResult(self.sweep, members, seconds)
            self._current = (key, result)
            return result

    def result(self) -> SweepResult:
        """Evaluate every member now and gather the result (under the worker's lock: between two steps)."""
        if self.freed:
            raise RuntimeError(FREED)
        with self.worker.lock:
            return self.run.result()


class StoredSweep:
    """A finished sweep read back from the run store, answering LiveSweep's reading calls."""

    playing = False
    stopped = True

    def __init__(self, result: SweepResult, sweep_id: int, name: str = ""):
        self.sweep = result.sweep
        self.sweep_id = sweep_id
        self.name = name
        self._result = result

    @property
    def size(self) -> int:
        return len(self._result.members)

    def current(self) -> SweepResult:
        return self._result

    def result(self) -> SweepResult:
        return self._result

    def progress(self) -> SweepProgress:
        members = self._result.members
        steps = self.sweep.base.steps
        step = min((m.step for m in members if m.state != "diverged"), default=steps)
        diverged = sum(m.state == "diverged" for m in members)
        finished = sum(m.state in ("done", "diverged", "failed") for m in members)
        seconds = self._result.seconds
        return SweepProgress(len(members), finished, diverged, step, steps, step / seconds if seconds else 0.0,
                             seconds, 0.0, "saved")

    def close(self) -> None:
        """Nothing trains."""


@dataclass(frozen=True)
class Estimate:
    """A sweep's training time guessed before it starts: one member trained alone for a few steps
    (`rate` steps/s), times the members, times the steps. An estimate: batched groups may go faster."""

    members: int
    steps: int
    rate: float
    cost: Cost | None = None  # the members' memory and arithmetic (training/budget.py)

    @property
    def seconds(self) -> float:
        return self.members * self.steps / self.rate


def estimate(sweep: Sweep, measured_steps: int = 20, warmup: int = 2, owner: Any = None) -> Estimate:
    """Time `measured_steps` steps (after `warmup`) of the sweep's first member trained alone. With an
    `owner`, the members' cost is checked against its budgets first (BudgetError, nothing built)."""
    members = sweep.members()
    cost = estimate_all(m.config for m in members)
    if owner is not None:
        LEDGER.check(owner, "sweep", cost)
    run = Run(member_config(members[0].config))
    run.step(warmup)
    t0 = time.perf_counter()
    run.step(measured_steps)
    rate = measured_steps / max(time.perf_counter() - t0, 1e-9)
    return Estimate(len(members), sweep.base.steps, rate, cost)
