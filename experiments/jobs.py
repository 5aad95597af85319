"""`CheckJob`: train an experiment and judge it on a background thread, so a page never blocks.

No Streamlit here: a page keeps one job per experiment in its session and polls `progress`,
`done`, `outcome` and `error`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import torch

from netarium.experiments.base import CheckResult, Experiment
from netarium.training.config import Config
from netarium.training.run import torch_threads


@dataclass(frozen=True)
class CheckOutcome:
    """What a finished check produced: the verdict, the run's final numbers and how long it took."""

    check: CheckResult
    final: dict[str, float]
    steps: int
    seconds: float
    state: str = "done"
    reason: str = ""
    figure: Any = None  # the experiment's figure of the result (a plotly Figure), when it has one

    @property
    def passed(self) -> bool:
        """Passed only when the check passed and the run did not diverge."""
        return self.check.passed and self.state != "diverged"

    @property
    def verdict(self) -> str:
        """One line: why it passed or failed (divergence first, it overrides the check)."""
        if self.state == "diverged":
            return f"the run diverged: {self.reason}" if self.reason else "the run diverged"
        return self.check.reason

    def rows(self) -> list[dict[str, object]]:
        """The judged numbers, then the other final metrics, as table rows {"number", "value", "from"}."""
        rows: list[dict[str, object]] = [{"number": k, "value": float(v), "from": "check"} for k, v in self.check.numbers.items()]
        rows += [{"number": k, "value": float(v), "from": "final"} for k, v in self.final.items() if k not in self.check.numbers]
        rows += [{"number": "steps", "value": float(self.steps), "from": "run"},
                 {"number": "seconds", "value": float(self.seconds), "from": "run"}]
        return rows


class CheckJob:
    """Runs `experiment.run(config, progress)` then `experiment.check(result)` on a daemon thread.

    `progress` is done/total from the runner's progress callback (1.0 once finished); `outcome`
    is set when it succeeded, `error` (one line) when the runner or the check raised.
    """

    def __init__(self, experiment: Experiment, config: Config | None = None) -> None:
        self.experiment = experiment
        self.config = config or experiment.config
        self.outcome: CheckOutcome | None = None
        self.error = ""
        self.started_at: float | None = None
        self._done_steps = 0
        self._total_steps = max(int(self.config.steps), 0)
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"netarium-check-{experiment.id}", daemon=True)

    # ---- control ----
    def start(self) -> CheckJob:
        """Start the thread once; later calls do nothing."""
        with self._lock:
            if self.started_at is None:
                self.started_at = time.monotonic()
                self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the job is done (at most `timeout` seconds); True when it is."""
        return self._finished.wait(timeout)

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
        """Fraction of the steps trained, in [0, 1]; 1.0 when finished (even after an error)."""
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
        with self._lock:
            self._done_steps, self._total_steps = int(done), int(total)

    def _work(self) -> None:
        try:
            torch.set_num_threads(torch_threads())
            result = self.experiment.run(self.config, self._report)
            check = self.experiment.check(result)
            figure = self.experiment.figure(result) if self.experiment.figure else None
            self.outcome = CheckOutcome(check, dict(result.final), int(result.steps), float(result.seconds),
                                        result.state, result.reason, figure)
        except Exception as e:  # noqa: BLE001  (a page shows it; the thread must not die silently)
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self._finished.set()
