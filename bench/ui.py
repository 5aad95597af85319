"""`netarium bench ui`: training speed with the Playground open in Chromium, against headless.

Headless: the app's default config (TensorFlow Playground's preset; steps and epochs per second, 25 steps
an epoch) stepped by a Worker in this process. Browser: the same config
in the app (its own process), Playground page open, Play pressed; the step counter is read from the
sidebar status line every 50 ms. On a machine with two or more cores the server (and the headless
run) get the last core and Chromium the others, as when the browser runs on the user's computer;
without that split the browser's rendering and the training thread fight for the same cores and
the figure swings between 0.55 and 0.77 from run to run. Refresh rate: distinct values per second of the page's live
caption ("as of step N"), which the Playground's live fragment redraws on every tick. First chart: seconds from
navigating to /Playground until the sidebar's status line and the first plotly chart show, for the first session of
a fresh server (cold) and for the sessions after it (warm).

Second case: the modular-grokking preset opened from the Experiments page onto the Dynamics page (its
curvature thread, Fourier snapshots and curves running), against the same preset stepped by a Worker alone.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from netarium.bench.browser import app_server, browser, open_page, read_status, status_step
from netarium.experiments import EXPERIMENTS
from netarium.training import Run, Worker
from netarium.training.threads import torch_threads

LIVE_CAPTION_JS = """() => {
  const el = [...document.querySelectorAll('section.main [data-testid="stCaptionContainer"], [data-testid="stMain"] [data-testid="stCaptionContainer"]')]
    .find(e => /^as of step/.test(e.innerText));
  return el ? el.innerText : "";
}"""


def core_split() -> tuple[set[int], set[int]] | None:
    """(server cores, browser cores): the last core for the server, the rest for Chromium."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return ({cores[-1]}, set(cores[:-1])) if len(cores) >= 2 else None


def headless_rate(seconds: float, cores: set[int] | None = None, experiment: str = "playground") -> float:
    """Steps/s of an experiment's preset (the app's default config: playground) stepped by a Worker (no UI),
    on `cores` when given."""
    before = os.sched_getaffinity(0) if cores else None
    if cores:
        os.sched_setaffinity(0, cores)
    try:
        return _headless_rate(seconds, experiment)
    finally:
        if before:
            os.sched_setaffinity(0, before)


def _headless_rate(seconds: float, experiment: str = "playground") -> float:
    torch.set_num_threads(torch_threads())
    worker = Worker(Run(EXPERIMENTS.get(experiment).config)).start()
    worker.play()
    time.sleep(1.0)  # warm-up
    s0, t0 = worker.latest().step, time.perf_counter()
    time.sleep(seconds)
    s1, t1 = worker.latest().step, time.perf_counter()
    worker.stop()
    return (s1 - s0) / (t1 - t0)


def browser_rates(seconds: float, split: tuple[set[int], set[int]] | None = None) -> dict[str, float]:
    """Steps/s and refreshes/s seen in Chromium with the Playground page open and playing."""
    before = os.sched_getaffinity(0) if split else None
    if split:
        os.sched_setaffinity(0, split[1])  # Chromium (started from here) inherits the browser cores
    try:
        return _browser_rates(seconds, split[0] if split else None)
    finally:
        if before:
            os.sched_setaffinity(0, before)


