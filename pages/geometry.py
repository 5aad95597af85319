"""Geometry: how each layer represents the data, live: embeddings over training, RDMs and RSA, CKA,
alignment with input and labels, unit matching against a second seed, the warped input grid."""

import streamlit as st

from netarium.ui.live import live_fragment
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS, ViewContext, draw_view, unmet_need

live = live_run()
show_flashes()


def view(view_id: str):
    v = VIEWS.get(view_id)

    def body(snap) -> None:
        draw_view(v, ViewContext(live, snap, key=f"geo.{view_id}"))

    st.markdown(f"**{v.title}** · {v.description}")
    live_fragment(live, body, heavy=True)


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
