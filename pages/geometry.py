"""Geometry: how each layer represents the data, live: embeddings over training, RDMs and RSA, CKA,
alignment with input and labels, unit matching against a second seed, the warped input grid."""

import streamlit as st

from netarium.ui.live import draw_sections
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS, unmet_need

live = live_run()
show_flashes()
missing = unmet_need(live, frozenset({"classification"}))
if missing:
    st.info(f"The geometry views need {missing}: pick one in the sidebar (the Experiments page has presets: "
            "geometry-tanh-relu, convergent-learning, degeneracy).")
    st.stop()
draw_sections(live, VIEWS.for_page("geometry", live), "geo")
