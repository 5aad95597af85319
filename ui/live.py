"""The live fragment: a part of a page that refreshes every tick while the session's run trains."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from netarium.training.live import LiveRun
from netarium.training.run import Snapshot
from netarium.ui.transport import TICK_SECONDS

HEAVY_TICKS = 6  # heavy views (boundary, graph, ...) redraw every this many ticks while training


def live_fragment(live: LiveRun, body: Callable[[Snapshot], None], *, heavy: bool = False) -> None:
    """Run body(snapshot) now, and again every tick while training (only this part reruns).

    `heavy` parts refresh every HEAVY_TICKS ticks, so drawing never starves the training thread.
    """
    every = TICK_SECONDS * (HEAVY_TICKS if heavy else 1)

    @st.fragment(run_every=every if live.playing else None)
    def _tick() -> None:
        body(live.snapshot())

    _tick()


def view_section(live: LiveRun, view_id: str, key_prefix: str) -> None:
    """A registered view under its bold title and description, in its own live fragment (heavy views
    refresh every HEAVY_TICKS ticks)."""
    from netarium.ui.views import VIEWS, ViewContext, draw_view

    view = VIEWS.get(view_id)
    st.markdown(f"**{view.title}** · {view.description}")
    live_fragment(live, lambda snap: draw_view(view, ViewContext(live, snap, key=f"{key_prefix}.{view_id}")), heavy=view.heavy)
