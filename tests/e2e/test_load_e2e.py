"""Three sessions at once on one server (the short `netarium bench load`): Playground and Diagram at "max", Dynamics
at 100 steps per tick, playing together for 15 s; then the tabs close and the server is watched until its thread
count is back to where it was before the first session (the session lifecycle frees an idle session's worker
thread after NETARIUM_SESSION_FREE_SECONDS, set to 10 s here). Before the baseline, every page is opened once
and its session freed (the bench's first-use round)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netarium.bench.load import QUICK_PLANS

pytestmark = pytest.mark.e2e


SCRIPT = """
import json, sys
from pathlib import Path
from netarium.bench.load import QUICK_PLANS, run_load, server_env
env = server_env(len(QUICK_PLANS), pause=4, free=10)
out = run_load(QUICK_PLANS, seconds=15, settle=30, env=env, stop_when_settled=True, baseline_seconds=2,
               home=Path(sys.argv[1]), say=lambda *_: None, warm=True)
Path(sys.argv[2]).write_text(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def load(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The figures of one short load run on its own server (tmp home), in a process of its own: Playwright's
    sync API cannot start a second browser in a thread that already drives the suite's."""
    home, out = tmp_path_factory.mktemp("load"), tmp_path_factory.mktemp("load-out") / "figures.json"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(home), str(out)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_session_opens_plays_and_shows_no_exception(load: dict) -> None:
    sessions = load["sessions"]
    assert [s["page"] for s in sessions] == [p.page for p in QUICK_PLANS]
    assert [s["open_error"] for s in sessions] == [""] * len(QUICK_PLANS)
    assert load["exception_elements"] == 0, load["exceptions"]
    assert load["errors"] == []
    for s in sessions:
        assert s["steps_advanced"] and s["steps_advanced"] > 0, s  # every playing session advanced
        assert "playing" in s["last_status"], s
    # the sampler saw the server throughout: a baseline, and samples before and after the tabs closed
    marks, samples = load["marks"], load["samples"]
    assert load["baseline"]["threads"] > 0 and load["baseline"]["rss_mb"] > 0
    assert any(t < marks["tabs_closed"] for t, _, _ in samples) and any(t > marks["tabs_closed"] for t, _, _ in samples)
    assert load["peak"]["threads"] > load["baseline"]["threads"]  # a worker thread per playing session at least


def test_threads_return_to_baseline_after_the_tabs_close(load: dict) -> None:
    after, base = load["after_close"], load["baseline"]
    assert after["threads_back_after_seconds"] is not None, (
        f"threads {after['threads']} (fewest {after['min_threads']}) {after['seconds']:.0f} s after the tabs closed; "
        f"baseline {base['threads']}")
    assert after["threads"] <= base["threads"]


def test_the_baseline_is_read_after_the_first_use_sessions_are_freed(load: dict) -> None:
    first, base = load["first_use"], load["baseline"]
    assert first["fresh_rss_mb"] > 0 and first["rss_mb"] > 0 and first["seconds"] > 3 * 3.0  # 3 pages, 3 s playing each
    assert base["threads"] <= first["fresh_threads"]  # the round's worker threads were gone before the baseline
    assert base["rss_mb"] >= first["fresh_rss_mb"] - 20  # the first use keeps what it loaded, it frees no baseline memory
