"""The transport (play / pause / step an epoch / reset / restart / regenerate, steps per tick) and the
status line. The buttons follow TensorFlow Playground's (reset: new weights, same data; regenerate: new
data, same weights), plus restart: the same run again, to reproduce it."""

from __future__ import annotations

import os
from collections.abc import Callable

import streamlit as st

from netarium.training.live import Change, LiveRun
from netarium.training.sessions import SESSIONS
from netarium.ui.session import flash, hidden_controls

TICK_SECONDS = 0.35  # how often live parts of a page refresh while training
SPEEDS: list[int | str] = [1, 10, 100, 1000, "max"]
MAX_SLOWDOWN = 4.0  # a busy server refreshes pages at most this many times slower than TICK_SECONDS


def refresh_seconds() -> float:
    """How often live parts of pages refresh now: every TICK_SECONDS, slower while more sessions train than
    the server has cores (each refresh runs Python under the one interpreter lock the training threads
    need too: 8 sessions refreshing every 0.35 s on 2 cores left their runs a few steps a second). A
    session's speed (steps per tick) still means steps per TICK_SECONDS."""
    playing = sum(1 for obj in SESSIONS.live("run") if getattr(obj, "playing", False))
    return TICK_SECONDS * min(max(1.0, playing / server_cores()), MAX_SLOWDOWN)


def server_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def steps_per_tick() -> int | str:
    return st.session_state.get("transport.speed", "max")


def _apply_speed(live: LiveRun) -> None:
    speed = steps_per_tick()
    live.set_speed(None if speed == "max" else float(speed) / TICK_SECONDS)


def _say(action: Callable[[], Change]) -> None:
    """Run a reset / restart / regenerate and toast what it did (nothing, on a freed run: the rerun revives it)."""
    message = action().message
    if message:
        flash(message, "reinit")


def transport(live: LiveRun) -> None:
    """Buttons that drive the session's run; they act through callbacks, before the rerun."""
    c1, c2, c3, c4, c5 = st.columns(5)
    st.session_state["transport.drawn_playing"] = live.playing  # what the buttons below show
    hidden = hidden_controls()  # a lesson link hides buttons by key
    if "transport.play" in hidden:
        pass
    elif live.playing:
        c1.button(":material/pause:", key="transport.pause", on_click=live.pause, help="Pause", width="stretch")
    else:
        c1.button(":material/play_arrow:", key="transport.play", on_click=live.play, help="Play", type="primary", width="stretch")
    run = live.run
    epoch = run.steps_per_epoch
    if "transport.step" not in hidden:
        c2.button(":material/skip_next:", key="transport.step", on_click=live.step_epoch,
                  help=f"Step: train one epoch ({epoch} step{'s' * (epoch != 1)} of {run.batch_size} examples) and pause, "
                       "as TensorFlow Playground's step button", width="stretch")
    if "transport.reset" not in hidden:
        c3.button(":material/replay:", key="transport.reset", on_click=_say, args=(live.reset,),
                  help="Reset: the same data, new initial weights (the next seed, the data seed kept), step 0, paused",
                  width="stretch")
    if "transport.restart" not in hidden:
        c4.button(":material/restart_alt:", key="transport.restart", on_click=_say, args=(live.restart,),
                  help="Restart: the same data and the same initial weights (same seeds), step 0, paused: the run again",
                  width="stretch")
    if "transport.regenerate" not in hidden:
        c5.button(":material/casino:", key="transport.regenerate", on_click=_say, args=(live.regenerate,),
                  help="Regenerate: new data (the next data seed), the same initial weights (same seed), step 0",
                  width="stretch")
    if "transport.speed" not in hidden:
        st.select_slider("Steps per tick", SPEEDS, value=steps_per_tick(), key="transport.speed", on_change=_apply_speed, args=(live,),
                         help=f"How many steps train per {TICK_SECONDS} s tick while playing ('max': as fast as it goes)")


def status_text(live: LiveRun) -> str:
    """`step 1,234 · epoch 4.9 · 2,310 steps/s · playing` plus why it paused."""
    s = live.status()
    line = f"step {s['step']:,} · epoch {s['epoch']:.1f} · {s['steps_per_sec']:,.0f} steps/s · {s['state']}"
    return line + (f" — {s['why']}" if s["why"] else "")


def status_line(live: LiveRun) -> None:
    """The status line; refreshes itself every tick while training."""

    @st.fragment(run_every=refresh_seconds() if live.playing else None)
    def _status() -> None:
        live.touch()  # tells the watchdog someone is watching
        if live.freed:  # a page left open while the server freed its run: redraw it all (live_run revives it)
            st.rerun()
        s = live.status()
        text = status_text(live)
        if s["state"] in ("diverged", "failed"):
            st.error(text)
        else:
            st.caption(text)
        if live.playing != st.session_state.get("transport.drawn_playing", live.playing):
            st.rerun()  # the run paused itself (or started): redraw the page once (buttons, polling)

    _status()
