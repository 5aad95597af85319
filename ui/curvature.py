"""The live run's curvature, measured on a background thread within a CPU-time budget: the Hessian's
top eigenvalues (sharpness first) and its trace, of the full-batch loss on a fixed probe subset.

No Streamlit here: the Dynamics views start one tracker per live run (generation) and read it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from netarium.analysis.hessian import sharpness_and_trace
from netarium.training.live import LiveRun
from netarium.ui.errors import failure_sentence

BUDGET = 0.1  # the tracker computes at most this fraction of wall time, so training keeps its speed (as heavy views)
PROBE = 512  # training points the full-batch Hessian is taken on
TOP_K = 3
TRACE_SAMPLES = 20


@dataclass
class CurvatureHistory:
    steps: list[int] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    eigenvalues: list[list[float]] = field(default_factory=list)
    trace: list[float] = field(default_factory=list)
    trace_stderr: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0  # spent measuring


class CurvatureTracker:
    """Measures every time the step has moved, then sleeps so that measuring takes at most `budget`
    of the wall time (Lanczos warm-started from the last top eigenvector keeps each measure cheap)."""

    def __init__(self, live: LiveRun, budget: float = BUDGET, k: int = TOP_K, trace_samples: int = TRACE_SAMPLES):
        self.live = live
        self.generation = live.generation
        self.budget = min(max(budget, 0.01), 1.0)
        self.k, self.trace_samples = k, trace_samples
        self.history = CurvatureHistory()
        self.error = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="netarium-curvature", daemon=True)
        self._thread.start()
        live.on_close.append(self.close)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self.live.generation == self.generation

    def stop(self) -> None:
        self._stop.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread (a measurement in flight finishes first)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def measure_once(self, v0=None):
        """One measurement of the live model now; appended to the history. Returns the top eigenvector."""
        run = self.live.run
        step, model = self.live.model_copy()
        X, y = run.task.X_train[:PROBE], run.task.y_train[:PROBE]
        t0 = time.perf_counter()
        r = sharpness_and_trace(model, run.loss, X, y, k=self.k, trace_samples=self.trace_samples, v0=v0, with_vector=True)
        dt = time.perf_counter() - t0
        with self._lock:
            h = self.history
            h.steps.append(step)
            h.sharpness.append(r["sharpness"])
            h.eigenvalues.append(list(r["eigenvalues"]))
            h.trace.append(r["trace"])
            h.trace_stderr.append(r["trace_stderr"])
            h.lr.append(run.lr)
            h.seconds += dt
        return r.get("vector"), dt

    def _loop(self) -> None:
        v0, last = None, None
        while not self._stop.is_set() and self.live.generation == self.generation and not self.live.worker.stopped:
            step = self.live.run.step_count
            if step == last or self.live.run.state == "diverged":
                self._stop.wait(0.3)
                continue
            try:
                v0, dt = self.measure_once(v0)
            except Exception as e:  # never take the page down; say that the curves stopped (the log says why)
                self.error = failure_sentence("the Hessian could not be measured", e)
                return
            last = step
            self._stop.wait(max(dt * (1 / self.budget - 1), 0.25))

    def snapshot(self) -> CurvatureHistory:
        with self._lock:
            h = self.history
            return CurvatureHistory(list(h.steps), list(h.sharpness), [list(e) for e in h.eigenvalues], list(h.trace),
                                    list(h.trace_stderr), list(h.lr), h.seconds)
