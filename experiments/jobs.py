"""`CheckJob`: train an experiment and judge it on a background thread (a training/jobs.py Job),
so a page never blocks.

No Streamlit here: a page keeps one job per experiment in its session and polls `progress`,
`done`, `outcome` and `error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netarium.experiments.base import CheckResult, Experiment
from netarium.training.config import Config
from netarium.training.jobs import Job, Progress


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


class CheckJob(Job[CheckOutcome]):
    """Runs `experiment.run(config, progress)` then `experiment.check(result)` on a daemon thread.

    `progress` is done/total from the runner's progress callback (1.0 once finished); `outcome`
    is set when it succeeded, `error` (one line) when the runner or the check raised.
    """

    def __init__(self, experiment: Experiment, config: Config | None = None) -> None:
        self.experiment = experiment
        self.config = config or experiment.config
        super().__init__(self._check, total=self.config.steps, name=f"netarium-check-{experiment.id}")

    @property
    def outcome(self) -> CheckOutcome | None:
        """The verdict with its numbers, once the check succeeded."""
        return self.result

    def _check(self, progress: Progress) -> CheckOutcome:
        result = self.experiment.run(self.config, progress)
        check = self.experiment.check(result)
        figure = self.experiment.figure(result) if self.experiment.figure else None
        return CheckOutcome(check, dict(result.final), int(result.steps), float(result.seconds), result.state,
                            result.reason, figure)
