"""Background jobs of a page (a second net, GD vs SGD, an experiment's check): a training/jobs.py Job
polled with a progress bar that refreshes itself, the page redrawn once it is done.

Jobs of the live run are kept per generation (ui/cache.py): a reset cancels and drops a stale one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from netarium.training.jobs import Job, Progress
from netarium.training.live import LiveRun
from netarium.ui.cache import generation_store

POLL_SECONDS = 0.5


def live_job(live: LiveRun, name: str) -> Job | None:
    """The job `name` started for the live run's current generation, if any."""
    return generation_store(live).get(("job", name))


def start_live_job(live: LiveRun, name: str, work: Callable[[Progress], Any], total: int) -> Job:
    """Start work(progress) in the background as job `name` of this generation (one at a time: a running
    one is returned as is)."""
    job = live_job(live, name)
    if job is None or not job.running:
        job = generation_store(live)[("job", name)] = Job(work, total=total, name=f"netarium-{name}").start()
    return job


def forget_job(live: LiveRun, name: str) -> None:
    """Drop job `name` of this generation (its result was taken); a running one is cancelled."""
    job = generation_store(live).pop(("job", name), None)
    if job is not None:
        job.cancel()


def job_progress(job: Job, text: str) -> None:
    """A progress bar of a running job that refreshes itself; once the job is done the whole page reruns,
    so every view sees its result. Call it only while the job is not done."""

    @st.fragment(run_every=POLL_SECONDS)
    def _poll() -> None:
        if job.done:
            st.rerun()
        st.progress(job.progress, text=f"{text}… {job.progress:.0%} ({job.elapsed:.0f} s)")

    _poll()
