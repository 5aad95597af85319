"""Dynamics: how training moves through the loss landscape, live: sharpness and trace(H) against 2/η,
the Hessian's eigenvalues, the weight norm, Fourier features of modular nets, XOR-cluster neurons,
and GD vs SGD at the same learning rate."""

import streamlit as st

from netarium.ui.live import view_section
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS, unmet_need

live = live_run()
show_flashes()


def view(view_id: str) -> None:
    view_section(live, view_id, "dyn")


st.caption("Presets on the Experiments page: stability (edge of stability), modular-grokking, xor-grokking.")
view("curves")  # accuracy and loss, with log x for grokking
view("sharpness")
left, right = st.columns(2, gap="medium")
with left:
    view("spectrum")
with right:
    view("weight-norm")
for special in ("fourier", "xor-neurons"):
    if not unmet_need(live, VIEWS.get(special).needs):
        view(special)
view("gd-sgd")
