"""Residual stream: what each layer writes into the stream, live: contributions and cosines, the effect
of skipping a layer, importance and layer dropping, the logit lens, attention patterns."""

import streamlit as st

from netarium.ui.live import view_section
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import unmet_need

live = live_run()
show_flashes()


def view(view_id: str) -> None:
    view_section(live, view_id, "res")


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
