"""An experiment = a preset Config + `check()` that says whether the phenomenon showed, with numbers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netarium.schema import Catalog
from netarium.training.config import Config
from netarium.training.history import History
from netarium.training.run import Run
from netarium.training.sweep_run import train_configs
from netarium.training.threads import using_threads

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CheckResult:
    """Whether the phenomenon showed up, the numbers that were judged, and why."""

    passed: bool
    numbers: dict[str, float]
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "numbers": dict(self.numbers), "reason": self.reason}


@dataclass
class Result:
    """What an experiment run produced: final metrics, history, and the run(s) themselves."""

    config: Config
    final: dict[str, float]
    history: History
    steps: int
    seconds: float
    state: str = "done"
    reason: str = ""
    runs: list[Run] = field(default_factory=list, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)  # numbers a custom runner measured


def train_once(config: Config, progress: Progress | None = None) -> Result:
    """The default runner: one Run of `config` for config.steps steps."""
    t0 = time.perf_counter()
    run = Run(config).train(progress=progress)
    final = run.final_metrics()
    return Result(config, final, run.history, run.step_count, time.perf_counter() - t0,
                  state="diverged" if run.state == "diverged" else "done", reason=run.reason, runs=[run])


class _Scaled:
    """progress(done_before + done, total); a saving callback's due/flush (runs_io.RunWriter) pass through."""

    def __init__(self, progress: Progress, done_before: int, total: int):
        self.progress, self.done_before, self.total = progress, done_before, total
        if hasattr(progress, "due"):
            self.due, self.flush = progress.due, progress.flush  # type: ignore[attr-defined]

    def __call__(self, done: int, _total: int) -> None:
        self.progress(self.done_before + done, self.total)


def scaled_progress(progress: Progress | None, done_before: int, total: int) -> Callable[[int, int], None] | None:
    """A progress callback for one of several runs, reporting against the whole experiment."""
    if progress is None:
        return None
    return _Scaled(progress, done_before, total)


def train_all(configs: list[Config], progress: Progress | None, task=None, threads: int | None = None) -> list[Run]:
    """Train every config (on a shared task when given) through the sweep engine: those of one
    architecture as one batched program, the rest one after another; progress over all of them.
    `threads`: torch's thread count while they train (1 for small nets: fastest, and leaves the other
    cores free), then restored; None leaves it as it is."""
    with using_threads(threads):
        return train_configs(configs, progress, task=task)


def multi_result(config: Config, runs: list[Run], t0: float, extra: dict) -> Result:
    diverged = next((r for r in runs if r.state == "diverged"), None)
    return Result(config, runs[0].final_metrics(), runs[0].history, sum(r.step_count for r in runs), time.perf_counter() - t0,
                  state="diverged" if diverged else "done", reason=diverged.reason if diverged else "", runs=runs, extra=extra)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: id (from PAPERS.md), preset config, check, and where to show it."""

    id: str
    title: str
    paper: str
    look_for: str
    config: Config
    check: Callable[[Result], CheckResult]
    page: str = "playground"  # the page that shows it best
    runner: Callable[[Config, Progress | None], Result] = train_once
    figure: Callable[[Result], Any] | None = None  # a plotly Figure of the result, shown under the verdict

    def run(self, config: Config | None = None, progress: Progress | None = None) -> Result:
        """Train the preset (or a modified) config with this experiment's runner."""
        return self.runner(config or self.config, progress)


EXPERIMENTS: Catalog[Experiment] = Catalog("experiment")
