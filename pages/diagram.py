"""Diagram: the live model as a neural circuit diagram (Abbott 2024) with live overlays, beside its
PyTorch code and its parameter count per component."""

import streamlit as st

from netarium.models import parameter_count, parameter_counts_by_child
from netarium.ui.live import draw_sections
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS

live = live_run()
show_flashes()
st.subheader(f"{live.config.model.name}: {parameter_count(live.run.model):,} parameters")
draw_sections(live, VIEWS.for_page("diagram", live), "dg", titled=False)
code, counts = st.columns([3, 2])
with code:
    st.caption("The module (PyTorch)")
    st.code(repr(live.run.model), language="python")
with counts:
    st.caption("Parameters per component")
    st.table([{"component": k, "parameters": v} for k, v in parameter_counts_by_child(live.run.model).items()], hide_index=True)
