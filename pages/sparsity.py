"""Connectivity: the sparse wiring of the live model: sparsity per layer, the unit (or ensemble) graph,
DST rewiring step by step, mask heatmaps and degrees, accuracy and DNR as a copy is pruned, and the
recurrent graph of a recurrent model."""

import streamlit as st

from netarium.ui.live import view_section
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import unmet_need

live = live_run()
show_flashes()


def view(view_id: str) -> None:
    view_section(live, view_id, "sp")


def has(need: str) -> bool:
    return not unmet_need(live, frozenset({need}))


st.caption("Presets on the Experiments page: g2g-sparse (ensemble-to-ensemble wiring), pruning-dnr (magnitude pruning "
           "and dead ReLUs), rnn-sparsity (sparse recurrent graphs), n2n-compression.")
if not has("masks"):
    st.info("The live model has no masks. Pick model **sparse-mlp** (G2G ensembles or random masks) or **rnn** (a sparse "
            "recurrent graph) in the sidebar, and trainer **dst** to rewire the masks while training. "
            + ("The pruning curves below work on any MLP." if has("mlp") else ""))
    if has("mlp"):
        view("pruning-curve")
    st.stop()
left, right = st.columns(2, gap="medium")
with left:
    view("sparsity-summary")
with right:
    view("curves")
if has("mlp"):
    view("connectivity")
if has("recurrent"):
    view("recurrent-graph")
view("rewiring")
left, right = st.columns(2, gap="medium")
with left:
    view("mask-heatmaps")
with right:
    view("degrees")
if has("mlp"):
    view("pruning-curve")
