"""The load bench's bookkeeping (no browser): the process sampler's reading of /proc, when a server counts as
settled, what one session's reads add up to, and the lifecycle settings it gives the server."""

from __future__ import annotations

import os
import threading
import time

import pytest

from netarium.bench.load import (
    FULL_PLANS,
    QUICK_PLANS,
    Plan,
    ProcSampler,
    SessionLog,
    proc_cpu_seconds,
    proc_status,
    server_env,
    settled_at,
)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_proc_status_counts_this_process_threads_and_rss() -> None:
    mb, threads = proc_status(os.getpid())
    assert mb > 10  # a Python with torch imported holds well over 10 MB
    stop = threading.Event()
    extra = threading.Thread(target=stop.wait)
    extra.start()
    try:
        assert proc_status(os.getpid())[1] == threads + 1
    finally:
        stop.set()
        extra.join()
    assert proc_status(2**22 + 12345) is None  # above Linux's pid limit: no such process


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_sampler_collects_timed_samples_and_stops() -> None:
    sampler = ProcSampler(os.getpid(), every=0.02).start()
    time.sleep(0.2)
    sampler.stop()
    n = len(sampler.samples)
    assert n >= 3
    times = [t for t, _, _ in sampler.samples]
    assert times == sorted(times)
    time.sleep(0.1)
    assert len(sampler.samples) == n  # stopped for good
    assert sampler.between(times[1], times[2]) == sampler.samples[1:3]


def test_settled_at_is_the_start_of_the_last_run_of_good_samples() -> None:
    samples = [(0.0, 500.0, 10), (1.0, 700.0, 20), (2.0, 540.0, 10), (3.0, 560.0, 10), (4.0, 545.0, 10), (5.0, 530.0, 10)]
    assert settled_at(samples, 1.0, 550.0, 10) == 3.0  # 540 at t=2 went back above 550 at t=3; good again from t=4
    assert settled_at(samples, 1.0, 600.0, 10) == 1.0
    assert settled_at(samples, 1.0, 520.0, 10) is None
    assert settled_at(samples, 1.0, float("inf"), 9) is None
    assert settled_at(samples + [(6.0, 530.0, 11)], 1.0, 600.0, 10) is None  # a thread came back at the end


def test_session_log_counts_steps_in_the_window_and_collects_texts() -> None:
    log = SessionLog(Plan("Dynamics", 100))
    read = {"status": "step 50 · epoch 2.0 · 280 steps/s · playing", "exceptions": [], "errors": [], "busy": False}
    log.record(0.0, read, in_window=False)  # before the window: ignored for steps
    log.record(1.0, read | {"status": "step 1,000 · epoch 40.0 · 280 steps/s · playing"}, in_window=True)
    log.record(2.0, read | {"status": "step 1,000 · epoch 40.0 · 280 steps/s · playing"}, in_window=True)
    log.record(11.0, read | {"status": "step 3,860 · epoch 154.4 · 286 steps/s · playing",
                             "exceptions": ["ValueError: x", "KeyError: y"], "errors": ["boom"]}, in_window=True)
    log.record(12.0, read | {"status": "step 4,146 · epoch 165.8 · 286 steps/s · playing", "exceptions": ["ValueError: x"]},
               in_window=True)
    f = log.figures()
    assert f["steps_advanced"] == 4146 - 1000
    assert f["steps_per_sec"] == pytest.approx(3146 / 11.0)
    assert f["target_steps_per_sec"] == pytest.approx(100 / 0.35)
    assert f["fill"] == pytest.approx((3146 / 11.0) / (100 / 0.35))
    assert f["exceptions"] == ["KeyError: y", "ValueError: x"] and f["exception_elements"] == 2 and f["errors"] == ["boom"]
    assert f["status_updates"] == 4  # 50 -> 1,000 -> (same) -> 3,860 -> 4,146
    assert f["last_status"].startswith("step 4,146")


def test_a_session_without_a_status_line_has_no_steps() -> None:
    log = SessionLog(Plan("Playground", "max"))
    log.record(1.0, {"status": "", "exceptions": [], "errors": [], "busy": True}, in_window=True)
    f = log.figures()
    assert f["steps_advanced"] is None and f["steps_per_sec"] is None and f["fill"] is None and f["busy"]
    assert Plan("Playground", "max").target_steps_per_sec is None


def test_plans_and_server_settings() -> None:
    assert len(FULL_PLANS) == 8 and len({p.page for p in FULL_PLANS}) == 8
    assert len(QUICK_PLANS) == 3 and len({p.page for p in QUICK_PLANS}) == 3
    for plans in (FULL_PLANS, QUICK_PLANS):
        assert "max" in [p.speed for p in plans] and len({p.speed for p in plans}) >= 2
        assert sum(p.speed == "max" and not p.experiment for p in plans) >= 2  # the fairness pair
    env = server_env(8, pause=6, free=20)
    assert env == {"NETARIUM_SESSION_PAUSE_SECONDS": "6", "NETARIUM_SESSION_FREE_SECONDS": "20",
                   "NETARIUM_MAX_SESSIONS": "12"}
    assert server_env(20)["NETARIUM_MAX_SESSIONS"] == "22"  # room for every tab of the bench


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_cpu_seconds_grow_with_work_and_cores_used_reads_the_samples() -> None:
    before = proc_cpu_seconds(os.getpid())
    end = time.process_time() + 0.3
    while time.process_time() < end:  # busy for 0.3 s of CPU
        pass
    assert proc_cpu_seconds(os.getpid()) - before >= 0.25  # /proc counts in clock ticks (10 ms)
    assert proc_cpu_seconds(2**22 + 12345) is None
    sampler = ProcSampler(os.getpid())
    sampler.cpu = [(0.0, 10.0), (1.0, 10.5), (2.0, 12.0), (4.0, 13.0)]
    assert sampler.cores_used(0.0, 2.0) == pytest.approx(1.0)  # 2 CPU seconds in 2 s
    assert sampler.cores_used(1.0, 4.0) == pytest.approx(2.5 / 3.0)
    assert sampler.cores_used(3.0, 4.0) is None  # one sample: no rate
