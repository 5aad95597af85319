"""Dynamics: how training moves through the loss landscape, live: sharpness and trace(H) against 2/η,
the Hessian's eigenvalues, the weight norm, Fourier features of modular nets, XOR-cluster neurons,
and GD vs SGD at the same learning rate."""

import streamlit as st

from netarium.ui.live import draw_sections
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS

live = live_run()
show_flashes()
st.caption("Presets on the Experiments page: stability (edge of stability), modular-grokking, xor-grokking.")
draw_sections(live, VIEWS.for_page("dynamics", live), "dyn")  # the curves first (log x for grokking), then curvature
