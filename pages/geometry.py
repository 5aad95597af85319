"""Geometry: how each layer represents the data, live: embeddings over training, RDMs and RSA, CKA,
alignment with input and labels, unit matching against a second seed, the warped input grid."""

import streamlit as st

from netarium.ui.live import view_section
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import unmet_need

live = live_run()
show_flashes()


def view(view_id: str) -> None:
    view_section(live, view_id, "geo")


missing = unmet_need(live, frozenset({"classification"}))
if missing:
    st.info(f"The geometry views need {missing}: pick one in the sidebar (the Experiments page has presets: "
            "geometry-tanh-relu, convergent-learning, degeneracy).")
    st.stop()
view("embedding")
left, right = st.columns(2, gap="medium")
with left:
    view("alignment")
with right:
    view("cka")
view("rdm")
view("unit-match")
if live.run.task.is_2d:
    view("warped-grid")
