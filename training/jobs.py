"""`Job`: a piece of training work (an experiment's check, a second net, GD vs SGD) on a background
thread, so a page never blocks while it runs.

No Streamlit here: a page keeps its jobs in the session and polls `progress`, `done`, `result` and
`error`; `cancel()` stops the work at its next progress report (a reset drops a stale job that way).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import torch

from netarium.training.threads import torch_threads

T = TypeVar("T")
Progress = Callable[[int, int], None]


class Cancelled(Exception):
    """Raised inside the work by its progress callback once the job was cancelled."""


class Job(Generic[T]):
    """Runs `work(progress)` once on a daemon thread.

    `progress` is done/total from the work's progress callback (`total` until the first report;
    1.0 once finished); `result` is what the work returned, `error` one line when it raised (or
    "cancelled").
    """

    def __init__(self, work: Callable[[Progress], T], *, total: int = 0, name: str = "netarium-job") -> None:
        self.work = work
        self.result: T | None = None
        self.error = ""
        self.started_at: float | None = None
        self._done_steps = 0
        self._total_steps = max(int(total), 0)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    # ---- control ----
    def start(self) -> Job[T]:
        """Start the thread once; later calls do nothing."""
        with self._lock:
            if self.started_at is None:
                self.started_at = time.monotonic()
                self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the job is done (at most `timeout` seconds); True when it is."""
        return self._finished.wait(timeout)

    def cancel(self) -> None:
        """Ask the work to stop: its next progress report raises Cancelled."""
        self._cancel.set()

    # ---- reading ----
    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def running(self) -> bool:
        return self.started and not self.done

    @property
    def progress(self) -> float:
        """Fraction of the work done, in [0, 1]; 1.0 when finished (even after an error)."""
        if self.done:
            return 1.0
        with self._lock:
            done, total = self._done_steps, self._total_steps
        return min(max(done / total, 0.0), 1.0) if total > 0 else 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since start (0 before)."""
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    # ---- thread ----
    def _report(self, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise Cancelled
        with self._lock:
            self._done_steps, self._total_steps = int(done), int(total)

    def _work(self) -> None:
        try:
            torch.set_num_threads(torch_threads())
            self.result = self.work(self._report)
        except Cancelled:
            self.error = "cancelled"
        except Exception as e:  # noqa: BLE001  (a page shows it; the thread must not die silently)
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self._finished.set()
