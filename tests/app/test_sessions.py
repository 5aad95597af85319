"""The session lifecycle in the app: a full server says it is busy and builds nothing; a freed run starts
again with a notice; a freed sweep is dropped with one; every page's heartbeat touches the session."""

from __future__ import annotations

import gc

from streamlit.testing.v1 import AppTest

from netarium.training.live_sweep import LiveSweep
from netarium.training.sessions import MAX_SESSIONS, SESSIONS
from netarium.training.sweep import sweep_from_specs
from netarium.ui.heartbeat import MAX_BEAT_SECONDS, beat_seconds
from netarium.ui.text import shown_text

LIVE = "netarium.live"
SWEEP = "netarium.sweep"
PLAYGROUND = "pages/playground.py"


def warnings(at: AppTest) -> list[str]:
    return [shown_text(w.value) for w in at.warning]


def test_a_full_server_says_it_is_busy_and_builds_nothing(open_app, monkeypatch) -> None:
    gc.collect()
    now = len(SESSIONS.live("run"))  # other tests' sessions still open in this process
    monkeypatch.setenv(MAX_SESSIONS, str(now + 1))
    first = open_app(PLAYGROUND)
    assert LIVE in first.session_state and len(SESSIONS.live("run")) == now + 1
    second = open_app()
    assert LIVE not in second.session_state and len(SESSIONS.live("run")) == now + 1  # nothing built
    assert warnings(second) == [f"The server is busy: {now + 1} people are training here now, the most it takes "
                                f"(NETARIUM_MAX_SESSIONS={now + 1}). Try again in a few minutes."]
    assert not second.sidebar.button and not second.title and not second.get("plotly_chart")  # and nothing else
    first.session_state[LIVE].close()  # that person left: a place is free again
    second.run()
    assert LIVE in second.session_state and not second.exception and second.title


def test_a_freed_run_starts_again_from_its_config_and_says_so_once(open_app) -> None:
    at = open_app(PLAYGROUND, **{"optimizer.lr": "0.3", "seed": "5"})
    live = at.session_state[LIVE]
    config = live.config
    live.step(7)
    live.free()  # what the reaper does after NETARIUM_SESSION_FREE_SECONDS without a page
    assert live.run is None
    at.run()
    assert not at.exception and at.session_state[LIVE] is live
    assert not live.freed and live.config == config and live.run.step_count == 0 and live.worker.alive
    (notice,) = [w for w in warnings(at) if "freed" in w]
    assert notice.startswith("This session's run was freed after ") and notice.endswith(
        "without a page open; it starts again from step 0 with the same settings.")
    at.run()
    assert not [w for w in warnings(at) if "freed" in w]  # once


def test_a_freed_sweep_is_dropped_with_a_notice(open_app) -> None:
    at = open_app("pages/sweeps.py")
    live = at.session_state[LIVE]
    sweep = LiveSweep(sweep_from_specs(live.config, ["seed=0,1"]), builders=[], owner=live)
    at.session_state[SWEEP] = sweep
    at.run()
    assert at.session_state[SWEEP] is sweep and sweep.idle_seconds() < 60  # the page touched it
    sweep.free()
    at.run()
    assert not at.exception and at.session_state[SWEEP] is None
    (notice,) = [w for w in warnings(at) if "freed" in w]
    assert notice.startswith("This session's sweep was freed after ") and notice.endswith(
        "without a page open; start it again on the Sweeps page.")


def test_every_page_touches_the_session_even_without_live_views(open_app) -> None:
    at = open_app()  # Home: no live view at all
    live = at.session_state[LIVE]
    for page in (None, "pages/runs.py", "pages/experiments.py"):
        live.last_touch -= 1000
        (at.switch_page(page) if page else at).run()
        assert not at.exception and live.idle_seconds() < 60, page


def test_the_beat_keeps_within_the_pause_while_training_and_slows_when_paused() -> None:
    assert beat_seconds(True, 6.0, 180.0) == 2.0 and beat_seconds(True, 0.5, 180.0) == 0.35
    assert beat_seconds(False, 6.0, 180.0) == MAX_BEAT_SECONDS == 30.0 and beat_seconds(False, 6.0, 3.0) == 1.0
    assert beat_seconds(True, None, None) == 2.0  # never paused: the default pace
