"""The session's heartbeat: a fragment on every page (app.py) that tells the server a page of this session
is still open, so its run and sweep keep training. When the browser is gone the beats stop, and the server
pauses the session after NETARIUM_SESSION_PAUSE_SECONDS and frees it after NETARIUM_SESSION_FREE_SECONDS
(training/sessions.py). A page without live views (Home, Runs, Experiments) keeps its session alive this way.
"""

from __future__ import annotations

import streamlit as st

from netarium.training.live import LiveRun
from netarium.training.live_sweep import LiveSweep
from netarium.training.sessions import DEFAULTS, FREE, PAUSE
from netarium.ui.session import session_sweep
from netarium.ui.transport import TICK_SECONDS

MAX_BEAT_SECONDS = 30.0  # a paused session still beats this often, so an open page is never freed


def beat_seconds(playing: bool, pause: float | None, free: float | None) -> float:
    """How often the page beats: while training, three times within the pause time (between a tick and
    2 s); paused, six times within the free time (between 1 s and MAX_BEAT_SECONDS)."""
    if playing:
        return min(max((pause or DEFAULTS[PAUSE]) / 3, TICK_SECONDS), 2.0)
    return min(max((free or DEFAULTS[FREE]) / 6, 1.0), MAX_BEAT_SECONDS)


def heartbeat(live: LiveRun) -> None:
    """Touch the session's run and live sweep now and every beat (an empty fragment: it draws nothing)."""
    sweep = session_sweep()
    playing = live.playing or (isinstance(sweep, LiveSweep) and sweep.playing)
    every = beat_seconds(playing, live.idle_pause_seconds, live.free_seconds)

    @st.fragment(run_every=every)
    def _beat() -> None:
        live.touch()
        current = session_sweep()  # drops a sweep the server freed, with a notice
        if isinstance(current, LiveSweep):
            current.touch()
        if live.freed or current is not sweep:  # freed while the page was away: redraw it all (revived)
            st.rerun()

    _beat()
