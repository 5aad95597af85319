"""Job: work on a background thread with progress, a result, an error, and cancellation."""

import threading

from netarium.training.jobs import Job


def test_a_job_reports_progress_then_its_result() -> None:
    halfway, gate = threading.Event(), threading.Event()

    def work(progress) -> str:
        progress(3, 12)
        halfway.set()
        gate.wait(5)
        progress(12, 12)
        return "trained"

    job = Job(work, total=12)
    assert not job.started and job.progress == 0.0 and job.result is None
    job.start()
    assert halfway.wait(5)
    assert job.running and job.progress == 0.25 and job.result is None
    job.start()  # a second start does nothing
    gate.set()
    assert job.join(5)
    assert job.done and not job.running and job.progress == 1.0 and job.result == "trained" and job.error == ""


def test_an_error_is_one_line() -> None:
    def work(progress) -> None:
        raise ValueError("no data")

    job = Job(work).start()
    assert job.join(5) and job.result is None and job.error == "ValueError: no data" and job.progress == 1.0


def test_cancel_stops_the_work_at_its_next_progress_report() -> None:
    started, gate = threading.Event(), threading.Event()
    reached: list[int] = []

    def work(progress) -> int:
        started.set()
        gate.wait(5)
        for i in range(1, 100):
            progress(i, 100)
            reached.append(i)
        return 99

    job = Job(work, total=100).start()
    assert started.wait(5)
    job.cancel()
    gate.set()
    assert job.join(5)
    assert job.error == "cancelled" and job.result is None and reached == []
