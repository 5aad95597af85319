"""Netarium in the browser (`netarium app`, or `streamlit run app.py`): navigation over pages/,
the shared sidebar, and the session's one live run, which keeps training across pages."""

from pathlib import Path

import streamlit as st

from netarium.ui.heartbeat import heartbeat
from netarium.ui.lesson import hash_hop
from netarium.ui.navigation import navigation
from netarium.ui.session import live_run, watched
from netarium.ui.sidebar import sidebar

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Netarium", layout="wide")
page = navigation([
    st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True),
    st.Page(PAGES / "playground.py", title="Playground", icon=":material/hub:"),
    st.Page(PAGES / "side_by_side.py", title="Side by side", icon=":material/grid_view:"),
    st.Page(PAGES / "diagram.py", title="Diagram", icon=":material/schema:"),
    st.Page(PAGES / "geometry.py", title="Geometry", icon=":material/scatter_plot:"),
    st.Page(PAGES / "residual.py", title="Residual stream", icon=":material/stacked_line_chart:"),
    st.Page(PAGES / "dynamics.py", title="Dynamics", icon=":material/ssid_chart:"),
    st.Page(PAGES / "sparsity.py", title="Connectivity", icon=":material/lan:"),
    st.Page(PAGES / "convex.py", title="Convex", icon=":material/landscape:"),
    st.Page(PAGES / "sweeps.py", title="Sweeps", icon=":material/tune:"),
    st.Page(PAGES / "experiments.py", title="Experiments", icon=":material/science:"),
    st.Page(PAGES / "runs.py", title="Runs", icon=":material/history:"),
])
hash_hop()  # a TensorFlow Playground link's #hash becomes a query the server can read
live = live_run()  # a server at NETARIUM_MAX_SESSIONS says it is busy here, and nothing else
with watched(live):  # drawing the page counts as watching, however long it takes
    sidebar(live)
    with st.sidebar:
        heartbeat(live)  # every page keeps the session alive while it is open (training/sessions.py)
    page.run()
