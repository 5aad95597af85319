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

    def run(self, config: Config | None = None, progress: Progress | None = None) -> Result:
        """Train the preset (or a modified) config with this experiment's runner."""
        return self.runner(config or self.config, progress)


EXPERIMENTS: Catalog[Experiment] = Catalog("experiment")
