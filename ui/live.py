"""The live fragment: a part of a page that refreshes every tick while the session's run trains, and a
page's registered views drawn in their places, each in its own live fragment."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from netarium.training.live import LiveRun
from netarium.training.run import Snapshot
from netarium.ui.session import session_sweep, watched
from netarium.ui.transport import refresh_seconds
from netarium.ui.views import SWEEP, Section, View, ViewContext, draw_view

HEAVY_TICKS = 6  # heavy views (boundary, graph, ...) redraw every this many ticks while training


def live_fragment(live: LiveRun, body: Callable[[Snapshot], None], *, heavy: bool = False, sweep: bool = False) -> None:
    """Run body(snapshot) now, and again every tick while training (only this part reruns).

    `heavy` parts refresh every HEAVY_TICKS ticks, so drawing never starves the training thread.
    `sweep` parts follow the session's sweep instead of the live run (they refresh while it trains).
    """
    every = refresh_seconds() * (HEAVY_TICKS if heavy else 1)
    if sweep:
        source = session_sweep()
        playing = source is not None and source.playing
    else:
        playing = live.playing

    @st.fragment(run_every=every if playing else None)
    def _tick() -> None:
        live.touch()
        if live.freed:  # the server freed the run while this page was away: redraw it all (live_run revives it)
            st.rerun()
        with watched(live):  # a heavy view drawing slowly under load still counts as watching
            body(live.snapshot())

    _tick()


def stamp(snap: Snapshot) -> str:
    """The line over a live view: its step, and TFP's readout (epoch, test and training loss) once measured."""
    parts = [f"as of step {snap.step:,}"]
    if snap.step:
        parts.append(f"epoch {snap.epoch:,.0f}" if float(snap.epoch).is_integer() else f"epoch {snap.epoch:,.1f}")
    parts += [f"{label} {snap.metrics[k]:.3f}" for k, label in (("test_loss", "test loss"), ("train_loss", "training loss"))
              if k in snap.metrics and snap.metrics[k] == snap.metrics[k]]
    return " · ".join(parts)


def draw_section(live: LiveRun, section: Section, key_prefix: str, *, titled: bool = True) -> None:
    """A view in its own live fragment (heavy views refresh every HEAVY_TICKS ticks), under its bold title
    and description when `titled`, keyed f"{key_prefix}.{view id}"."""
    view, place = section.view, section.place
    if titled:
        st.markdown(f"**{view.title}** · {view.description}")

    def body(snap: Snapshot) -> None:
        if place.stamp:
            st.caption(stamp(snap))
        draw_view(view, ViewContext(live, snap, key=f"{key_prefix}.{view.id}"))

    view_fragment(live, view, body)


def view_fragment(live: LiveRun, view: View, body: Callable[[Snapshot], None]) -> None:
    """body(snapshot) in a live fragment paced for `view`: heavy or not, following the live run or, for a
    view that needs the session's sweep, that sweep."""
    live_fragment(live, body, heavy=view.heavy, sweep=SWEEP in view.needs)


def draw_sections(live: LiveRun, sections: list[Section], key_prefix: str, *, titled: bool = True) -> None:
    """Sections in order: a full-width one on its own, consecutive column ones in a row of two columns
    (left ones in the left column, right ones in the right)."""
    i = 0
    while i < len(sections):
        if sections[i].place.column == "full":
            draw_section(live, sections[i], key_prefix, titled=titled)
            i += 1
            continue
        j = i
        while j < len(sections) and sections[j].place.column != "full":
            j += 1
        columns = dict(zip(("left", "right"), st.columns(2, gap="medium"), strict=True))
        for section in sections[i:j]:
            with columns[section.place.column]:
                draw_section(live, section, key_prefix, titled=titled)
        i = j
