"""Residual stream: what each layer writes into the stream, live: contributions and cosines, the effect
of skipping a layer, importance and layer dropping, the logit lens, attention patterns."""

import streamlit as st

from netarium.ui.live import live_fragment
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS, ViewContext, draw_view, unmet_need

live = live_run()
show_flashes()


def view(view_id: str):
    v = VIEWS.get(view_id)

    def body(snap) -> None:
        draw_view(v, ViewContext(live, snap, key=f"res.{view_id}"))

    st.markdown(f"**{v.title}** · {v.description}")
    live_fragment(live, body, heavy=True)


missing = unmet_need(live, frozenset({"residual"}))
if missing:
    st.info(f"The residual-stream views need {missing}: pick the transformer or the residual MLP in the sidebar "
            "(the Experiments page has presets: residual-depth, layer-drop, deep-vs-shallow, one-layer-transformer).")
    st.stop()
view("contributions")
view("skip-effect")
view("importance")
left, right = st.columns(2, gap="medium")
with left:
    view("logit-lens")
with right:
    if not unmet_need(live, frozenset({"attention"})):
        view("attention")