def _browser_rates(seconds: float, server_cores: set[int] | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, app_server(Path(tmp) / "server", cores=server_cores) as url, \
            browser(Path(tmp) / "profile") as ctx:
        tab = open_page(ctx, url, "Playground")
        tab.get_by_text("as of step", exact=False).first.wait_for()
        tab.locator(".st-key-transport-play button").first.click()
        deadline = time.monotonic() + 20
        while (status_step(read_status(tab)) or 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)  # warm-up: first heavy views drawn
        samples: list[tuple[float, int | None, str]] = []
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            samples.append((time.monotonic(), status_step(read_status(tab)), tab.evaluate(LIVE_CAPTION_JS)))
            time.sleep(0.05)
        steps = [(t, s) for t, s, _ in samples if s is not None]
        captions = [c for _, _, c in samples]
        changes = sum(1 for a, b in zip(captions, captions[1:], strict=False) if b and a != b)
        span = samples[-1][0] - samples[0][0]
        tab.locator(".st-key-transport-pause button").first.click()
        return {"steps_per_sec": (steps[-1][1] - steps[0][1]) / (steps[-1][0] - steps[0][0]) if len(steps) > 1 else 0.0,
                "refreshes_per_sec": changes / span if span > 0 else 0.0, "seconds": span}


FIRST_CHART_JS = """() => [...document.querySelectorAll('.js-plotly-plot .main-svg')].some(e => e.getBoundingClientRect().height > 0)"""
SIDEBAR_JS = """() => /step [0-9,]+ ·/.test(document.querySelector('[data-testid="stSidebar"]')?.innerText || '')"""


def first_chart_seconds(sessions: int = 3, timeout: float = 60.0) -> list[dict[str, float]]:
    """For each of `sessions` tabs opened one after another on a fresh server: seconds from navigating to
    /Playground until the sidebar's status line shows ("sidebar") and until the first plotly chart is drawn
    ("chart"). The first tab is the server's first session (cold)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp, app_server(Path(tmp) / "server") as url, browser(Path(tmp) / "profile") as ctx:
        for _ in range(sessions):
            tab = ctx.new_page()
            start = time.perf_counter()
            tab.goto(url + "/Playground")
            marks: dict[str, float] = {}
            while len(marks) < 2 and time.perf_counter() - start < timeout:
                for name, probe in (("sidebar", SIDEBAR_JS), ("chart", FIRST_CHART_JS)):
                    if name not in marks and tab.evaluate(probe):
                        marks[name] = time.perf_counter() - start
                time.sleep(0.02)
            out.append(marks)
            tab.close()
    return out

def dynamics_rate(seconds: float, split: tuple[set[int], set[int]] | None = None) -> float:
    """Steps/s seen in Chromium with modular-grokking opened from the Experiments page (the Dynamics page) and playing."""
    before = os.sched_getaffinity(0) if split else None
    if split:
        os.sched_setaffinity(0, split[1])
    try:
        with tempfile.TemporaryDirectory() as tmp, app_server(Path(tmp) / "server", cores=split[0] if split else None) as url, \
                browser(Path(tmp) / "profile") as ctx:
            tab = open_page(ctx, url, "Experiments")
            tab.locator(f".st-key-experiments-open-{DYNAMICS_PRESET} button").first.click()
            tab.get_by_text("Fourier features", exact=False).first.wait_for()
            tab.locator(".st-key-transport-play button").first.click()
            deadline = time.monotonic() + 30
            while (status_step(read_status(tab)) or 0) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2.0)  # warm-up: the heavy views' first computations
            steps: list[tuple[float, int]] = []
            t_end = time.monotonic() + seconds
            while time.monotonic() < t_end:
                step = status_step(read_status(tab))
                if step is not None:
                    steps.append((time.monotonic(), step))
                time.sleep(0.1)
            tab.locator(".st-key-transport-pause button").first.click()
            return (steps[-1][1] - steps[0][1]) / (steps[-1][0] - steps[0][0]) if len(steps) > 1 else 0.0
    finally:
        if before:
            os.sched_setaffinity(0, before)


DYNAMICS_PRESET = "modular-grokking"
TFP_EPOCHS = 60  # TensorFlow Playground: d3.timer calls oneStep (one epoch) once per animation frame (playground.ts)
EPOCHS_TARGET = 300  # epochs/s of its preset with the Playground page live (issue 15: 5x TFP)


def run_ui_bench(quick: bool = False) -> dict[str, Any]:
    """Print and return headless vs in-browser steps/s and epochs/s of the Playground preset (ratio) and the
    page's refreshes per second, the first chart's seconds, and the Dynamics page's rate."""
    seconds = 5.0 if quick else 10.0
    split = core_split()
    where = f"server and headless run on core(s) {sorted(split[0])}, Chromium on {sorted(split[1])}" if split else "no core split"
    print(f"netarium bench ui: app default config ({EXPERIMENTS.get('playground').title}), {seconds:.0f} s per measurement; {where}")
    per_epoch = Run(EXPERIMENTS.get("playground").config).steps_per_epoch  # TFP's preset: 250 points / batch 10
    before = headless_rate(seconds, split[0] if split else None)
    seen = browser_rates(seconds, split)
    after = headless_rate(seconds, split[0] if split else None)
    headless = statistics.mean([before, after])
    ratio = seen["steps_per_sec"] / headless if headless else 0.0
    browser_epochs = seen["steps_per_sec"] / per_epoch
    out = {"core_split": [sorted(c) for c in split] if split else None, "steps_per_epoch": per_epoch,
           "headless_steps_per_sec": headless, "headless_epochs_per_sec": headless / per_epoch,
           "headless_before_after": [before, after], **{f"browser_{k}": v for k, v in seen.items()},
           "browser_epochs_per_sec": browser_epochs, "ratio": ratio}
    print(f"headless {headless:9,.0f} steps/s = {headless / per_epoch:6,.0f} epochs/s "
          f"(before {before:,.0f}, after {after:,.0f} steps/s; {per_epoch} steps per epoch)")
    print(f"browser  {seen['steps_per_sec']:9,.0f} steps/s = {browser_epochs:6,.0f} epochs/s with the Playground open "
          f"(target >= {EPOCHS_TARGET} epochs/s, {EPOCHS_TARGET // TFP_EPOCHS}x TensorFlow Playground's {TFP_EPOCHS}); "
          f"ratio to headless {ratio:5.3f}")
    print(f"page refreshes {seen['refreshes_per_sec']:.2f} per second (target >= 2)")
    loads = first_chart_seconds(2 if quick else 4)
    warm = [m.get("chart", math.nan) for m in loads[1:]]
    out["first_chart"] = {"cold": loads[0], "warm": loads[1:], "warm_chart_median": statistics.median(warm)}
    print(f"first chart on the Playground {loads[0].get('chart', math.nan):.1f} s for a fresh server's first session "
          f"(sidebar {loads[0].get('sidebar', math.nan):.1f} s), {statistics.median(warm):.1f} s after (median; target < 4)")
    return out | run_dynamics_bench(quick)


def run_dynamics_bench(quick: bool = False) -> dict[str, Any]:
    """The Dynamics case alone (`netarium bench ui-dynamics`): modular-grokking headless, with the Dynamics
    page open, headless again (the machine's load drifts: the two headless figures bracket the page's)."""
    seconds = 5.0 if quick else 10.0
    split = core_split()
    before = headless_rate(seconds, split[0] if split else None, DYNAMICS_PRESET)
    page = dynamics_rate(seconds, split)
    after = headless_rate(seconds, split[0] if split else None, DYNAMICS_PRESET)
    alone = statistics.mean([before, after])
    print(f"{DYNAMICS_PRESET}: headless {alone:,.1f} steps/s (before {before:,.1f}, after {after:,.1f}), with the Dynamics "
          f"page open {page:,.1f} steps/s (ratio {page / alone if alone else 0.0:.2f})")
    return {"dynamics_headless_steps_per_sec": alone, "dynamics_headless_before_after": [before, after],
            "dynamics_browser_steps_per_sec": page}
