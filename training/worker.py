"""`Worker`: steps a Run in a background thread. Never calls Streamlit; readers poll `latest()`."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import torch

from netarium.models.gate import FORWARD_GATE
from netarium.training.run import Run, Snapshot
from netarium.training.sessions import GONE_REASON, SLOTS, idle_reason
from netarium.training.threads import torch_threads

ACK_SECONDS = 2.0
RATE_WINDOW = 1.0  # seconds over which the published steps/s is measured  # how long pause / step wait for the worker to publish what they did


class Worker:
    """Play / pause / single step / stop / live learning rate for one Run.

    The thread trains in chunks sized to take about `chunk_seconds`, each holding one of the server's core
    slots (training/sessions.py SLOTS, FIFO), applies queued commands between chunks, and publishes a
    Snapshot at most every `publish_seconds`. `lock` guards the
    Run: hold it to read the model from another thread (the wait is at most one chunk).
    """

    def __init__(self, run: Run, *, chunk_seconds: float = 0.03, publish_seconds: float = 0.05,
                 until: int | None = None):
        self.run = run
        self.until = until  # stop playing at this step (None: train until paused)
        self.chunk_seconds = chunk_seconds
        self.publish_seconds = publish_seconds
        self.lock = threading.RLock()
        self._commands: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._playing = False
        self._chunk = 1
        self._latest = run.snapshot()
        self._latest_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="netarium-worker", daemon=True)
        self.error: str = ""
        self.max_steps_per_sec: float | None = None  # a speed limit for watching slowly (None: as fast as it goes)
        self.idle_pause_seconds: float | None = None  # pause when nobody called touch() for this long
        self.watch: Any = None  # a sessions.Watch: while its count is above 0 a page is drawing, which counts as touched
        self.paused_because = ""
        self._last_touch = time.monotonic()
        self._rate_mark: tuple[float, int] | None = None  # (time, step) where the wall-clock rate's window began
        self._wall_rate: float | None = None
        self.listeners: list[Callable[[Snapshot], None]] = []

    # ---- control (any thread) ----
    def start(self) -> Worker:
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def play(self) -> None:
        self._playing = self.run.state not in ("diverged", "failed")  # visible at once to readers
        self._send("play")

    def pause(self) -> None:
        self._playing = False
        self._send("pause")

    def step_once(self, n: int = 1) -> None:
        """Pause, then train exactly `n` steps."""
        self._send("step", n)

    def set_lr(self, lr: float) -> None:
        """Change the learning rate live, between two steps."""
        if self._thread.is_alive():
            self._send("lr", lr)
        else:
            self.run.set_lr(lr)

    def touch(self) -> None:
        """A reader is still watching (see idle_pause_seconds)."""
        self._last_touch = time.monotonic()

    def set_config(self, config: Any) -> None:
        """Swap in a Config that differs only in live settings (learning rate, L1/L2, steps, history cap),
        between steps."""
        if self._thread.is_alive():
            self._send("config", config)
        else:
            with self.lock:
                self.run.set_live_config(config)

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (the Run stays usable)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        """stop() was called: the run is closed for good."""
        return self._stop.is_set()

    def latest(self) -> Snapshot:
        """The newest published snapshot (a copy; safe to read on any thread)."""
        with self._latest_lock:
            return self._latest

    def acked(self, command: Callable[..., None], *args: Any) -> None:
        """Send a command (pause, step_once), then wait until a fresh snapshot shows it (at most
        ACK_SECONDS), so that a page redrawn next shows the new step and state (a paused page no
        longer refreshes itself)."""
        before = self.latest()
        command(*args)
        try:
            self.wait_for(lambda s: s is not before and s.state != "playing", timeout=ACK_SECONDS)
        except TimeoutError:
            pass

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float = 10.0) -> Snapshot:
        """Block until a published snapshot satisfies `predicate` (or raise TimeoutError)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.latest()
            if predicate(snap):
                return snap
            time.sleep(0.005)
        raise TimeoutError(f"no snapshot matched within {timeout} s (last: step {self.latest().step}, {self.latest().state})")

    # ---- thread ----
    def _send(self, command: str, arg: Any = None) -> None:
        self._commands.put((command, arg))
        self._wake.set()

    def _publish(self) -> None:
        with self.lock:
            snap = self.run.snapshot()
        if snap.state not in ("diverged", "failed"):
            snap.state = "playing" if self._playing else ("ready" if snap.step == 0 else "paused")
        snap.steps_per_sec = self._steps_per_second(snap)
        with self._latest_lock:
            self._latest = snap
        for fn in list(self.listeners):  # a listener may remove itself
            fn(snap)

    def _steps_per_second(self, snap: Snapshot) -> float:
        """Steps per second of wall-clock time while playing, over windows of RATE_WINDOW seconds (the Run's
        own rate counts only the time spent in steps: a speed limit's waits and other sessions' turns
        are left out of it, so a page asking 3 steps/s read 1,193). Before the first window ends, the
        Run's rate, held under the speed limit; paused, the last rate measured."""
        now = time.perf_counter()
        if not self._playing:
            self._rate_mark = None
            return self._wall_rate if self._wall_rate is not None else snap.steps_per_sec
        if self._rate_mark is None or snap.step < self._rate_mark[1]:
            self._rate_mark = (now, snap.step)
            self._wall_rate = None
        elapsed = now - self._rate_mark[0]
        if elapsed >= RATE_WINDOW:
            self._wall_rate = (snap.step - self._rate_mark[1]) / elapsed
            self._rate_mark = (now, snap.step)
        if self._wall_rate is not None:
            return self._wall_rate
        limit = self.max_steps_per_sec
        return min(snap.steps_per_sec, limit) if limit else snap.steps_per_sec

    def _apply(self, command: str, arg: Any) -> None:
        self.paused_because = ""
        if command == "play":
            self._playing = self.run.state not in ("diverged", "failed")
            self._last_touch = time.monotonic()
        elif command == "pause":
            self._playing = False
        elif command == "lr":
            with self.lock:
                self.run.set_lr(arg)
        elif command == "config":
            with self.lock:
                self.run.set_live_config(arg)
        elif command == "step":
            self._playing = False
            with SLOTS.slot(), FORWARD_GATE.shared(), self.lock:  # slot, gate, lock: this order everywhere
                self.run.step(int(arg))

    def _loop(self) -> None:
        last_publish = 0.0
        try:
            torch.set_num_threads(torch_threads())
            device = self.run.device
            if device.type == "cuda":  # each thread needs the CUDA context made current
                torch.cuda.set_device(device.index if device.index is not None else torch.cuda.current_device())
            while not self._stop.is_set():
                dirty = False
                while not self._commands.empty():
                    self._apply(*self._commands.get_nowait())
                    dirty = True
                if self._playing and self.until is not None and self.run.step_count >= self.until:
                    self._playing = False
                    self.paused_because = f"reached step {self.until}"
                    dirty = True
                idle = self.idle_pause_seconds
                if self.watch is not None and self._playing and self.watch.gone():
                    self._playing = False
                    self.paused_because = GONE_REASON
                    dirty = True
                elif self.watch is not None and self.watch.watched():
                    self._last_touch = time.monotonic()
                if self._playing and idle and time.monotonic() - self._last_touch > idle:
                    self._playing = False
                    self.paused_because = idle_reason(idle)
                    dirty = True
                if not self._playing:
                    if dirty:
                        self._publish()
                    self._wake.wait(0.1)
                    self._wake.clear()
                    continue
                n = self._chunk if self.until is None else min(self._chunk, self.until - self.run.step_count)
                rate = self.max_steps_per_sec
                if rate:
                    n = max(1, min(n, int(rate * 0.05)))
                with SLOTS.slot():  # the server's cores, shared in turn with other sessions' training threads
                    t0 = time.perf_counter()
                    with FORWARD_GATE.shared(), self.lock:
                        self.run.step(n)
                    dt = time.perf_counter() - t0
                if rate and n / rate > dt:  # hold the speed limit; commands still wake us
                    self._wake.wait(n / rate - dt)
                    self._wake.clear()
                # grow or shrink the chunk towards chunk_seconds
                if dt < self.chunk_seconds / 2:
                    self._chunk = min(self._chunk * 2, 100_000)
                elif dt > self.chunk_seconds * 2 and self._chunk > 1:
                    self._chunk //= 2
                if self.run.state == "diverged":
                    self._playing = False
                now = time.perf_counter()
                if not self._playing or now - last_publish >= self.publish_seconds:
                    self._publish()
                    last_publish = now
        except Exception as exc:  # a bug must not kill the page: record it and pause
            self._playing = False
            self.error = f"{type(exc).__name__}: {exc}"
            self.run.state, self.run.reason = "failed", f"training stopped by an error: {self.error}"
            self._publish()
