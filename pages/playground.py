"""Playground: TensorFlow Playground, grown up. The network, its output and its curves, live."""

import streamlit as st

from netarium.ui.live import live_fragment
from netarium.ui.playground_controls import layer_controls
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS, ViewContext, draw_view

live = live_run()
show_flashes()


def draw(*view_ids: str):
    """A live-fragment body drawing these views of the snapshot (or what each one needs)."""

    def body(snap) -> None:
        for view_id in view_ids:
            draw_view(VIEWS.get(view_id), ViewContext(live, snap, key=f"pg.{view_id}"))

    return body


def caption(snap) -> None:
    st.caption(f"as of step {snap.step:,}")


left, right = st.columns([3, 2], gap="medium")
with left:
    layer_controls(live)
    live_fragment(live, draw("network", "confusion"), heavy=True)
with right:
    live_fragment(live, draw("boundary"), heavy=True)
    live_fragment(live, lambda snap: (caption(snap), draw("curves")(snap)))
