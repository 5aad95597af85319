"""CheckJob: an experiment trained and judged on a background thread, with progress and errors."""

from __future__ import annotations

import dataclasses
import threading

from netarium.experiments import EXPERIMENTS, CheckResult, Result
from netarium.experiments.jobs import CheckJob, CheckOutcome
from netarium.training import Config
from netarium.training.history import History

PLAYGROUND = EXPERIMENTS.get("playground-spiral")  # one run, judged on its final test accuracy
SMALL = PLAYGROUND.config.with_overrides({"steps": 50, "device": "cpu"})


def test_check_job_on_the_playground_reports_progress_and_a_verdict() -> None:
    job = CheckJob(PLAYGROUND, SMALL)
    assert not job.started and not job.done and job.progress == 0.0
    seen: list[float] = []
    job.start()
    assert job.started
    while not job.join(0.01):
        seen.append(job.progress)
    assert job.done and not job.running and job.error == ""
    assert job.progress == 1.0
    assert seen == sorted(seen) and all(0.0 <= p <= 1.0 for p in seen)  # rises, never past 1
    outcome = job.outcome
    assert isinstance(outcome, CheckOutcome) and isinstance(outcome.check, CheckResult)
    assert outcome.steps == 50 and outcome.seconds > 0 and outcome.state == "done"
    assert set(outcome.check.numbers) == {"test_acc", "threshold", "train_acc"}
    assert outcome.final["test_acc"] == outcome.check.numbers["test_acc"]
    assert outcome.passed is outcome.check.passed and outcome.verdict == outcome.check.reason
    names = [r["number"] for r in outcome.rows()]
    assert names[:3] == ["test_acc", "threshold", "train_acc"] and names[-2:] == ["steps", "seconds"]
    assert "test_loss" in names


def test_progress_follows_the_runner_callback() -> None:
    gate, reported = threading.Event(), threading.Event()

    def runner(config: Config, progress) -> Result:
        progress(3, 12)
        reported.set()
        gate.wait(5)
        progress(12, 12)
        return Result(config, {"test_acc": 1.0, "train_acc": 1.0}, History(), steps=12, seconds=0.5)

    job = CheckJob(dataclasses.replace(PLAYGROUND, runner=runner), SMALL).start()
    assert reported.wait(5)
    assert job.progress == 0.25 and job.running and not job.done and job.outcome is None
    job.start()  # a second start does nothing
    gate.set()
    assert job.join(5)
    assert job.progress == 1.0 and job.outcome is not None and job.outcome.passed
    assert job.outcome.verdict == "test accuracy 1.000 reached 0.9"


def test_a_runner_that_raises_records_the_error() -> None:
    def boom(config: Config, progress) -> Result:
        progress(1, 10)
        raise ValueError("the data set could not be built")

    job = CheckJob(dataclasses.replace(PLAYGROUND, runner=boom)).start()
    assert job.join(5)
    assert job.done and job.outcome is None and job.progress == 1.0
    assert job.error == "ValueError: the data set could not be built"


def test_a_diverged_run_fails_whatever_the_check_says() -> None:
    def diverged(config: Config, progress) -> Result:
        return Result(config, {"test_acc": 0.95}, History(), steps=7, seconds=0.1, state="diverged",
                      reason="loss became nan at step 7")

    job = CheckJob(dataclasses.replace(PLAYGROUND, runner=diverged)).start()
    assert job.join(5)
    assert job.outcome is not None and job.outcome.check.passed and not job.outcome.passed
    assert job.outcome.verdict == "the run diverged: loss became nan at step 7"


def test_an_experiment_figure_comes_with_the_outcome() -> None:
    seen: list[Result] = []

    def figure(result: Result) -> dict:
        seen.append(result)
        return {"steps": result.steps}

    job = CheckJob(dataclasses.replace(PLAYGROUND, figure=figure), SMALL).start()
    assert job.join(30) and job.error == ""
    assert job.outcome.figure == {"steps": 50} and seen[0].steps == 50
    plain = CheckJob(PLAYGROUND, SMALL).start()
    assert plain.join(30) and plain.outcome.figure is None
