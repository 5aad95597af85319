"""Residual stream: what each layer writes into the stream, live: contributions and cosines, the effect
of skipping a layer, importance and layer dropping, the logit lens, attention patterns."""

import streamlit as st

from netarium.ui.live import draw_sections
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS, unmet_need

live = live_run()
show_flashes()
missing = unmet_need(live, frozenset({"residual"}))
if missing:
    st.info(f"The residual-stream views need {missing}: pick the transformer or the residual MLP in the sidebar "
            "(the Experiments page has presets: residual-depth, layer-drop, deep-vs-shallow, one-layer-transformer).")
    st.stop()
draw_sections(live, VIEWS.for_page("residual", live), "res")
